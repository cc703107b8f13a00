# %% [markdown]
# # Lesson 7 — Batch size and noise: gradient variance, the noise scale, steps to a target loss
#
# What you will see: mini-batch gradients scattered around the full-data gradient, their variance
# falling as 1/B; the gradient noise scale B_simple = tr(Σ)/|G|² computed exactly and estimated
# from batches of two sizes; how many updates (and examples) each batch size needs to reach a
# target loss with its learning rate tuned up to the stability limit, fitted to
# S = S_min (1 + B_crit / B); the linear scaling rule (lr ∝ B), repeated over independent
# shuffles so that only differences larger than the run-to-run spread are claimed; and
# mini-batch SGD against momentum at the same effective step, where the noise has settled.
#
# Run it: `gluon-lessons run batch-noise` (about 5 s here; `--quick` in 3), or as a
# notebook: `gluon-lessons notebook 7`.

# %%
import math
import textwrap
import time

import numpy as onp

from gluon_lessons import checks, convergence, fused, landscape, noise, plots, recording
from gluon_lessons.seeding import set_seed

# %% tags=["parameters"]
seed = 0               # one seed for random, numpy and mx.random: data, batches, shuffles
num_examples = 1024    # houses
correlation = -0.8     # between area and age, in [-0.95, 0.95]; 0 makes the loss a round bowl
price_noise = 1.0      # standard deviation of the price noise, in standardized units
variance_batch_sizes = (1, 4, 16, 64, 256, 1024)  # where the gradient's variance is measured
variance_draws = 200   # mini-batch gradients per batch size
small_batch = 16       # the two-batch estimator's small batch (examples)
big_batch = 512        # the two-batch estimator's big batch (examples)
pair_draws = 300       # batches of each size behind one two-batch estimate
target_excess = 0.01   # the target: full-data loss at most the least-squares loss + this
step_batch_sizes = (1, 4, 16, 64, 256, 1024)  # batch sizes whose steps to the target are counted
runs = 8               # shuffles per ensemble; their mean loss estimates the expected loss
repeats = 5            # independent ensembles per setting: the spread of a step count
scaled_batch_sizes = (1, 2, 4, 8, 16, 32, 64, 256)  # batch sizes for the linear scaling rule
warmup_examples = 0    # lr warm-up from 0 over this many examples, the same for every batch size
minibatch_momentum = 0.9    # β of section 7, against plain SGD at the same effective step
minibatch_fractions = (0.15, 0.5)  # section 7: effective steps η/(1−β) as fractions of 2/λ_max
minibatch_steps = 3000      # section 7: steps averaged per run once the noise has settled
minibatch_repeats = 2       # section 7: independent runs per setting
arrival_fraction = 0.01     # section 7: "arrived" when the excess loss is below this of the start
out_dir = None         # None: figures inline in a notebook; the command line saves them
QUICK = dict(num_examples=512, runs=3, repeats=3, variance_draws=100, pair_draws=100,
             target_excess=0.03, variance_batch_sizes=(1, 8, 64, 512),
             step_batch_sizes=(1, 8, 64, 512), scaled_batch_sizes=(1, 4, 16, 64),
             minibatch_steps=1000, minibatch_repeats=1)  # what --quick changes; --set always wins

# %%
num_examples = checks.integer("num_examples", num_examples, 64, 20_000)
correlation = checks.number("correlation", correlation, -0.95, 0.95)
price_noise = checks.number("price_noise", price_noise, 0.0, 10.0)
variance_batch_sizes = checks.integers("variance_batch_sizes", sorted(set(variance_batch_sizes)),
                                       1, num_examples, 2, 12)  # two different ones at least
variance_draws = checks.integer("variance_draws", variance_draws, 2, 5000)
small_batch = checks.integer("small_batch", small_batch, 1, num_examples - 1)
big_batch = checks.integer("big_batch", big_batch, small_batch + 1, num_examples)
pair_draws = checks.integer("pair_draws", pair_draws, 2, 5000)
step_batch_sizes = checks.integers("step_batch_sizes", sorted(set(step_batch_sizes)), 1,
                                   num_examples, 2, 10)
runs = checks.integer("runs", runs, 1, 32)
repeats = checks.integer("repeats", repeats, 2, 10)  # a spread needs two
scaled_batch_sizes = checks.integers("scaled_batch_sizes", sorted(set(scaled_batch_sizes)), 1,
                                     num_examples, 2, 12)
warmup_examples = checks.integer("warmup_examples", warmup_examples, 0, 100 * num_examples)
minibatch_momentum = checks.number("minibatch_momentum", minibatch_momentum, 0.0, 0.95)
minibatch_fractions = checks.numbers("minibatch_fractions", minibatch_fractions, 0.01, 0.7,
                                     min_length=2, max_length=2)  # up to 0.7 SGD has a floor
minibatch_steps = checks.integer("minibatch_steps", minibatch_steps, 400, 100_000)
minibatch_repeats = checks.integer("minibatch_repeats", minibatch_repeats, 1, 20)
arrival_fraction = checks.number("arrival_fraction", arrival_fraction, 0.001, 0.5)
house = noise.correlated_house_prices(num_examples, correlation, price_noise, seed)
quadratic = noise.Quadratic(house.features, house.labels)
start_excess = quadratic(onp.zeros((1, house.num_features + 1)))[0] - quadratic.minimum  # at w̃ = 0
hardest = convergence.minibatch_noise(house.features, house.labels, min(step_batch_sizes))
lowest = convergence.smallest_reachable_excess(hardest, start_excess, max_steps=6000)
target_excess = checks.number("target_excess", target_excess, lowest, start_excess, high_open=True)
print(f"seed {seed}; {num_examples} houses, corr(area, age) {correlation:g}, price noise "
      f"{price_noise:g}; target: least squares + {target_excess:g}; {repeats} × {runs} runs")

# %% [markdown]
# ## 1. The data and the loss
# House prices again (price = 2·area − 3.4·age + 4.2 + noise, standardized features), with two
# changes that make noise visible: the price noise is 1 instead of lesson 1's 0.01, and area and
# age are correlated (newer houses are bigger), which tilts the loss into a valley that takes
# gradient descent several steps. The loss is Gluon's `L2Loss` averaged over the houses, a
# quadratic in w̃ = [w, b] whose Hessian's eigenvalues are the curvatures; full-batch gradient
# descent is stable only for lr < 2/λ_max.

# %%
set_seed(seed)
started = time.perf_counter()
eigenvalues = landscape.eigenvalues(quadratic.hessian)
limit = quadratic.largest_stable_lr  # 2/λ_max
target = quadratic.minimum + target_excess
print(f"corr(area, age) measured: {onp.corrcoef(house.features.T)[0, 1]:.3f}")
print(f"Hessian eigenvalues {onp.round(eigenvalues, 3).tolist()}; stability limit 2/λ_max = "
      f"{limit:.4f}")
print(f"least-squares loss {quadratic.minimum:.4f}; target: loss <= {target:.4f}; the loss at "
      f"w̃ = 0 is {quadratic.minimum + start_excess:.2f}")

# %% [markdown]
# ## 2. Points along the way
# Noise depends on where the weights are. We follow full-batch gradient descent from w̃ = 0 (the
# course's start, up to Gluon's tiny random init) at lr = 1/λ_max, where every direction shrinks
# without overshooting, until the loss reaches the target. We keep three of its points: the start;
# "early", the first step where B_simple ≥ 10, i.e. where the *variance* of one example's gradient
# around G, tr(Σ), is ten times the squared signal |G|² (in length, noise about √10 ≈ 3.2 times
# the signal); and the last step before the target.

# %%
def b_simple_at(point):
    """Exact B_simple = tr(Σ)/|G|² at [w, b] from all per-example gradients."""
    return noise.exact_noise_scale(
        noise.per_example_gradients(house.features, house.labels, point[:-1], point[-1]))


path = noise.descent_path(quadratic, limit / 2, target)
along = [b_simple_at(p).b_simple for p in path[:-1]]
early = next((i for i, b in enumerate(along) if b >= 10), len(along) // 2)  # else the middle step
print(f"full-batch descent at lr = 1/λ_max = {limit / 2:.4f}: {len(path) - 1} steps to the target")
print(textwrap.fill("B_simple before each step: " + ", ".join(f"{b:.1f}" for b in along), 100))
points = {"start": 0, "early": early, "near target": len(along) - 1}
print("points: " + ", ".join(f"{name} = step {step}" for name, step in points.items()))
mean_simple = float(onp.mean(along))

# %% [markdown]
# ## 3. Mini-batch gradients around the full gradient
# A mini-batch gradient g_B is the mean of B per-example gradients drawn at random. Its mean is the
# full-data gradient G; drawn independently (with replacement), its spread is the covariance Σ of
# one example's gradient divided by B: E|g_B − G|² = tr(Σ)/B. MXNet's autograd computes every g_B
# below; NumPy computes the per-example gradients (x̃·w̃ − y) x̃ that give G and tr(Σ) exactly.

# %%
rng = onp.random.default_rng(seed)  # draws the batches (with replacement)
at = path[points["early"]]
per_example = noise.per_example_gradients(house.features, house.labels, at[:-1], at[-1])
exact = noise.exact_noise_scale(per_example)
full = per_example.mean(axis=0)  # G
net = noise.net_at(at[:-1], at[-1])
measured, errors, clouds = [], [], {}
for batch_size in variance_batch_sizes:
    grads = noise.gluon_batch_gradients(net, house.features, house.labels, batch_size,
                                        variance_draws, rng)
    squared = ((grads - full) ** 2).sum(axis=1)  # |g_B − G|², one per draw
    measured.append(float(squared.mean()))
    errors.append(float(squared.std(ddof=1) / math.sqrt(variance_draws)))
    clouds[batch_size] = grads
theory = [exact.trace_sigma / b for b in variance_batch_sizes]
slope, slope_error = noise.loglog_slope(variance_batch_sizes, measured,
                                        [(m / e) ** 2 for m, e in zip(measured, errors)])
print(f"at the early point ({variance_draws} draws per batch size):")
print(f"{'batch':>6} {'E|g_B − G|² ± s.e.':>22} {'tr(Σ)/B':>12} {'ratio':>8}")
for b, m, se, e in zip(variance_batch_sizes, measured, errors, theory):
    print(f"{b:6d} {m:12.4g} ± {se:<8.2g} {e:12.4g} {m / e:8.3f}")
verdicts = {"variance_one_over_b": "falls as 1/B" if abs(slope + 1) < 4 * slope_error
            else "does not follow 1/B"}
found = {"variance_one_over_b": f"The variance of a mini-batch gradient "
                                f"{verdicts['variance_one_over_b']} (log-log slope {slope:.2f} ± "
                                f"{slope_error:.2f}; 1/B within 4 s.e.)."}
print(found["variance_one_over_b"])

# %%
figures = [plots.gradient_clouds(
               {b: clouds[b] for b in variance_batch_sizes[::2]}, full, out_dir, "gradient_clouds",
               title=f"mini-batch gradients where B_simple = {exact.b_simple:.0f}"),
           plots.variance_vs_batch(variance_batch_sizes, measured, errors, exact.trace_sigma,
                                   out_dir, "gradient_variance")]

# %% [markdown]
# ## 4. The gradient noise scale
# B_simple = tr(Σ)/|G|² (McCandlish et al., 2018) compares the noise in one example's gradient
# with the signal: for B well below B_simple a step mostly follows noise, well above it more
# examples barely change the direction. With per-example gradients it is exact. Large models
# cannot afford those, so the paper estimates it from the squared norms of batch gradients of two
# sizes, using E|g_B|² = |G|² + tr(Σ)/B twice; the standard error comes from the spread over the
# pairs of batches.

# %%
scales = {}
for name, step in points.items():
    point = path[step]
    batch_net = noise.net_at(point[:-1], point[-1])
    small_sq, big_sq = ((noise.gluon_batch_gradients(batch_net, house.features, house.labels, size,
                                                     pair_draws, rng) ** 2).sum(axis=1)
                        for size in (small_batch, big_batch))
    exact_here = b_simple_at(point)
    scales[name] = dict(
        exact=exact_here.b_simple, trace_sigma=exact_here.trace_sigma,
        grad_norm_sq=exact_here.grad_norm_sq,
        two_batch=noise.two_batch_noise_scale(small_sq, big_sq, small_batch, big_batch).b_simple,
        two_batch_error=noise.two_batch_standard_error(small_sq, big_sq, small_batch, big_batch))
print(f"B_simple, exact and from {pair_draws} pairs of batches of {small_batch} and {big_batch}:")
for name, s in scales.items():
    print(f"  {name:<12} exact {s['exact']:8.2f}   two-batch {s['two_batch']:8.2f} ± "
          f"{s['two_batch_error']:<7.2f} (tr Σ {s['trace_sigma']:.4g}, "
          f"|G|² {s['grad_norm_sq']:.4g})")
missed = [name for name, s in scales.items()
          if abs(s["two_batch"] - s["exact"]) > 4 * s["two_batch_error"]]
verdicts["two_batch_estimate"] = "does not agree" if missed else "agrees"
start_b, late_b = scales["start"]["exact"], scales["near target"]["exact"]
verdicts["noise_scale_grows"] = "grows" if late_b > 2 * start_b else "does not grow"
found["two_batch_estimate"] = (f"The two-batch estimate of B_simple "
                               f"{verdicts['two_batch_estimate']} with the exact value within 4 "
                               f"s.e. (missed at: {', '.join(missed) or 'none'}).")
found["noise_scale_grows"] = (f"As the loss falls the noise scale {verdicts['noise_scale_grows']}: "
                              f"B_simple {start_b:.1f} at the start, {late_b:.1f} near the target.")
print(textwrap.fill(found["two_batch_estimate"], 100))
print(textwrap.fill(found["noise_scale_grows"], 100))

# %% [markdown]
# ## 5. Steps to a target loss
# How many updates S does each batch size need until the loss reaches the target? The learning
# rate matters as much as B, so it is *tuned* per batch size over the grid
# 2/λ_max · 2^(−(k − ½)/4), k = 1, 2, ...: up to just below the stability limit, past which
# full-batch gradient descent diverges. Full-batch descent, a deterministic recursion, shows why
# the grid must reach that far: NumPy runs it at many learning rates at once.

# %%
scan_lrs = limit * onp.linspace(0.002, 0.998, 500)
scan_steps = onp.array([noise.steps_to_reach(row, target)
                        for row in noise.descent_losses(quadratic, scan_lrs, 2000)])
best = int(onp.argmin(scan_steps))
capped = int(onp.argmin(onp.where(scan_lrs <= limit / 2, scan_steps, onp.inf)))
descent = dict(best_lr=float(scan_lrs[best]), best_steps=float(scan_steps[best]),
               capped_lr=float(scan_lrs[capped]), capped_steps=float(scan_steps[capped]))
print(f"full-batch descent: fewest steps {descent['best_steps']:.0f} at lr "
      f"{descent['best_lr']:.4f} ({descent['best_lr'] / limit:.2f} of 2/λ_max); with lr <= "
      f"1/λ_max at best {descent['capped_steps']:.0f}")
saved = descent["capped_steps"] - descent["best_steps"]
verdicts["search_past_half_limit"] = "saves steps" if saved > 0 else "saves nothing"
found["search_past_half_limit"] = (
    f"Searching past 1/λ_max {verdicts['search_past_half_limit']} for full-batch descent: "
    f"{descent['best_steps']:.0f} steps instead of {descent['capped_steps']:.0f}.")
print(found["search_past_half_limit"])

# %% [markdown]
# For each batch size, MXNet trains `runs` shuffled copies from w̃ = 0 (through
# `fused.LinearUpdates`, the course's fast path) and counts the updates until their mean loss —
# also averaged over the last 5% of steps, an estimate of the expected loss — reaches the target.
# The search walks the grid from where the previous batch size's best lr points; the chosen lr is
# then run again on `repeats` fresh ensembles, whose median and range (min–max) we report.
# Examples used: E = B·S; "inf" means the target was not reached.

# %%
def median_range(values):
    """'median [smallest–largest]' of repeated counts."""
    return "{:g} [{:g}–{:g}]".format(*noise.spread(values))


tuned = noise.tuned_steps(house.features, house.labels, step_batch_sizes, target, runs=runs,
                          repeats=repeats)
print(f"{'batch':>6} {'steps median [range]':>22} {'examples median [range]':>26} {'best lr':>9} "
      f"{'/(2/λmax)':>9}")
for b, t in tuned.items():
    examples = [b * s for s in t.per_repeat]
    print(f"{b:6d} {median_range(t.per_repeat):>22} {median_range(examples):>26} "
          f"{t.lr:9.4f} {t.lr / limit:9.3f}")
figures.append(plots.lr_search({b: t.tried for b, t in tuned.items()}, scan_lrs, scan_steps, limit,
                               out_dir, "lr_search"))
step_sizes = sorted(tuned)
full_steps = tuned[max(step_sizes)].steps
verdicts["full_batch_search"] = ("not measured" if max(step_sizes) != num_examples else
                                 "finds the best" if full_steps <= descent["best_steps"] + 1 else
                                 "misses the best")
found["full_batch_search"] = (f"At batch = all the data the search up to 2/λ_max "
                              f"{verdicts['full_batch_search']} of gradient descent "
                              f"({full_steps:g} steps against {descent['best_steps']:.0f}).")
print(textwrap.fill(found["full_batch_search"], 100))

# %% [markdown]
# McCandlish et al. predict S = S_min (1 + B_crit/B), equivalently (S/S_min − 1)(E/E_min − 1) = 1:
# small batches use the fewest examples, large ones the fewest steps, and B_crit = E_min/S_min is
# where the trade turns. S_min should be what full-batch gradient descent needs at its best
# learning rate. The fit *follows* when its worst point misses by at most 50% (the medians
# themselves move by 20–30% between seeds).

# %%
reached = [b for b in step_sizes if math.isfinite(tuned[b].steps)]
fit = None
if len(reached) >= 2:
    s_min, b_crit = noise.fit_critical_batch(reached, [tuned[b].steps for b in reached])
    misses = {b: abs(tuned[b].steps / (s_min * (1 + b_crit / b)) - 1) for b in reached}
    fit = dict(s_min=s_min, b_crit=b_crit, worst_batch=max(misses, key=misses.get))
    fit["worst_miss"] = misses[fit["worst_batch"]]
    print(f"fit S = S_min (1 + B_crit/B): S_min {s_min:.2f} steps, B_crit {b_crit:.1f} examples")
    print(textwrap.fill("fitted steps " + ", ".join(
        f"B={b}: {s_min * (1 + b_crit / b):.1f} (measured {tuned[b].steps:g})"
        for b in reached), 100))
    ratio = b_crit / mean_simple
    verdicts.update(
        critical_batch_fit="follows" if fit["worst_miss"] <= 0.5 else "does not follow",
        s_min_vs_descent="close" if abs(s_min / descent["best_steps"] - 1) <= 0.5 else "far",
        b_crit_vs_noise_scale=("between" if min(start_b, late_b) < b_crit < max(start_b, late_b)
                               else "outside"),
        noise_scale_order="same order" if 0.1 <= ratio <= 10 else "different order")
else:
    verdicts.update(critical_batch_fit="not reached", s_min_vs_descent="not reached",
                    b_crit_vs_noise_scale="not reached", noise_scale_order="not reached")
    print(f"only {len(reached)} batch size(s) reached the target: no fit "
          f"(try a larger target_excess)")

# %%
SAY_FIT = {
    True: "Steps to the target {critical_batch_fit} S = {s_min:.1f} (1 + {b_crit:.0f}/B) (worst: "
          "{worst_miss:.0%} at batch {worst_batch}); S_min is {s_min_vs_descent} to full-batch "
          "descent's best ({best_steps:.0f}). B_crit lies {b_crit_vs_noise_scale} B_simple at the "
          "start and near the target, and is of the {noise_scale_order} as B_simple averaged along "
          "the path ({mean_simple:.0f}).",
    False: "Fewer than two batch sizes reached the target: S = S_min (1 + B_crit/B) not reached."}
found["critical_batch"] = SAY_FIT[fit is not None].format(
    **verdicts, **(fit or {}), best_steps=descent["best_steps"], mean_simple=mean_simple)
print(textwrap.fill(found["critical_batch"], 100))

# %% [markdown]
# ## 6. The linear scaling rule
# Below B_crit, doubling the batch should halve the steps if the learning rate doubles too (Goyal
# et al., 2017: lr ∝ B). It cannot go on: full-batch descent diverges for lr > 2/λ_max. We start
# from half the tuned lr of the smallest batch (the tuned one sits where SGD's noise floor just
# touches the target, which would make every scaled run a coin toss) and multiply it by B. Every
# batch size gets the same schedule — no warm-up by default, or with `warmup_examples` a ramp over
# the same number of examples. A batch size keeps up if its examples stay within 1.5× of the
# base's; we claim "within" or "more" only when the whole range over the repeats says so.

# %%
base_batch = min(scaled_batch_sizes)
base_lr = tuned[min(step_sizes)].lr / 2 * base_batch / min(step_sizes)  # half the tuned lr, scaled
try:  # the base batch must reach the target at base_lr, or there is nothing to scale
    scaled = noise.scaled_steps(house.features, house.labels, scaled_batch_sizes, base_batch,
                                base_lr, target, warmup_examples, runs=runs, repeats=repeats)
except ValueError as reason:
    scaled = {}
    print(f"not reached: {reason}")
base_examples = [base_batch * s for s in scaled[base_batch].per_repeat] if scaled else []
kept = {}
print(f"lr = {base_lr:.4g} · B / {base_batch}, warm-up over {warmup_examples} examples for every B")
print(f"{'batch':>6} {'lr':>8} {'/(2/λmax)':>9} {'steps median [range]':>22} "
      f"{'examples median [range]':>26}  against the base")
for b, s in scaled.items():
    examples = [b * steps for steps in s.per_repeat]
    kept[b] = ("base" if b == base_batch else
               noise.compare_spreads(examples, base_examples, 1.5, s.diverged))
    print(f"{b:6d} {s.lr:8.4f} {s.lr / limit:9.3f} {median_range(s.per_repeat):>22} "
          f"{median_range(examples):>26}  {kept[b]}")

# %%
below = [b for b in scaled if b != base_batch and scaled[b].lr <= limit]
past = [b for b in scaled if scaled[b].lr > limit]
holds = max([b for b in below if all(kept[c] == "within" for c in below if c <= b)], default=None)
broke = [b for b in below if kept[b] in ("more", "stalled", "diverged")]
verdicts["linear_scaling"] = ("not reached" if not scaled else "breaks below the limit" if broke
                              else "holds below the limit" if holds == max(below, default=None)
                              else "inconclusive")
verdicts["scaling_past_limit"] = ("not tried" if not past else
                                  "diverges" if all(all(scaled[b].diverged) for b in past)
                                  else "does not always diverge")
found["linear_scaling"] = (
    f"Scaling lr with B {verdicts['linear_scaling']} 2/λ_max = {limit:.3f}: examples within 1.5× "
    f"of batch {base_batch}'s in every repeat up to batch {holds}; past the limit (batch "
    f"{', '.join(map(str, past)) or 'none'}) it {verdicts['scaling_past_limit']}.")
print(textwrap.fill(found["linear_scaling"], 100))
if fit and scaled:
    figures.append(plots.steps_to_target(
        {b: t.per_repeat for b, t in tuned.items()}, fit["s_min"], fit["b_crit"],
        {b: s.per_repeat for b, s in scaled.items()}, out_dir, "steps_to_target"))

# %% [markdown]
# ## 7. Momentum at the same effective step: the noise floor
# Under a steady gradient, momentum β with step η moves like plain SGD with the effective step
# η_eff = η/(1−β) (lesson 5). With noisy gradients two questions remain: how much excess loss
# L − L* the noise leaves once it has settled (the *noise floor*), and how soon each method gets
# down there. For additive noise the floor along a direction of curvature λ is
# η_eff s²/(λ(2 − η_eff λ)) for SGD and η_eff s²/(λ(2 − η_eff λ(1−β)/(1+β))) for heavy ball
# (`convergence.stationary_variance`): equal while η_eff λ is small, apart as η_eff λ_max nears 2.
# Mini-batch noise grows with the distance from θ*, but for linear regression the exact answer is
# still in reach: when every batch is a fresh draw of B distinct examples, the mean and covariance
# of (θ − θ*, v) obey a linear recursion whose coefficients are moments of the data
# (`convergence.minibatch_noise`); it gives E[L(θ_k)] − L* at every step and its long-run level.
# Batches of 10, in float32.

# %%
FLOOR_BATCH, BLOCK = 10, 100  # examples per batch; steps per block of the standard error
small_step_fraction, large_step_fraction = sorted(minibatch_fractions)
floor_noise = convergence.minibatch_noise(house.features, house.labels, FLOOR_BATCH)
optimum = floor_noise.optimum
plan = {}
for size, fraction in (("small", small_step_fraction), ("large", large_step_fraction)):
    row = {"fraction_of_gd_limit": fraction, "effective_lr": fraction * limit}
    for name, beta in (("sgd", 0.0), ("momentum", minibatch_momentum)):
        lr = row["effective_lr"] * (1 - beta)
        level = convergence.stationary_excess_loss(floor_noise, lr, beta)
        horizon = 3 * convergence.settling_time(floor_noise, lr, beta)
        rise = convergence.expected_excess_loss(floor_noise, lr, beta, optimum, horizon)
        row[name] = {"lr": lr, "momentum": beta, "theory": level,
                     "burn_in": convergence.settling_step(rise, level)}
    row["burn_in"] = max(row["sgd"]["burn_in"], row["momentum"]["burn_in"])
    row["ratio_theory"] = row["sgd"]["theory"] / row["momentum"]["theory"]
    plan[size] = row
    print(f"η_eff = {row['effective_lr']:.4f} ({fraction:.0%} of 2/λ_max): floor E[L] − L*, "
          f"theory: SGD {row['sgd']['theory']:.4g}, momentum {row['momentum']['theory']:.4g}")
    print(f"  ratio {row['ratio_theory']:.2f}; settled after {row['burn_in']} steps")

# %% [markdown]
# ### The noise floor, measured where it has settled
# Each run starts at θ* with zero velocity, so no descent is mixed into the measurement. We drop
# the steps until the expected excess loss stays within 1% of its floor (the burn-in above), then
# average `minibatch_steps` more steps per run, in blocks of 100 whose spread gives the standard
# error (s.e.). "Agrees" means within the 99% interval of Student's t for that many blocks
# (`convergence.student_bound`). The batches are independent draws (`recording.IndependentBatches`),
# as the recursion assumes, and SGD and momentum see the same batches. The updates run through
# `fused.LinearUpdates` (the same updates as `Trainer.step`, many per MXNet call), which records
# the weights after every step and hands them over once at the end.

# %%
def settled_excess_loss(row, name, batches):
    """The excess loss of one run from θ*, after the burn-in, cut to whole blocks."""
    net = noise.net_at(optimum[:-1], optimum[-1])
    updates = fused.LinearUpdates(net, FLOOR_BATCH, row[name]["lr"], row[name]["momentum"])
    _, path = updates.run(batches.features, batches.labels, record=True)
    excess = landscape.excess_losses(house.features, path.asnumpy(), optimum)[row["burn_in"]:]
    return excess[:len(excess) // BLOCK * BLOCK]


floor = {}
for size, row in plan.items():
    draws = [recording.IndependentBatches(house.features, house.labels, FLOOR_BATCH,
                                          row["burn_in"] + minibatch_steps)
             for _ in range(minibatch_repeats)]
    tails = {name: onp.concatenate([settled_excess_loss(row, name, batches) for batches in draws])
             for name in ("sgd", "momentum")}
    blocks = len(tails["sgd"]) // BLOCK
    floor[size] = {name: convergence.mean_with_error(tails[name], blocks) for name in tails}
    floor[size]["ratio"] = convergence.ratio_with_error(tails["sgd"], tails["momentum"], blocks)
    floor[size].update(bound=convergence.student_bound(blocks), curves=tails)
    for name in ("sgd", "momentum"):
        (mean, error), level = floor[size][name], row[name]["theory"]
        print(f"η_eff {row['effective_lr']:.4f}, {name:<8}: measured {mean:.4g} ± {error:.2g} "
              f"(s.e.), theory {level:.4g}: {(mean - level) / error:+.1f} s.e.")
    (ratio, ratio_error), bound = floor[size]["ratio"], floor[size]["bound"]
    print(f"η_eff {row['effective_lr']:.4f}, SGD / momentum: measured {ratio:.3f} ± "
          f"{ratio_error:.3f}, theory {row['ratio_theory']:.3f} ({blocks} blocks: 99% within "
          f"±{bound:.1f} s.e.)")

# %%
z = {(size, name): (floor[size][name][0] - plan[size][name]["theory"]) / floor[size][name][1]
     for size in plan for name in ("sgd", "momentum")}
agree = max(abs(value) for value in z.values()) <= min(f["bound"] for f in floor.values())
verdicts["noise_floors"] = "agree with theory" if agree else "do not agree"
(ratio, ratio_error), bound = floor["large"]["ratio"], floor["large"]["bound"]
low, high = ratio - bound * ratio_error, ratio + bound * ratio_error
verdicts["floor_near_edge"] = ("momentum lower" if low > 1 else "momentum higher" if high < 1
                               else "cannot tell")
found["noise_floors"] = (
    f"The settled excess losses {verdicts['noise_floors']} (largest |z| "
    f"{max(abs(value) for value in z.values()):.1f} s.e.). At {large_step_fraction:.0%} of SGD's "
    f"edge SGD's floor / momentum's = {ratio:.2f} ± {ratio_error:.2f} (theory "
    f"{plan['large']['ratio_theory']:.2f}): {verdicts['floor_near_edge']}; at "
    f"{small_step_fraction:.0%}, {floor['small']['ratio'][0]:.2f} ± "
    f"{floor['small']['ratio'][1]:.2f} (theory {plan['small']['ratio_theory']:.2f}).")
print(textwrap.fill(found["noise_floors"], 100))

# %% [markdown]
# ### Who gets down first
# Now from θ = 0, far from θ*: the step from which the excess loss, averaged over the runs and
# over 10 consecutive steps, stays below `arrival_fraction` of where it started
# (`convergence.arrival_step`), for SGD and momentum at the same effective step, beside the step
# at which the recursion's E[L] − L* gets there. Momentum *is faster* when it arrives in under 90%
# of SGD's steps, *slower* past 110%.

# %%
def arrival_curve(row, name, draws):
    """Mean excess loss of runs from θ = 0, one per set of batches in `draws`; the recursion's."""
    curves = []
    for batches in draws:
        updates = fused.LinearUpdates(noise.net_at(onp.zeros(2), 0.0), FLOOR_BATCH,
                                      row[name]["lr"], row[name]["momentum"])
        _, path = updates.run(batches.features, batches.labels, record=True)
        curves.append(landscape.excess_losses(
            house.features, onp.vstack([onp.zeros(3), path.asnumpy()]), optimum))
    return onp.mean(curves, axis=0), convergence.expected_excess_loss(
        floor_noise, row[name]["lr"], row[name]["momentum"], onp.zeros(3), len(draws[0]))


# %%
arrival = {}
for size, row in plan.items():
    start_loss = float(landscape.excess_losses(house.features, onp.zeros((1, 3)), optimum)[0])
    goal = arrival_fraction * start_loss
    predicted = [convergence.arrival_step(convergence.expected_excess_loss(
        floor_noise, row[name]["lr"], row[name]["momentum"], onp.zeros(3), 5000), goal)
        for name in ("sgd", "momentum")]
    horizon = 2 * max([p for p in predicted if p is not None] or [240]) + 20  # room to be late
    arrival[size] = dict(target=goal, horizon=horizon)
    draws = [recording.IndependentBatches(house.features, house.labels, FLOOR_BATCH, horizon)
             for _ in range(minibatch_repeats)]  # SGD and momentum see the same batches
    for name in ("sgd", "momentum"):
        curve, expected = arrival_curve(row, name, draws)
        arrival[size][name] = {"curve": curve, "theory": expected,
                               "steps": convergence.arrival_step(curve, goal),
                               "steps_theory": convergence.arrival_step(expected, goal)}
    sgd, mom = (arrival[size][name]["steps"] for name in ("sgd", "momentum"))
    print(textwrap.fill(
        f"η_eff {row['effective_lr']:.4f}: excess loss from {start_loss:.4g} to below "
        f"{goal:.4g}: SGD at step {sgd}, momentum at {mom} (theory "
        f"{arrival[size]['sgd']['steps_theory']} and {arrival[size]['momentum']['steps_theory']}"
        f"; None: not within {horizon})", 100))

# %%
sgd, mom = (arrival["small"][name]["steps"] for name in ("sgd", "momentum"))
faster = mom is not None and (sgd is None or mom < 0.9 * sgd)
slower = sgd is not None and (mom is None or mom > 1.1 * sgd)
verdicts["arrival"] = ("not reached" if sgd is None and mom is None else "momentum faster" if faster
                       else "momentum slower" if slower else "about as fast")
found["arrival"] = (f"Down to {arrival_fraction:g} of the start at {small_step_fraction:.0%} of "
                    f"the edge: SGD at step {sgd}, momentum at {mom}: {verdicts['arrival']}.")
print(textwrap.fill(found["arrival"], 100))
panels, method = {}, {"sgd": "SGD", "momentum": f"momentum, β = {minibatch_momentum:g}"}
for size, row in plan.items():
    panels[f"from θ*, η_eff = {row['effective_lr']:.3f}: the noise floor"] = dict(
        curves={method[k]: floor[size]["curves"][k][:minibatch_steps] for k in method},
        smooth=BLOCK,
        theory={method[k]: onp.full(minibatch_steps, row[k]["theory"]) for k in method})
    panels[f"from θ = 0, η_eff = {row['effective_lr']:.3f}: getting down"] = dict(
        curves={method[k]: arrival[size][k]["curve"] for k in method},
        theory={method[k]: arrival[size][k]["theory"] for k in method},
        hline=(arrival[size]["target"], "target"))
figures.append(plots.minibatch_panels(panels, out_dir, "minibatch"))

# %% [markdown]
# ## What we found

# %%
seconds = time.perf_counter() - started
for sentence in found.values():
    print(textwrap.fill(sentence, 100, initial_indent="- ", subsequent_indent="  "))
print(f"(seed {seed}, {seconds:.1f} s)")

# %% [markdown]
# ## The numbers behind it (`--json` prints them)

# %%
def finite_or_none(value):
    """Steps as a JSON-friendly number: None when the target was never reached."""
    return value if math.isfinite(value) else None


def minibatch_row(size):
    """Section 7's numbers for one effective step (the `_late_` keys: the settled floor)."""
    row, settled, got = plan[size], floor[size], arrival[size]
    summary = {key: row[key] for key in ("fraction_of_gd_limit", "effective_lr", "burn_in",
                                         "ratio_theory")}
    for name in ("sgd", "momentum"):
        summary.update({name + "_lr": row[name]["lr"],
                        name + "_stationary_theory": row[name]["theory"],
                        name + "_late_excess_loss": settled[name][0],
                        name + "_late_error": settled[name][1],
                        name + "_steps_to_target": got[name]["steps"],
                        name + "_steps_to_target_theory": got[name]["steps_theory"]})
    return dict(summary, ratio=settled["ratio"][0], ratio_error=settled["ratio"][1],
                agreement_bound=settled["bound"], target=got["target"],
                arrival_horizon=got["horizon"])


# %%
findings = {
    "seed": seed, "num_examples": num_examples, "correlation": correlation,
    "price_noise": price_noise, "target_excess": target_excess, "runs": runs, "repeats": repeats,
    "warmup_examples": warmup_examples, "verdicts": verdicts, "target_loss": target,
    "least_squares_loss": quadratic.minimum, "hessian_eigenvalues": eigenvalues,
    "batch_sizes": list(variance_batch_sizes), "grad_variance": measured,
    "grad_variance_standard_error": errors, "grad_variance_exact": theory,
    "variance_slope": slope, "variance_slope_error": slope_error, "noise_scale_simple": scales,
    "noise_scale_along_descent": along, "noise_scale_mean_along_descent": mean_simple,
    "step_batch_sizes": step_sizes,
    "steps_to_target": {str(b): finite_or_none(tuned[b].steps) for b in step_sizes},
    "steps_to_target_per_repeat": {str(b): [finite_or_none(s) for s in tuned[b].per_repeat]
                                   for b in step_sizes},
    "examples_to_target": {str(b): finite_or_none(b * tuned[b].steps) for b in step_sizes},
    "tuned_lr": {str(b): tuned[b].lr for b in step_sizes}, "seconds": seconds, "figures": figures,
}

# %%
findings.update({  # sections 5 to 7
    "min_steps": fit and fit["s_min"], "critical_batch_size": fit and fit["b_crit"],
    "fit_worst_relative_miss": fit and fit["worst_miss"], "descent_best_lr": descent["best_lr"],
    "descent_best_steps": descent["best_steps"],
    "descent_steps_below_half_limit": descent["capped_steps"],
    "scaled_steps": {str(b): finite_or_none(s.steps) for b, s in scaled.items()},
    "scaled_steps_per_repeat": {str(b): [finite_or_none(x) for x in s.per_repeat]
                                for b, s in scaled.items()},
    "scaled_diverged": {str(b): s.diverged for b, s in scaled.items()},
    "scaled_lr": {str(b): s.lr for b, s in scaled.items()}, "scaled_base_lr": base_lr,
    "scaled_verdicts": {str(b): v for b, v in kept.items()},
    "scaling_works_up_to": holds, "scaling_fails_from": min(broke + past, default=None),
    "scaling_kept_up": [b for b in scaled if kept[b] == "within"], "largest_stable_lr": limit,
    "minibatch_momentum": minibatch_momentum, "minibatch_fractions": minibatch_fractions,
    "minibatch_steps": minibatch_steps,
    "minibatch_repeats": minibatch_repeats, "arrival_fraction": arrival_fraction,
    "minibatch": [minibatch_row(size) for size in plan],
})

# %% [markdown]
# ## Exercises
# 1. Lower the target (`--set target_excess=0.005`). How do B_simple near the target and B_crit
#    move?
# 2. Set `--set correlation=0` (a round bowl). How many steps does full-batch descent need now,
#    and where does B_crit land against B_simple?
# 3. Give every batch size the same warm-up, `--set warmup_examples=512`. Does it rescue a batch
#    size whose lr is past 2/λ_max? Then, in `noise.scaled_steps`, make the warm-up a fixed
#    number of *updates* for every batch size instead: which batch sizes does that penalize?
# 4. With the seconds per update of lesson 6, which batch size reaches the target soonest in wall
#    time here?
# 5. Estimate B_simple with the two-batch method from only 20 pairs of batches
#    (`--set pair_draws=20`). How far off can it be, and does its standard error say so?
# 6. Section 7 with `--set minibatch_momentum=0.5`: is the gap between the floors at the large
#    step smaller? Compare with the factor (1−β)/(1+β) in the additive-noise formula.
# 7. `--set arrival_fraction=0.005`: the target now lies close to SGD's floor at the large step.
#    Which method gets down first there, and what does that say about "momentum is no faster"?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 7`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(7, number, answer)
