"""Lesson 3 — Linear regression from scratch: parameters, autograd, mini-batch SGD and momentum.

What you will see: the walkthrough's model written with nothing but MXNet arrays — w and b
with gradient buffers, `autograd.record()`, the squared loss, and the update rule typed out
by hand, first plain mini-batch SGD, then heavy-ball momentum. Fed the same batches from the
same starting point, the hand-written updates and Gluon's `Trainer('sgd')` agree step by step
to float32 rounding; the trained weights land on the truth.

Run it:  gluon-lessons run scratch        (or: python -m gluon_lessons.lessons.lesson03_scratch)
"""
# %% [markdown]
# ## Setup
# The committed walkthrough data (1000 examples, price = 2·area − 3.4·age + 4.2 + noise),
# and the walkthrough's hyperparameters:
# %%
import dataclasses
import itertools

import numpy as onp
from mxnet import autograd, np, npx

from gluon_lessons import data as house_data
from gluon_lessons import loading, model, plots, training
from gluon_lessons.lessons._common import heading, lesson_main, output_dir
from gluon_lessons.seeding import set_seed

npx.set_np()

SLUG = "scratch"
BATCH_SIZE = 10  # examples per update
LR = 0.03  # learning rate η
NUM_EPOCHS = 3  # passes over the data
MOMENTUM = 0.9  # λ of the heavy-ball run (0 = plain SGD)
COMPARE_STEPS = 100  # updates over which scratch and Gluon are compared
AGREEMENT_TOLERANCE = 1e-5  # relative; float32 has about 7 digits and each step adds a rounding


# %% [markdown]
# ## Parameters and model
# w starts as small Gaussian noise (σ = 0.01, as `init.Normal(sigma=0.01)` in the walkthrough)
# and b at zero. `attach_grad()` gives each a buffer that `backward()` fills with the gradient.
# The model is one matrix product: ŷ = X w + b, shapes (B, d)·(d, 1) + (1,) → (B, 1).
# %%
def init_params(num_inputs, sigma=0.01):
    """[w, b]: w ~ N(0, sigma²) of shape (num_inputs, 1), b = 0 of shape (1,), both with gradients attached."""
    if isinstance(num_inputs, bool) or not isinstance(num_inputs, (int, onp.integer)) or num_inputs < 1:
        raise ValueError("num_inputs must be an integer >= 1, got %r" % (num_inputs,))
    return params_from(np.random.normal(0.0, sigma, size=(int(num_inputs), 1)).asnumpy(), [0.0])


def params_from(weight, bias):
    """[w, b] holding copies of the given numbers, shaped as `init_params` makes them."""
    w = np.array(onp.asarray(weight, onp.float32).reshape(-1, 1))
    b = np.array(onp.asarray(bias, onp.float32).reshape(1))
    for param in (w, b):
        param.attach_grad()
    return [w, b]


def linreg(X, w, b):
    """ŷ = X w + b, shape (batch, 1)."""
    return np.dot(X, w) + b


def squared_loss(y_hat, y):
    """½ (ŷ − y)² per example, the same number Gluon's `L2Loss` gives."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


# %% [markdown]
# ## The update, by hand
# `l.backward()` on a vector of per-example losses writes the gradient of their *sum* into
# `w.grad` and `b.grad`, so dividing by the batch size gives the mean gradient g.
#
# Plain mini-batch SGD:      w ← w − η g
#
# Heavy-ball momentum, as the lecture writes it (m = λ m − η g; w ← w + m) and as MXNet's
# `sgd` optimizer computes it: v ← λ v − η g; w ← w + v. Starting from v = 0, v is minus η
# times a weighted sum of all past gradients, the newest weighted 1, the one before λ, then λ²...
# %%
def sgd_step(params, velocities, lr, momentum, batch_size):
    """Update each param in place from its `.grad` (the gradient of the batch's summed loss)."""
    for param, velocity in zip(params, velocities):
        if momentum == 0:
            param -= lr * param.grad / batch_size
        else:
            velocity[:] = momentum * velocity - lr * param.grad / batch_size
            param += velocity


def scratch_step(params, velocities, X, y, lr, momentum):
    """Forward under `autograd.record()`, backward, update; return the batch's mean loss before the update."""
    with autograd.record():
        l = squared_loss(linreg(X, *params), y)
    l.backward()
    sgd_step(params, velocities, lr, momentum, len(X))
    return l.mean()


@dataclasses.dataclass
class ScratchRun:
    weight: onp.ndarray
    bias: float
    params: list  # [w, b] as MXNet arrays
    epoch_loss: list  # mean loss on all data after each epoch
    step_loss: list  # mean loss of each batch before its update


def train_scratch(features, labels, batch_size=BATCH_SIZE, lr=LR, momentum=0.0, num_epochs=NUM_EPOCHS,
                  params=None, batches=None, on_step=None):
    """Train [w, b] with `sgd_step`; `batches` (re-iterable (X, y) pairs) defaults to fresh shuffles per epoch.

    `params` defaults to `init_params`; `on_step(params)` runs after every update.
    """
    training.check_hyperparameters(lr, momentum, num_epochs)
    if params is None:
        params = init_params(onp.shape(features)[1])
    if batches is None:
        batches = loading.ShuffledBatches(features, labels, batch_size)
    velocities = [np.zeros_like(param) for param in params]
    X_all, y_all = np.array(features, dtype="float32"), np.array(labels, dtype="float32")
    epoch_loss, step_losses = [], []
    for _ in range(num_epochs):
        for X, y in batches:
            step_losses.append(scratch_step(params, velocities, X, y, lr, momentum))
            if on_step is not None:
                on_step(params)
        epoch_loss.append(float(squared_loss(linreg(X_all, *params), y_all).mean()))
    step_loss = np.stack(step_losses).asnumpy().tolist() if step_losses else []
    return ScratchRun(flat_weights(params)[:-1], float(flat_weights(params)[-1]), params, epoch_loss, step_loss)


def _fmt(values, digits=4):
    return "[%s]" % ", ".join("%.*f" % (digits, v) for v in onp.ravel(values))


def flat_weights(params):
    """(w_1, ..., w_d, b) as one float32 NumPy vector."""
    return onp.concatenate([param.asnumpy().ravel() for param in params])


# %% [markdown]
# ## Checking against Gluon
# Build the walkthrough's `Dense(1)` and `Trainer('sgd', {'learning_rate', 'momentum'})`, copy
# the scratch starting point into it (Gluon stores w as (1, d), its transpose), and feed both the
# very same batches. After every update we compare (w, b): any difference in the gradient,
# the 1/B scaling or the momentum convention would show at once; what remains is float32 rounding.
# %%
def gluon_twin(params, lr, momentum):
    """`Dense(1)` + `Trainer('sgd')` starting from the numbers in scratch [w, b]."""
    w, b = params
    net = model.linear_regression(num_inputs=w.shape[0])
    net[0].weight.set_data(w.T)
    net[0].bias.set_data(b)
    return net, training.make_trainer(net, "sgd", lr, momentum)


def relative_gap(a, b):
    """max |a − b| / max |b|: the largest difference relative to the size of the weights."""
    a, b = onp.asarray(a, onp.float64), onp.asarray(b, onp.float64)
    return float(onp.max(onp.abs(a - b)) / max(onp.max(onp.abs(b)), 1e-30))


def compare_with_gluon(features, labels, batch_size=BATCH_SIZE, lr=LR, momentum=0.0, num_steps=COMPARE_STEPS):
    """Same start, same batches: return the per-step relative gap between scratch and Gluon weights."""
    params = init_params(onp.shape(features)[1])
    epochs = itertools.chain.from_iterable(itertools.repeat(loading.ShuffledBatches(features, labels, batch_size)))
    batches = list(itertools.islice(epochs, num_steps))
    net, trainer = gluon_twin(params, lr, momentum)
    gluon_path = []
    training.fit(net, batches, trainer, 1, hybridize=False,
                 on_step=lambda info: gluon_path.append(onp.append(*model.extract_weights(net))))
    scratch_path = []
    train_scratch(features, labels, lr=lr, momentum=momentum, num_epochs=1, params=params, batches=batches,
                  on_step=lambda p: scratch_path.append(flat_weights(p)))
    return [relative_gap(s, g) for s, g in zip(scratch_path, gluon_path)]


def run(out_dir=None, seed=0, quick=False, batch_size=BATCH_SIZE, lr=LR, num_epochs=NUM_EPOCHS,
        momentum=MOMENTUM, compare_steps=COMPARE_STEPS):
    """Train from scratch with and without momentum, check against Gluon; return the findings."""
    training.check_hyperparameters(lr, momentum, num_epochs)
    loading.check_batch_size(batch_size)
    set_seed(seed)
    out = output_dir(SLUG, out_dir)
    compare_steps = min(compare_steps, 30) if quick else compare_steps
    house = house_data.walkthrough_data()
    features, labels = house.features, house.labels
    ols_w, ols_b = model.least_squares(features, labels)

    heading("Parameters")
    params = init_params(house.num_features)
    print("  w %s (shape %s), b %s (shape %s); gradient buffers of shapes %s and %s"
          % (_fmt(params[0].asnumpy()), params[0].shape, _fmt(params[1].asnumpy()), params[1].shape,
             params[0].grad.shape, params[1].grad.shape))

    runs = {}
    for label, mom in (("sgd", 0.0), ("momentum %g" % momentum, momentum)):
        heading("Training by hand: %s, lr %g, batch size %d, %d epochs" % (label, lr, batch_size, num_epochs))
        result = train_scratch(features, labels, batch_size, lr, mom, num_epochs)
        for epoch, value in enumerate(result.epoch_loss, start=1):
            print("  epoch %d, loss: %f" % (epoch, value))
        print("  w %s (true %s, least squares %s)" % (_fmt(result.weight), _fmt(house.true_w), _fmt(ols_w)))
        print("  b %.4f (true %.4f, least squares %.4f)" % (result.bias, house.true_b, ols_b))
        runs[label] = result

    heading("Scratch vs Gluon on the same %d batches" % compare_steps)
    gaps = {}
    for mom in (0.0, momentum):
        gaps[mom] = compare_with_gluon(features, labels, batch_size, lr, mom, compare_steps)
        print("  momentum %-4g largest relative difference in (w, b) over %d steps: %.2e (float32 epsilon %.2e)"
              % (mom, len(gaps[mom]), max(gaps[mom]), onp.finfo(onp.float32).eps))

    figure = plots.loss_curves({label: r.step_loss for label, r in runs.items()}, out, "scratch_loss",
                               xlabel="update", ylabel="batch mean L2 loss",
                               title="From scratch, batch size %d, lr %g" % (batch_size, lr))
    print("\nFigure: %s" % figure)

    plain, heavy = runs["sgd"], runs["momentum %g" % momentum]
    worst = max(max(g) for g in gaps.values())
    heading("What we found (seed %d)" % seed)
    print("  A few lines of MXNet arrays recover w = %s, b = %.3f (truth %s, %.1f); with momentum %g,"
          % (_fmt(plain.weight, 3), plain.bias, _fmt(house.true_w, 1), house.true_b, momentum))
    print("  the loss after one epoch is %.1e instead of %.1e." % (heavy.epoch_loss[0], plain.epoch_loss[0]))
    print("  The hand-written updates match Gluon's Trainer to %.1e relative, i.e. float32 rounding:" % worst)
    print("  Trainer.step(batch_size) is the 1/B-scaled update, and MXNet's momentum is the lecture's m = λm − ηg.")
    return {
        "seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "momentum": momentum,
        "true_weight": list(house.true_w), "true_bias": house.true_b,
        "ols_weight": ols_w, "ols_bias": ols_b,
        "weight": plain.weight, "bias": plain.bias, "epoch_loss": plain.epoch_loss,
        "momentum_weight": heavy.weight, "momentum_bias": heavy.bias, "momentum_epoch_loss": heavy.epoch_loss,
        "compare_steps": compare_steps, "agreement_tolerance": AGREEMENT_TOLERANCE,
        "max_gap_sgd": max(gaps[0.0]), "max_gap_momentum": max(gaps[momentum]),
        "figures": [figure],
    }


# %% [markdown]
# ## Exercises
# 1. Drop the `/ batch_size` in `sgd_step`. Which learning rate now gives the same run, and why
#    does Gluon's `trainer.step(batch_size)` need the batch size?
# 2. Replace the momentum update by v ← λv + (1 − λ)g; w ← w − ηv (an average, not a sum). Does
#    `compare_with_gluon` still agree? Which learning rate makes it agree again?
# 3. Run with `--set momentum=0.99`. What happens to the loss per epoch, and why?
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
