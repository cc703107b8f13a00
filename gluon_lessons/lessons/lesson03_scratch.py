# %% [markdown]
# # Lesson 3 — Linear regression from scratch: parameters, autograd, mini-batch SGD and momentum
#
# What you will see: the walkthrough's model written with nothing but MXNet arrays — w and b with
# gradient buffers, `autograd.record()`, the squared loss, and the update rule typed out by hand:
# first plain mini-batch SGD, then heavy-ball momentum, at the same learning rate and at the same
# *effective* step. Fed the same batches from the same starting point, the hand-written updates and
# Gluon's `Trainer('sgd')` agree step by step to float32 rounding, and the weights land on the truth.
#
# Run it: `gluon-lessons run scratch`, `python -m gluon_lessons.lessons.lesson03_scratch`, or as a
# notebook: `gluon-lessons notebook 3` (then open it in Jupyter or VS Code).

# %%
import itertools

import numpy as onp
from mxnet import autograd, np, npx

from gluon_lessons import convergence, landscape, loading, model, plots, training
from gluon_lessons import data as house_data
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0            # one seed for random, numpy and mx.random: the starting weights and the shuffles
batch_size = 10     # examples per update
lr = 0.03           # learning rate η
num_epochs = 3      # passes over the data
momentum = 0.9      # β of the heavy-ball runs (0 = plain SGD)
compare_steps = 100  # updates over which scratch and Gluon are compared
out_dir = None      # None: figures show inline in a notebook; the command line saves them (lesson_output/scratch)
QUICK = dict(compare_steps=30)  # what --quick (and the tests) change; a setting given with --set always wins

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    training.check_hyperparameters(lr, momentum, num_epochs)
    loading.check_batch_size(batch_size)
    loading.check_count(compare_steps, "compare_steps")
    runner.check_memory(10_000 * compare_steps, "compare_steps=%d updates" % compare_steps)  # ~4 kB an update kept
print("seed %d; batch size %d, lr %g, %d epochs, momentum %g; %d updates compared with Gluon"
      % (seed, batch_size, lr, num_epochs, momentum, compare_steps))

# %% [markdown]
# ## 1. The data and the best fit
# The committed walkthrough data: 1000 houses, price = 2·area − 3.4·age + 4.2 plus noise of standard
# deviation 0.01 (lesson 1). Least squares is the best any trainer can recover from them.

# %%
def fmt(values, digits=4):
    """Numbers as "[a, b, ...]" with `digits` decimals."""
    return "[%s]" % ", ".join("%.*f" % (digits, value) for value in onp.ravel(values))


set_seed(seed)
house = house_data.walkthrough_data()
features, labels = house.features, house.labels  # (1000, 2), (1000,) NumPy float32
ols_w, ols_b = model.least_squares(features, labels)
best_loss = model.mean_l2_loss(features, labels, ols_w, ols_b)
print("true w %s, b %.4f;  least squares w %s, b %.4f;  its mean loss %.3g"
      % (list(house.true_w), house.true_b, fmt(ols_w), ols_b, best_loss))

# %% [markdown]
# ## 2. Parameters with gradient buffers
# w starts as small Gaussian noise (σ = 0.01, as `init.Normal(sigma=0.01)` in the walkthrough), b at
# zero. `attach_grad()` gives each a buffer of its own shape that `backward()` fills with the gradient.

# %%
def params_from(weight, bias):
    """[w, b] holding copies of the given numbers, w of shape (d, 1) and b of shape (1,), gradients attached."""
    w = np.array(onp.asarray(weight, onp.float32).reshape(-1, 1))
    b = np.array(onp.asarray(bias, onp.float32).reshape(1))
    for param in (w, b):
        param.attach_grad()
    return [w, b]


def init_params(num_inputs, sigma=0.01):
    """[w, b]: w ~ N(0, sigma²) of shape (num_inputs, 1), b = 0."""
    if isinstance(num_inputs, bool) or not isinstance(num_inputs, (int, onp.integer)) or num_inputs < 1:
        raise ValueError("num_inputs must be an integer >= 1, got %r" % (num_inputs,))
    return params_from(np.random.normal(0.0, sigma, size=(int(num_inputs), 1)).asnumpy(), [0.0])


def flat_weights(params):
    """(w_1, ..., w_d, b) as one float32 NumPy vector."""
    return onp.concatenate([param.asnumpy().ravel() for param in params])


w, b = init_params(house.num_features)
start_w, start_b = w.asnumpy(), b.asnumpy()  # every run below starts here
print("w", start_w.ravel(), "shape", w.shape, "; b", start_b, "shape", b.shape)
print("gradient buffers: w.grad", w.grad.shape, ", b.grad", b.grad.shape)

# %% [markdown]
# ## 3. Model, loss, and the gradient autograd finds
# The model is one matrix product, ŷ = X w + b: shapes (B, 2)·(2, 1) + (1,) → (B, 1). The loss of
# each example is ½(ŷ − y)², the number Gluon's `L2Loss` gives. Recorded under `autograd.record()`,
# `l.backward()` on the vector of per-example losses writes the gradient of their *sum* into `w.grad`
# and `b.grad`. We check it on the first batch against the formula: ∂/∂w_j Σ ½(x·w + b − y)² =
# Σ x_j (x·w + b − y), and for b the plain sum of the residuals.

# %%
def linreg(X, w, b):
    """ŷ = X w + b, shape (batch, 1)."""
    return np.dot(X, w) + b


def squared_loss(y_hat, y):
    """½ (ŷ − y)² per example."""
    return (y_hat - y.reshape(y_hat.shape)) ** 2 / 2


X, y = np.array(features[:batch_size]), np.array(labels[:batch_size])
with autograd.record():
    l = squared_loss(linreg(X, w, b), y)
l.backward()
residual = features[:batch_size].astype(onp.float64) @ start_w.ravel() + start_b[0] - labels[:batch_size]
by_formula = onp.append(features[:batch_size].T.astype(onp.float64) @ residual, residual.sum())
by_autograd = onp.append(w.grad.asnumpy().ravel(), b.grad.asnumpy())
gradient_gap = float(onp.max(onp.abs(by_autograd - by_formula)) / onp.max(onp.abs(by_formula)))
print("loss per example, shape", l.shape, "; batch mean %.4f" % float(l.mean()))
print("gradient by autograd %s\n        by formula  %s   (largest relative difference %.1e)"
      % (fmt(by_autograd), fmt(by_formula), gradient_gap))

# %% [markdown]
# ## 4. The update, by hand
# Dividing the summed gradient by the batch size gives the mean gradient g of the batch.
#
# Plain mini-batch SGD:  w ← w − η g.
#
# Heavy-ball momentum, as the lecture writes it (m = λm − ηg; w ← w + m; this course writes β for the
# momentum, as lesson 5 does, and keeps λ for the curvatures of lesson 1) and as MXNet's `sgd` optimizer
# computes it: v ← βv − ηg; w ← w + v. Starting from v = 0, v is minus η times a weighted sum of all
# past gradients: the newest weighted 1, the one before β, then β², ...

# %%
def sgd_step(params, velocities, lr, momentum, batch_size):
    """Update each param in place from its `.grad` (the gradient of the batch's summed loss)."""
    for param, velocity in zip(params, velocities):
        if momentum == 0:
            param -= lr * param.grad / batch_size
        else:
            velocity[:] = momentum * velocity - lr * param.grad / batch_size
            param += velocity


before = flat_weights([w, b])  # w.grad and b.grad still hold the first batch's gradient from section 3
sgd_step([w, b], [np.zeros_like(w), np.zeros_like(b)], lr, 0.0, batch_size)
print("one step on the first batch:")
for label, values in (("(w, b) before", before), ("after sgd_step", flat_weights([w, b])),
                      ("before − η·g", before - lr * by_autograd / batch_size)):  # g = grad / B
    print("  %-15s %s" % (label, fmt(values)))

# %% [markdown]
# The training loop is the walkthrough's, with our pieces in place of Gluon's: each epoch deals the
# data in a new order (`loading.ShuffledBatches`, lesson 2); for each batch, record the loss, backpropagate,
# update.

# %%
def train_scratch(features, labels, batch_size, lr, momentum, num_epochs, params=None, batches=None, on_step=None):
    """Train [w, b] by hand; (params, mean loss on all data after each epoch, each batch's loss before its update).

    `params` default to `init_params`, `batches` (re-iterable (X, y) pairs) to fresh shuffles per epoch;
    `on_step(params)` runs after every update."""
    training.check_hyperparameters(lr, momentum, num_epochs)
    params = params if params is not None else init_params(onp.shape(features)[1])
    batches = batches if batches is not None else loading.ShuffledBatches(features, labels, batch_size)
    velocities = [np.zeros_like(param) for param in params]
    X_all, y_all = np.array(features, dtype="float32"), np.array(labels, dtype="float32")
    epoch_loss, step_loss = [], []
    for epoch in range(num_epochs):
        for X, y in batches:
            with autograd.record():
                l = squared_loss(linreg(X, *params), y)
            l.backward()
            sgd_step(params, velocities, lr, momentum, len(X))
            step_loss.append(l.mean())
            if on_step is not None:
                on_step(params)
        epoch_loss.append(float(squared_loss(linreg(X_all, *params), y_all).mean()))
    return params, epoch_loss, (np.stack(step_loss).asnumpy().tolist() if step_loss else [])


# %% [markdown]
# ## 5. Plain SGD
# From the starting point of section 2, with the walkthrough's settings:

# %%
def train_from_start(lr, momentum):
    """`train_scratch` from the common starting point, over the same shuffles (same seed) as every other run."""
    set_seed(seed)
    return train_scratch(features, labels, batch_size, lr, momentum, num_epochs, params=params_from(start_w, start_b))


def report(name, run):
    params, epoch_loss, _ = run
    for epoch, value in enumerate(epoch_loss, start=1):
        print("%s  epoch %d, loss: %f" % (name, epoch, value))
    weights = flat_weights(params)
    print("%s  w %s, b %.4f (least squares %s, %.4f)" % (name, fmt(weights[:-1]), weights[-1], fmt(ols_w), ols_b))


runs = {"sgd": train_from_start(lr, 0.0)}
report("sgd", runs["sgd"])

# %% [markdown]
# ## 6. Momentum, at the same learning rate and at the same effective step
# Mind what "the same lr" means. Under a steady gradient g the velocity settles where v = βv − ηg,
# i.e. v = −ηg/(1 − β): with β = 0.9 each update then moves ten gradients' worth, a ten times larger
# *effective step* η/(1 − β). A fair race gives momentum the learning rate η(1 − β), whose effective
# step is plain SGD's η; we run momentum at both. Theory (lesson 5 checks it) predicts how fast each
# closes in on the minimum: per update the distance shrinks by a factor set by the loss's curvatures
# (the Hessian's eigenvalues, lesson 1): 1 − η·(smallest curvature) for plain SGD at small steps, and
# √β for momentum once it swings about the minimum, whatever its learning rate.

# %%
equal_step_lr = lr * (1 - momentum)
names = {"same lr": "momentum %g, lr %g" % (momentum, lr), "equal step": "momentum %g, lr %g" % (momentum, equal_step_lr)}
race = {"sgd": (lr, 0.0), names["same lr"]: (lr, momentum), names["equal step"]: (equal_step_lr, momentum)}
curvatures = landscape.eigenvalues(landscape.hessian(features))
theory = {name: convergence.heavy_ball_rate(step, mom, curvatures) for name, (step, mom) in race.items()}
print("curvatures of the loss: %s" % fmt(curvatures))
for name, (step, mom) in race.items():
    print("%-24s effective step %-7g theory: the distance to the minimum shrinks x%.4f per update"
          % (name, convergence.effective_lr(step, mom), theory[name]))

# %%
for name in names.values():
    runs[name] = train_from_start(*race[name])
    report(name, runs[name])
figure = plots.loss_curves({name: run[2] for name, run in runs.items()}, out_dir, "scratch_loss",
                           xlabel="update", ylabel="batch mean L2 loss",
                           title="From scratch, batch size %d" % batch_size)

# %% [markdown]
# ## 7. Checking against Gluon, update by update
# Build the walkthrough's `Dense(1)` and `Trainer('sgd', {'learning_rate', 'momentum'})`, copy the
# scratch starting point into it (Gluon stores w as (1, d), its transpose), and feed both the very
# same batches. After every update we compare (w, b): any difference in the gradient, the 1/B scaling
# or the momentum convention would show at once; what remains is float32 rounding.

# %%
def relative_gap(a, b):
    """max |a − b| / max |b|: the largest difference relative to the size of the weights."""
    a, b = onp.asarray(a, onp.float64), onp.asarray(b, onp.float64)
    return float(onp.max(onp.abs(a - b)) / max(onp.max(onp.abs(b)), 1e-30))


def compare_with_gluon(lr, momentum, num_steps):
    """Same start, same batches: the relative gap between scratch and Gluon weights after each update."""
    set_seed(seed)
    epochs = itertools.chain.from_iterable(itertools.repeat(loading.ShuffledBatches(features, labels, batch_size)))
    batches = list(itertools.islice(epochs, num_steps))
    net = model.linear_regression(num_inputs=len(start_w))
    net[0].weight.set_data(np.array(start_w.T))
    net[0].bias.set_data(np.array(start_b))
    gluon_path = []
    training.fit(net, batches, training.make_trainer(net, "sgd", lr, momentum), 1, hybridize=False,
                 on_step=lambda info: gluon_path.append(onp.append(*model.extract_weights(net))))
    scratch_path = []
    train_scratch(features, labels, batch_size, lr, momentum, 1, params=params_from(start_w, start_b),
                  batches=batches, on_step=lambda params: scratch_path.append(flat_weights(params)))
    return [relative_gap(s, g) for s, g in zip(scratch_path, gluon_path)]


gaps = {mom: compare_with_gluon(lr, mom, compare_steps) for mom in (0.0, momentum)}
for mom, gap in gaps.items():
    print("momentum %-4g largest relative difference in (w, b) over %d updates: %.2e (float32 epsilon %.2e)"
          % (mom, len(gap), max(gap), onp.finfo(onp.float32).eps))

# %% [markdown]
# ## What we found

# %%
AGREEMENT_TOLERANCE = 1e-5  # relative; float32 has about 7 digits and each update adds a rounding
TRUTH_TOLERANCE = 0.01      # the walkthrough's check of the trained weights
plain, truth = flat_weights(runs["sgd"][0]), onp.append(house.true_w, house.true_b)
off = float(onp.max(onp.abs(plain - truth)))
print("Seed %d. A few lines of MXNet arrays %s: w = %s, b = %.3f, at most %.1e from the truth %s, %.1f."
      % (seed, "recover the truth" if off < TRUTH_TOLERANCE else "do NOT recover the truth within %g"
         % TRUTH_TOLERANCE, fmt(plain[:-1], 3), plain[-1], off, list(house.true_w), house.true_b))
print("autograd's gradient %s the formula Σ x(x·w + b − y) (%.0e apart)."
      % ("is" if gradient_gap < AGREEMENT_TOLERANCE else "is NOT", gradient_gap))
worst = max(max(gap) for gap in gaps.values())
if worst < AGREEMENT_TOLERANCE:
    print("The hand-written updates match Gluon's Trainer to %.1e relative, float32 rounding: Trainer.step(batch_size)"
          " is the 1/B-scaled update, and MXNet's momentum is the lecture's m = βm − ηg (its λ is our β)." % worst)
else:
    print("The hand-written updates differ from Gluon's Trainer by %.1e relative: more than float32 rounding." % worst)

# %%
after_one = {name: run[1][0] for name, run in runs.items()}  # mean loss on all data after epoch 1
updates_per_epoch = len(runs["sgd"][2]) // num_epochs


def versus_sgd(ratio):
    """A loss ratio to plain SGD's in words: beyond 2x either way counts as a difference."""
    if not onp.isfinite(ratio):
        return None
    return "LOWER than" if ratio < 0.5 else "HIGHER than" if ratio > 2 else "about the same as"


print("After one epoch (%d updates) the mean loss is %s; least squares' is %.2e." % (updates_per_epoch, "; ".join(
    "%.2e (%s)" % (value, name) for name, value in after_one.items()), best_loss))
ratios = {}  # epoch-1 loss over plain SGD's: measured, and predicted by theory's rates
for key, clause in (("same lr", "at the same lr (%g)" % lr), ("equal step", "at the same effective step (lr %g)"
                                                              % equal_step_lr)):
    measured = after_one[names[key]] / after_one["sgd"]
    predicted = (theory[names[key]] / theory["sgd"]) ** (2 * updates_per_epoch)  # loss ~ distance²
    ratios[key] = {"measured": measured, "predicted": predicted}
    if versus_sgd(measured) is None or versus_sgd(predicted) is None:
        print("Momentum %s cannot be compared with plain SGD: a run diverged." % clause)
        continue
    print("Momentum %g %s ends epoch 1 %s plain SGD (%.2g times its loss)%s; theory's rates predicted %s (a ratio"
          " of %.2g)." % (momentum, clause, versus_sgd(measured), measured,
                          " — with a %.0f times larger effective step" % (1 / (1 - momentum))
                          if key == "same lr" and momentum > 0 else "",
             "the same" if versus_sgd(predicted) == versus_sgd(measured) else versus_sgd(predicted), predicted))

# %%
momentum_params, momentum_loss, _ = runs[names["same lr"]]
equal_params, equal_loss, _ = runs[names["equal step"]]
findings = {
    "seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "momentum": momentum,
    "true_weight": list(house.true_w), "true_bias": house.true_b, "ols_weight": ols_w, "ols_bias": ols_b,
    "best_loss": best_loss, "gradient_gap": gradient_gap,
    "weight": plain[:-1], "bias": float(plain[-1]), "epoch_loss": runs["sgd"][1],
    "momentum_weight": flat_weights(momentum_params)[:-1], "momentum_bias": float(flat_weights(momentum_params)[-1]),
    "momentum_epoch_loss": momentum_loss, "effective_lr": convergence.effective_lr(lr, momentum),
    "equal_step_lr": equal_step_lr, "equal_step_weight": flat_weights(equal_params)[:-1],
    "equal_step_bias": float(flat_weights(equal_params)[-1]), "equal_step_epoch_loss": equal_loss,
    "curvatures": curvatures, "theory_rates": theory, "epoch1_loss_ratios": ratios,
    "compare_steps": compare_steps, "agreement_tolerance": AGREEMENT_TOLERANCE,
    "max_gap_sgd": max(gaps[0.0]), "max_gap_momentum": max(gaps[momentum]), "figures": [figure],
}

# %% [markdown]
# ## Exercises
# 1. Drop the `/ batch_size` in `sgd_step`. Which learning rate now gives the same run, and why does
#    Gluon's `trainer.step(batch_size)` need the batch size?
# 2. Replace the momentum update by v ← βv + (1 − β)g; w ← w − ηv (an average, not a sum). Does
#    `compare_with_gluon` still agree? Which learning rate makes it agree again?
# 3. Run with `--set momentum=0.99`. What is the effective step now, what happens to the loss per
#    epoch, and at which lr would the race be fair?
