# %% [markdown]
# # Lesson 4 — The Gluon walkthrough: DataLoader, Dense, L2Loss, Trainer, and the weights checked
#
# What you will see: the walkthrough's own code, cell by cell — `ArrayDataset` and
# `DataLoader(shuffle=True)`, `nn.Sequential` with one `nn.Dense(1)`, `init.Normal(sigma=0.01)`,
# `L2Loss`, `Trainer('sgd')`, three epochs — trained on the committed house prices; the weights
# pulled out of `net[0]` and checked against the truth and against least squares; the same
# walkthrough in the legacy `nd` spelling and through d2l's own helpers; then `training.fit`, the
# course's reusable form of the same loop, landing on the same weights; momentum and Nesterov;
# and one batch split over two devices.
#
# Run it: `gluon-lessons run gluon`, `python -m gluon_lessons.lessons.lesson04_gluon`, or as a
# notebook: `gluon-lessons notebook 4`.

# %%
import numpy as onp
from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from gluon_lessons import data as house_data
from gluon_lessons import devices, loading, model, plots, training
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()  # the NumPy interface, as d2l's notebooks switch it on (importing d2l does not)
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random
batch_size = 10            # examples per update
lr = 0.03                  # learning rate
num_epochs = 3             # passes over the data
momentum = 0.9             # for the momentum and nag runs
two_devices = "cpu:0,cpu:1"  # on a machine with two GPUs: "gpu:0,gpu:1"
target_loss = 1e-3         # batch mean L2 loss that counts as "reached", for counting updates
out_dir = None             # None: figures show inline in a notebook; the command line saves them (lesson_output/gluon)
QUICK = dict()             # the walkthrough already runs in about a second: --quick changes nothing

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    training.check_hyperparameters(lr, momentum, num_epochs)
    loading.check_batch_size(batch_size)
    runner.require("target_loss", target_loss, target_loss > 0, "a number > 0")
    split_over = devices.parse_ctx(two_devices)

# %% [markdown]
# ## 1. The data
# 1000 houses, two standardized features (area and age), price = 2·area − 3.4·age + 4.2 plus
# noise of standard deviation 0.01 (lesson 1 made them). Least squares is the best any trainer
# can recover from these noisy examples; the truth is what generated them.

# %%
house = house_data.walkthrough_data()
features, labels = np.array(house.features), np.array(house.labels)  # (1000, 2), (1000,)
truth = onp.append(house.true_w, house.true_b)
ols_w, ols_b = model.least_squares(house.features, house.labels)
ols = onp.append(ols_w, ols_b)
print("features", features.shape, "labels", labels.shape)
print("true w %s, b %.4f" % (house.true_w, house.true_b))
print("least squares w %s, b %.4f" % (onp.round(ols_w, 4), ols_b))

# %% [markdown]
# ## 2. The walkthrough's code
# This is the walkthrough as it stands, in the NumPy interface (`from mxnet import np`). First the
# data iterator: `ArrayDataset` pairs each row with its price, `DataLoader(shuffle=True)` deals
# them out in batches of 10, in a new order every epoch.

# %%
set_seed(seed)
dataset = gluon.data.ArrayDataset(features, labels)
data_iter = gluon.data.DataLoader(dataset, batch_size, shuffle=True)
print("%d batches per epoch of up to %d examples" % (len(data_iter), batch_size))

# %% [markdown]
# The model is a `Sequential` holding one fully connected layer with one output. Its input size
# is left open and inferred at the first batch. The loss is ½(ŷ − y)² per example.

# %%
net = nn.Sequential()
net.add(nn.Dense(1))
net.initialize(init.Normal(sigma=0.01))
loss = gluon.loss.L2Loss()
trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': lr})
print(net)

# %% [markdown]
# The training loop: for each batch, record the forward pass, backpropagate, and let the trainer
# take one step. `trainer.step(batch_size)` divides the summed gradient by the batch size, so
# each update moves by `lr` times the *mean* gradient of the batch.

# %%
walk_epoch_loss = []
for epoch in range(1, num_epochs + 1):
    for X, y in data_iter:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(batch_size)
    l = loss(net(features), labels)
    walk_epoch_loss.append(l.mean().item())
    print('epoch %d, loss: %f' % (epoch, l.mean().item()))

# %% [markdown]
# ## 3. The weights
# The trained model holds no variables named w and b: they live in the `Dense` layer,
# `net[0].weight.data()` (shape (1, 2), one row per output) and `net[0].bias.data()`.

# %%
dense = net[0]
print(dense.weight.data(), dense.bias.data())
walk = onp.append(dense.weight.data().asnumpy().ravel(), dense.bias.data().asnumpy())


def max_gap(a, b):
    """Largest absolute difference between two weight vectors (w_1, ..., w_d, b)."""
    return float(onp.max(onp.abs(onp.asarray(a, onp.float64) - onp.asarray(b, onp.float64))))


print("max |difference| to the truth %.1e, to least squares %.1e" % (max_gap(walk, truth), max_gap(walk, ols)))

# %% [markdown]
# ## 4. The same walkthrough in the legacy `nd` spelling
# Older write-ups (MXNet 1.x, the first d2l) make the data with `nd` arrays and import
# `gluon.data as gdata`, `gluon.loss as gloss`. Here it is, with the data generated the way those
# write-ups did. Once the NumPy interface is on, Gluon blocks accept only `mxnet.np` arrays:

# %%
from mxnet import nd
from mxnet.gluon import data as gdata
from mxnet.gluon import loss as gloss

set_seed(seed)
true_w, true_b = [2, -3.4], 4.2
nd_features = nd.random.normal(scale=1, shape=(1000, 2))
nd_labels = nd.dot(nd_features, nd.array(true_w)) + true_b
nd_labels += nd.random.normal(scale=0.01, shape=nd_labels.shape)
probe = nn.Dense(1, in_units=2)
probe.initialize()
try:
    probe(nd_features)
    legacy_error = None
except (ValueError, TypeError) as error:
    legacy_error = type(error).__name__ + ": " + next(s for s in str(error).split(", ") if "legacy" in s)
print("Dense on an nd array:", legacy_error)

# %% [markdown]
# The one conversion is `.as_np_ndarray()` (a view, no copy) when the arrays go into the dataset;
# everything else is the walkthrough as those write-ups have it, `.asnumpy()` included.

# %%
dataset = gdata.ArrayDataset(nd_features.as_np_ndarray(), nd_labels.as_np_ndarray())
data_iter = gdata.DataLoader(dataset, batch_size, shuffle=True)
nd_net = nn.Sequential()
nd_net.add(nn.Dense(1))
nd_net.initialize(init.Normal(sigma=0.01))
loss = gloss.L2Loss()
trainer = gluon.Trainer(nd_net.collect_params(), 'sgd', {'learning_rate': lr})
for epoch in range(1, num_epochs + 1):
    for X, y in data_iter:
        with autograd.record():
            l = loss(nd_net(X), y)
        l.backward()
        trainer.step(batch_size)
    l = loss(nd_net(nd_features.as_np_ndarray()), nd_labels.as_np_ndarray())
    print('epoch %d, loss: %f' % (epoch, l.mean().asnumpy()))

# %%
legacy = onp.append(nd_net[0].weight.data().asnumpy().ravel(), nd_net[0].bias.data().asnumpy())
legacy_ols = onp.append(*model.least_squares(nd_features.asnumpy(), nd_labels.asnumpy()))
print("w %s, b %.4f: max |difference| to [2, -3.4, 4.2] %.1e, to its least squares %.1e"
      % (onp.round(legacy[:2], 4), legacy[2], max_gap(legacy, [2, -3.4, 4.2]), max_gap(legacy, legacy_ols)))

# %% [markdown]
# ## 5. The same model through d2l
# d2l 1.0.3 packages these steps: `SyntheticRegressionData` draws the data and serves it through
# a shuffling `DataLoader`, `LinearRegression` is `Dense(1)` with `L2Loss`, and `d2l.Trainer`
# runs the loop (its `step(1)` on the batch-mean loss is our `step(batch_size)` on the summed one).
# We train it, then train our `training.fit` on the very same d2l data with the same seed.

# %%
from d2l import mxnet as d2l

set_seed(seed)
d2l_data = d2l.SyntheticRegressionData(w=np.array(house.true_w), b=house.true_b, noise=0.01,
                                       num_train=1000, num_val=1000, batch_size=batch_size)
set_seed(seed)
d2l_model = d2l.LinearRegression(lr=lr)
d2l_model.board.display = plots.showing_inline()  # d2l's live loss plot: in notebooks only
d2l.Trainer(max_epochs=num_epochs).fit(d2l_model, d2l_data)
d2l_weights = onp.append(*(a.asnumpy().ravel() for a in d2l_model.get_w_b()))
print("d2l: w %s, b %.4f" % (onp.round(d2l_weights[:2], 4), d2l_weights[2]))

# %%
set_seed(seed)
ours = model.linear_regression()  # Dense(1), init.Normal(sigma=0.01), input size inferred like d2l's
d2l_train = (d2l_data.X[:1000], d2l_data.y[:1000])
training.fit(ours, loading.data_loader(*d2l_train, batch_size), training.make_trainer(ours, "sgd", lr), num_epochs)
ours_weights = onp.append(*model.extract_weights(ours))
d2l_gap = max_gap(ours_weights, d2l_weights)
print("training.fit on d2l's data: w %s, b %.4f; max |difference| to d2l's weights %.1e"
      % (onp.round(ours_weights[:2], 4), ours_weights[2], d2l_gap))

# %% [markdown]
# ## 6. `training.fit`: the walkthrough's loop, made reusable
# Every later lesson trains through `training.fit(net, batches, trainer, num_epochs)`. It is the
# loop of section 2 — record, backward, `trainer.step(batch_size)` — plus a loss history, several
# devices and a guard against divergence. With the same seed it deals the same batches and
# starts from the same weights, so it must end where the walkthrough ended.

# %%
def train(optimizer="sgd", lr=lr, momentum=0.0, ctx=None, batches=None):
    """The walkthrough's model trained by `training.fit` from seed `seed`; (net, history)."""
    set_seed(seed)
    net = model.linear_regression(ctx)
    batches = batches or loading.data_loader(house.features, house.labels, batch_size)
    trainer = training.make_trainer(net, optimizer, lr, momentum)
    return net, training.fit(net, batches, trainer, num_epochs, ctx=ctx, eval_data=(house.features, house.labels))


fit_net, fit_history = train()
fitted = onp.append(*model.extract_weights(fit_net))
fit_gap = max_gap(fitted, walk)
print("training.fit: w %s, b %.4f; max |difference| to the walkthrough's weights %.1e"
      % (onp.round(fitted[:2], 4), fitted[2], fit_gap))

# %% [markdown]
# ## 7. Momentum and Nesterov
# `Trainer('sgd', {'learning_rate': lr, 'momentum': 0.9})` is the heavy-ball update of lesson 3;
# `'nag'` takes the gradient at the point momentum is about to carry the weights to. Mind the
# comparison: at the same `lr`, momentum 0.9 moves about 1/(1 − 0.9) = 10 gradients' worth per
# step, a ten times larger effective step. So we also run momentum at lr/10, the same effective
# step as plain SGD. We count the updates each needs before the batch loss, averaged over the
# last 10 updates, falls below `target_loss`.

# %%
def updates_to_reach(step_loss, target, window=10):
    """First update after which the mean of the last `window` batch losses is below `target`; None if never."""
    values = onp.asarray(step_loss, dtype=float)
    if len(values) < window:
        return None
    below = onp.flatnonzero(onp.convolve(values, onp.ones(window) / window, mode="valid") < target)
    return int(below[0]) + window if below.size else None


runs = {"sgd": (fit_net, fit_history),
        "momentum": train(momentum=momentum),
        "nag": train("nag", momentum=momentum),
        "momentum, lr/10": train(lr=lr * (1 - momentum), momentum=momentum)}
reach = {name: updates_to_reach(history.step_loss, target_loss) for name, (_, history) in runs.items()}
for name, (net_, history) in runs.items():
    weights = onp.append(*model.extract_weights(net_))
    print("%-16s updates to %g: %-5s epoch-1 loss %.1e   |least squares| %.1e"
          % (name, target_loss, reach[name], history.epoch_loss[0], max_gap(weights, ols)))
figure = plots.loss_curves({name: history.step_loss for name, (_, history) in runs.items()}, out_dir, "gluon_loss",
                           xlabel="update", ylabel="batch mean L2 loss",
                           title="Gluon, batch size %d, lr %g" % (batch_size, lr))

# %% [markdown]
# ## 8. Two loaders, two devices, one answer
# `loading.ShuffledBatches` cuts batches from one shuffled copy of the data instead of fetching
# and stacking examples one by one; it draws the shuffle from NumPy's global RNG the way
# `DataLoader` does, so with one seed it deals the same batches. With two devices
# (`ctx=[cpu(0), cpu(1)]`, or two GPUs) `fit` splits every batch with `split_and_load`, each
# device computes the gradient of its half, and the Trainer sums them: the same update, computed
# in two pieces. Here both "devices" share the same two CPU cores, so splitting only adds work.

# %%
fast_net, fast_history = train(batches=loading.ShuffledBatches(house.features, house.labels, batch_size))
two_net, two_history = train(ctx=split_over,
                             batches=loading.ShuffledBatches(house.features, house.labels, batch_size))
fast, two = onp.append(*model.extract_weights(fast_net)), onp.append(*model.extract_weights(two_net))
loader_gap, device_gap = max_gap(fast, fitted), max_gap(two, fast)
seconds = {"gluon": fit_history.median_seconds_per_epoch, "fast": fast_history.median_seconds_per_epoch,
           "fast_two_devices": two_history.median_seconds_per_epoch}
print("ShuffledBatches vs DataLoader: weights differ by %.1e; %s vs one device: %.1e"
      % (loader_gap, devices.ctx_names(split_over), device_gap))
print("seconds per epoch: DataLoader %.3f, ShuffledBatches %.3f, ShuffledBatches on %d devices %.3f"
      % (seconds["gluon"], seconds["fast"], len(split_over), seconds["fast_two_devices"]))

# %% [markdown]
# ## What we found

# %%
SAME = 1e-4  # float32 sums in another order move the weights by ~1e-6; SGD's own jitter is ~1e-3
print("The walkthrough recovers w = %s, b = %.3f: %.0e from the truth and %.0e from least squares."
      % (onp.round(walk[:2], 3), walk[2], max_gap(walk, truth), max_gap(walk, ols)))
print("training.fit %s the walkthrough's weights (%.0e apart); on d2l's data it %s d2l's Trainer (%.0e)."
      % ("reproduces" if fit_gap < SAME else "does NOT reproduce", fit_gap,
         "matches" if d2l_gap < SAME else "does NOT match", d2l_gap))
faster = [name for name in ("momentum", "nag") if reach[name] is not None
          and (reach["sgd"] is None or reach[name] < reach["sgd"])]
print("At the same lr, %s reached a batch loss of %g in fewer updates than sgd (%s vs %s) — with a"
      " ten times larger effective step." % (" and ".join(faster) or "neither momentum nor nag", target_loss,
                                              reach["momentum"], reach["sgd"]))
equal_step = reach["momentum, lr/10"]
if equal_step is None or reach["sgd"] is None:
    print("At equal effective step the comparison is inconclusive: a run never reached the target.")
else:
    print("At equal effective step (lr/10), momentum needed %d updates against sgd's %d: %s."
          % (equal_step, reach["sgd"], "no faster" if equal_step >= 0.9 * reach["sgd"] else "faster"))
print("The fast loader and %d devices %s." % (len(split_over), "change the speed, not the answer"
                                              if max(loader_gap, device_gap) < SAME else
                                              "change the answer by more than float32 rounding"))

# %%
(momentum_net, momentum_history), (nag_net, nag_history) = runs["momentum"], runs["nag"]
momentum_w, momentum_b = model.extract_weights(momentum_net)
nag_w, nag_b = model.extract_weights(nag_net)
findings = {
    "seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "momentum": momentum,
    "true_weight": list(house.true_w), "true_bias": house.true_b, "ols_weight": ols_w, "ols_bias": ols_b,
    "weight": walk[:-1], "bias": float(walk[-1]), "epoch_loss": walk_epoch_loss,
    "fit_weight": fitted[:-1], "fit_bias": float(fitted[-1]), "fit_gap": fit_gap,
    "legacy_weight": legacy[:-1], "legacy_bias": float(legacy[-1]), "legacy_ols": legacy_ols,
    "d2l_weight": d2l_weights[:-1], "d2l_bias": float(d2l_weights[-1]), "d2l_fit_weight": ours_weights[:-1],
    "d2l_fit_bias": float(ours_weights[-1]), "d2l_gap": d2l_gap,
    "momentum_weight": momentum_w, "momentum_bias": momentum_b, "momentum_epoch_loss": momentum_history.epoch_loss,
    "nag_weight": nag_w, "nag_bias": nag_b, "nag_epoch_loss": nag_history.epoch_loss,
    "updates_to_target": reach, "target_loss": target_loss,
    "fast_weight": fast[:-1], "fast_bias": float(fast[-1]), "loader_gap": loader_gap,
    "two_device_weight": two[:-1], "two_device_bias": float(two[-1]), "device_gap": device_gap,
    "two_device_ctx": devices.ctx_names(split_over), "seconds_per_epoch": seconds,
    "legacy_nd": {"numpy_mode": bool(npx.is_np_array()), "legacy_error": legacy_error}, "figures": [figure],
}

# %% [markdown]
# ## Exercises
# 1. Set `lr = 0.3`, then `lr = 3` (or `--set lr=3`). Which run diverges, and what does
#    `training.fit`'s divergence guard tell you?
# 2. Build the net with `model.linear_regression(sigma=10)` instead of `init.Normal(sigma=0.01)`
#    and train it with `training.fit`. How many more updates does plain SGD need to reach the target?
# 3. In `training.fit` (gluon_lessons/training.py), replace `trainer.step(batch_size)` by
#    `trainer.step(1)` and run this lesson again. Which learning rate gives back the original run?
