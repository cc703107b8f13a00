"""Lesson 4 — The Gluon walkthrough: DataLoader, Dense, L2Loss, Trainer, and the weights checked.

What you will see: the walkthrough's code (ArrayDataset + DataLoader(shuffle=True),
nn.Sequential + nn.Dense(1), init.Normal(sigma=0.01), L2Loss, Trainer('sgd', lr 0.03), three
epochs) run on the committed house-price data; the weights pulled out of `net[0]` and checked
against the truth and against least squares; the same model trained with momentum and with
Nesterov's `nag`; and two claims measured: the fast in-memory loader and a run split over two
CPU devices give the same weights as the walkthrough's path.

Run it:  gluon-lessons run gluon        (or: python -m gluon_lessons.lessons.lesson04_gluon)
"""
# %% [markdown]
# ## Setup
# The walkthrough's hyperparameters, in one place:
# %%
import numpy as onp
from mxnet import nd, np, npx
from mxnet.gluon import nn

from gluon_lessons import data as house_data
from gluon_lessons import devices, loading, model, plots, training
from gluon_lessons.lessons._common import heading, lesson_main, output_dir

npx.set_np()

SLUG = "gluon"
BATCH_SIZE = 10  # examples per update
LR = 0.03  # learning rate
NUM_EPOCHS = 3  # passes over the data
MOMENTUM = 0.9  # for the momentum and nag runs
TWO_DEVICES = "cpu:0,cpu:1"  # on a GPU machine: gpu:0,gpu:1
TARGET_LOSS = 1e-3  # batch mean L2 loss, for counting updates


# %% [markdown]
# ## The walkthrough's code, NumPy interface
# This is what `training.train_linear_regression(data, loader="gluon")` does, spelled out
# (the loop itself is `training.fit`, shared by every lesson):
#
# ```python
# from mxnet import autograd, gluon, init, np, npx
# from mxnet.gluon import nn
# npx.set_np()
#
# batch_size = 10
# dataset = gluon.data.ArrayDataset(features, labels)        # features (1000, 2), labels (1000,)
# data_iter = gluon.data.DataLoader(dataset, batch_size, shuffle=True)
#
# net = nn.Sequential()
# net.add(nn.Dense(1))                                       # one fully connected output
# net.initialize(init.Normal(sigma=0.01))
# loss = gluon.loss.L2Loss()                                 # ½ (ŷ − y)² per example
# trainer = gluon.Trainer(net.collect_params(), 'sgd', {'learning_rate': 0.03})
#
# num_epochs = 3
# for epoch in range(1, num_epochs + 1):
#     for X, y in data_iter:
#         with autograd.record():
#             l = loss(net(X), y)
#         l.backward()
#         trainer.step(batch_size)                           # one update, gradient scaled by 1/batch_size
#     l = loss(net(features), labels)
#     print('epoch %d, loss: %f' % (epoch, l.mean().item()))
#
# dense = net[0]
# dense.weight.data(), dense.bias.data()
# ```

# %% [markdown]
# ## The same code in the legacy `nd` spelling
# Older write-ups of this walkthrough (MXNet 1.x, the first d2l) use `nd` arrays:
#
# ```python
# from mxnet import nd
# from mxnet.gluon import data as gdata, loss as gloss
# features = nd.random.normal(scale=1, shape=(1000, 2))        # np.random.normal(0, 1, (1000, 2))
# labels = nd.dot(features, nd.array([2, -3.4])) + 4.2         # np.dot(features, np.array([2, -3.4])) + 4.2
# labels += nd.random.normal(scale=0.01, shape=labels.shape)
# dataset = gdata.ArrayDataset(features, labels)               # gluon.data.ArrayDataset
# loss = gloss.L2Loss()                                        # gluon.loss.L2Loss
# print('epoch %d, loss: %f' % (epoch, l.mean().asnumpy()))    # .item() on a NumPy-interface scalar
# ```
#
# The Gluon calls are the same; only the array module changes. This course uses the NumPy
# interface because d2l 1.0.3 switches MXNet into it (`npx.set_np()`) for the whole process
# as soon as it is imported, and from then on Gluon blocks accept only `mxnet.np` arrays. We
# measure it below: an `nd` array fed to `Dense` raises, and `.as_np_ndarray()` converts it.
# %%
def legacy_nd_check():
    """Feed a `Dense(1)` an `nd` array, then the same numbers converted; return what happened."""
    net = nn.Dense(1)
    net.initialize()
    legacy = nd.array([[1.0, 2.0]])
    try:
        net(legacy)
        error = None
    except ValueError as failure:
        sentences = str(failure).split(". ")
        error = "ValueError: " + next((s for s in sentences if "legacy" in s), sentences[0])
    converted = net(legacy.as_np_ndarray())
    return {"numpy_mode": bool(npx.is_np_array()), "legacy_error": error,
            "converted_output_type": type(converted).__module__ + "." + type(converted).__name__}


# %% [markdown]
# ## Training and extracting the weights
# The trained model holds no variables called w and b; they live in the Dense layer:
# `net[0].weight.data()` (shape (1, 2), one row per output) and `net[0].bias.data()`.
# Least squares (`model.least_squares`) is the best any trainer can do on these 1000
# noisy examples; the truth is what generated them.
# %%
def train(house, loader="gluon", ctx="cpu", optimizer="sgd", momentum=0.0, seed=0,
          batch_size=BATCH_SIZE, lr=LR, num_epochs=NUM_EPOCHS):
    """The walkthrough's training on `house`; returns `training.TrainResult`."""
    return training.train_linear_regression(house, batch_size=batch_size, lr=lr, momentum=momentum,
                                            optimizer=optimizer, num_epochs=num_epochs, ctx=ctx, seed=seed,
                                            loader=loader, progress=False)


def _fmt(values, digits=4):
    return "[%s]" % ", ".join("%.*f" % (digits, v) for v in onp.ravel(values))


def weights_of(result):
    """(w_1, ..., w_d, b) of a trained run as one float64 vector."""
    return onp.append(result.weight, result.bias)


def max_gap(a, b):
    """Largest absolute difference between two weight vectors."""
    return float(onp.max(onp.abs(onp.asarray(a, onp.float64) - onp.asarray(b, onp.float64))))


def report(label, result, truth, ols):
    weights = weights_of(result)
    print("  %-24s w %s  b %.4f   |truth| %.1e   |least squares| %.1e   %.0f ms/epoch"
          % (label, _fmt(result.weight), result.bias, max_gap(weights, truth), max_gap(weights, ols),
             1000 * result.history.median_seconds_per_epoch))


# %% [markdown]
# ## Momentum and Nesterov
# `Trainer('sgd', {'learning_rate': 0.03, 'momentum': 0.9})` is the heavy-ball update of
# lesson 3; `'nag'` evaluates the step at the point momentum is about to carry the weights to.
# We count the updates each needs before the batch loss, averaged over the last 10 updates,
# falls below 10⁻³ (lesson 5 compares such counts with theory). With the same learning rate the
# final weights jitter a little more around the optimum: each step now carries about
# 1/(1 − 0.9) = 10 gradients' worth of batch noise.
# %%
def updates_to_reach(step_loss, target=1e-3, window=10):
    """First update after which the mean of the last `window` batch losses is below `target`; None if never."""
    values = onp.asarray(step_loss, dtype=float)
    if len(values) < window:
        return None
    below = onp.flatnonzero(onp.convolve(values, onp.ones(window) / window, mode="valid") < target)
    return int(below[0]) + window if below.size else None

# %% [markdown]
# ## Two loaders, two devices, one answer
# `loader="fast"` cuts batches from one shuffled copy on the device and hybridizes the model.
# Both loaders draw the shuffle from NumPy's global RNG the same way, so with one seed they
# deal the same batches, and the weights should agree. With `ctx="cpu:0,cpu:1"` every batch is
# split over two devices (`gluon.utils.split_and_load`), each computes the gradient of its
# half, and the Trainer sums them: the same update, computed in two pieces. On a machine with
# GPUs the same call takes `gpu:0,gpu:1`. Here the two "devices" share the same two CPU cores,
# so splitting only adds work; the time per epoch below shows it.
# %%
def run(out_dir=None, seed=0, quick=False, batch_size=BATCH_SIZE, lr=LR, num_epochs=NUM_EPOCHS, momentum=MOMENTUM):
    """The walkthrough, its weights checked, momentum and nag, loaders and devices compared; the findings."""
    training.check_hyperparameters(lr, momentum, num_epochs)
    loading.check_batch_size(batch_size)
    out = output_dir(SLUG, out_dir)
    house = house_data.walkthrough_data()
    truth = onp.append(house.true_w, house.true_b)
    ols_w, ols_b = model.least_squares(house.features, house.labels)
    ols = onp.append(ols_w, ols_b)
    settings = dict(seed=seed, batch_size=batch_size, lr=lr, num_epochs=num_epochs)
    other_loader = "fast" if quick else "gluon"  # momentum and nag; both loaders agree, as measured below

    heading("NumPy interface vs legacy nd arrays")
    legacy = legacy_nd_check()
    print("  NumPy mode on: %s; Dense(1) on an nd array: %s" % (legacy["numpy_mode"], legacy["legacy_error"]))
    print("  after .as_np_ndarray() it returns %s" % legacy["converted_output_type"])

    heading("The walkthrough: DataLoader(shuffle=True), Dense(1), L2Loss, sgd lr %g, %d epochs" % (lr, num_epochs))
    walk = train(house, loader="gluon", **settings)
    for epoch, value in enumerate(walk.history.epoch_loss, start=1):
        print("epoch %d, loss: %f" % (epoch, value))
    dense = walk.net[0]
    print("  net[0].weight.data() = %s, shape %s" % (_fmt(dense.weight.data().asnumpy()), dense.weight.data().shape))
    print("  net[0].bias.data()   = %s" % _fmt(dense.bias.data().asnumpy()))
    print("  true w %s, b %.4f;  least squares w %s, b %.4f" % (_fmt(house.true_w), house.true_b, _fmt(ols_w), ols_b))

    heading("Optimizers (loader %s), distances are max |difference| over (w, b)" % other_loader)
    report("sgd", walk, truth, ols)
    heavy = train(house, loader=other_loader, momentum=momentum, **settings)
    report("sgd, momentum %g" % momentum, heavy, truth, ols)
    nesterov = train(house, loader=other_loader, optimizer="nag", momentum=momentum, **settings)
    report("nag, momentum %g" % momentum, nesterov, truth, ols)
    reach = {name: updates_to_reach(result.history.step_loss, TARGET_LOSS)
             for name, result in (("sgd", walk), ("momentum", heavy), ("nag", nesterov))}
    print("  updates until the batch loss (mean of 10) is below %g: sgd %s, momentum %s, nag %s"
          % (TARGET_LOSS, reach["sgd"], reach["momentum"], reach["nag"]))

    heading("Loaders and devices")
    fast = train(house, loader="fast", **settings)
    report("fast loader, cpu", fast, truth, ols)
    two = train(house, loader="fast", ctx=TWO_DEVICES, **settings)
    report("fast loader, " + TWO_DEVICES, two, truth, ols)
    loader_gap, device_gap = max_gap(weights_of(fast), weights_of(walk)), max_gap(weights_of(two), weights_of(fast))
    print("  fast vs DataLoader: weights differ by %.1e;  two devices vs one: %.1e" % (loader_gap, device_gap))

    curves = {"sgd": walk.history.step_loss, "sgd, momentum %g" % momentum: heavy.history.step_loss,
              "nag, momentum %g" % momentum: nesterov.history.step_loss}
    figure = plots.loss_curves(curves, out, "gluon_loss", xlabel="update", ylabel="batch mean L2 loss",
                               title="Gluon, batch size %d, lr %g" % (batch_size, lr))
    print("\nFigure: %s" % figure)

    heading("What we found (seed %d)" % seed)
    print("  The walkthrough recovers w = %s, b = %.3f: %.0e from the truth and %.0e from least squares."
          % (_fmt(walk.weight, 3), walk.bias, max_gap(weights_of(walk), truth), max_gap(weights_of(walk), ols)))
    print("  Momentum and nag get the batch loss below %g in %s and %s updates instead of %s, and end"
          % (TARGET_LOSS, reach["momentum"], reach["nag"], reach["sgd"]))
    print("  epoch 1 at a loss of %.1e and %.1e instead of %.1e. The fast loader and two devices"
          % (heavy.history.epoch_loss[0], nesterov.history.epoch_loss[0], walk.history.epoch_loss[0]))
    print("  change the speed, not the answer.")
    return {
        "seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "momentum": momentum,
        "true_weight": list(house.true_w), "true_bias": house.true_b, "ols_weight": ols_w, "ols_bias": ols_b,
        "weight": walk.weight, "bias": walk.bias, "epoch_loss": walk.history.epoch_loss,
        "momentum_weight": heavy.weight, "momentum_bias": heavy.bias, "momentum_epoch_loss": heavy.history.epoch_loss,
        "updates_to_target": reach, "target_loss": TARGET_LOSS,
        "nag_weight": nesterov.weight, "nag_bias": nesterov.bias, "nag_epoch_loss": nesterov.history.epoch_loss,
        "fast_weight": fast.weight, "fast_bias": fast.bias, "loader_gap": loader_gap,
        "two_device_weight": two.weight, "two_device_bias": two.bias, "device_gap": device_gap,
        "two_device_ctx": devices.ctx_names(two.contexts),
        "seconds_per_epoch": {"gluon": walk.history.median_seconds_per_epoch,
                              "fast": fast.history.median_seconds_per_epoch,
                              "fast_two_devices": two.history.median_seconds_per_epoch},
        "legacy_nd": legacy, "figures": [figure],
    }


# %% [markdown]
# ## Exercises
# 1. Set `--set lr=0.3` and `--set lr=3`. Which run diverges, and what does the course's
#    divergence guard tell you?
# 2. Build the net with `model.linear_regression(sigma=10)` instead of `init.Normal(sigma=0.01)`
#    and train it with `training.fit`. How many more updates does plain SGD need to reach the same loss?
# 3. Replace `trainer.step(batch_size)` by `trainer.step(1)` in `training.fit`. Which learning
#    rate gives back the original run?
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
