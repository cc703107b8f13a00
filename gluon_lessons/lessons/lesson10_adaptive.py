# %% [markdown]
# # Lesson 10 — Rprop and RMSProp: when the weights' gradients differ by orders of magnitude
#
# What you will see: houses measured in square metres and years, where the gradient for the area
# weight is over a hundred times that for the bias, so no single learning rate suits all weights —
# plain gradient descent at the largest stable rate leaves the bias where it started, and a
# slightly larger rate diverges. Rprop, which moves each weight by its own step and looks only at
# the *sign* of its gradient, reaches least squares with full batches, and stalls with
# mini-batches because their gradients keep flipping sign. RMSProp, which divides each gradient
# by a running root mean square, works with mini-batches. Standardizing the features is the other
# cure, and the cheapest here.
#
# Run it: `gluon-lessons run adaptive`, `python -m gluon_lessons.lessons.lesson10_adaptive`, or as a
# notebook: `gluon-lessons notebook 10` (then open it in Jupyter or VS Code).

# %%
import math

import mxnet as mx
import numpy as onp

from gluon_lessons import data as house_data
from gluon_lessons import landscape, loading, optimizers, plots
from gluon_lessons.lessons import runner

if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random; it also draws the houses
num_examples = 1000        # houses, in raw units: area in m², age in years, price in thousands
full_batch_steps = 300     # updates of the full-batch runs (plain SGD, Rprop); one update = one pass over the data
sgd_fraction = 0.9         # plain SGD's learning rate as a fraction of 2/λ_max, the largest stable rate in theory
too_fast_fraction = 1.2    # the same for the run that should diverge
initial_step = 0.1         # Rprop's first step Δ₀ for every weight (it then grows ×1.2 or shrinks ×0.5)
batch_size = 200           # examples per update in the mini-batch runs
rprop_mini_batch_steps = 1000  # updates of mini-batch Rprop (it freezes within a few hundred)
rmsprop_steps = 8000       # updates of mini-batch RMSProp
rmsprop_lr = 0.3           # RMSProp's learning rate, falling to 0 along a cosine over its updates
standardized_steps = 500   # updates of mini-batch SGD on standardized features
standardized_lr = 0.1      # its learning rate, also falling to 0 along a cosine
tolerance = 0.05           # largest |weight − least squares| that counts as "reached"
out_dir = None             # None: figures show inline in a notebook; the command line saves them (lesson_output/adaptive)
QUICK = dict(full_batch_steps=200, rprop_mini_batch_steps=500, rmsprop_steps=1500)  # what --quick changes; --set wins

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    runner.require("num_examples", num_examples, num_examples >= 3, "an integer >= 3 (three parameters)")
    for name, value in dict(full_batch_steps=full_batch_steps, rprop_mini_batch_steps=rprop_mini_batch_steps,
                            rmsprop_steps=rmsprop_steps, standardized_steps=standardized_steps).items():
        loading.check_count(value, name)
    loading.check_batch_size(batch_size)
    runner.require("batch_size", batch_size, batch_size <= num_examples, "an integer in 1..num_examples")
    runner.check_memory(10_000 * num_examples, "num_examples=%d houses" % num_examples)  # about 8 kB a house here
    for name, value in dict(sgd_fraction=sgd_fraction, too_fast_fraction=too_fast_fraction, rmsprop_lr=rmsprop_lr,
                            standardized_lr=standardized_lr, tolerance=tolerance).items():
        runner.require(name, value, value > 0, "a number > 0")
    mx.optimizer.create("rprop", initial_step=initial_step)  # refuses a step outside [1e-6, 50]

# %% [markdown]
# ## 1. Houses in raw units, and their gradients
# Area is uniform on 30–250 m², age on 0–60 years, price = 3·area − 2·age + 50 (thousands) plus
# noise. A linear model's gradient for a weight is the mean of residual × that feature, so a
# weight whose feature is large (area, in the hundreds) gets a large gradient, and the bias, whose
# "feature" is 1, a small one. The Hessian X̃ᵀX̃/n (lesson 5) says the same in curvatures.

# %%
house = house_data.raw_house_prices(num_examples, seed=seed)
X, y = house.features, house.labels
names = ["w_area", "w_age", "b"]
optimum = landscape.optimum(X, y)  # least squares [w_area, w_age, b]: the best any trainer can reach
best_loss = landscape.mean_loss(X, y, optimum)
start_gradient = landscape.gradient(X, y, onp.zeros(3))
eigenvalues = landscape.eigenvalues(landscape.hessian(X))
kappa, lam_min, lam_max = landscape.condition_number(eigenvalues), eigenvalues[0], eigenvalues[-1]
print("least squares:", ", ".join("%s = %.4f" % item for item in zip(names, optimum)), "  loss %.2f" % best_loss)
print("gradient at w = 0:", ", ".join("%s %.4g" % item for item in zip(names, start_gradient)),
      "  (largest / smallest: %.0f)" % (abs(start_gradient).max() / abs(start_gradient).min()))
print("Hessian eigenvalues %s, κ = %.3g, largest stable SGD rate 2/λ_max = %.3g" % (eigenvalues, kappa, 2 / lam_max))


# %%
def weight_errors(parameters):
    """max |parameter − least squares| after each update (row 0: the start)."""
    return onp.abs(onp.asarray(parameters) - optimum).max(axis=1)


def updates_to_reach(errors, limit):
    """First update after which the weight error stays below `limit`; None if it ends above."""
    above = onp.flatnonzero(~(errors < limit))
    return 0 if above.size == 0 else (int(above[-1]) + 1 if above[-1] + 1 < len(errors) else None)


def summarize(run, parameters=None):
    """The numbers every run reports, its parameters on raw units (converted ones when given)."""
    parameters = run.parameters if parameters is None else parameters
    errors = weight_errors(parameters)
    return {"weight_error": float(errors[-1]), "final_loss": landscape.mean_loss(X, y, parameters[-1]),
            "diverged": run.diverged, "weights": parameters[-1], "start": parameters[0],
            "updates": len(parameters) - 1, "updates_to_tolerance": updates_to_reach(errors, tolerance),
            "batch_size": run.batch_size}


def show(label, result):
    weights = "  ".join("%s %9.4f" % item for item in zip(names, result["weights"]))
    print("%-22s %s  |error| %.3g  loss %.2f%s" % (label, weights, result["weight_error"], result["final_loss"],
                                                  "  DIVERGED" if result["diverged"] else ""))


# %% [markdown]
# ## 2. Plain SGD: one learning rate for all three weights
# Gradient descent on this quadratic is stable only below lr = 2/λ_max, and λ_max belongs to the
# area direction. At that rate the flattest direction, mostly the bias, shrinks by a factor
# (1 − lr·λ_min) per update: next to nothing. Full-batch gradient descent on a quadratic can even be
# predicted exactly: after k updates the parameters are w* + (I − lr·A)ᵏ(w₀ − w*), A = X̃ᵀX̃/n. We
# run full-batch SGD at `sgd_fraction` × 2/λ_max and at `too_fast_fraction` × 2/λ_max;
# `training.fit`'s guard stops a diverging run with a `DivergenceError`, which
# `optimizers.record_run` reports instead of crashing.

# %%
sgd_lr, too_fast_lr = sgd_fraction * 2 / lam_max, too_fast_fraction * 2 / lam_max
sgd_run = optimizers.record_run(X, y, "sgd", {"learning_rate": sgd_lr}, full_batch_steps, seed=seed)
fast_run = optimizers.record_run(X, y, "sgd", {"learning_rate": too_fast_lr}, full_batch_steps, seed=seed)
sgd_raw, sgd_too_fast = summarize(sgd_run), summarize(fast_run)
show("SGD lr %.2g" % sgd_lr, sgd_raw)
show("SGD lr %.2g" % too_fast_lr, sgd_too_fast)
print("too fast:", fast_run.message or "no divergence within %d updates" % full_batch_steps)
efold = 1 / (sgd_lr * lam_min)  # updates for the flattest direction's error to shrink by a factor e
contraction = onp.linalg.matrix_power(onp.eye(3) - sgd_lr * landscape.hessian(X), sgd_raw["updates"])
predicted_sgd = optimum + contraction @ (sgd_run.parameters[0] - optimum)
print("theory after %d updates: %s; the bias moved %.3f of the %.2f it has to go, and the flattest direction"
      " needs %.3g updates per factor e" % (sgd_raw["updates"], onp.array2string(predicted_sgd, precision=4),
                                            sgd_raw["weights"][2] - sgd_raw["start"][2],
                                            optimum[2] - sgd_raw["start"][2], efold))

# %% [markdown]
# ## 3. Rprop with full batches
# Rprop (`gluon_lessons.optimizers.Rprop`, registered with MXNet as `rprop`) keeps a step Δ per
# weight. While a weight's gradient keeps its sign, Δ grows ×1.2; when the sign flips, the last
# move overshot, so Δ shrinks ×0.5 and that gradient counts as zero for one update. Each weight
# then moves by Δ against the sign of its gradient, whatever the gradient's size, so the bias
# speeds up as fast as the area weight. It is an ordinary `gluon.Trainer(params, 'rprop', {...})`.

# %%
rprop_run = optimizers.record_run(X, y, "rprop", {"initial_step": initial_step}, full_batch_steps, seed=seed,
                                  gradients=True)
rprop_full_batch = summarize(rprop_run)
show("Rprop, full batch", rprop_full_batch)
rprop_errors = weight_errors(rprop_run.parameters)
for update in sorted({10, 50, 100, full_batch_steps} & set(range(1, full_batch_steps + 1))):
    steps = onp.array2string(rprop_run.step_sizes[update - 1], precision=3)
    print("  after %4d updates: |error| %.4g, steps Δ %s" % (update, rprop_errors[update], steps))
print("updates until |error| stays below %g: %s" % (tolerance, rprop_full_batch["updates_to_tolerance"]))


# %% [markdown]
# ## 4. Rprop with mini-batches
# Now each update sees `batch_size` houses. With full batches a sign flip means one thing: the
# weight overshot, and halving its step is right. A mini-batch gradient is the full gradient plus
# noise, and once a weight's full gradient is small next to that noise, its sign is nearly a coin
# toss: flips that mean noise, not overshoot, halve the step all the same. A flip undoes
# ln 2 / ln 1.2 ≈ 3.8 agreements, so the steps sink to the floor of 1e-6 and the weights freeze
# wherever they are (from then on a thousand updates move a weight by at most 0.001, which is why
# this run can be shorter than RMSProp's). In the lecture notes' words, the batches' corrections
# cancel each other.

# %%
mini_run = optimizers.record_run(X, y, "rprop", {"initial_step": initial_step}, rprop_mini_batch_steps, batch_size,
                                 seed=seed, gradients=True)
rprop_mini_batch = summarize(mini_run)
show("Rprop, batch %d" % batch_size, rprop_mini_batch)
design, y64 = landscape.design_matrix(X), y.astype(onp.float64)


def against_full(run, updates):
    """Per weight, the fraction of the first `updates` batch gradients whose sign differs from the
    full-data gradient's at the same point (the point before each update)."""
    full = (design @ run.parameters[:updates].T - y64[:, None]).T @ design / len(y64)  # (updates, 3)
    return (onp.sign(run.gradients[:updates]) != onp.sign(full)).mean(axis=0)


reach = rprop_full_batch["updates_to_tolerance"] or full_batch_steps  # full batch: until it got there
against = {"full_batch": against_full(rprop_run, reach), "mini_batch": against_full(mini_run, rprop_mini_batch_steps)}
frozen = onp.flatnonzero((mini_run.step_sizes < 1e-4).all(axis=1))  # every Δ below 1e-4: moves too small to matter
frozen_at = int(frozen[0]) + 1 if frozen.size else None
print("batch gradients pointing against the full gradient: full batch (first %d updates) %s, batch %d %s"
      % (reach, against["full_batch"], batch_size, onp.array2string(against["mini_batch"], precision=2)))
print("every step Δ below 1e-4 from update %s on, |error| then %s; largest Δ of the bias on the way: %.3g "
      "(full batch: %.3g)" % (frozen_at, "%.3g" % weight_errors(mini_run.parameters)[frozen_at] if frozen_at else "-",
                              mini_run.step_sizes[:, 2].max(), rprop_run.step_sizes[:, 2].max()))

# %% [markdown]
# Where it froze, how often should a batch gradient point the wrong way? Each house contributes a
# gradient (x̃·w − y)·x̃; a batch of B drawn without replacement from n has the mean gradient G and
# a spread σ·√((n − B)/((n − 1)·B)), σ the houses' standard deviation. For a roughly normal batch
# mean the chance of the wrong sign is Φ(−|G| / spread). We compare that with the last 100 batches.

# %%
end = mini_run.parameters[-1]
per_house = (design @ end - y64)[:, None] * design  # (n, 3): each house's gradient at the end point
spread = per_house.std(axis=0) * math.sqrt((num_examples - batch_size) / ((num_examples - 1) * batch_size))
with onp.errstate(divide="ignore"):
    predicted = 0.5 * onp.vectorize(math.erfc)(onp.abs(per_house.mean(axis=0)) / spread / math.sqrt(2))
last = min(100, rprop_mini_batch_steps)
measured = (onp.sign(mini_run.gradients[-last:]) != onp.sign(per_house.mean(axis=0))).mean(axis=0)
print("at the end: full gradient %s, batch spread %s" % (onp.array2string(per_house.mean(axis=0), precision=3),
                                                          onp.array2string(spread, precision=3)))
print("wrong-sign batches: predicted %s, measured over the last %d updates %s"
      % (onp.array2string(predicted, precision=2), last, onp.array2string(measured, precision=2)))


# %% [markdown]
# ## 5. RMSProp with mini-batches
# RMSProp (MXNet's `rmsprop`) keeps for each weight a running mean of its squared gradient,
# n ← 0.9·n + 0.1·g², and moves it by lr·g/√(n + ε). Dividing by √n puts every weight's gradient on
# the same scale, like Rprop's sign, but a gradient that flips sign from batch to batch simply
# averages out instead of shrinking the step for good. Its effective learning rate per weight,
# lr/√(n + ε), should come out in the ratio of the features' root mean squares, √(X̃ᵀX̃/n)ᵢᵢ. Scaling
# each weight fixes the sizes but not the tilt: area and bias are strongly correlated (every area
# is far from 0), and the Hessian rescaled by those root mean squares still has a condition number
# in the tens, so expect thousands of updates. A fixed lr leaves the weights jittering by about lr,
# so we let it fall to 0 along a cosine (MXNet's `CosineScheduler`).

# %%
schedule = mx.lr_scheduler.CosineScheduler(rmsprop_steps, rmsprop_lr, final_lr=0.0)
rms_run = optimizers.record_run(X, y, "rmsprop", {"learning_rate": rmsprop_lr, "lr_scheduler": schedule},
                                rmsprop_steps, batch_size, seed=seed)
rmsprop_mini_batch = summarize(rms_run)
show("RMSProp, batch %d" % batch_size, rmsprop_mini_batch)
middle = rms_run.step_sizes[len(rms_run.step_sizes) // 2]
feature_rms = onp.sqrt(onp.diag(landscape.hessian(X)))  # [√mean(area²), √mean(age²), 1]
rate_ratios, rms_ratios = middle[2] / middle[:2], feature_rms[:2] / feature_rms[2]
kappa_rescaled = landscape.condition_number(landscape.eigenvalues(landscape.hessian(X / feature_rms[:2])))
print("condition number: raw %.3g, each feature divided by its RMS %.3g" % (kappa, kappa_rescaled))
print("effective rates at update %d: %s" % (len(rms_run.step_sizes) // 2, onp.array2string(middle, precision=3)))
print("bias' rate / each weight's rate: %s; the features' RMS / 1: %s"
      % (onp.array2string(rate_ratios, precision=1), onp.array2string(rms_ratios, precision=1)))
print("updates until |error| stays below %g: %s" % (tolerance, rmsprop_mini_batch["updates_to_tolerance"]))

# %% [markdown]
# ## 6. The other cure: standardize the features
# Rescaling each feature to mean 0 and standard deviation 1 makes the Hessian nearly the identity,
# so one learning rate suits every weight, and centering removes the long area–bias valley that
# RMSProp's per-weight scaling cannot. We train plain mini-batch SGD on standardized features and
# convert its weights back to raw units: w_raw = w / std, b_raw = b − Σ w·mean / std.

# %%
X_std, mean, std = house_data.standardize(X)
kappa_std = landscape.condition_number(landscape.eigenvalues(landscape.hessian(X_std)))
schedule = mx.lr_scheduler.CosineScheduler(standardized_steps, standardized_lr, final_lr=0.0)
std_run = optimizers.record_run(X_std, y, "sgd", {"learning_rate": standardized_lr, "lr_scheduler": schedule},
                                standardized_steps, batch_size, seed=seed)
raw_weights = std_run.parameters[:, :2] / std
raw_parameters = onp.column_stack([raw_weights, std_run.parameters[:, 2] - raw_weights @ mean])
standardized_sgd = summarize(std_run, raw_parameters)
print("κ raw %.3g, standardized %.3g" % (kappa, kappa_std))
show("SGD, standardized", standardized_sgd)
print("updates until |error| stays below %g: %s" % (tolerance, standardized_sgd["updates_to_tolerance"]))

# %% [markdown]
# ## 7. Step sizes and loss curves
# Left to right: Rprop's Δ per weight with full batches and with mini-batches, and RMSProp's
# effective learning rate lr/√(n + ε) per weight. Then the loss above least squares for every run,
# against passes over the data (a full-batch update is one pass, a mini-batch update
# `batch_size`/`num_examples` of one).

# %%
steps_figure = plots.step_size_panels({"Rprop Δ, full batch": rprop_run.step_sizes,
                                       "Rprop Δ, batch %d" % batch_size: mini_run.step_sizes,
                                       "RMSProp lr/√(n+ε), batch %d" % batch_size: rms_run.step_sizes},
                                      names, out_dir, "step_sizes")


def excess_loss(parameters, batch):
    """(passes over the data, loss − least squares' loss) at up to 400 updates spread over a log scale."""
    rows = onp.unique(onp.geomspace(1, len(parameters) - 1, 400).astype(int))
    design = landscape.design_matrix(X)
    with onp.errstate(over="ignore", invalid="ignore"):
        losses = 0.5 * ((design @ parameters[rows].T - y[:, None]) ** 2).mean(axis=0)
    return rows * batch / num_examples, losses - best_loss


runs = {"SGD lr %.2g" % sgd_lr: (sgd_run, None), "SGD lr %.2g" % too_fast_lr: (fast_run, None),
        "Rprop, full batch": (rprop_run, None), "Rprop, batch %d" % batch_size: (mini_run, None),
        "RMSProp, batch %d" % batch_size: (rms_run, None), "SGD, standardized": (std_run, raw_parameters)}
curves = {label: excess_loss(run.parameters if raw is None else raw, run.batch_size)
          for label, (run, raw) in runs.items()}
loss_figure = plots.excess_loss_curves(curves, out_dir, "loss_curves",
                                       diverged=[label for label, (run, _) in runs.items() if run.diverged])

# %% [markdown]
# ## What we found

# %%
if sgd_raw["diverged"]:
    print("Plain SGD diverged even at %.2g × 2/λ_max." % sgd_fraction)
elif sgd_raw["weight_error"] < tolerance:
    print("Plain SGD at %.2g × 2/λ_max reached least squares (|error| %.3g)."
          % (sgd_fraction, sgd_raw["weight_error"]))
else:
    print("Plain SGD at %.2g × 2/λ_max is stable but crawls: after %d updates it is still %.3g from least squares,"
          " and theory wants %.2g updates per factor e along the flattest direction."
          % (sgd_fraction, sgd_raw["updates"], sgd_raw["weight_error"], efold))
theory_gap = onp.abs(predicted_sgd - sgd_raw["weights"]).max()
print("Its path %s the exact prediction w* + (I − lr·A)ᵏ(w₀ − w*) (largest gap %.2g)." % (
    "follows" if theory_gap < 0.01 else "does NOT follow", theory_gap))
print("At %.2g × 2/λ_max it %s." % (too_fast_fraction, "diverged and the guard stopped it after %d updates"
                                    % sgd_too_fast["updates"] if sgd_too_fast["diverged"] else
                                    "did not diverge within %d updates" % sgd_too_fast["updates"]))
if rprop_full_batch["weight_error"] < tolerance:
    print("Full-batch Rprop reached least squares: |error| %.2g after %d updates (below %g from update %s on)."
          % (rprop_full_batch["weight_error"], rprop_full_batch["updates"], tolerance,
             rprop_full_batch["updates_to_tolerance"]))
else:
    print("Full-batch Rprop did NOT reach least squares within %d updates (|error| %.3g)."
          % (rprop_full_batch["updates"], rprop_full_batch["weight_error"]))

# %%
if rprop_mini_batch["weight_error"] < tolerance:
    print("Rprop with batches of %d reached least squares too (|error| %.2g): its gradient signs were reliable enough."
          % (batch_size, rprop_mini_batch["weight_error"]))
elif frozen_at is not None:
    print("Rprop with batches of %d stalled %.3g from least squares: by update %d every step had shrunk below 1e-4,"
          " as %.0f-%.0f%% of its batch gradients pointed against the full gradient (full batches: %.0f%%)." % (
              batch_size, rprop_mini_batch["weight_error"], frozen_at, 100 * against["mini_batch"].min(),
              100 * against["mini_batch"].max(), 100 * against["full_batch"].max()))
else:
    print("Rprop with batches of %d ended %.3g from least squares without its steps collapsing: inconclusive."
          % (batch_size, rprop_mini_batch["weight_error"]))
if rmsprop_mini_batch["weight_error"] < tolerance:
    print("RMSProp with batches of %d reached least squares (|error| %.2g, below %g from update %s on)." % (
        batch_size, rmsprop_mini_batch["weight_error"], tolerance, rmsprop_mini_batch["updates_to_tolerance"]))
else:
    closer = rmsprop_mini_batch["weight_error"] < rprop_mini_batch["weight_error"]
    print("RMSProp with batches of %d did NOT reach %g of least squares in %d updates (|error| %.3g), %s." % (
        batch_size, tolerance, rmsprop_mini_batch["updates"], rmsprop_mini_batch["weight_error"],
        "but it got closer than mini-batch Rprop" if closer else "and got no closer than mini-batch Rprop"))
consistent = onp.all(onp.abs(onp.log(rate_ratios / rms_ratios)) < math.log(2))
print("Its effective rates %s the features' RMS ratios within a factor 2 (%s vs %s)." % (
    "follow" if consistent else "do NOT follow", onp.array2string(rate_ratios, precision=0),
    onp.array2string(rms_ratios, precision=0)))

# %%
std_reach, rms_reach = standardized_sgd["updates_to_tolerance"], rmsprop_mini_batch["updates_to_tolerance"]
if std_reach is None:
    print("SGD on standardized features did NOT reach %g of least squares in %d updates (|error| %.3g)."
          % (tolerance, standardized_sgd["updates"], standardized_sgd["weight_error"]))
elif rms_reach is None or std_reach < rms_reach:
    print("Standardizing is the cheaper cure here: plain SGD stayed within %g of least squares from update %d of %d"
          " on; RMSProp on raw units %s." % (tolerance, std_reach, standardized_sgd["updates"],
                                             "from update %d of %d on" % (rms_reach, rmsprop_mini_batch["updates"])
                                             if rms_reach is not None
                                             else "not within its %d updates" % rmsprop_mini_batch["updates"]))
else:
    print("RMSProp on raw units got within %g no later than SGD on standardized features (update %d vs %d)."
          % (tolerance, rms_reach, std_reach))

# %%
findings = {
    "seed": seed, "num_examples": num_examples, "batch_size": batch_size, "tolerance": tolerance,
    "full_batch_steps": full_batch_steps, "rprop_mini_batch_steps": rprop_mini_batch_steps,
    "rmsprop_steps": rmsprop_steps, "standardized_steps": standardized_steps,
    "least_squares": optimum, "least_squares_loss": best_loss, "start_gradient": start_gradient,
    "hessian_eigenvalues": eigenvalues, "condition_number": kappa, "standardized_condition_number": kappa_std,
    "rescaled_condition_number": kappa_rescaled,
    "sgd_lr": sgd_lr, "too_fast_lr": too_fast_lr, "initial_step": initial_step, "rmsprop_lr": rmsprop_lr,
    "standardized_lr": standardized_lr, "sgd_raw": sgd_raw, "sgd_raw_too_fast": sgd_too_fast,
    "rprop_full_batch": rprop_full_batch, "rprop_mini_batch": rprop_mini_batch,
    "rmsprop_mini_batch": rmsprop_mini_batch, "standardized_sgd": standardized_sgd,
    "rprop_frozen_at": frozen_at, "against_full_gradient": against,
    "wrong_sign_at_end": {"predicted": predicted, "measured": measured, "updates": last},
    "rmsprop_rate_ratios": rate_ratios, "feature_rms_ratios": rms_ratios,
    "figures": [steps_figure, loss_figure],
}

# %% [markdown]
# ## Exercises
# 1. Set `batch_size = 1000` (`--set batch_size=1000`): every "mini-batch" is now the whole data
#    set. What does Rprop do, and why did the sign flips stop?
# 2. Try `too_fast_fraction = 0.99` and `1.01`. Where exactly does plain SGD start to diverge, and
#    how does that compare with 2/λ_max?
# 3. Give RMSProp a fixed learning rate: build the trainer without `lr_scheduler`. How far from least
#    squares does it end, and how does that distance change with `rmsprop_lr`?
# 4. Run Rprop on the standardized features. Does it still need its per-weight steps?
