# %% [markdown]
# # Lesson 4 — The Gluon walkthrough: Dense, L2Loss, Trainer, weights checked
#
# What you will see: the walkthrough's own code, cell by cell — `ArrayDataset` and
# `DataLoader(shuffle=True)`, `nn.Sequential` with one `nn.Dense(1)`, `init.Normal(sigma=0.01)`,
# `L2Loss`, `Trainer('sgd')`, three epochs — trained on the committed house prices; the weights
# pulled out of `net[0]` and checked against the truth and against least squares; the same
# walkthrough in the legacy `nd` spelling and through d2l's own helpers; then `training.fit`, the
# course's reusable form of the same loop, landing on the same weights; a faster loader and one
# batch split over two devices, landing there too; then momentum and Nesterov.
#
# Run it: `gluon-lessons run gluon` (about 5 s here, 1 of them importing MXNet, d2l and
# matplotlib; `--quick` in about 4.5, validating d2l's run on 100 examples instead of 1000, every
# training run unchanged), or as a notebook: `gluon-lessons notebook 4`.

# %%
import numpy as onp
from d2l import mxnet as d2l
from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from gluon_lessons import checks, devices, loading, model, plots, training
from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

npx.set_np()  # the NumPy interface, as d2l's notebooks switch it on (importing d2l does not)

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random
batch_size = 10            # examples per update
lr = 0.03                  # learning rate
num_epochs = 3             # passes over the data
momentum = 0.9             # for the momentum and nag runs
two_devices = "cpu:0,cpu:1"  # on a machine with two GPUs: "gpu:0,gpu:1"
target_loss = 1e-3         # batch mean L2 loss that counts as "reached", for counting updates
num_val = 1000             # d2l's validation examples, whose loss its Trainer computes every epoch
out_dir = None             # None: figures show inline in a notebook; the command line saves them
QUICK = dict(num_val=100)  # d2l validates on fewer examples; the training runs stay as they are

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
batch_size = checks.integer("batch_size", batch_size, 1, 1000)  # the data hold 1000 houses
lr = checks.positive("lr", lr, high=10.0)
num_epochs = checks.integer("num_epochs", num_epochs, 1, 100)
momentum = checks.fraction("momentum", momentum)
split_over = devices.parse_ctx(two_devices)
target_loss = checks.positive("target_loss", target_loss, high=100.0)
num_val = checks.integer("num_val", num_val, 1, 10_000)
print(f"seed {seed}; batch size {batch_size}, lr {lr:g}, {num_epochs} epochs, momentum"
      f" {momentum:g}, target loss {target_loss:g}, devices {two_devices},\n  d2l's validation"
      f" examples {num_val}")
findings = {"seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs,
            "momentum": momentum, "target_loss": target_loss, "num_val": num_val, "figures": [],
            "verdicts": {}}
verdicts = findings["verdicts"]

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
print(f"true w {list(house.true_w)}, b {house.true_b:.4f}")
print(f"least squares w {onp.round(ols_w, 4)}, b {ols_b:.4f}")
findings.update(true_weight=list(house.true_w), true_bias=house.true_b, ols_weight=ols_w,
                ols_bias=ols_b)

# %% [markdown]
# ## 2. The walkthrough's code
# This is the walkthrough as it stands, in the NumPy interface (`from mxnet import np`). First the
# data iterator: `ArrayDataset` pairs each row with its price, `DataLoader(shuffle=True)` deals
# them out in batches of 10, in a new order every epoch.

# %%
set_seed(seed)
dataset = gluon.data.ArrayDataset(features, labels)
data_iter = gluon.data.DataLoader(dataset, batch_size, shuffle=True)
print(f"{len(data_iter)} batches per epoch of up to {batch_size} examples")

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
    print(f'epoch {epoch}, loss: {l.mean().item():f}')

# %% [markdown]
# ## 3. The weights
# The trained model holds no variables named w and b: they live in the `Dense` layer,
# `net[0].weight.data()` (shape (1, 2), one row per output) and `net[0].bias.data()`. The
# walkthrough asks them to come within 0.01 of the truth.

# %%
TRUTH_TOLERANCE = 0.01  # the walkthrough's check of the trained weights


def max_gap(a, b):
    """Largest absolute difference between two weight vectors (w_1, ..., w_d, b)."""
    return float(onp.max(onp.abs(onp.asarray(a, onp.float64) - onp.asarray(b, onp.float64))))


dense = net[0]
print(dense.weight.data(), dense.bias.data())
walk = onp.append(dense.weight.data().asnumpy().ravel(), dense.bias.data().asnumpy())
findings.update(weight=walk[:-1], bias=float(walk[-1]), epoch_loss=walk_epoch_loss,
                truth_gap=max_gap(walk, truth), ols_gap=max_gap(walk, ols))
findings["truth_tolerance"] = TRUTH_TOLERANCE
verdicts["walkthrough"] = "recovers" if findings["truth_gap"] < TRUTH_TOLERANCE else "misses"
SAY_WALKTHROUGH = {
    "recovers": "The walkthrough recovers the truth: {truth_gap:.0e} from it, {ols_gap:.0e} from"
                " least squares.",
    "misses": "The walkthrough misses the truth by {truth_gap:.2g}, more than {truth_tolerance}.",
}
print(SAY_WALKTHROUGH[verdicts["walkthrough"]].format(**findings))

# %% [markdown]
# ## 4. The same walkthrough in the legacy `nd` spelling
# Older write-ups (MXNet 1.x, the first d2l) make the data with `nd` arrays and import
# `gluon.data as gdata`, `gluon.loss as gloss`. Here it is, with the data generated the way those
# write-ups did. Once the NumPy interface is on, Gluon blocks accept only `mxnet.np` arrays, so
# handing a `Dense` layer an `nd` array is refused — we try it to see that:

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
    legacy_error = type(error).__name__ + ": " + next(
        (part for part in str(error).split(", ") if "legacy" in part), str(error)[:80])
verdicts["legacy_nd"] = "accepted" if legacy_error is None else "refused"
findings["legacy_nd"] = {"numpy_mode": bool(npx.is_np_array()), "legacy_error": legacy_error}
findings["legacy_error_kind"] = legacy_error and legacy_error.split(":")[0]
SAY_LEGACY = {
    "refused": "Dense refused the nd array (a {legacy_error_kind}), as expected: with"
               " npx.set_np() on,\n  Gluon blocks take mxnet.np arrays only;"
               " .as_np_ndarray() converts an nd array.",
    "accepted": "Dense accepted the nd array: the NumPy interface is off here.",
}
print(SAY_LEGACY[verdicts["legacy_nd"]].format(**findings))

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
    print(f'epoch {epoch}, loss: {float(l.mean().asnumpy()):f}')

# %%
legacy = onp.append(nd_net[0].weight.data().asnumpy().ravel(), nd_net[0].bias.data().asnumpy())
legacy_ols = onp.append(*model.least_squares(nd_features.asnumpy(), nd_labels.asnumpy()))
print(f"w {onp.round(legacy[:2], 4)}, b {legacy[2]:.4f}: max |difference| to [2, -3.4, 4.2]"
      f" {max_gap(legacy, [2, -3.4, 4.2]):.1e},\n  to its own least squares"
      f" {max_gap(legacy, legacy_ols):.1e}")
findings.update(legacy_weight=legacy[:-1], legacy_bias=float(legacy[-1]), legacy_ols=legacy_ols)

# %% [markdown]
# ## 5. The same model through d2l
# d2l 1.0.3 packages these steps: `SyntheticRegressionData` draws the data and serves it through
# a shuffling `DataLoader`, `LinearRegression` is `Dense(1)` with `L2Loss`, and `d2l.Trainer`
# runs the loop (its `step(1)` on the batch-mean loss is our `step(batch_size)` on the summed one)
# and after each epoch the loss on `num_val` held-out examples (d2l's 1000; 100 with `--quick`).
# d2l draws its loss as it trains; we keep its numbers and draw them once at the end. Then we
# train our `training.fit` on the very same d2l data with the same seed, its batches cut by
# `loading.ShuffledBatches`: the batches of d2l's `DataLoader` (section 7 shows it), without
# fetching and stacking the examples one by one.

# %%
set_seed(seed)
d2l_data = d2l.SyntheticRegressionData(w=np.array(house.true_w), b=house.true_b, noise=0.01,
                                       num_train=1000, num_val=num_val, batch_size=batch_size)
set_seed(seed)
d2l_model = d2l.LinearRegression(lr=lr)
d2l_model.board.display = False  # the board still records; plots draws it below, as a PNG
d2l.Trainer(max_epochs=num_epochs).fit(d2l_model, d2l_data)
d2l_weights = onp.append(*(a.asnumpy().ravel() for a in d2l_model.get_w_b()))
print(f"d2l: w {onp.round(d2l_weights[:2], 4)}, b {d2l_weights[2]:.4f}")
findings["figures"].append(plots.progress_board(d2l_model.board, out_dir, "d2l_loss",
                                                title="d2l.Trainer on SyntheticRegressionData"))

# %% [markdown]
# Same seed, same data, same starting weights, same batches: `training.fit` must end where
# d2l's Trainer ended, up to float32 rounding (weights of size 4 summed in another order move by
# about 1e-6; SGD's own end-point jitter is about 1e-3, so 1e-4 is not met by luck).

# %%
SAME = 1e-4  # float32 sums in another order move the weights by ~1e-6; SGD's jitter is ~1e-3
set_seed(seed)
ours = model.linear_regression()  # HybridSequential: Dense(1), Normal(0.01), input size inferred
d2l_train = loading.ShuffledBatches(d2l_data.X[:1000], d2l_data.y[:1000], batch_size)
training.fit(ours, d2l_train, training.make_trainer(ours, "sgd", lr), num_epochs)
ours_weights = onp.append(*model.extract_weights(ours))
findings.update(d2l_weight=d2l_weights[:-1], d2l_bias=float(d2l_weights[-1]),
                d2l_fit_weight=ours_weights[:-1], d2l_fit_bias=float(ours_weights[-1]),
                d2l_gap=max_gap(ours_weights, d2l_weights))
verdicts["fit_vs_d2l"] = "agrees" if findings["d2l_gap"] < SAME else "does not agree"
SAY_D2L = {"agrees": "On d2l's data training.fit agrees with d2l's Trainer ({d2l_gap:.0e} apart).",
           "does not agree": "On d2l's data training.fit ends {d2l_gap:.2g} from d2l's Trainer."}
print(f"training.fit: w {onp.round(ours_weights[:2], 4)}, b {ours_weights[2]:.4f}")
print(SAY_D2L[verdicts["fit_vs_d2l"]].format(**findings))

# %% [markdown]
# ## 6. `training.fit`: the walkthrough's loop, made reusable
# Every later lesson trains through `training.fit(net, batches, trainer, num_epochs)`. It is the
# loop of section 2 — record, backward, `trainer.step(batch_size)` — plus a loss history, several
# devices and a guard against divergence. It compiles the net and the loss into one graph
# (`hybridize`), so `model.linear_regression` builds a `HybridSequential`. With the same seed it
# deals the same batches and starts from the same weights, so it must end where the walkthrough
# ended.

# %%
def train(optimizer="sgd", lr=lr, momentum=0.0, ctx=None, batches=None):
    """The walkthrough's model trained by `training.fit` from seed `seed`; (net, history)."""
    set_seed(seed)
    net = model.linear_regression(ctx)
    batches = batches or loading.data_loader(house.features, house.labels, batch_size)
    trainer = training.make_trainer(net, optimizer, lr, momentum)
    return net, training.fit(net, batches, trainer, num_epochs, ctx=ctx,
                             eval_data=(house.features, house.labels))


fit_net, fit_history = train()
fitted = onp.append(*model.extract_weights(fit_net))
findings.update(fit_weight=fitted[:-1], fit_bias=float(fitted[-1]), fit_gap=max_gap(fitted, walk))
verdicts["fit_vs_walkthrough"] = "agrees" if findings["fit_gap"] < SAME else "does not agree"
SAY_FIT = {"agrees": "training.fit agrees with the walkthrough's weights ({fit_gap:.0e} apart).",
           "does not agree": "training.fit ends {fit_gap:.2g} from the walkthrough's weights."}
print(f"training.fit: w {onp.round(fitted[:2], 4)}, b {fitted[2]:.4f}")
print(SAY_FIT[verdicts["fit_vs_walkthrough"]].format(**findings))

# %% [markdown]
# ## 7. Two loaders, two devices, one answer
# `loading.ShuffledBatches` cuts batches from one shuffled copy of the data instead of fetching
# and stacking examples one by one; it draws the shuffle from NumPy's global RNG the way
# `DataLoader` does, so with one seed it deals the same batches. With two devices
# (`ctx=[cpu(0), cpu(1)]`, or two GPUs) `fit` splits every batch with `split_and_load`, each
# device computes the gradient of its half, and the Trainer sums them: the same update, computed
# in two pieces. Here both "devices" share the same two CPU cores, so splitting only adds work.

# %%
def shuffled_batches():
    return loading.ShuffledBatches(house.features, house.labels, batch_size)


fast_net, fast_history = train(batches=shuffled_batches())
two_net, two_history = train(ctx=split_over, batches=shuffled_batches())
fast = onp.append(*model.extract_weights(fast_net))
two = onp.append(*model.extract_weights(two_net))
findings.update(fast_weight=fast[:-1], fast_bias=float(fast[-1]), loader_gap=max_gap(fast, fitted),
                two_device_weight=two[:-1], two_device_bias=float(two[-1]),
                device_gap=max_gap(two, fast), two_device_ctx=devices.ctx_names(split_over))
same_answer = max(findings["loader_gap"], findings["device_gap"]) < SAME
verdicts["loaders_and_devices"] = "same answer" if same_answer else "different answer"
findings["seconds_per_epoch"] = {"gluon": fit_history.median_seconds_per_epoch,
                                 "fast": fast_history.median_seconds_per_epoch,
                                 "fast_two_devices": two_history.median_seconds_per_epoch}
print("seconds per epoch: DataLoader {gluon:.3f}, ShuffledBatches {fast:.3f}, ShuffledBatches"
      " on two devices {fast_two_devices:.3f}".format(**findings["seconds_per_epoch"]))
SAY_LOADERS = {
    "same answer": "The fast loader ({loader_gap:.0e} apart) and two devices ({device_gap:.0e})"
                   " change the speed, not the answer.",
    "different answer": "The fast loader ({loader_gap:.1e} apart) or two devices ({device_gap:.1e})"
                        " change the answer by more than float32 rounding.",
}
print(SAY_LOADERS[verdicts["loaders_and_devices"]].format(**findings))

# %% [markdown]
# ## 8. Momentum and Nesterov
# `Trainer('sgd', {'learning_rate': lr, 'momentum': 0.9})` is the heavy-ball update of lesson 3;
# `'nag'` takes the gradient at the point momentum is about to carry the weights to. Mind the
# comparison: at the same `lr`, momentum 0.9 moves about 1/(1 − 0.9) = 10 gradients' worth per
# step, a ten times larger effective step. So we also run momentum at lr/10, the same effective
# step as plain SGD. We count the updates each needs before the batch loss, averaged over the
# last 10 updates, falls below `target_loss`; "faster" means at least 10% fewer updates. All four
# runs take their batches from `ShuffledBatches`: the same batches as `DataLoader`, as section 7
# showed, at half the cost of a run; plain SGD is section 7's run.

# %%
def updates_to_reach(step_loss, target, window=10):
    """First update after which the mean of the last `window` batch losses is below `target`;
    None if never."""
    values = onp.asarray(step_loss, dtype=float)
    if len(values) < window:
        return None
    below = onp.flatnonzero(onp.convolve(values, onp.ones(window) / window, "valid") < target)
    return int(below[0]) + window if below.size else None


def race(updates, sgd_updates):
    """The verdict on a run that needed `updates` against plain SGD's `sgd_updates`: faster with
    at least 10% fewer, inconclusive when either never reached the target."""
    if updates is None or sgd_updates is None:
        return "inconclusive"
    return "faster" if updates < 0.9 * sgd_updates else "not faster"


runs = {"sgd": (fast_net, fast_history),
        "momentum": train(momentum=momentum, batches=shuffled_batches()),
        "nag": train("nag", momentum=momentum, batches=shuffled_batches()),
        "momentum, lr/10": train(lr=lr * (1 - momentum), momentum=momentum,
                                 batches=shuffled_batches())}
reach = {name: updates_to_reach(history.step_loss, target_loss)
         for name, (_, history) in runs.items()}
for name, (net_, history) in runs.items():
    gap = max_gap(onp.append(*model.extract_weights(net_)), ols)
    print(f"{name:16} updates to {target_loss:g}: {str(reach[name]):5} "
          f"epoch-1 loss {history.epoch_loss[0]:.1e}   |least squares| {gap:.1e}")

# %%
verdicts["momentum_same_lr"] = race(reach["momentum"], reach["sgd"])
verdicts["nag_same_lr"] = race(reach["nag"], reach["sgd"])
verdicts["momentum_equal_step"] = race(reach["momentum, lr/10"], reach["sgd"])
findings.update(updates_to_target=reach, sgd_updates=reach["sgd"],
                momentum_updates=reach["momentum"], nag_updates=reach["nag"],
                equal_step_updates=reach["momentum, lr/10"])
SAY_RACE = {"faster": "{name} needed {updates} updates against sgd's {sgd_updates}: faster.",
            "not faster": "{name} needed {updates} updates against sgd's {sgd_updates}: no faster.",
            "inconclusive": "{name} against sgd is inconclusive: a run never reached the target."}
RACERS = {"momentum_same_lr": ("At the same lr, momentum", "momentum_updates"),
          "nag_same_lr": ("At the same lr, nag", "nag_updates"),
          "momentum_equal_step": ("At the same effective step, momentum", "equal_step_updates")}
for verdict, (name, key) in RACERS.items():
    print(SAY_RACE[verdicts[verdict]].format(name=name, updates=findings[key], **findings))
for name in ("momentum", "nag"):
    weight, bias = model.extract_weights(runs[name][0])
    findings.update({f"{name}_weight": weight, f"{name}_bias": bias,
                     f"{name}_epoch_loss": runs[name][1].epoch_loss})
findings["figures"].append(plots.loss_curves(
    {name: history.step_loss for name, (_, history) in runs.items()}, out_dir, "gluon_loss",
    xlabel="update", ylabel="batch mean L2 loss", margins=plots.SINGLE_PANEL_MARGINS,
    title=f"Gluon, batch size {batch_size}, lr {lr:g}"))

# %% [markdown]
# ## What we found

# %%
print(f"Seed {seed}: the walkthrough's w = {onp.round(walk[:2], 3)}, b = {walk[2]:.3f}.")
print(SAY_WALKTHROUGH[verdicts["walkthrough"]].format(**findings))
print(SAY_LEGACY[verdicts["legacy_nd"]].format(**findings))
print(SAY_FIT[verdicts["fit_vs_walkthrough"]].format(**findings))
print(SAY_D2L[verdicts["fit_vs_d2l"]].format(**findings))
print(SAY_LOADERS[verdicts["loaders_and_devices"]].format(**findings))
for verdict, (name, key) in RACERS.items():
    print(SAY_RACE[verdicts[verdict]].format(name=name, updates=findings[key], **findings))
print("(At the same lr momentum 0.9 takes a ten times larger effective step.)")

# %% [markdown]
# ## Exercises
# 1. Set `lr = 0.3`, then `lr = 3` (or `--set lr=3`). Which run diverges, and what does
#    `training.fit`'s divergence guard tell you?
# 2. Build the net with `model.linear_regression(sigma=10)` instead of `init.Normal(sigma=0.01)`
#    and train it with `training.fit`. How many more updates does plain SGD need to reach the
#    target?
# 3. In `training.fit` (gluon_lessons/training.py), replace `trainer.step(batch_size)` by
#    `trainer.step(1)` and run this lesson again. Which learning rate gives back the original run?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 4`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(4, number, answer)
