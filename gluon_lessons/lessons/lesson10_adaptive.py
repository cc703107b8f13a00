# %% [markdown]
# # Lesson 10 — Rprop and RMSProp: when the weights' gradients differ by orders of magnitude
#
# What you will see: houses measured in square metres and years, where the gradient for the area
# weight is over a hundred times that for the bias, so no single learning rate suits all weights:
# plain gradient descent at the largest stable rate leaves the bias where it started, and a
# slightly larger rate diverges. Rprop, which moves each weight by its own step and looks only at
# the *sign* of its gradient, reaches least squares with full batches and stalls with
# mini-batches, whose gradients keep flipping sign. RMSProp, which divides each gradient by a
# running root mean square, works with mini-batches. Standardizing the features is the other cure;
# we compare the two by the smallest budget of updates with which each reaches least squares.
#
# Run it: `gluon-lessons run adaptive` (about 10 s here, most of it RMSProp's 8525 updates;
# `--quick` in 4), or as a notebook: `gluon-lessons notebook 10`.

# %%
import math
import textwrap

import mxnet as mx
import numpy as onp

from gluon_lessons import checks, landscape, optimizers, plots
from gluon_lessons import data as house_data

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random; it also draws the houses
num_examples = 1000        # houses, in raw units: area in m², age in years, price in thousands
full_batch_steps = 300     # updates of the full-batch runs (plain SGD, Rprop): one pass each
sgd_fraction = 0.9         # plain SGD's learning rate as a fraction of 2/λ_max, the stability limit
too_fast_fraction = 1.2    # the same for the run that should diverge
initial_step = 0.1         # Rprop's first step Δ₀ for every weight (its learning_rate)
batch_size = 200           # examples per update in the mini-batch runs
rprop_mini_batch_steps = 400  # updates of mini-batch Rprop (it freezes within a few hundred)
rmsprop_lr = 0.3           # RMSProp's learning rate, falling to 0 along a cosine over its budget
standardized_lr = 0.1      # SGD's learning rate on standardized features, also along a cosine
budgets = (25, 100, 400, 1600, 6400)  # updates, tried in order until one ends within tolerance
tolerance = 0.1            # largest |parameter − least squares| counted as "reached" (ls ± 2.3)
out_dir = None             # None: figures show inline in a notebook; the command line saves them
QUICK = dict(full_batch_steps=200, budgets=(25, 100, 400))  # Rprop froze by update 362 at seed 1

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
num_examples = checks.integer("num_examples", num_examples, 3, 20_000)
full_batch_steps = checks.integer("full_batch_steps", full_batch_steps, 1, 5_000)
sgd_fraction = checks.positive("sgd_fraction", sgd_fraction, high=10.0)
too_fast_fraction = checks.positive("too_fast_fraction", too_fast_fraction, high=10.0)
initial_step = checks.number("initial_step", initial_step, 1e-6, 50.0)  # Rprop's step range
batch_size = checks.integer("batch_size", batch_size, 1, num_examples)
rprop_mini_batch_steps = checks.integer("rprop_mini_batch_steps", rprop_mini_batch_steps, 1, 20_000)
rmsprop_lr = checks.positive("rmsprop_lr", rmsprop_lr, high=100.0)
standardized_lr = checks.positive("standardized_lr", standardized_lr, high=100.0)
budgets = tuple(sorted(set(checks.integers("budgets", budgets, 1, 10_000, max_length=8))))
tolerance = checks.positive("tolerance", tolerance, high=1e6)
print(f"seed {seed}, {num_examples} houses, batches of {batch_size}, tolerance {tolerance:g}, "
      f"budgets {budgets}")

# %% [markdown]
# ## 1. Houses in raw units, and their gradients
# Area is uniform on 30–250 m², age on 0–60 years, price = 3·area − 2·age + 50 (thousands) plus
# noise. A linear model's gradient for a weight is the mean of residual × that feature, so a
# weight whose feature is large (area, in the hundreds) gets a large gradient, and the bias, whose
# "feature" is 1, a small one. The Hessian A = X̃ᵀX̃/n (lesson 5) says the same in curvatures.

# %%
house = house_data.raw_house_prices(num_examples, seed=seed)
X, y = house.features, house.labels
names = ["w_area", "w_age", "b"]
optimum = landscape.optimum(X, y)  # least squares [w_area, w_age, b]: the best a trainer can reach
best_loss = landscape.mean_loss(X, y, optimum)
A = landscape.hessian(X)
start_gradient = landscape.gradient(X, y, onp.zeros(3))
eigenvalues = landscape.eigenvalues(A)
kappa, lam_min, lam_max = landscape.condition_number(eigenvalues), eigenvalues[0], eigenvalues[-1]
gradient_spread = abs(start_gradient).max() / abs(start_gradient).min()
print("least squares: " + ", ".join(f"{n} = {v:.4f}" for n, v in zip(names, optimum))
      + f"; its loss {best_loss:.2f}")
print("gradient at w = 0: " + ", ".join(f"{n} {v:.4g}" for n, v in zip(names, start_gradient))
      + f" (largest / smallest: {gradient_spread:.0f})")
print(f"Hessian eigenvalues {onp.array2string(eigenvalues, precision=3)}, κ = {kappa:.3g}")
print(f"largest stable SGD rate 2/λ_max = {2 / lam_max:.3g}")


# %%
def weight_errors(parameters):
    """max |parameter − least squares| of each row."""
    return onp.abs(onp.atleast_2d(parameters) - optimum).max(axis=1)


def updates_to_reach(errors, limit):
    """First update after which the error stays below `limit`; None if it ends above. Row 0 of
    `errors` is the start, row k the error after update k."""
    above = onp.flatnonzero(~(errors < limit))
    if above.size == 0:
        return 0
    return int(above[-1]) + 1 if above[-1] + 1 < len(errors) else None


def summarize(run, final=None):
    """The numbers every run reports, on raw units (`final` converted ones when given)."""
    final = run.final if final is None else final
    return {"weight_error": float(weight_errors(final)[0]), "diverged": run.diverged,
            "final_loss": landscape.mean_loss(X, y, final), "weights": final,
            "start": run.parameters[0], "batch_size": run.batch_size}


def show(label, result):
    weights = "".join(f"{value:10.4f}" if abs(value) < 1e4 else f"{value:10.3g}"
                      for value in result["weights"])
    mark = "  diverged" if result["diverged"] else ""
    print(f"{label:<20}{weights}  |error| {result['weight_error']:<9.3g} "
          f"loss {result['final_loss']:.5g}{mark}")


def say(templates, verdict, **values):
    """The sentence for `verdict`, filled with `values`, wrapped at 100 characters."""
    print(textwrap.fill(templates[verdict].format(**values), 100))


def figure_rows(num_steps, count=150):
    """About `count` update numbers from 1 to `num_steps`, even on a log scale, and the middle."""
    rows = set(onp.geomspace(1, num_steps, count).astype(int).tolist())
    return sorted(rows | {max(num_steps // 2, 1), num_steps})


# %% [markdown]
# ## 2. Plain SGD: one learning rate for all three weights
# Gradient descent on this quadratic is stable only below lr = 2/λ_max, and λ_max belongs to the
# area direction. At that rate the flattest direction, mostly the bias, shrinks by a factor
# (1 − lr·λ_min) per update: next to nothing. Full-batch gradient descent on a quadratic can even
# be predicted exactly: after k updates the parameters are w* + (I − lr·A)ᵏ(w₀ − w*). We run
# full-batch SGD at `sgd_fraction` × 2/λ_max and at `too_fast_fraction` × 2/λ_max;
# `training.fit`'s guard stops a diverging run, and `optimizers.record_run` reports it.

# %%
print(f"{'run':<20}" + "".join(f"{name:>10}" for name in names))
sgd_lr, too_fast_lr = sgd_fraction * 2 / lam_max, too_fast_fraction * 2 / lam_max
sgd_run = optimizers.record_run(X, y, "sgd", {"learning_rate": sgd_lr}, full_batch_steps,
                                seed=seed, record_at=figure_rows(full_batch_steps))
fast_run = optimizers.record_run(X, y, "sgd", {"learning_rate": too_fast_lr}, full_batch_steps,
                                 seed=seed)
sgd_raw, sgd_too_fast = summarize(sgd_run), summarize(fast_run)
show(f"SGD lr {sgd_lr:.2g}", sgd_raw)
show(f"SGD lr {too_fast_lr:.2g}", sgd_too_fast)
sgd_updates, fast_updates = sgd_run.num_updates, fast_run.num_updates
contraction = onp.linalg.matrix_power(onp.eye(3) - sgd_lr * A, sgd_updates)
predicted_sgd = optimum + contraction @ (sgd_run.parameters[0] - optimum)
theory_gap = float(onp.abs(predicted_sgd - sgd_run.final).max())
efold = 1 / (sgd_lr * lam_min)  # updates for the flattest direction's error to shrink by e
bias_moved = sgd_run.final[2] - sgd_run.parameters[0][2]
print(f"theory after {sgd_updates} updates: {onp.array2string(predicted_sgd, precision=4)} "
      f"(largest gap {theory_gap:.2g})")
print(f"the bias moved {bias_moved:.3f} of the {optimum[2] - sgd_run.parameters[0][2]:.2f} "
      f"it has to go;\nthe flattest direction needs {efold:.3g} updates per factor e")
verdicts = {}  # float32 rounding: far below a thousandth of the parameters' size
relative_gap = theory_gap / max(1.0, abs(predicted_sgd).max())
verdicts["sgd_theory"] = "follows" if relative_gap < 1e-3 else "does not follow"
if sgd_run.diverged:
    verdicts["sgd_raw"] = "diverged"
else:
    verdicts["sgd_raw"] = "reached" if sgd_raw["weight_error"] < tolerance else "crawls"
verdicts["too_fast"] = "diverged" if fast_run.diverged else "did not diverge"
print(f"plain SGD: {verdicts['sgd_raw']}; it {verdicts['sgd_theory']} the theory; "
      f"at {too_fast_fraction:g} × 2/λ_max it {verdicts['too_fast']} ({fast_updates} updates)")

# %% [markdown]
# ## 3. Rprop with full batches
# Rprop keeps a step Δ per weight. While a weight's gradient keeps its sign, Δ grows ×1.2; when
# the sign flips, the last move overshot, so Δ shrinks ×0.5 and that gradient counts as zero for
# one update: the weight does not move, and its next step neither grows nor shrinks. Each weight
# then moves by Δ against the sign of its gradient, whatever the gradient's size, so the bias
# speeds up as fast as the area weight.
#
# This is the variant Igel & Hüsken call **iRprop−** ("Improving the Rprop learning algorithm",
# 2000); PyTorch's `torch.optim.Rprop` is the same. Riedmiller & Braun's original Rprop (1993)
# does one thing more after a flip: it takes the last move back ("weight backtracking"), returning
# the weight to where it was before it overshot. iRprop− only stops and shrinks the step.
# Here it is `gluon_lessons.optimizers.Rprop`, registered with MXNet as `rprop`, so it is an
# ordinary `gluon.Trainer(params, 'rprop', {'learning_rate': Δ₀})`.

# %%
rprop_run = optimizers.record_run(X, y, "rprop", {"learning_rate": initial_step}, full_batch_steps,
                                  seed=seed, gradients=True)
rprop_full_batch = summarize(rprop_run)
show("Rprop, full batch", rprop_full_batch)
rprop_errors = weight_errors(rprop_run.parameters)
for update in sorted({10, 50, 100, full_batch_steps} & set(range(1, full_batch_steps + 1))):
    steps = onp.array2string(rprop_run.step_sizes[update - 1], precision=3)
    print(f"  after {update:4d} updates: |error| {rprop_errors[update]:.4g}, steps Δ {steps}")
rprop_full_batch["updates_to_tolerance"] = updates_to_reach(rprop_errors, tolerance)
reached = rprop_full_batch["weight_error"] < tolerance
verdicts["rprop_full_batch"] = "reached" if reached else "not reached"
print(f"full-batch Rprop {verdicts['rprop_full_batch']} {tolerance:g} of least squares "
      f"(from update {rprop_full_batch['updates_to_tolerance']} on)")


# %% [markdown]
# ## 4. Rprop with mini-batches
# Now each update sees `batch_size` houses. With full batches a sign flip means one thing: the
# weight overshot, and halving its step is right. A mini-batch gradient is the full gradient plus
# noise, and once a weight's full gradient is small next to that noise, its sign is nearly a coin
# toss: flips that mean noise, not overshoot, halve the step all the same. A flip undoes
# ln 2 / ln 1.2 ≈ 3.8 agreements, so the steps sink to the floor of 1e-6 and the weights freeze
# wherever they are. In the lecture notes' words, the batches' corrections cancel each other.

# %%
mini_run = optimizers.record_run(X, y, "rprop", {"learning_rate": initial_step},
                                 rprop_mini_batch_steps, batch_size, seed=seed, gradients=True)
rprop_mini_batch = summarize(mini_run)
show(f"Rprop, batch {batch_size}", rprop_mini_batch)
design, y64 = landscape.design_matrix(X), y.astype(onp.float64)
targets = design.T @ y64 / num_examples  # the full gradient at w̃ is A w̃ − X̃ᵀy/n


def against_full(run, updates):
    """Per weight, the fraction of the first `updates` batch gradients whose sign differs from the
    full-data gradient's at the same point (the point before each update)."""
    full = run.parameters[:updates] @ A - targets  # (updates, 3)
    return (onp.sign(run.gradients[:updates]) != onp.sign(full)).mean(axis=0)


reach = rprop_full_batch["updates_to_tolerance"] or full_batch_steps  # full batch: until there
against = {"full_batch": against_full(rprop_run, reach),
           "mini_batch": against_full(mini_run, rprop_mini_batch_steps)}
frozen = onp.flatnonzero((mini_run.step_sizes < 1e-4).all(axis=1))  # every Δ below 1e-4
frozen_at = int(frozen[0]) + 1 if frozen.size else None
print(f"batch gradients pointing against the full gradient: batch {batch_size} "
      f"{onp.array2string(against['mini_batch'], precision=2)},\n"
      f"  full batch (first {reach} updates) "
      f"{onp.array2string(against['full_batch'], precision=2)}")
print(f"every step Δ below 1e-4 from update {frozen_at} on; largest Δ of the bias on the way "
      f"{mini_run.step_sizes[:, 2].max():.3g} (full batch: {rprop_run.step_sizes[:, 2].max():.3g})")
if rprop_mini_batch["weight_error"] < tolerance:
    verdicts["rprop_mini_batch"] = "reached"
else:
    verdicts["rprop_mini_batch"] = "stalled" if frozen_at is not None else "inconclusive"
print(f"mini-batch Rprop: {verdicts['rprop_mini_batch']}")

# %% [markdown]
# Where it froze, how often should a batch gradient point the wrong way? Each house contributes a
# gradient (x̃·w − y)·x̃; a batch of B drawn without replacement from n has the mean gradient G and
# a spread σ·√((n − B)/((n − 1)·B)), σ the houses' standard deviation. For a roughly normal batch
# mean the chance of the wrong sign is Φ(−|G| / spread). We compare that with the last 100
# batches, allowing three standard errors of a fraction measured over that many batches.

# %%
per_house = (design @ mini_run.final - y64)[:, None] * design  # (n, 3): each house's gradient
G = per_house.mean(axis=0)
without_replacement = (num_examples - batch_size) / ((num_examples - 1) * batch_size)
spread = per_house.std(axis=0) * math.sqrt(without_replacement)
with onp.errstate(divide="ignore", invalid="ignore"):
    distance = onp.nan_to_num(onp.abs(G) / spread, nan=onp.inf)  # in spreads
predicted = 0.5 * onp.array([math.erfc(d / math.sqrt(2)) for d in distance])  # Φ(−|G|/spread)
last = min(100, rprop_mini_batch_steps)
measured = (onp.sign(mini_run.gradients[-last:]) != onp.sign(G)).mean(axis=0)
allowed = 3 * 0.5 / math.sqrt(last)  # three standard errors of a fraction near 1/2
agree = onp.abs(measured - predicted).max() <= allowed
verdicts["wrong_signs"] = "agrees" if agree else "does not agree"
print(f"at the end: full gradient {onp.array2string(G, precision=3)}, "
      f"batch spread {onp.array2string(spread, precision=3)}")
print(f"wrong-sign batches: predicted {onp.array2string(predicted, precision=2)}, measured over "
      f"the last {last} {onp.array2string(measured, precision=2)}: {verdicts['wrong_signs']}")


# %% [markdown]
# ## 5. RMSProp, and the budget it needs
# RMSProp (MXNet's `rmsprop`) keeps for each weight a running mean of its squared gradient,
# n ← 0.9·n + 0.1·g², and moves it by lr·g/√(n + ε). Dividing by √n puts every weight's gradient
# on the same scale, like Rprop's sign, but a gradient that flips sign from batch to batch simply
# averages out instead of shrinking the step for good. A fixed lr leaves the weights jittering by
# about lr, so lr falls to 0 along a cosine (MXNet's `CosineScheduler`) over the run's **budget**.
#
# How many updates does it need? Not "the update from which it stayed within tolerance": with a
# schedule that ends at 0, every run settles late in its own budget, whatever that budget is, so
# that number measures the schedule's length. We give it a budget of T updates, schedule lr over
# T, and ask whether it *ends* within `tolerance`; budgets are tried in order, and the first that
# reaches is the smallest. Its effective rate per weight, lr/√(n + ε), should come out in the
# ratio of the features' root mean squares, √Aᵢᵢ.

# %%
def budget_search(train):
    """Runs `train(budget)` for each budget in order until one ends within `tolerance`: (the
    smallest such budget or None, {budget: final |error|}, the last run and its raw parameters)."""
    errors = {}
    for budget in budgets:
        run, final = train(budget)
        errors[budget] = float(weight_errors(final)[0])
        print(f"  budget {budget:5d} updates: |error| {errors[budget]:.3g}")
        if errors[budget] < tolerance:
            return budget, errors, run, final
    return None, errors, run, final


def rmsprop(budget):
    schedule = mx.lr_scheduler.CosineScheduler(budget, rmsprop_lr, final_lr=0.0)
    run = optimizers.record_run(X, y, "rmsprop", {"learning_rate": rmsprop_lr,
                                                  "lr_scheduler": schedule},
                                budget, batch_size, seed=seed, record_at=figure_rows(budget),
                                progress=None)  # a bar on a terminal once a run takes 2 s
    return run, run.final


# %%
print(f"RMSProp, lr {rmsprop_lr:g}, batches of {batch_size}:")
rms_budget, rms_errors, rms_run, rms_final = budget_search(rmsprop)
rmsprop_mini_batch = summarize(rms_run)
show(f"RMSProp, batch {batch_size}", rmsprop_mini_batch)
middle = int(onp.searchsorted(rms_run.updates, rms_run.updates[-1] // 2))
rates = rms_run.step_sizes[middle]
feature_rms = onp.sqrt(onp.diag(A))  # [√mean(area²), √mean(age²), 1]
rate_ratios, rms_ratios = rates[2] / rates[:2], feature_rms[:2] / feature_rms[2]
with onp.errstate(divide="ignore", invalid="ignore"):
    within_2 = onp.all(abs(onp.log(rate_ratios / rms_ratios)) < onp.log(2))
verdicts["rmsprop_rates"] = "follow" if within_2 else "do not follow"
print(f"effective rates at update {rms_run.updates[middle]}: "
      f"{onp.array2string(rates, precision=3)}")
print(f"bias' rate / each weight's rate {onp.array2string(rate_ratios, precision=1)}, "
      f"the features' RMS / 1 {onp.array2string(rms_ratios, precision=1)}: "
      f"they {verdicts['rmsprop_rates']}")
A_rescaled = A / onp.outer(feature_rms, feature_rms)  # the Hessian with each feature / its RMS
kappa_rescaled = landscape.condition_number(landscape.eigenvalues(A_rescaled))
print(f"condition number: raw {kappa:.3g}, each feature divided by its RMS {kappa_rescaled:.3g}")

# %% [markdown]
# Scaling each weight fixes the sizes but not the tilt: area and bias are strongly correlated
# (every area is far from 0), so the Hessian rescaled by those root mean squares still has a
# condition number in the tens, and RMSProp creeps along that valley for thousands of updates.

# %% [markdown]
# ## 6. The other cure: standardize the features
# Rescaling each feature to mean 0 and standard deviation 1 makes the Hessian nearly the identity,
# so one learning rate suits every weight, and centering removes the long area–bias valley that
# RMSProp's per-weight scaling cannot. We train plain mini-batch SGD on standardized features with
# the same budgets and the same kind of schedule, and convert its weights back to raw units:
# w_raw = w / std, b_raw = b − Σ w·mean / std.

# %%
X_std, mean, std = house_data.standardize(X)
kappa_std = landscape.condition_number(landscape.eigenvalues(landscape.hessian(X_std)))


def to_raw(parameters):
    raw_weights = parameters[..., :2] / std
    return onp.concatenate([raw_weights, (parameters[..., 2] - raw_weights @ mean)[..., None]], -1)


def standardized(budget):
    schedule = mx.lr_scheduler.CosineScheduler(budget, standardized_lr, final_lr=0.0)
    run = optimizers.record_run(X_std, y, "sgd", {"learning_rate": standardized_lr,
                                                  "lr_scheduler": schedule},
                                budget, batch_size, seed=seed, record_at=figure_rows(budget),
                                progress=None)
    return run, to_raw(run.final)


print(f"κ raw {kappa:.3g}, standardized {kappa_std:.3g}")
print(f"SGD on standardized features, lr {standardized_lr:g}, batches of {batch_size}:")
std_budget, std_errors, std_run, std_final = budget_search(standardized)
standardized_sgd = summarize(std_run, std_final)
show("SGD, standardized", standardized_sgd)
if std_budget is not None and rms_budget is not None:
    verdicts["cheaper_cure"] = ("standardizing" if std_budget < rms_budget else
                                "rmsprop" if rms_budget < std_budget else "same budget")
else:
    verdicts["cheaper_cure"] = ("standardizing" if std_budget is not None else
                                "rmsprop" if rms_budget is not None else "neither reached")
budget_text = {budget: f"{budget} updates" for budget in budgets}
budget_text[None] = f"more than {budgets[-1]} updates"
print(f"smallest budget within {tolerance:g}: standardized SGD {budget_text[std_budget]}, "
      f"RMSProp {budget_text[rms_budget]}")
print(f"the cheaper cure: {verdicts['cheaper_cure']}")

# %% [markdown]
# ## 7. Step sizes and loss curves
# Left to right: Rprop's Δ per weight with full batches and with mini-batches, and RMSProp's
# effective learning rate lr/√(n + ε) per weight in its last run. Then the loss above least
# squares for every run, against passes over the data (a full-batch update is one pass, a
# mini-batch update `batch_size`/`num_examples` of one); RMSProp and standardized SGD at the
# budget each reached with (or the largest).

# %%
steps_figure = plots.step_size_panels(
    {"Rprop Δ, full batch": (rprop_run.updates, rprop_run.step_sizes),
     f"Rprop Δ, batch {batch_size}": (mini_run.updates, mini_run.step_sizes),
     f"RMSProp lr/√(n+ε), batch {batch_size}": (rms_run.updates, rms_run.step_sizes)},
    names, out_dir, "step_sizes")
runs = {f"SGD lr {sgd_lr:.2g}": (sgd_run, sgd_run.parameters),
        f"SGD lr {too_fast_lr:.2g}": (fast_run, fast_run.parameters),
        "Rprop, full batch": (rprop_run, rprop_run.parameters),
        f"Rprop, batch {batch_size}": (mini_run, mini_run.parameters),
        f"RMSProp, budget {rms_run.updates[-1]}": (rms_run, rms_run.parameters),
        f"SGD standardized, budget {std_run.updates[-1]}": (std_run, to_raw(std_run.parameters))}
with onp.errstate(over="ignore", invalid="ignore"):
    curves = {label: (run.updates * run.batch_size / num_examples,
                      landscape.excess_losses(X, parameters[1:], optimum))
              for label, (run, parameters) in runs.items()}
loss_figure = plots.excess_loss_curves(curves, out_dir, "loss_curves",
                                       diverged=[label for label, (run, _) in runs.items()
                                                 if run.diverged])

# %%
findings = {
    "seed": seed, "num_examples": num_examples, "batch_size": batch_size, "tolerance": tolerance,
    "full_batch_steps": full_batch_steps, "rprop_mini_batch_steps": rprop_mini_batch_steps,
    "budgets": budgets, "least_squares": optimum, "least_squares_loss": best_loss,
    "start_gradient": start_gradient, "hessian_eigenvalues": eigenvalues,
    "condition_number": kappa, "standardized_condition_number": kappa_std,
    "rescaled_condition_number": kappa_rescaled, "sgd_lr": sgd_lr, "too_fast_lr": too_fast_lr,
    "sgd_updates": sgd_updates, "too_fast_updates": fast_updates, "sgd_theory_gap": theory_gap,
    "initial_step": initial_step, "rmsprop_lr": rmsprop_lr, "standardized_lr": standardized_lr,
    "sgd_raw": sgd_raw, "sgd_raw_too_fast": sgd_too_fast, "rprop_full_batch": rprop_full_batch,
    "rprop_mini_batch": rprop_mini_batch, "rmsprop_mini_batch": rmsprop_mini_batch,
    "standardized_sgd": standardized_sgd, "rprop_frozen_at": frozen_at,
    "against_full_gradient": against,
    "wrong_sign_at_end": {"predicted": predicted, "measured": measured, "updates": last},
    "rmsprop_rate_ratios": rate_ratios, "feature_rms_ratios": rms_ratios,
    "smallest_budget": {"rmsprop": rms_budget, "standardized": std_budget},
    "budget_errors": {"rmsprop": rms_errors, "standardized": std_errors},
    "verdicts": verdicts, "figures": [steps_figure, loss_figure],
}

# %% [markdown]
# ## What we found

# %%
SAY_SGD = {"crawls": "Plain SGD at {f:g} × 2/λ_max is stable but crawls: {error:.3g} from least "
                     "squares after {k} updates; the flattest direction needs {efold:.2g} per e.",
           "reached": "Plain SGD at {f:g} × 2/λ_max reached least squares ({error:.3g}).",
           "diverged": "Plain SGD at {f:g} × 2/λ_max diverged."}
SAY_THEORY = {"follows": "Its path follows w* + (I − lr·A)ᵏ(w₀ − w*) (largest gap {gap:.2g}, "
                         "{rel:.1g} of the parameters' size).",
              "does not follow": "Its path does NOT follow w* + (I − lr·A)ᵏ(w₀ − w*) "
                                 "(gap {gap:.2g}, {rel:.1g} of the parameters' size)."}
SAY_FAST = {"diverged": "At {f:g} × 2/λ_max it diverged; the guard stopped it after {k} updates.",
            "did not diverge": "At {f:g} × 2/λ_max it did not diverge within {k} updates."}
say(SAY_SGD, verdicts["sgd_raw"], f=sgd_fraction, error=sgd_raw["weight_error"], k=sgd_updates,
    efold=efold)
say(SAY_THEORY, verdicts["sgd_theory"], gap=theory_gap, rel=relative_gap)
say(SAY_FAST, verdicts["too_fast"], f=too_fast_fraction, k=fast_updates)

# %%
SAY_RPROP = {"reached": "Full-batch Rprop (iRprop−) reached least squares: |error| {error:.2g}.",
             "not reached": "Full-batch Rprop did NOT reach least squares (|error| {error:.3g})."}
SAY_MINI = {"stalled": "With batches of {b}, Rprop stalled {error:.3g} away: by update {k} every "
                       "step was below 1e-4, as {low:.0%}-{high:.0%} of the batch gradients "
                       "pointed the wrong way.",
            "reached": "With batches of {b}, Rprop reached least squares too ({error:.2g}).",
            "inconclusive": "With batches of {b}, Rprop ended {error:.3g} away, its steps not "
                            "collapsed: inconclusive."}
say(SAY_RPROP, verdicts["rprop_full_batch"], error=rprop_full_batch["weight_error"])
say(SAY_MINI, verdicts["rprop_mini_batch"], b=batch_size, error=rprop_mini_batch["weight_error"],
    k=frozen_at, low=against["mini_batch"].min(), high=against["mini_batch"].max())

# %%
SAY_SIGNS = {"agrees": "Their share at the end agrees with the normal approximation Φ(−|G|/s).",
             "does not agree": "Their share at the end does NOT agree with Φ(−|G|/s)."}
say(SAY_SIGNS, verdicts["wrong_signs"])

# %%
SAY_RATES = {"follow": "RMSProp's effective rates follow the features' RMS within a factor 2.",
             "do not follow": "RMSProp's effective rates do NOT follow the features' RMS."}
SAY_CURE = {"standardizing": "Standardizing is the cheaper cure: the smallest budget that ends "
                             "within {tol:g} is {std} for it, {rms} for RMSProp.",
            "rmsprop": "RMSProp on raw units is the cheaper cure: the smallest budget that ends "
                       "within {tol:g} is {rms} for it, {std} for standardized SGD.",
            "same budget": "Both cures end within {tol:g} with the same smallest budget, {std}.",
            "neither reached": "Neither cure ended within {tol:g} with up to {largest} updates."}
say(SAY_RATES, verdicts["rmsprop_rates"])
say(SAY_CURE, verdicts["cheaper_cure"], std=budget_text[std_budget], rms=budget_text[rms_budget],
    tol=tolerance, largest=budgets[-1])

# %% [markdown]
# ## Exercises
# 1. Set `batch_size = 1000` (`--set batch_size=1000`): every "mini-batch" is now the whole data
#    set. What does Rprop do, and why did the sign flips stop?
# 2. Try `too_fast_fraction = 0.99` and `1.01`. Where exactly does plain SGD start to diverge,
#    and how does that compare with 2/λ_max?
# 3. Give RMSProp a fixed learning rate: build the trainer without `lr_scheduler`. How far from
#    least squares does it end, and how does that distance change with `rmsprop_lr`?
# 4. Set `standardized_lr = 0.01`. Which cure is cheaper now, and what would a fair comparison
#    have to do about each method's learning rate?
# 5. Write Riedmiller & Braun's weight backtracking into a copy of `optimizers.Rprop` (after a flip,
#    move the weight back by its last move). Does it change the full-batch run?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 10`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(10, number, answer)
