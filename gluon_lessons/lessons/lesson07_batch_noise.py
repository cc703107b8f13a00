# %% [markdown]
# # Lesson 7 — Batch size and noise: gradient variance, the noise scale, steps to a target loss
#
# What you will see: mini-batch gradients scattered around the full-data gradient, their variance
# falling as 1/B; the gradient noise scale B_simple = tr(Σ)/|G|² computed exactly and estimated
# from batches of two sizes; how many updates (and examples) each batch size needs to reach a
# target loss with its learning rate tuned up to the stability limit, fitted to
# S = S_min (1 + B_crit / B); and the linear scaling rule (lr ∝ B), repeated over independent
# shuffles so that only differences larger than the run-to-run spread are claimed.
#
# Run it: `gluon-lessons run batch-noise`, `python -m gluon_lessons.lessons.lesson07_batch_noise`,
# or as a notebook: `gluon-lessons notebook 7` (then open it in Jupyter or VS Code).

# %%
import math

import numpy as onp

from gluon_lessons import landscape, loading, noise, plots
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0               # one seed for random, numpy and mx.random: the data, the batches, the shuffles
num_examples = 1024    # houses
correlation = -0.8     # between area and age, in (-1, 1); 0 makes the loss a round bowl
price_noise = 1.0      # standard deviation of the price noise, in standardized units
variance_batch_sizes = (1, 4, 16, 64, 256, 1024)  # examples per batch where the gradient's variance is measured
variance_draws = 200   # mini-batch gradients per batch size
small_batch = 16       # the two-batch estimator's small batch (examples)
big_batch = 512        # the two-batch estimator's big batch (examples)
pair_draws = 300       # batches of each size behind one two-batch estimate
target_excess = 0.01   # the target: full-data loss at most the least-squares loss + this
step_batch_sizes = (1, 4, 16, 64, 256, 1024)  # batch sizes whose steps to the target are counted
runs = 8               # shuffles per ensemble; their mean loss estimates the expected loss
repeats = 5            # independent ensembles per setting: the spread of a step count
scaled_batch_sizes = (1, 2, 4, 8, 16, 32, 64, 256)  # batch sizes for the linear scaling rule
warmup_examples = 0    # lr warm-up from 0 over this many examples, the same for every batch size (0: none)
out_dir = None         # None: figures show inline in a notebook; the command line saves them (lesson_output/batch-noise)
QUICK = dict(num_examples=512, runs=3, repeats=3, variance_draws=100, pair_draws=100, target_excess=0.03,
             variance_batch_sizes=(1, 8, 64, 512), step_batch_sizes=(1, 8, 64, 512), scaled_batch_sizes=(1, 4, 16, 64))

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    set_seed(seed)
    loading.check_count(num_examples, "num_examples", minimum=2)
    runner.require("correlation", correlation, -1 < correlation < 1, "a number in (-1, 1)")
    runner.require("price_noise", price_noise, price_noise >= 0, "a number >= 0")
    for name, count, least in (("variance_draws", variance_draws, 2), ("pair_draws", pair_draws, 2), ("runs", runs, 1),
                               ("repeats", repeats, 2), ("warmup_examples", warmup_examples, 0)):
        loading.check_count(count, name, minimum=least)  # draws and repeats: a spread needs two
    for name, sizes in (("variance_batch_sizes", variance_batch_sizes), ("step_batch_sizes", step_batch_sizes),
                        ("scaled_batch_sizes", scaled_batch_sizes)):
        runner.require(name, sizes, len(set(sizes)) >= 2 and all(isinstance(b, int) and 1 <= b <= num_examples
                                                                 for b in sizes),
                       "at least two different integer batch sizes from 1 to num_examples = %d" % num_examples)
    runner.require("small_batch", small_batch, isinstance(small_batch, int) and small_batch >= 1, "an integer >= 1")
    runner.require("big_batch", big_batch, isinstance(big_batch, int) and big_batch > small_batch,
                   "an integer > small_batch = %r" % small_batch)
    house = noise.correlated_house_prices(num_examples, correlation, price_noise, seed)
    quadratic = noise.Quadratic(house.features, house.labels)
    start_excess = quadratic(onp.zeros((1, house.num_features + 1)))[0] - quadratic.minimum  # the loss at w̃ = 0 above the best
    runner.require("target_excess", target_excess, 0 < target_excess < start_excess,
                   "a number > 0 and below the start's excess loss %.3g" % start_excess)
print("seed %d; %d houses, corr(area, age) %g, price noise %g; target: least squares + %g; %d ensembles of %d runs"
      % (seed, num_examples, correlation, price_noise, target_excess, repeats, runs))

# %% [markdown]
# ## 1. The data and the loss
# House prices again (price = 2·area − 3.4·age + 4.2 + noise, standardized features), with two
# changes that make noise visible: the price noise is 1 instead of lesson 1's 0.01, and area and
# age are correlated (newer houses are bigger), which tilts the loss into a valley that takes
# gradient descent several steps. The loss is Gluon's `L2Loss` averaged over the houses, a quadratic
# in w̃ = [w, b] whose Hessian's eigenvalues are the curvatures; full-batch gradient descent is
# stable only for lr < 2/λ_max.

# %%
eigenvalues = landscape.eigenvalues(quadratic.hessian)
limit = quadratic.largest_stable_lr  # 2/λ_max
target = quadratic.minimum + target_excess
print("corr(area, age) measured: %.3f" % onp.corrcoef(house.features.T)[0, 1])
print("Hessian eigenvalues %s; stability limit 2/λ_max = %.4f" % (onp.round(eigenvalues, 3).tolist(), limit))
print("least-squares loss %.4f; target: loss <= %.4f; the loss at w̃ = 0 is %.2f"
      % (quadratic.minimum, target, quadratic.minimum + start_excess))

# %% [markdown]
# ## 2. Points along the way
# Noise depends on where the weights are. We follow full-batch gradient descent from w̃ = 0 (the
# course's start, up to Gluon's tiny random init) at lr = 1/λ_max, where every direction shrinks
# without overshooting, until the loss reaches the target. We keep three of its points: the start;
# "early", the first step where B_simple ≥ 10, i.e. where the *variance* of one example's gradient
# around G, tr(Σ), is ten times the squared signal |G|² (in length, noise about √10 ≈ 3.2 times the
# signal); and the last step before the target.

# %%
def b_simple_at(point):
    """Exact B_simple = tr(Σ)/|G|² at [w, b] from all per-example gradients."""
    return noise.exact_noise_scale(noise.per_example_gradients(house.features, house.labels, point[:-1], point[-1]))


path = noise.descent_path(quadratic, limit / 2, target)
along = [b_simple_at(p).b_simple for p in path[:-1]]
early = next((i for i, b in enumerate(along) if b >= 10), None)
print("full-batch descent at lr = 1/λ_max = %.4f: %d steps to the target" % (limit / 2, len(path) - 1))
print("B_simple before each step: " + ", ".join("%.1f" % b for b in along))
if early is None:
    early = len(along) // 2
    print("B_simple never reached 10 on the way: 'early' is the middle step, %d" % early)
points = {"start": 0, "early": early, "near target": len(along) - 1}
print("points: " + ", ".join("%s = step %d" % item for item in points.items()))
mean_simple = float(onp.mean(along))

# %% [markdown]
# ## 3. Mini-batch gradients around the full gradient
# A mini-batch gradient g_B is the mean of B per-example gradients drawn at random. Its mean is the
# full-data gradient G; drawn independently (with replacement), its spread is the covariance Σ of one
# example's gradient divided by B: E|g_B − G|² = tr(Σ)/B. MXNet's autograd computes every g_B below;
# NumPy computes the per-example gradients (x̃·w̃ − y) x̃ that give G and tr(Σ) exactly.

# %%
rng = onp.random.default_rng(seed)  # draws the batches (with replacement)
at = path[points["early"]]
per_example = noise.per_example_gradients(house.features, house.labels, at[:-1], at[-1])
exact = noise.exact_noise_scale(per_example)
full = per_example.mean(axis=0)  # G
net = noise.net_at(at[:-1], at[-1])
measured, errors, clouds = [], [], {}
for batch_size in variance_batch_sizes:
    grads = noise.gluon_batch_gradients(net, house.features, house.labels, batch_size, variance_draws, rng)
    squared = ((grads - full) ** 2).sum(axis=1)  # |g_B − G|², one per draw
    measured.append(float(squared.mean()))
    errors.append(float(squared.std(ddof=1) / math.sqrt(variance_draws)))
    clouds[batch_size] = grads
theory = [exact.trace_sigma / b for b in variance_batch_sizes]
slope, slope_error = noise.loglog_slope(variance_batch_sizes, measured, [(m / e) ** 2 for m, e in zip(measured, errors)])
print("at the early point (%d draws per batch size):\n%6s %22s %12s %8s" % (variance_draws, "batch", "E|g_B − G|² ± s.e.",
                                                                             "tr(Σ)/B", "ratio"))
for b, m, se, e in zip(variance_batch_sizes, measured, errors, theory):
    print("%6d %12.4g ± %-8.2g %12.4g %8.3f" % (b, m, se, e, m / e))
print("log-log slope %.3f ± %.3f (1/B has slope −1)" % (slope, slope_error))

# %%
figures = [plots.gradient_clouds({b: clouds[b] for b in variance_batch_sizes[::2]}, full, out_dir, "gradient_clouds",
                                 title="mini-batch gradients where B_simple = %.0f" % exact.b_simple),
           plots.variance_vs_batch(variance_batch_sizes, measured, errors, exact.trace_sigma, out_dir,
                                   "gradient_variance")]

# %% [markdown]
# ## 4. The gradient noise scale
# B_simple = tr(Σ)/|G|² (McCandlish et al., 2018) compares the noise in one example's gradient with
# the signal: for B well below B_simple a step mostly follows noise, well above it more examples
# barely change the direction. With per-example gradients it is exact. Large models cannot afford
# those, so the paper estimates it from the squared norms of batch gradients of two sizes, using
# E|g_B|² = |G|² + tr(Σ)/B twice; the standard error comes from the spread over the pairs of batches.

# %%
scales = {}
for name, step in points.items():
    point = path[step]
    batch_net = noise.net_at(point[:-1], point[-1])
    small_sq, big_sq = ((noise.gluon_batch_gradients(batch_net, house.features, house.labels, size, pair_draws, rng)
                         ** 2).sum(axis=1) for size in (small_batch, big_batch))
    exact_here = b_simple_at(point)
    scales[name] = dict(exact=exact_here.b_simple, trace_sigma=exact_here.trace_sigma,
                        grad_norm_sq=exact_here.grad_norm_sq,
                        two_batch=noise.two_batch_noise_scale(small_sq, big_sq, small_batch, big_batch).b_simple,
                        two_batch_error=noise.two_batch_standard_error(small_sq, big_sq, small_batch, big_batch))
print("B_simple, exact and from %d pairs of batches of %d and %d:" % (pair_draws, small_batch, big_batch))
for name, s in scales.items():
    print("  %-12s exact %8.2f   two-batch %8.2f ± %-7.2f (tr Σ %.4g, |G|² %.4g)"
          % (name, s["exact"], s["two_batch"], s["two_batch_error"], s["trace_sigma"], s["grad_norm_sq"]))

# %% [markdown]
# ## 5. Steps to a target loss
# How many updates S does each batch size need until the loss reaches the target? The learning rate
# matters as much as B, so it is *tuned* per batch size over the grid 2/λ_max · 2^(−(k − ½)/4), k = 1, 2, ...:
# up to just below the stability limit, past which full-batch gradient descent diverges. Full-batch
# descent, a deterministic recursion, shows why the grid must reach that far: NumPy runs it at many
# learning rates at once.

# %%
scan_lrs = limit * onp.linspace(0.002, 0.998, 500)
scan_steps = onp.array([noise.steps_to_reach(row, target) for row in noise.descent_losses(quadratic, scan_lrs, 2000)])
best = int(onp.argmin(scan_steps))
below_half = scan_lrs <= limit / 2
capped = int(onp.argmin(onp.where(below_half, scan_steps, onp.inf)))
descent = dict(best_lr=float(scan_lrs[best]), best_steps=float(scan_steps[best]),
               capped_lr=float(scan_lrs[capped]), capped_steps=float(scan_steps[capped]))
print("full-batch gradient descent: fewest steps %d at lr %.4f (%.2f of 2/λ_max); with lr <= 1/λ_max at best %d"
      % (descent["best_steps"], descent["best_lr"], descent["best_lr"] / limit, descent["capped_steps"]))

# %% [markdown]
# For each batch size, MXNet trains `runs` shuffled copies from w̃ = 0 (through `fused.LinearUpdates`,
# the course's fast path) and counts the updates until their mean loss — also averaged over the last
# 5% of steps, an estimate of the expected loss — reaches the target. The search walks the grid from
# where the previous batch size's best lr points; the chosen lr is then run again on `repeats` fresh
# ensembles, whose median and range (min–max) we report. Examples used: E = B·S.

# %%
tuned = noise.tuned_steps(house.features, house.labels, step_batch_sizes, target, runs=runs, repeats=repeats)
def median_range(values):
    """'median [smallest–largest]' of repeated counts."""
    return "%g [%g–%g]" % noise.spread(values)


print("%6s %22s %26s %9s %9s" % ("batch", "steps median [range]", "examples median [range]", "best lr", "/(2/λmax)"))
for b, t in tuned.items():
    print("%6d %22s %26s %9.4f %9.3f" % (b, median_range(t.per_repeat), median_range([b * s for s in t.per_repeat]),
                                         t.lr, t.lr / limit))
figures.append(plots.lr_search({b: t.tried for b, t in tuned.items()}, scan_lrs, scan_steps, limit, out_dir,
                               "lr_search"))

# %% [markdown]
# McCandlish et al. predict S = S_min (1 + B_crit/B), equivalently (S/S_min − 1)(E/E_min − 1) = 1:
# small batches use the fewest examples, large ones the fewest steps, and B_crit = E_min/S_min is where
# the trade turns. S_min should be what full-batch gradient descent needs at its best learning rate.

# %%
step_sizes = sorted(tuned)
s_min, b_crit = noise.fit_critical_batch(step_sizes, [tuned[b].steps for b in step_sizes])
fitted = [s_min * (1 + b_crit / b) for b in step_sizes]
misses = {b: abs(tuned[b].steps / f - 1) for b, f in zip(step_sizes, fitted) if math.isfinite(tuned[b].steps)}
worst_batch = max(misses, key=misses.get)
worst_fit = misses[worst_batch]
print("fit S = S_min (1 + B_crit/B): S_min %.2f steps, B_crit %.1f examples" % (s_min, b_crit))
print("fitted steps " + ", ".join("B=%d: %.1f (measured %g)" % (b, f, tuned[b].steps) for b, f in zip(step_sizes, fitted)))
print("full-batch descent's own best: %d step(s); B_simple averaged along its path: %.1f (start %.1f, near the target %.1f)"
      % (descent["best_steps"], mean_simple, scales["start"]["exact"], scales["near target"]["exact"]))

# %% [markdown]
# ## 6. The linear scaling rule
# Below B_crit, doubling the batch should halve the steps if the learning rate doubles too (Goyal et
# al., 2017: lr ∝ B). It cannot go on: full-batch descent diverges for lr > 2/λ_max. We start from half
# the tuned lr of the smallest batch (the tuned one sits where SGD's noise floor just touches the
# target, which would make every scaled run a coin toss) and multiply it by B. Like is compared with
# like: every batch size gets the same schedule — no warm-up by default, or with `warmup_examples` a
# ramp over the same number of examples. A batch size keeps up if its examples stay within 1.5× of the
# base's; we claim "within" or "more" only when the whole range over the repeats says so.

# %%
base_lr = tuned[min(step_sizes)].lr / 2 * min(scaled_batch_sizes) / min(step_sizes)  # half the tuned lr, scaled
scaled = noise.scaled_steps(house.features, house.labels, scaled_batch_sizes, min(scaled_batch_sizes), base_lr, target,
                            warmup_examples, runs=runs, repeats=repeats)
base = scaled[min(scaled)]
base_examples = [min(scaled) * s for s in base.per_repeat]
verdicts = {}
print("lr = %.4g · B / %d, %s" % (base_lr, min(scaled), "no warm-up" if not warmup_examples else
                                   "warm-up over %d examples for every B" % warmup_examples))
print("%6s %8s %9s %22s %26s  %s" % ("batch", "lr", "/(2/λmax)", "steps median [range]", "examples median [range]",
                                     "examples against the base's"))
for b, s in scaled.items():
    examples = [b * steps for steps in s.per_repeat]
    verdicts[b] = "base" if b == min(scaled) else noise.compare_spreads(examples, base_examples, 1.5, s.diverged)
    print("%6d %8.4f %9.3f %22s %26s  %s" % (b, s.lr, s.lr / limit, median_range(s.per_repeat), median_range(examples),
                                          verdicts[b]))

# %%
figures.append(plots.steps_to_target({b: t.per_repeat for b, t in tuned.items()}, s_min, b_crit,
                                     {b: s.per_repeat for b, s in scaled.items()}, out_dir, "steps_to_target"))

# %% [markdown]
# ## What we found

# %%
variance_follows = abs(slope + 1) < 3 * slope_error
print("The variance of a mini-batch gradient %s (log-log slope %.2f ± %.2f)."
      % ("falls as 1/B" if variance_follows else "does NOT follow 1/B within 3 standard errors", slope, slope_error))
estimator_off = [name for name, s in scales.items() if abs(s["two_batch"] - s["exact"]) > 3 * s["two_batch_error"]]
print("The two-batch estimate of B_simple %s." % (
    "agrees with the exact value within 3 standard errors at all three points" if not estimator_off else
    "misses the exact value by more than 3 standard errors at: " + ", ".join(estimator_off)))
start_b, late_b = scales["start"]["exact"], scales["near target"]["exact"]
if late_b > 2 * start_b:
    print("The noise scale grows as the loss falls (B_simple %.1f at the start, %.1f near the target): a batch"
          " that is wasteful at the start is useful near the target." % (start_b, late_b))
else:
    print("The noise scale does not grow much as the loss falls (B_simple %.1f at the start, %.1f near the target)."
          % (start_b, late_b))
full_steps = tuned[max(step_sizes)].steps if max(step_sizes) == num_examples else None
if full_steps is not None:
    extra = full_steps - descent["best_steps"]
    print("Full batch: the search up to 2/λ_max needs %g steps, %s gradient descent's best (%d at lr %.3f)."
          % (full_steps, "within one step of" if extra <= 1 else "%g more than" % extra, descent["best_steps"],
             descent["best_lr"]))
saved = descent["capped_steps"] - descent["best_steps"]
if saved > 0:
    print("Stopping the search at 1/λ_max would cost full-batch descent %d more step(s) (%d instead of %d): its best"
          " learning rates lie past 1/λ_max." % (saved, descent["capped_steps"], descent["best_steps"]))
else:
    print("Stopping the search at 1/λ_max would cost full-batch descent nothing here (%d steps either way)."
          % descent["best_steps"])

# %%
tolerance = 0.25  # a fit whose worst point misses by more is only a rough description
print("Steps to the target %s S = %.1f (1 + %.0f/B)%s." % (
    "follow" if worst_fit <= tolerance else "only roughly follow", s_min, b_crit,
    "" if worst_fit <= tolerance else ": at batch %d the fit is off by %.0f%%" % (worst_batch, 100 * worst_fit)))
print("The fitted S_min, %.1f, is %s full-batch descent's best, %d step(s)." % (
    s_min, "close to" if abs(s_min / descent["best_steps"] - 1) <= 0.5 else "far from", descent["best_steps"]))
between = min(start_b, late_b) < b_crit < max(start_b, late_b)
print("B_crit = %.0f %s B_simple at the start (%.1f) and near the target (%.1f)." % (
    b_crit, "lies between" if between else "lies OUTSIDE the range of", start_b, late_b))
ratio = b_crit / mean_simple
print("It is %.2g times B_simple averaged along the full-batch path (%.0f): %s." % (ratio, mean_simple,
      "the noise scale gives its order of magnitude" if 0.1 <= ratio <= 10 else
      "the noise scale does not even give its order of magnitude here"))

# %%
order = sorted(scaled)
kept = [b for b in order[1:] if verdicts[b] == "within"]
holds = None  # the largest batch up to which every scaled batch kept within 1.5x
for b in order[1:]:
    if verdicts[b] != "within":
        break
    holds = b
first_fail = next((b for b in order[1:] if verdicts[b] in ("more", "diverged", "stalled")), None)
unclear = [b for b in order[1:] if verdicts[b] == "inconclusive"]
schedule = "without warm-up" if not warmup_examples else "with the same warm-up (%d examples)" % warmup_examples
print("Scaling lr with B, %s, kept the examples within 1.5x of batch %d's across all %d repeats %s." % (
    schedule, order[0], repeats, "up to batch %d" % holds if holds else "for no larger batch"))
if unclear:
    print("At batch %s the spread over repeats straddles 1.5x: inconclusive." % ", ".join(map(str, unclear)))
if first_fail is not None:
    s = scaled[first_fail]
    print("From batch %d (lr %.3f, %.2f of 2/λ_max) it fails: %s." % (first_fail, s.lr, s.lr / limit, {
        "more": "it needs more than 1.5x the examples in every repeat",
        "diverged": "the runs diverge", "stalled": "the runs stall above the target"}[verdicts[first_fail]]))
past = [b for b in order if scaled[b].lr > limit]
if past:
    blew = sum(sum(scaled[b].diverged) for b in past)
    print("Past lr = 2/λ_max = %.3f (batch %s) the runs diverged in %d of %d repeats." % (
        limit, ", ".join(map(str, past)), blew, repeats * len(past)))
else:
    print("No scaled learning rate passed the stability limit 2/λ_max = %.3f." % limit)

# %%
def finite_or_none(value):
    """Steps as a JSON-friendly number: None when the target was never reached."""
    return value if math.isfinite(value) else None


findings = {
    "seed": seed, "num_examples": num_examples, "correlation": correlation, "price_noise": price_noise,
    "target_excess": target_excess, "runs": runs, "repeats": repeats, "warmup_examples": warmup_examples,
    "target_loss": target, "least_squares_loss": quadratic.minimum, "hessian_eigenvalues": eigenvalues,
    "batch_sizes": list(variance_batch_sizes), "grad_variance": measured, "grad_variance_standard_error": errors,
    "grad_variance_exact": theory, "variance_slope": slope, "variance_slope_error": slope_error,
    "noise_scale_simple": scales, "noise_scale_along_descent": along, "noise_scale_mean_along_descent": mean_simple,
    "step_batch_sizes": step_sizes,
    "steps_to_target": {str(b): finite_or_none(tuned[b].steps) for b in step_sizes},
    "steps_to_target_per_repeat": {str(b): [finite_or_none(s) for s in tuned[b].per_repeat] for b in step_sizes},
    "examples_to_target": {str(b): finite_or_none(b * tuned[b].steps) for b in step_sizes},
    "tuned_lr": {str(b): tuned[b].lr for b in step_sizes}, "min_steps": s_min, "critical_batch_size": b_crit,
    "fit_worst_relative_miss": worst_fit, "descent_best_lr": descent["best_lr"],
    "descent_best_steps": descent["best_steps"], "descent_steps_below_half_limit": descent["capped_steps"],
    "scaled_steps": {str(b): finite_or_none(s.steps) for b, s in scaled.items()},
    "scaled_steps_per_repeat": {str(b): [finite_or_none(x) for x in s.per_repeat] for b, s in scaled.items()},
    "scaled_diverged": {str(b): s.diverged for b, s in scaled.items()},
    "scaled_lr": {str(b): s.lr for b, s in scaled.items()}, "scaled_base_lr": base_lr,
    "scaled_verdicts": {str(b): v for b, v in verdicts.items()},
    "scaling_works_up_to": holds, "scaling_fails_from": first_fail,
    "scaling_kept_up": kept, "largest_stable_lr": limit, "figures": figures,
}

# %% [markdown]
# ## Exercises
# 1. Lower the target (`--set target_excess=0.005`). How do B_simple near the target and B_crit move?
# 2. Set `--set correlation=0` (a round bowl). How many steps does full-batch descent need now, and
#    where does B_crit land against B_simple?
# 3. Give every batch size the same warm-up, `--set warmup_examples=512`. Does it rescue a batch size
#    whose lr is past 2/λ_max? Then, in `noise.scaled_steps`, make the warm-up a fixed number of
#    *updates* for every batch size instead: which batch sizes does that penalize, and why?
# 4. With the seconds per update of lesson 6, which batch size reaches the target soonest in wall time here?
# 5. Estimate B_simple with the two-batch method from only 20 pairs of batches (`--set pair_draws=20`).
#    How far off can it be, and does its standard error say so?
