"""Lesson 7 — Batch size and noise: gradient variance, the noise scale, steps to a target loss.

What you will see: mini-batch gradients scattered around the full-data gradient, their variance
falling as 1/B; the gradient noise scale B_simple = tr(Σ)/|G|² computed exactly and estimated
from batches of two sizes; how many updates (and examples) each batch size needs to reach a
target loss, fitted to S = S_min (1 + B_crit / B); and the linear scaling rule working up to a
point and failing past it.

Run it:  gluon-lessons run batch-noise        (or: python -m gluon_lessons.lessons.lesson07_batch_noise)
"""
# %% [markdown]
# ## Setup
# House prices again, with two changes that make noise visible: the price noise is 1 (in the
# standardized units of lesson 1) instead of 0.01, and area and age are correlated (newer houses
# are bigger), which makes the loss a tilted valley that takes gradient descent several steps.
# Settings, with units:
# %%
import math

import numpy as onp

from gluon_lessons import data as house_data
from gluon_lessons import landscape, noise, plots
from gluon_lessons.lessons._common import heading, lesson_main, output_dir
from gluon_lessons.seeding import set_seed

SLUG = "batch-noise"
NUM_EXAMPLES = 1024  # houses
CORRELATION = -0.8  # between area and age
PRICE_NOISE = 1.0  # standard deviation of the price noise
VARIANCE_BATCH_SIZES = (1, 4, 16, 64, 256, 1024)  # examples per batch
VARIANCE_DRAWS = 200  # mini-batch gradients per batch size
SMALL_BATCH, BIG_BATCH = 16, 512  # the two-batch estimator's sizes
PAIR_DRAWS = 300  # pairs of batches behind each two-batch estimate
TARGET_EXCESS = 0.01  # target: full-data loss at most the least-squares loss + this
STEP_BATCH_SIZES = (1, 4, 16, 64, 256, 1024)
RUNS = 8  # shuffles per setting; their mean loss estimates the expected loss
SCALED_BATCH_SIZES = (1, 2, 4, 8, 16, 32, 64, 256)
WARMUP_STEPS = 10  # linear warm-up of the scaled learning rate, in updates


def correlated_house_prices(num_examples=NUM_EXAMPLES, correlation=CORRELATION, price_noise=PRICE_NOISE, seed=0):
    """Standardized area and age with the given correlation; price = 2·area − 3.4·age + 4.2 + noise."""
    if not -1 < correlation < 1:
        raise ValueError("correlation must be in (-1, 1), got %r" % (correlation,))
    base = house_data.synthetic_house_prices(num_examples, noise=price_noise, seed=seed)
    area, other = base.features[:, 0].astype(onp.float64), base.features[:, 1].astype(onp.float64)
    age = correlation * area + math.sqrt(1 - correlation ** 2) * other
    features = onp.stack([area, age], axis=1).astype(onp.float32)
    rng = onp.random.default_rng(seed + 1)
    labels = features.astype(onp.float64) @ onp.asarray(base.true_w) + base.true_b + rng.normal(0, price_noise, num_examples)
    return house_data.HouseData(features, labels.astype(onp.float32), base.feature_names, base.true_w, base.true_b,
                                price_noise, seed)


# %% [markdown]
# ## Points along the way
# Noise depends on where the weights are. We follow full-batch gradient descent from w̃ = 0 (the
# course's start, up to Gluon's tiny random init) to the target and look at three of its points:
# the start, the first step where one example's gradient noise is ten times the signal (B_simple
# ≥ 10, "early"), and the last step before the target.
# %%
def descent_points(house, lr, target):
    """Full-batch gradient descent from 0 until the loss reaches `target`: the (w, b) of every step."""
    quadratic = noise.Quadratic(house.features, house.labels)
    params = [onp.zeros(house.num_features + 1)]
    while quadratic(params[-1][None])[0] > target and len(params) < 10000:
        grads = noise.per_example_gradients(house.features, house.labels, params[-1][:-1], params[-1][-1])
        params.append(params[-1] - lr * grads.mean(axis=0))
    return params


# %% [markdown]
# ## Mini-batch gradients around the full gradient
# A mini-batch gradient g_B is the mean of B per-example gradients drawn at random. Its mean is
# the full-data gradient G; its spread is the covariance Σ of one example's gradient, divided by
# B when the examples are drawn independently (with replacement): E|g_B − G|² = tr(Σ)/B. Here
# MXNet's autograd computes every g_B; NumPy computes the per-example gradients (x̃·w̃ − y) x̃
# that give G and tr(Σ) exactly.
# %%
def gradient_variance(house, point, batch_sizes, draws, rng):
    """Measured E|g_B − G|² per batch size, its standard error, the exact tr(Σ)/B, and the gradients."""
    per_example = noise.per_example_gradients(house.features, house.labels, point[:-1], point[-1])
    exact = noise.exact_noise_scale(per_example)
    full = per_example.mean(axis=0)
    net = noise.net_at(point[:-1], point[-1])
    measured, errors, clouds = [], [], {}
    for batch_size in batch_sizes:
        grads = noise.gluon_batch_gradients(net, house.features, house.labels, batch_size, draws, rng)
        squared = ((grads - full) ** 2).sum(axis=1)
        measured.append(float(squared.mean()))
        errors.append(float(squared.std(ddof=1) / math.sqrt(draws)))
        clouds[batch_size] = grads
    return dict(measured=measured, standard_error=errors, exact=[exact.trace_sigma / b for b in batch_sizes],
                full_gradient=full, clouds=clouds, exact_noise=exact)


# %% [markdown]
# ## The gradient noise scale
# B_simple = tr(Σ)/|G|² (McCandlish et al., 2018) compares the noise in one example's gradient
# with the signal: for B well below B_simple a step mostly follows noise, well above it more
# examples barely change the direction. With per-example gradients it is exact. Large models
# cannot afford those, so the paper estimates it from the norms of two batch gradients of sizes
# B_small and B_big, using E|g_B|² = |G|² + tr(Σ)/B twice.
# %%
def noise_scales(house, point, rng, draws=PAIR_DRAWS, small=SMALL_BATCH, big=BIG_BATCH):
    """Exact and two-batch B_simple at `point`, with the estimate's standard error."""
    exact = noise.exact_noise_scale(noise.per_example_gradients(house.features, house.labels, point[:-1], point[-1]))
    net = noise.net_at(point[:-1], point[-1])
    small_sq = (noise.gluon_batch_gradients(net, house.features, house.labels, small, draws, rng) ** 2).sum(axis=1)
    big_sq = (noise.gluon_batch_gradients(net, house.features, house.labels, big, draws, rng) ** 2).sum(axis=1)
    estimate = noise.two_batch_noise_scale(small_sq, big_sq, small, big)
    error = noise.two_batch_standard_error(small_sq, big_sq, small, big)
    return dict(exact=exact.b_simple, two_batch=estimate.b_simple, two_batch_error=error,
                trace_sigma=exact.trace_sigma, grad_norm_sq=exact.grad_norm_sq)


# %% [markdown]
# ## Steps to a target loss
# For each batch size we train with MXNet (the course's fused path), `RUNS` shuffles from w̃ = 0,
# and count the updates S until the loss — averaged over the runs and over the last 5% of steps,
# an estimate of its expected value — reaches the target. The learning rate is *tuned* per batch
# size: the best of 1/λ_max · 2^-k. Examples used: E = B·S. McCandlish et al. predict
# S = S_min (1 + B_crit/B), equivalently (S/S_min − 1)(E/E_min − 1) = 1: small batches use the
# fewest examples, large ones the fewest steps, and B_crit is where the trade turns.
# %%
def steps_table(house, batch_sizes, target, runs):
    """Tuned steps per batch size and the fit (S_min, B_crit)."""
    tuned = noise.tuned_steps(house.features, house.labels, batch_sizes, target, runs=runs)
    steps = [tuned[b][0] for b in batch_sizes]
    s_min, b_crit = noise.fit_critical_batch(batch_sizes, steps)
    return tuned, steps, s_min, b_crit


# %% [markdown]
# ## The linear scaling rule
# Below B_crit, doubling the batch halves the steps if the learning rate doubles too (Goyal et
# al., 2017: lr ∝ B, with a warm-up). It cannot go on: full-batch gradient descent diverges for
# lr > 2/λ_max, and no warm-up moves that wall. We start from half the tuned lr of batch 1 (the
# tuned one sits where SGD's noise floor just touches the target, which would make every scaled run
# a coin toss) and multiply it by B.
# %%
def finite_or_none(value):
    """Steps as a JSON-friendly number: None when the target was never reached."""
    return value if math.isfinite(value) else None


def run(out_dir=None, seed=0, quick=False, num_examples=NUM_EXAMPLES, correlation=CORRELATION,
        price_noise=PRICE_NOISE, target_excess=TARGET_EXCESS, runs=RUNS):
    """Measure gradient noise and steps to a target for each batch size; return the findings."""
    set_seed(seed)
    out = output_dir(SLUG, out_dir)
    rng = onp.random.default_rng(seed)
    variance_sizes, step_sizes, scaled_sizes = VARIANCE_BATCH_SIZES, STEP_BATCH_SIZES, SCALED_BATCH_SIZES
    draws, pair_draws = VARIANCE_DRAWS, PAIR_DRAWS
    if quick:
        num_examples, runs, draws, pair_draws = 512, min(runs, 3), 100, 100
        target_excess = max(target_excess, 0.03)  # fewer steps at batch 1
        variance_sizes, step_sizes, scaled_sizes = (1, 8, 64, 512), (1, 8, 64, 512), (1, 4, 16, 64)
    if not (isinstance(target_excess, (int, float)) and target_excess > 0):
        raise ValueError("target_excess must be a number > 0, got %r" % (target_excess,))
    if isinstance(runs, bool) or not isinstance(runs, int) or runs < 1:
        raise ValueError("runs must be an integer >= 1, got %r" % (runs,))
    house = correlated_house_prices(num_examples, correlation, price_noise, seed)
    quadratic = noise.Quadratic(house.features, house.labels)
    target = quadratic.minimum + target_excess
    eigenvalues = landscape.eigenvalues(quadratic.hessian)
    print("  %d houses, corr(area, age) %.2f, price noise %.2f; Hessian eigenvalues %s; least-squares loss %.4f"
          % (num_examples, correlation, price_noise, onp.round(eigenvalues, 3).tolist(), quadratic.minimum))
    print("  target: loss <= %.4f (least squares + %g); stable learning rates: lr < 2/λ_max = %.3f"
          % (target, target_excess, quadratic.largest_stable_lr))

    heading("Full-batch gradient descent to the target (lr = 1/λ_max)")
    path = descent_points(house, quadratic.largest_stable_lr / 2, target)
    print("  %d steps; B_simple along the way (exact):" % (len(path) - 1))
    along = [noise.exact_noise_scale(noise.per_example_gradients(house.features, house.labels, p[:-1], p[-1])).b_simple
             for p in path[:-1]]
    early = next((i for i, b in enumerate(along) if b >= 10), len(along) // 2)
    points = {"start": path[0], "early": path[early], "near target": path[-2]}
    print("  " + ", ".join("%.1f" % b for b in along))
    mean_simple = float(onp.mean(along))

    heading("Variance of mini-batch gradients at the early point (%d draws per batch size)" % draws)
    variance = gradient_variance(house, points["early"], variance_sizes, draws, rng)
    weights = [1.0 / (e / m) ** 2 for e, m in zip(variance["standard_error"], variance["measured"])]
    slope, slope_error = noise.loglog_slope(variance_sizes, variance["measured"], weights)
    print("  %6s %22s %12s %8s" % ("batch", "measured ± s.e.", "tr(Σ)/B", "ratio"))
    for b, m, se, e in zip(variance_sizes, variance["measured"], variance["standard_error"], variance["exact"]):
        print("  %6d %12.4g ± %-8.2g %12.4g %8.3f" % (b, m, se, e, m / e))
    print("  log-log slope %.3f ± %.3f (1/B has slope −1)" % (slope, slope_error))

    heading("The noise scale B_simple = tr(Σ)/|G|², exact and from two batch sizes (%d and %d)" % (SMALL_BATCH, BIG_BATCH))
    scales = {}
    for name, point in points.items():
        scales[name] = noise_scales(house, point, rng, pair_draws)
        s = scales[name]
        print("  %-12s exact %8.2f   two-batch %8.2f ± %.2f   (tr Σ %.4g, |G|² %.4g)"
              % (name, s["exact"], s["two_batch"], s["two_batch_error"], s["trace_sigma"], s["grad_norm_sq"]))

    heading("Steps to the target, learning rate tuned per batch size (%d runs each)" % runs)
    tuned, steps, s_min, b_crit = steps_table(house, step_sizes, target, runs)
    print("  %6s %8s %10s %9s" % ("batch", "steps", "examples", "best lr"))
    for b in step_sizes:
        s, lr, _ = tuned[b]
        print("  %6d %8s %10s %9.4f" % (b, s, b * s if math.isfinite(s) else "inf", lr))
    print("  fit S = S_min (1 + B_crit/B): S_min %.1f steps, B_crit %.1f examples" % (s_min, b_crit))
    print("  B_simple averaged over the %d full-batch steps: %.1f (start %.1f, near the target %.1f)"
          % (len(along), mean_simple, along[0], along[-1]))

    smallest = min(step_sizes)
    base_lr = tuned[smallest][1] / 2
    heading("The linear scaling rule: lr = %.4f · B / %d, with a %d-step warm-up" % (base_lr, smallest, WARMUP_STEPS))
    scaled = noise.scaled_steps(house.features, house.labels, scaled_sizes, smallest, base_lr, target,
                                WARMUP_STEPS, runs)
    for b, (s, lr) in sorted(scaled.items()):
        note = "" if math.isfinite(s) else ("  past 2/λ_max: diverges" if lr > quadratic.largest_stable_lr
                                            else "  stalls above the target")
        print("  batch %5d  lr %8.4f  steps %6s  examples %8s%s" % (b, lr, s, b * s if math.isfinite(s) else "inf", note))
    base_examples = scaled[smallest][0] * smallest
    works = []  # batch sizes, from the smallest on, that need at most 1.5x the base run's examples
    for b, (s, _) in sorted(scaled.items()):
        if not (math.isfinite(s) and b * s <= 1.5 * base_examples):
            break
        works.append(b)
    fails = [b for b in sorted(scaled) if b > max(works, default=0)]

    figures = [
        plots.gradient_clouds({b: variance["clouds"][b] for b in variance_sizes[::2]}, variance["full_gradient"],
                              out, "gradient_clouds",
                              title="mini-batch gradients where B_simple = %.0f" % scales["early"]["exact"]),
        plots.variance_vs_batch(variance_sizes, variance["measured"], variance["standard_error"],
                                variance["exact_noise"].trace_sigma, out, "gradient_variance"),
        plots.steps_to_target(step_sizes, steps, s_min, b_crit,
                              {b: s for b, (s, _) in scaled.items()}, out, "steps_to_target"),
    ]
    print("\nFigures: %s" % ", ".join(str(f) for f in figures))

    heading("What we found")
    print("  The variance of a mini-batch gradient falls as 1/B (slope %.2f on log-log). The noise scale grows as"
          % slope)
    print("  the loss falls (B_simple %.1f at the start, %.1f near the target): big batches pay off late in training."
          % (scales["start"]["exact"], scales["near target"]["exact"]))
    print("  Steps to the target follow S = %.1f (1 + %.0f/B): below B ≈ %.0f a bigger batch saves steps almost"
          % (s_min, b_crit, b_crit))
    print("  one for one, above it hardly any. B_crit lies between B_simple at the start and near the target and is")
    print("  %.1f times B_simple averaged along the full-batch path (%.0f): the noise scale gives the order of"
          % (b_crit / mean_simple, mean_simple))
    print("  magnitude of the useful batch size, not the number (B_simple ignores the valley's shape).")
    print("  Scaling lr with B keeps the examples needed within 1.5x of batch %d's up to batch %s; from batch %s"
          % (smallest, max(works) if works else "-", min(fails) if fails else "-"))
    print("  on it costs more, and past lr = 2/λ_max = %.2f every run diverges, warm-up or not."
          % quadratic.largest_stable_lr)
    return {
        "num_examples": num_examples, "seed": seed, "target_loss": target, "least_squares_loss": quadratic.minimum,
        "batch_sizes": list(variance_sizes), "grad_variance": variance["measured"],
        "grad_variance_standard_error": variance["standard_error"], "grad_variance_exact": variance["exact"],
        "variance_slope": slope, "variance_slope_error": slope_error,
        "noise_scale_simple": {name: s for name, s in scales.items()},
        "noise_scale_along_descent": along, "noise_scale_mean_along_descent": mean_simple,
        "step_batch_sizes": list(step_sizes),
        "steps_to_target": {str(b): finite_or_none(tuned[b][0]) for b in step_sizes},
        "examples_to_target": {str(b): finite_or_none(b * tuned[b][0]) for b in step_sizes},
        "tuned_lr": {str(b): tuned[b][1] for b in step_sizes},
        "min_steps": s_min, "critical_batch_size": b_crit,
        "scaled_steps": {str(b): finite_or_none(s) for b, (s, _) in scaled.items()},
        "scaled_lr": {str(b): lr for b, (_, lr) in scaled.items()}, "scaled_base_lr": base_lr,
        "scaling_works_up_to": max(works) if works else None, "scaling_fails_from": min(fails) if fails else None,
        "largest_stable_lr": quadratic.largest_stable_lr, "figures": figures,
    }


# %% [markdown]
# ## Exercises
# 1. Lower the target (`--set target_excess=0.005`). How do B_simple near the target and B_crit move?
# 2. Set `--set correlation=0` (a round bowl). Does the full-batch descent need fewer steps? What happens to B_crit?
# 3. With the seconds per update of lesson 6, which batch size reaches the target soonest in wall time here?
# 4. Estimate B_simple with the two-batch method from only 20 pairs of batches. How far off can it be?
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
