# %% [markdown]
# # Lesson 3 — Linear regression from scratch: autograd, SGD, momentum
#
# What you will see: the walkthrough's model written with nothing but MXNet arrays — w and b with
# gradient buffers, `autograd.record()`, the squared loss, and the update rule typed out by hand:
# first plain mini-batch SGD, then heavy-ball momentum, at the same learning rate and at the same
# *effective* step. Fed the same batches from the same starting point, the hand-written updates
# and Gluon's `Trainer('sgd')` agree step by step to float32 rounding, and the weights land on
# the truth.
#
# Run it: `gluon-lessons run scratch` (about 3 s here; `--quick` in 2.5), or as a notebook:
# `gluon-lessons notebook 3`.

# %%
import itertools

import numpy as onp
from mxnet import autograd, np, npx

from gluon_lessons import checks, convergence, landscape, loading, model, plots, training
from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

npx.set_np()

# %% tags=["parameters"]
seed = 0            # one seed for random, numpy and mx.random: starting weights and shuffles
batch_size = 10     # examples per update
lr = 0.03           # learning rate η
num_epochs = 3      # passes over the data
momentum = 0.9      # β of the heavy-ball runs (0 = plain SGD)
compare_steps = 100  # updates over which scratch and Gluon are compared
out_dir = None      # None: figures show inline in a notebook; the command line saves them
QUICK = dict(compare_steps=30)  # what --quick (and the tests) change; --set always wins

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
batch_size = checks.integer("batch_size", batch_size, 1, 1000)  # the data hold 1000 houses
lr = checks.positive("lr", lr, high=10.0)
num_epochs = checks.integer("num_epochs", num_epochs, 1, 100)
momentum = checks.fraction("momentum", momentum)
compare_steps = checks.integer("compare_steps", compare_steps, 1, 10_000)
set_seed(seed)
print(f"seed {seed}; batch size {batch_size}, lr {lr:g}, {num_epochs} epochs, momentum"
      f" {momentum:g}; {compare_steps} updates compared with Gluon")
findings = {"seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs,
            "momentum": momentum, "compare_steps": compare_steps, "verdicts": {}}
verdicts = findings["verdicts"]

# %% [markdown]
# ## 1. The data and the best fit
# The committed walkthrough data: 1000 houses, price = 2·area − 3.4·age + 4.2 plus noise of
# standard deviation 0.01 (lesson 1). Least squares is the best any trainer can recover from them.

# %%
def fmt(values, digits=4):
    """Numbers as "[a, b, ...]" with `digits` decimals."""
    return "[" + ", ".join(f"{value:.{digits}f}" for value in onp.ravel(values)) + "]"


house = house_data.walkthrough_data()
features, labels = house.features, house.labels  # (1000, 2), (1000,) NumPy float32
ols_w, ols_b = model.least_squares(features, labels)
best_loss = model.mean_l2_loss(features, labels, ols_w, ols_b)
print(f"true w {list(house.true_w)}, b {house.true_b:.4f};  least squares w {fmt(ols_w)},"
      f" b {ols_b:.4f};  its mean loss {best_loss:.3g}")
findings.update(true_weight=list(house.true_w), true_bias=house.true_b, ols_weight=ols_w,
                ols_bias=ols_b, best_loss=best_loss)

# %% [markdown]
# ## 2. Parameters with gradient buffers
# w starts as small Gaussian noise (σ = 0.01, as `init.Normal(sigma=0.01)` in the walkthrough), b
# at zero. `attach_grad()` gives each a buffer of its own shape that `backward()` fills with the
# gradient.

# %%
def params_from(weight, bias):
    """[w, b] holding copies of the given numbers, w of shape (d, 1) and b of shape (1,),
    gradients attached."""
    w = np.array(onp.asarray(weight, onp.float32).reshape(-1, 1))
    b = np.array(onp.asarray(bias, onp.float32).reshape(1))
    for param in (w, b):
        param.attach_grad()
    return [w, b]


def init_params(num_inputs, sigma=0.01):
    """[w, b]: w ~ N(0, sigma²) of shape (num_inputs, 1), b = 0."""
    num_inputs = checks.integer("num_inputs", num_inputs, 1, 100_000)
    return params_from(np.random.normal(0.0, sigma, size=(num_inputs, 1)).asnumpy(), [0.0])


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
# each example is ½(ŷ − y)², the number Gluon's `L2Loss` gives. Recorded under
# `autograd.record()`, `l.backward()` on the vector of per-example losses writes the gradient of
# their *sum* into `w.grad` and `b.grad`. We check it on the first batch against the formula:
# ∂/∂w_j Σ ½(x·w + b − y)² = Σ x_j (x·w + b − y), and for b the plain sum of the residuals.
# float32 has about 7 digits: agreement to 1e-5 relative is agreement.

# %%
AGREEMENT_TOLERANCE = 1e-5  # relative; float32 has about 7 digits and each update adds a rounding


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
X_first = features[:batch_size].astype(onp.float64)  # the same batch, in float64
residual = X_first @ start_w.ravel() + start_b[0] - labels[:batch_size]
by_formula = onp.append(X_first.T @ residual, residual.sum())
by_autograd = onp.append(w.grad.asnumpy().ravel(), b.grad.asnumpy())
gradient_gap = float(onp.max(onp.abs(by_autograd - by_formula)) / onp.max(onp.abs(by_formula)))
print("loss per example, shape", l.shape, f"; batch mean {float(l.mean()):.4f}")
print(f"gradient by autograd {fmt(by_autograd)}\n        by formula  {fmt(by_formula)}")
findings["gradient_gap"] = gradient_gap
verdicts["gradient"] = "agrees" if gradient_gap < AGREEMENT_TOLERANCE else "does not agree"
SAY_GRADIENT = {"agrees": "autograd's gradient agrees with Σ x(x·w + b − y) ({gradient_gap:.0e}"
                          " apart, relative).",
                "does not agree": "autograd's gradient differs from Σ x(x·w + b − y) by"
                                  " {gradient_gap:.1e}, relative."}
print(SAY_GRADIENT[verdicts["gradient"]].format(**findings))

# %% [markdown]
# ## 4. The update, by hand
# Dividing the summed gradient by the batch size gives the mean gradient g of the batch.
#
# Plain mini-batch SGD:  w ← w − η g.
#
# Heavy-ball momentum, as the lecture writes it (m = λm − ηg; w ← w + m; this course writes β for
# the momentum, as lesson 5 does, and keeps λ for the curvatures of lesson 1) and as MXNet's `sgd`
# optimizer computes it: v ← βv − ηg; w ← w + v. Starting from v = 0, v is minus η times a
# weighted sum of all past gradients: the newest weighted 1, the one before β, then β², ...

# %%
def sgd_step(params, velocities, lr, momentum, batch_size):
    """Update each param in place from its `.grad` (the gradient of the batch's summed loss)."""
    for param, velocity in zip(params, velocities):
        if momentum == 0:
            param -= lr * param.grad / batch_size
        else:
            velocity *= momentum  # in place: v ← βv − ηg without a new array
            velocity -= lr * param.grad / batch_size
            param += velocity


before = flat_weights([w, b])  # w.grad and b.grad still hold the first batch's gradient
sgd_step([w, b], [np.zeros_like(w), np.zeros_like(b)], lr, 0.0, batch_size)
print("one step on the first batch:")
for label, values in (("(w, b) before", before), ("after sgd_step", flat_weights([w, b])),
                      ("before − η·g", before - lr * by_autograd / batch_size)):  # g = grad / B
    print(f"  {label:15} {fmt(values)}")

# %% [markdown]
# The training loop is the walkthrough's, with our pieces in place of Gluon's: each epoch deals
# the data in a new order (`loading.ShuffledBatches`, lesson 2); for each batch, record the loss,
# backpropagate, update.

# %%
def train_scratch(features, labels, batch_size, lr, momentum, num_epochs, params=None,
                  batches=None, on_step=None):
    """Train [w, b] by hand; (params, mean loss on all data after each epoch, each batch's loss
    before its update).

    `params` default to `init_params`, `batches` (re-iterable (X, y) pairs) to fresh shuffles per
    epoch; `on_step(params)` runs after every update."""
    lr, momentum = checks.positive("lr", lr, high=10.0), checks.fraction("momentum", momentum)
    num_epochs = checks.integer("num_epochs", num_epochs, 1, 100)
    params = params if params is not None else init_params(onp.shape(features)[1])
    if batches is None:
        batches = loading.ShuffledBatches(features, labels, batch_size)
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
# From the starting point of section 2, with the walkthrough's settings. The walkthrough asks the
# weights to come within 0.01 of the truth.

# %%
TRUTH_TOLERANCE = 0.01  # the walkthrough's check of the trained weights


def train_from_start(lr, momentum):
    """`train_scratch` from the common starting point, over the same shuffles (same seed) as
    every other run."""
    set_seed(seed)
    return train_scratch(features, labels, batch_size, lr, momentum, num_epochs,
                         params=params_from(start_w, start_b))


def report(name, run):
    params, epoch_loss, _ = run
    for epoch, value in enumerate(epoch_loss, start=1):
        print(f"{name}  epoch {epoch}, loss: {value:f}")
    weights = flat_weights(params)
    print(f"{name}  w {fmt(weights[:-1])}, b {weights[-1]:.4f} (least squares {fmt(ols_w)},"
          f" {ols_b:.4f})")


runs = {"sgd": train_from_start(lr, 0.0)}
report("sgd", runs["sgd"])
plain = flat_weights(runs["sgd"][0])
findings.update(weight=plain[:-1], bias=float(plain[-1]), epoch_loss=runs["sgd"][1],
                truth_gap=float(onp.max(onp.abs(plain - onp.append(house.true_w, house.true_b)))))
verdicts["recovery"] = "recovers" if findings["truth_gap"] < TRUTH_TOLERANCE else "misses"
SAY_RECOVERY = {"recovers": "A few lines of MXNet arrays recover the truth: at most {truth_gap:.1e}"
                            " from it.",
                "misses": "A few lines of MXNet arrays miss the truth by {truth_gap:.2g}, more"
                          " than 0.01."}
print(SAY_RECOVERY[verdicts["recovery"]].format(**findings))

# %% [markdown]
# ## 6. Momentum, at the same learning rate and at the same effective step
# Mind what "the same lr" means. Under a steady gradient g the velocity settles where
# v = βv − ηg, i.e. v = −ηg/(1 − β): with β = 0.9 each update then moves ten gradients' worth, a
# ten times larger *effective step* η/(1 − β). A fair race gives momentum the learning rate
# η(1 − β), whose effective step is plain SGD's η; we run momentum at both. Theory (lesson 5
# checks it) predicts how fast each closes in on the minimum: per update the distance shrinks by a
# factor set by the loss's curvatures (the Hessian's eigenvalues, lesson 1): 1 − η·(smallest
# curvature) for plain SGD at small steps, and √β for momentum once it swings about the minimum,
# whatever its learning rate.

# %%
equal_step_lr = lr * (1 - momentum)
names = {"same lr": f"momentum {momentum:g}, lr {lr:g}",
         "equal step": f"momentum {momentum:g}, lr {equal_step_lr:g}"}
race = {"sgd": (lr, 0.0), names["same lr"]: (lr, momentum),
        names["equal step"]: (equal_step_lr, momentum)}
curvatures = landscape.eigenvalues(landscape.hessian(features))
theory = {name: convergence.heavy_ball_rate(step, mom, curvatures)
          for name, (step, mom) in race.items()}
print(f"curvatures of the loss: {fmt(curvatures)}")
for name, (step, mom) in race.items():
    print(f"{name:24} effective step {convergence.effective_lr(step, mom):<7g} theory: the"
          f" distance shrinks x{theory[name]:.4f} per update")
findings.update(curvatures=curvatures, theory_rates=theory, equal_step_lr=equal_step_lr,
                effective_lr=convergence.effective_lr(lr, momentum))

# %%
for name in names.values():
    runs[name] = train_from_start(*race[name])
    report(name, runs[name])
for key, prefix in (("same lr", "momentum"), ("equal step", "equal_step")):
    weights = flat_weights(runs[names[key]][0])
    findings.update({f"{prefix}_weight": weights[:-1], f"{prefix}_bias": float(weights[-1]),
                     f"{prefix}_epoch_loss": runs[names[key]][1]})
findings["figures"] = [plots.loss_curves(
    {name: run[2] for name, run in runs.items()}, out_dir, "scratch_loss", xlabel="update",
    ylabel="batch mean L2 loss", title=f"From scratch, batch size {batch_size}")]

# %% [markdown]
# After one epoch, how does each momentum run's loss compare with plain SGD's? Beyond 2× either
# way counts as a difference. Theory's rates predict the ratio too: the loss goes as the squared
# distance, so as (rate_momentum / rate_sgd)^(2·updates).

# %%
def versus_sgd(ratio):
    """A loss ratio to plain SGD's in words: beyond 2x either way counts as a difference."""
    if not onp.isfinite(ratio):
        return "not comparable"
    if ratio < 0.5:
        return "lower than"
    return "higher than" if ratio > 2 else "about the same as"


updates_per_epoch = len(runs["sgd"][2]) // num_epochs
ratios = {}  # epoch-1 loss over plain SGD's: measured, and predicted by theory's rates
for key in names:
    measured = runs[names[key]][1][0] / runs["sgd"][1][0]
    predicted = (theory[names[key]] / theory["sgd"]) ** (2 * updates_per_epoch)
    ratios[key] = {"measured": measured, "predicted": predicted}
    verdicts[f"momentum_{key.replace(' ', '_')}"] = versus_sgd(measured)
    verdicts[f"theory_{key.replace(' ', '_')}"] = versus_sgd(predicted)
findings.update(epoch1_loss_ratios=ratios, updates_per_epoch=updates_per_epoch,
                same_lr_ratio=ratios["same lr"]["measured"],
                equal_step_ratio=ratios["equal step"]["measured"])
SAY_RACE = ("Momentum {momentum:g} at {clause} ends epoch 1 {measured} plain SGD:\n"
            "  {ratio:.2g} times its loss; theory's rates predicted {predicted}.")
CLAUSES = {"same_lr": f"the same lr ({lr:g})", "equal_step": f"the same effective step (lr"
                                                           f" {equal_step_lr:g})"}
for key, clause in CLAUSES.items():
    print(SAY_RACE.format(clause=clause, measured=verdicts[f"momentum_{key}"],
                          predicted=verdicts[f"theory_{key}"], ratio=findings[f"{key}_ratio"],
                          momentum=momentum))

# %% [markdown]
# ## 7. Checking against Gluon, update by update
# Build the walkthrough's `Dense(1)` and `Trainer('sgd', {'learning_rate', 'momentum'})`, copy the
# scratch starting point into it (Gluon stores w as (1, d), its transpose), and feed both the very
# same batches. After every update we compare (w, b): any difference in the gradient, the 1/B
# scaling or the momentum convention would show at once; what remains is float32 rounding.

# %%
def relative_gap(a, b):
    """max |a − b| / max |b|: the largest difference relative to the size of the weights."""
    a, b = onp.asarray(a, onp.float64), onp.asarray(b, onp.float64)
    return float(onp.max(onp.abs(a - b)) / max(onp.max(onp.abs(b)), 1e-30))


def compare_with_gluon(lr, momentum, num_steps):
    """Same start, same batches: the relative gap between scratch and Gluon weights after each
    update."""
    set_seed(seed)
    epochs = itertools.chain.from_iterable(
        itertools.repeat(loading.ShuffledBatches(features, labels, batch_size)))
    batches = list(itertools.islice(epochs, num_steps))
    net = model.linear_regression(num_inputs=len(start_w))
    net[0].weight.set_data(np.array(start_w.T))
    net[0].bias.set_data(np.array(start_b))
    gluon_path, scratch_path = [], []
    training.fit(net, batches, training.make_trainer(net, "sgd", lr, momentum), 1,
                 hybridize=False,
                 on_step=lambda info: gluon_path.append(onp.append(*model.extract_weights(net))))
    train_scratch(features, labels, batch_size, lr, momentum, 1,
                  params=params_from(start_w, start_b), batches=batches,
                  on_step=lambda params: scratch_path.append(flat_weights(params)))
    return [relative_gap(s, g) for s, g in zip(scratch_path, gluon_path)]


# %%
gaps = {mom: compare_with_gluon(lr, mom, compare_steps) for mom in (0.0, momentum)}
for mom, gap in gaps.items():
    print(f"momentum {mom:<4g} largest relative difference in (w, b) over {len(gap)} updates:"
          f" {max(gap):.2e}")
findings.update(agreement_tolerance=AGREEMENT_TOLERANCE, max_gap_sgd=max(gaps[0.0]),
                max_gap_momentum=max(gaps[momentum]),
                max_gap=max(max(gap) for gap in gaps.values()))
verdicts["scratch_vs_gluon"] = ("agrees" if findings["max_gap"] < AGREEMENT_TOLERANCE
                                else "does not agree")
SAY_GLUON = {
    "agrees": "The hand-written updates agree with Gluon's Trainer to {max_gap:.1e} relative"
              " (float32\n  rounding): Trainer.step(batch_size) is the 1/B-scaled update, and"
              " MXNet's momentum\n  is the lecture's m = βm − ηg.",
    "does not agree": "The hand-written updates differ from Gluon's Trainer by {max_gap:.1e}"
                      " relative: more than float32 rounding.",
}
print(SAY_GLUON[verdicts["scratch_vs_gluon"]].format(**findings))

# %% [markdown]
# ## What we found

# %%
print(f"Seed {seed}: w = {fmt(plain[:-1], 3)}, b = {plain[-1]:.3f} after {num_epochs} epochs"
      f" (truth {list(house.true_w)}, {house.true_b}).")
print(SAY_RECOVERY[verdicts["recovery"]].format(**findings))
print(SAY_GRADIENT[verdicts["gradient"]].format(**findings))
print(SAY_GLUON[verdicts["scratch_vs_gluon"]].format(**findings))
for key, clause in CLAUSES.items():
    print(SAY_RACE.format(clause=clause, measured=verdicts[f"momentum_{key}"],
                          predicted=verdicts[f"theory_{key}"], ratio=findings[f"{key}_ratio"],
                          momentum=momentum))
print(f"(At the same lr, momentum {momentum:g} takes a {1 / (1 - momentum):.0f} times larger"
      " effective step.)")

# %% [markdown]
# ## Exercises
# 1. Drop the `/ batch_size` in `sgd_step`. Which learning rate now gives the same run, and why
#    does Gluon's `trainer.step(batch_size)` need the batch size?
# 2. Replace the momentum update by v ← βv + (1 − β)g; w ← w − ηv (an average, not a sum). Does
#    `compare_with_gluon` still agree? Which learning rate makes it agree again?
# 3. Run with `--set momentum=0.99`. What is the effective step now, what happens to the loss per
#    epoch, and at which lr would the race be fair?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 3`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(3, number, answer)
