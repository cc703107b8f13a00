"""Lesson 5 — Momentum: a weighted sum of past gradients; SGD vs momentum vs NAG, theory checked against measurement.

What you will see: MXNet's momentum buffer read out of a `gluon.Trainer` and rebuilt, to float32
rounding, as −η Σ λ^(k−1−i) gᵢ from the recorded gradients; house prices in practical units,
whose loss is a narrow valley (condition number κ ≈ 150); the best step size and momentum that
theory predicts for that valley, and the convergence rates MXNet's own `Trainer` then achieves
(gradient descent, heavy-ball momentum and Nesterov side by side); step sizes just past the
stability limit blowing up as predicted; paths on the loss contours; a ball that momentum rolls
through a shallow dip, and one that it carries too far; and mini-batch SGD against momentum at
the same effective step.

Run it:  gluon-lessons run momentum        (or: python -m gluon_lessons.lessons.lesson05_momentum)
"""
# %% [markdown]
# ## Setup
# One seed drives the data, the initial weights and the mini-batch shuffles. The lecture writes
# momentum as λ and the learning rate as η; MXNet calls them `momentum` and `learning_rate`, and
# the theory below calls them β and α. Settings, with units (each is a `run` keyword, so
# `gluon-lessons run momentum --set NAME=VALUE` changes it):
# %%
import time

import numpy as onp

from gluon_lessons import convergence, landscape, plots, recording
from gluon_lessons import data as house_data
from gluon_lessons.lessons._common import heading, lesson_main, output_dir
from gluon_lessons.seeding import set_seed

SLUG = "momentum"
SUM_MOMENTA = (0.5, 0.9, 0.99)  # λ values whose momentum buffer we rebuild from gradients
SUM_LR, SUM_BATCH_SIZE, SUM_STEPS = 0.03, 10, 20  # the walkthrough's step and batch; updates recorded
MEMORY_MOMENTA = (0.5, 0.9, 0.99)  # λ values in the memory picture
AREA_UNIT_M2, AGE_UNIT_YEARS = 100.0, 10.0  # practical units: area in 100 m², age in decades
STRETCH = 10.0  # second data set: the walkthrough's standardized area, multiplied by this
RATE_START, RATE_STOP = 1e-1, 1e-10  # measure the rate while the error is between these fractions of its start
DETUNE = 1.02  # heavy ball again with β raised by 2%: see section 4
STABILITY_MARGIN = 0.02  # "just inside" and "just outside" a stability limit: ×(1 ∓ 2%)
TILT = 0.3  # the 1-D loss w⁴/4 − w²/2 + TILT·w of section 6
BALL_START, BALL_LR = 2.0, 0.1  # where the ball starts, and its step
BALL_MOMENTA = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)  # λ values swept in section 6
BALL_SHOWN = (0.0, 0.6, 0.9)  # λ values whose paths are drawn
CONTOUR_MOMENTUM, CONTOUR_STEPS = 0.8, 40  # section 5: λ for momentum and NAG; updates drawn
MINIBATCH_FRACTIONS = (0.15, 0.9)  # effective steps η/(1−λ) as fractions of plain GD's limit 2/λ_max
MINIBATCH_MOMENTUM = 0.9


# %% [markdown]
# ## 1. Momentum is a sum of gradients
# The lecture's update is m_k = λ m_{k−1} − η g_{k−1}, θ_k = θ_{k−1} + m_k, starting from m_0 = 0.
# Unrolled, m_k = −η (g_{k−1} + λ g_{k−2} + λ² g_{k−3} + …) = −η Σᵢ λ^(k−1−i) gᵢ: every step is a
# weighted sum of *all* earlier gradients. MXNet's `sgd` with `momentum=λ` keeps exactly m as its
# optimizer state, v ← λv − η·g, w ← w + v, with g the batch's mean gradient (`trainer.step(B)`
# divides the summed gradient by B). We train a few mini-batch steps on the walkthrough's data,
# record each gradient (still readable in `param.grad()` after the step), read the state out of
# the `Trainer` (`recording.optimizer_state`), and rebuild it term by term from the gradients.
# %%
def gradient_sum_check(house, momentum, lr=SUM_LR, batch_size=SUM_BATCH_SIZE, num_steps=SUM_STEPS, seed=0):
    """Largest |MXNet's momentum state − (−η Σ λ^(k−1−i) gᵢ)| over all recorded steps, and the state's size."""
    recorder = recording.record_linear_regression(
        house.features, house.labels, lr, momentum, num_steps=num_steps, batch_size=batch_size,
        dtype="float32", seed=seed, gradients=True, states=True)
    rebuilt = convergence.momentum_from_gradients(recorder.gradients, lr, momentum)
    return {"max_abs_diff": float(onp.max(onp.abs(recorder.states - rebuilt))),
            "state_size": float(onp.max(onp.abs(recorder.states))), "num_steps": num_steps}


# %% [markdown]
# ## How far back momentum remembers
# The gradient from t steps ago carries weight λ^t. The weights add up to 1/(1−λ): λ = 0.9
# remembers about 10 steps, λ = 0.99 about 100. Under a steady gradient the step therefore grows
# to η/(1−λ), the *effective* step size; section 7 compares SGD and momentum at equal effective step.
# %% [markdown]
# ## 2. An ill-conditioned loss: house prices in practical units
# For linear regression with `L2Loss` (½ squared error, averaged) the loss is exactly quadratic
# in θ = [w, b]: L(θ) = L* + ½ (θ − θ*)ᵀ A (θ − θ*) with the constant Hessian A = X̃ᵀX̃/n,
# X̃ = [X, 1]. Its eigenvalues are the curvatures along its principal directions; their ratio
# κ = λ_max/λ_min says how narrow the valley is. Lesson 1's raw units (m², years) give κ in the
# hundreds of thousands, far too slow to watch; the same houses with area in 100 m² and age in
# decades give κ ≈ 150: narrow enough to matter, wide enough to measure in a few hundred steps.
# The features are not centred, so the bias and the weights pull against each other. A second
# data set, the walkthrough's standardized data with the area column stretched ×10, checks that
# nothing below depends on one data set.
# %%
def practical_houses(num_examples=1000, seed=0, area_unit_m2=AREA_UNIT_M2, age_unit_years=AGE_UNIT_YEARS):
    """Lesson 1's raw house data with area in `area_unit_m2` and age in `age_unit_years`: (features, labels)."""
    raw = house_data.raw_house_prices(num_examples, seed=seed)
    return landscape.rescale(raw.features, [1.0 / area_unit_m2, 1.0 / age_unit_years]), raw.labels


def stretched_walkthrough(num_examples=1000, seed=0, stretch=STRETCH):
    """The walkthrough's standardized data with the area column multiplied by `stretch`: (features, labels)."""
    walk = house_data.synthetic_house_prices(num_examples, seed=seed)
    return landscape.rescale(walk.features, [stretch, 1.0]), walk.labels


def curvature(features):
    """Eigenvalues of A = X̃ᵀX̃/n (smallest first) and κ."""
    eigenvalues = landscape.eigenvalues(landscape.hessian(features))
    return eigenvalues, landscape.condition_number(eigenvalues)


# %% [markdown]
# ## 3. Theory: best steps, best rates, stability limits
# Along an eigenvector with curvature λ, one gradient-descent step multiplies the error by
# (1 − αλ). The slowest direction wants a large α, the steepest a small one; the best compromise
# is α = 2/(λ_min + λ_max), where both shrink by (κ−1)/(κ+1) per step. Past α λ_max = 2 the
# steepest direction grows: the stability limit.
#
# Heavy ball (MXNet's `sgd` with momentum β) turns each direction into a 2×2 linear system,
# [[β, λ], [−αβ, 1−αλ]] (Goh, "Why Momentum Really Works", 2017); its largest eigenvalue modulus
# is the rate, for any α and β. The best choice, α = (2/(√λ_min+√λ_max))² and
# β = ((√κ−1)/(√κ+1))², gives the rate (√κ−1)/(√κ+1): the square root of κ instead of κ. It is
# stable while α λ_max < 2 + 2β, so momentum tolerates larger steps. Nesterov (`nag`) has its own
# 2×2 system, z² − (1+β)(1−αλ) z + β(1−αλ); on a quadratic its best settings reach
# 1 − 2/√(3κ+1) (Lessard, Recht and Packard, 2016), between the two, and it is stable only while
# α λ_max < (2+2β)/(1+2β).
# %%
def theory(eigenvalues):
    """Best settings, rates and stability limits of GD, heavy ball and NAG for these eigenvalues."""
    kappa = landscape.condition_number(eigenvalues)
    hb_lr, hb_momentum = convergence.heavy_ball_best(eigenvalues)
    nag_lr, nag_momentum = convergence.nag_best(eigenvalues)
    return {
        "gd": {"lr": convergence.gd_best_lr(eigenvalues), "momentum": 0.0, "optimizer": "sgd",
               "rate": convergence.gd_best_rate(kappa), "max_lr": convergence.gd_max_lr(eigenvalues)},
        "momentum": {"lr": hb_lr, "momentum": hb_momentum, "optimizer": "sgd",
                     "rate": convergence.heavy_ball_best_rate(kappa),
                     "max_lr": convergence.heavy_ball_max_lr(hb_momentum, eigenvalues)},
        "nag": {"lr": nag_lr, "momentum": nag_momentum, "optimizer": "nag",
                "rate": convergence.nag_best_rate(kappa),
                "max_lr": convergence.nag_max_lr(nag_momentum, eigenvalues)},
    }


def steps_per_digit(rate):
    """Steps to shrink the error tenfold at this rate."""
    return float(onp.log(10) / -onp.log(rate))


# %% [markdown]
# ## 4. Measurement through MXNet's `Trainer`
# Each method runs with its best settings as full-batch gradient descent: every step sees all n
# examples and `trainer.step(n)`, so the update uses exactly the gradient of the mean loss. The
# loop is `training.fit`; a `recording.Recorder` copies [w, b] after every step, and we follow the
# distance ‖θ_k − θ*‖ to the least-squares solution. The rate is exp of the slope of log‖θ_k − θ*‖
# while the error lies between 10⁻¹ and 10⁻¹⁰ of its start: early enough to be past the first
# transients, late enough to stop before rounding. Ten orders of magnitude need more digits than
# float32's seven, so these runs cast the net to float64 (`net.cast('float64')`) and feed float64
# data; the `Trainer` works the same.
#
# One subtlety. At exactly the best β, the 2×2 systems of the flattest and the steepest direction
# have a double eigenvalue; the error then decays like k·ρᵏ rather than ρᵏ, and a finite window
# reads the rate about 1% slow. So heavy ball runs twice: at the best (α, β), compared with
# (√κ−1)/(√κ+1), and with β raised by 2%, where every direction spirals at exactly √β and the
# per-eigenvalue spectral radius is the exact prediction.
# %%
def errors_to_optimum(recorder, optimum):
    """‖θ_k − θ*‖ for every recorded step."""
    return onp.linalg.norm(recorder.parameters - optimum, axis=1)


def excess_losses(recorder, features, optimum):
    """L(θ_k) − L* = ½ (θ_k − θ*)ᵀ A (θ_k − θ*) for every recorded step (exact: the loss is quadratic)."""
    offsets = recorder.parameters - optimum
    return 0.5 * onp.einsum("ki,ij,kj->k", offsets, landscape.hessian(features), offsets)


def measure_methods(features, labels, gd_steps=600, momentum_steps=200, detune=DETUNE, seed=0):
    """Run GD, heavy ball (best and detuned β) and NAG with their best settings; theory and measured rates."""
    eigenvalues, kappa = curvature(features)
    optimum = landscape.optimum(features, labels)
    best = theory(eigenvalues)
    hb_lr, hb_momentum = best["momentum"]["lr"], best["momentum"]["momentum"] * detune
    runs = {
        "gd": dict(best["gd"], steps=gd_steps),
        "momentum": dict(best["momentum"], steps=momentum_steps),
        "momentum_detuned": {"lr": hb_lr, "momentum": hb_momentum, "optimizer": "sgd", "steps": momentum_steps,
                             "rate": convergence.heavy_ball_rate(hb_lr, hb_momentum, eigenvalues)},
        "nag": dict(best["nag"], steps=momentum_steps),
    }
    results = {}
    for name, run in runs.items():
        recorder = recording.record_linear_regression(features, labels, run["lr"], run["momentum"], run["optimizer"],
                                                      num_steps=run["steps"], seed=seed)
        errors = errors_to_optimum(recorder, optimum)
        measured = convergence.measure_rate(errors, RATE_START, RATE_STOP)
        results[name] = {"lr": run["lr"], "momentum": run["momentum"], "optimizer": run["optimizer"],
                         "rate_theory": run["rate"], "rate_measured": measured.rate,
                         "window": [measured.first, measured.last], "errors": errors,
                         "excess_loss": excess_losses(recorder, features, optimum)}
    return {"eigenvalues": eigenvalues, "kappa": kappa, "optimum": optimum, "runs": results}


# %% [markdown]
# ## Stability: just inside and just outside the limit
# Each limit is a sharp line. 2% inside it the error still shrinks (for GD the steepest direction
# now flips sign every step and loses only 4% of its size each time); 2% outside it grows
# geometrically, at the rate the same formulas predict. We measure the factor per step over the
# second half of 150 steps.
# %%
def stability_runs(features, labels, margin=STABILITY_MARGIN, num_steps=150, seed=0):
    """GD and heavy ball (best β) at (1 ∓ margin) × their stability limits: predicted and measured factor per step."""
    eigenvalues, _ = curvature(features)
    optimum = landscape.optimum(features, labels)
    momentum = convergence.heavy_ball_best(eigenvalues)[1]
    limits = {"gd": (convergence.gd_max_lr(eigenvalues), 0.0),
              "momentum": (convergence.heavy_ball_max_lr(momentum, eigenvalues), momentum)}
    results = {}
    for name, (limit, beta) in limits.items():
        for side, factor in (("inside", 1 - margin), ("outside", 1 + margin)):
            lr = factor * limit
            recorder = recording.record_linear_regression(features, labels, lr, beta, num_steps=num_steps, seed=seed)
            errors = errors_to_optimum(recorder, optimum)
            results["%s_%s" % (name, side)] = {
                "lr": lr, "momentum": beta, "max_lr": limit, "errors": errors,
                "rate_theory": convergence.heavy_ball_rate(lr, beta, eigenvalues),
                "rate_measured": convergence.measure_growth(errors).rate,
                "error_ratio": float(errors[-1] / errors[0])}
    return results


# %% [markdown]
# ## 5. Pictures: paths on the loss contours
# With one feature (area in 100 m²) and a bias there are two parameters, so the whole loss fits
# on a page. The valley is narrow (κ ≈ 28) and tilted, because area and the bias column are
# correlated. The best settings of section 3 make heavy ball leap across the whole picture, so
# here all three share one modest step, α = 1/λ_max, and momentum and NAG use β = 0.8. Watch the
# characters: gradient descent drops to the valley floor and then crawls along it; heavy ball
# gathers speed along the floor, overshoots and circles in; NAG, which takes its gradient at the
# point momentum is about to carry it to, brakes before it overshoots.
# %%
def contour_runs(features, labels, momentum=CONTOUR_MOMENTUM, num_steps=CONTOUR_STEPS, seed=0):
    """Paths of GD, heavy ball and NAG (step 1/λ_max) on a two-parameter problem, and its loss on a grid around them."""
    eigenvalues, kappa = curvature(features)
    optimum = landscape.optimum(features, labels)
    lr = 1.0 / eigenvalues[-1]
    paths = {}
    for name, beta, optimizer in (("gd", 0.0, "sgd"), ("momentum", momentum, "sgd"), ("nag", momentum, "nag")):
        recorder = recording.record_linear_regression(features, labels, lr, beta, optimizer, num_steps=num_steps,
                                                      seed=seed)
        paths[name] = recorder.parameters
    points = onp.vstack(list(paths.values()) + [optimum[None, :]])
    low, high = points.min(axis=0), points.max(axis=0)
    pad = 0.08 * (high - low)
    grid_w, grid_b = onp.meshgrid(onp.linspace(low[0] - pad[0], high[0] + pad[0], 200),
                                  onp.linspace(low[1] - pad[1], high[1] + pad[1], 200))
    offsets = onp.stack([grid_w - optimum[0], grid_b - optimum[1]], axis=-1)
    values = 0.5 * onp.einsum("...i,ij,...j->...", offsets, landscape.hessian(features), offsets)
    return {"kappa": kappa, "lr": lr, "momentum": momentum, "optimum": optimum, "paths": paths,
            "grid": (grid_w, grid_b, values),
            "final_distance": {k: float(onp.linalg.norm(p[-1] - optimum)) for k, p in paths.items()}}


# %% [markdown]
# ## 6. Critical points: a shallow dip and a ball with inertia
# The lecture's picture: plain gradient descent stops wherever the gradient is zero, momentum
# keeps the speed it had and may roll on. Here is a one-parameter loss, L(w) = w⁴/4 − w²/2 + tilt·w;
# at the default tilt 0.3 it has a shallow dip near w ≈ 0.79 and a deeper valley near w ≈ −1.13,
# separated by a low ridge at w ≈ 0.34 (the gradient is zero at all three). A
# `landscape.PositionLoss` makes the parameter itself the thing being trained, so the same
# `Trainer` and loop move it; we start at w = 2 and sweep λ.
# %%
def roll_balls(momenta=BALL_MOMENTA, tilt=TILT, start=BALL_START, lr=BALL_LR, num_steps=150):
    """Final position of the ball for each λ, whether it crossed the ridge, and its path."""
    ridge = landscape.critical_points_of_double_well(tilt)[1]
    balls = {}
    for momentum in momenta:
        recorder = recording.record_position(lambda w: landscape.tilted_double_well(w, tilt), [start], lr, momentum,
                                             num_steps=num_steps)
        path = recorder.parameters[:, 0]
        final = float(path[-1])
        balls[momentum] = {"path": path, "final": final, "ends_in": "dip" if final > ridge else "valley",
                           "crossed_ridge": bool(onp.any(path < ridge)),
                           "final_slope": float(landscape.tilted_double_well_slope(final, tilt))}
    return balls


# %% [markdown]
# ## 7. Mini-batches: momentum at the same effective step
# Momentum β with step α moves, under a steady gradient, like plain SGD with the effective step
# η_eff = α/(1−β). To first order in the step the two are the same algorithm, noise included. The
# exact long-run variance along a direction of curvature λ, for gradients with additive noise of
# variance s², is
# α s² (1+β) / ((1−β) λ (2(1+β) − αλ)) (`convergence.stationary_variance`); at equal effective
# step η_eff that is η_eff s² / (λ (2 − η_eff λ)) for SGD and η_eff s² / (λ (2 − η_eff λ (1−β)/(1+β)))
# for heavy ball: equal while η_eff λ is small, apart as η_eff λ_max nears 2, plain SGD's edge.
# We train the practical-units data in shuffled batches of 10 (float32) at two effective steps,
# 15% and 90% of 2/λ_max, and average the excess loss L − L* over the second half of the run and
# over seeds. Mini-batch noise is not additive (it grows with the distance from θ*) and the loss
# has three directions, so the formula gives the direction and rough size of the gap, not its value.
# %%
def minibatch_comparison(features, labels, fractions=MINIBATCH_FRACTIONS, momentum=MINIBATCH_MOMENTUM,
                         batch_size=10, num_steps=300, seeds=(0, 1)):
    """Mean excess loss (second half of the run, seed-averaged) for SGD and momentum at equal effective step."""
    eigenvalues, _ = curvature(features)
    optimum = landscape.optimum(features, labels)
    gd_limit = convergence.gd_max_lr(eigenvalues)
    results = []
    for fraction in fractions:
        effective = fraction * gd_limit
        row = {"fraction_of_gd_limit": fraction, "effective_lr": effective}
        for name, beta in (("sgd", 0.0), ("momentum", momentum)):
            curves = []
            for seed in seeds:
                recorder = recording.record_linear_regression(
                    features, labels, effective * (1 - beta), beta, num_steps=num_steps, batch_size=batch_size,
                    dtype="float32", seed=seed)
                curves.append(excess_losses(recorder, features, optimum))
            curve = onp.mean(curves, axis=0)
            row[name] = {"lr": effective * (1 - beta), "momentum": beta, "curve": curve,
                         "late_excess_loss": float(onp.mean(curve[num_steps // 2:])),
                         "steepest_variance": convergence.stationary_variance(effective * (1 - beta), beta,
                                                                              eigenvalues[-1], 1.0)}
        row["late_ratio_sgd_over_momentum"] = row["sgd"]["late_excess_loss"] / row["momentum"]["late_excess_loss"]
        row["theory_steepest_ratio"] = row["sgd"]["steepest_variance"] / row["momentum"]["steepest_variance"]
        results.append(row)
    return results


def check_settings(num_examples, gd_steps, momentum_steps, area_unit_m2, stretch, tilt, minibatch_momentum):
    """ValueError naming the first setting out of range."""
    for name, value, least in (("num_examples", num_examples, 10), ("gd_steps", gd_steps, 50),
                               ("momentum_steps", momentum_steps, 50)):
        if isinstance(value, bool) or not isinstance(value, (int, onp.integer)) or value < least:
            raise ValueError("%s must be an integer >= %d, got %r" % (name, least, value))
    for name, value in (("area_unit_m2", area_unit_m2), ("stretch", stretch)):
        if not (isinstance(value, (int, float)) and onp.isfinite(value) and value > 0):
            raise ValueError("%s must be a number > 0, got %r" % (name, value))
    if not (isinstance(minibatch_momentum, (int, float)) and 0 <= minibatch_momentum < 1):
        raise ValueError("minibatch_momentum must be in [0, 1), got %r" % (minibatch_momentum,))
    limit = 2 / (3 * onp.sqrt(3))  # beyond it w³ − w + tilt has one real root: no dip, no ridge
    if not (isinstance(tilt, (int, float)) and 0 < tilt < limit):
        raise ValueError("tilt must be in (0, %.3f) so the loss has a dip and a valley, got %r" % (limit, tilt))


def _check(quick, seed):
    if not isinstance(quick, bool):
        raise ValueError("quick must be True or False, got %r" % (quick,))
    set_seed(seed)  # validates the seed


def _pct(measured, predicted):
    return 100.0 * (measured - predicted) / predicted


def run(out_dir=None, seed=0, quick=False, num_examples=1000, gd_steps=600, momentum_steps=200,
        area_unit_m2=AREA_UNIT_M2, stretch=STRETCH, tilt=TILT, minibatch_momentum=MINIBATCH_MOMENTUM):
    """All seven sections; returns the findings."""
    _check(quick, seed)
    check_settings(num_examples, gd_steps, momentum_steps, area_unit_m2, stretch, tilt, minibatch_momentum)
    started = time.perf_counter()
    out = output_dir(SLUG, out_dir)
    if quick:
        num_examples, gd_steps, momentum_steps = min(num_examples, 300), min(gd_steps, 400), min(momentum_steps, 200)
    ball_momenta = BALL_SHOWN if quick else BALL_MOMENTA
    minibatch_seeds = (seed,) if quick else (seed, seed + 1)
    minibatch_steps = 150 if quick else 300

    heading("1. Momentum is a sum of gradients")
    walk = house_data.synthetic_house_prices(num_examples, seed=seed)
    sums = {}
    for momentum in SUM_MOMENTA:
        sums[momentum] = gradient_sum_check(walk, momentum, seed=seed)
        print("  λ = %-4g: MXNet's state vs −η Σ λ^(k−1−i) gᵢ over %d steps: max |difference| %.2e (state up to %.3f)"
              % (momentum, SUM_STEPS, sums[momentum]["max_abs_diff"], sums[momentum]["state_size"]))
    gradient_sum_max_abs_diff = max(s["max_abs_diff"] for s in sums.values())
    print("  (float32 keeps about 7 digits, so differences near 1e-7 × the state's size are rounding)")
    weights = {momentum: convergence.momentum_weights(momentum, 120) for momentum in MEMORY_MOMENTA}
    figures = [plots.momentum_memory(weights, out)]
    for momentum in MEMORY_MOMENTA:
        print("  λ = %-4g remembers about 1/(1−λ) = %.0f steps" % (momentum, convergence.memory_steps(momentum)))

    heading("2. House prices in practical units (area / %g m², age / decade): the Hessian" % area_unit_m2)
    features, labels = practical_houses(num_examples, seed, area_unit_m2)
    eigenvalues, kappa = curvature(features)
    raw_kappa = curvature(house_data.raw_house_prices(num_examples, seed=seed).features)[1]
    print("  eigenvalues of A = X̃ᵀX̃/n: %s" % ", ".join("%.4g" % v for v in eigenvalues))
    print("  κ = %.1f   (in m² and years it would be %.3g)" % (kappa, raw_kappa))

    heading("3. Theory for this valley")
    best = theory(eigenvalues)
    for name, label in (("gd", "gradient descent"), ("momentum", "heavy ball"), ("nag", "Nesterov")):
        b = best[name]
        print("  %-16s α = %.4f  β = %.4f  rate %.4f  (%.0f steps per digit)  stable while α < %.4f"
              % (label, b["lr"], b["momentum"], b["rate"], steps_per_digit(b["rate"]), b["max_lr"]))
    hb_effective = convergence.effective_lr(best["momentum"]["lr"], best["momentum"]["momentum"])
    print("  heavy ball's effective step α/(1−β) = %.3f is %.1f× plain GD's limit 2/λ_max = %.3f"
          % (hb_effective, hb_effective / best["gd"]["max_lr"], best["gd"]["max_lr"]))

    heading("4. Measured through gluon.Trainer (float64, full batch)")
    data_sets = {"practical units": (features, labels)}
    if not quick:
        data_sets["walkthrough, area ×%g" % stretch] = stretched_walkthrough(num_examples, seed, stretch)
    measured = {}
    for data_name, (X, y) in data_sets.items():
        result = measure_methods(X, y, gd_steps, momentum_steps, seed=seed)
        measured[data_name] = result
        print("  %s (κ = %.1f):" % (data_name, result["kappa"]))
        print("    %-22s %8s %8s %9s %9s %7s" % ("method", "α", "β", "theory", "measured", "diff"))
        for name, r in result["runs"].items():
            print("    %-22s %8.4f %8.4f %9.5f %9.5f %+6.2f%%" % (name, r["lr"], r["momentum"], r["rate_theory"],
                                                              r["rate_measured"], _pct(r["rate_measured"], r["rate_theory"])))
    main_runs = measured["practical units"]["runs"]
    stability = stability_runs(features, labels)
    print("  stability (practical units), factor per step over the last 75 of 150 steps:")
    for name, r in stability.items():
        print("    %-18s α = %.4f (limit %.4f, β = %.3f): theory %.4f, measured %.4f, error ×%.3g after 150 steps"
              % (name, r["lr"], r["max_lr"], r["momentum"], r["rate_theory"], r["rate_measured"], r["error_ratio"]))

    heading("5. Pictures")
    contours = contour_runs(features[:, :1], labels, seed=seed)
    labels_of = {"gd": "SGD, full batch (gradient descent)", "momentum": "momentum (heavy ball)", "nag": "NAG"}
    figures.append(plots.contour_paths(
        *contours["grid"], {"%s%s" % (labels_of[k], "" if k == "gd" else ", β = %g" % CONTOUR_MOMENTUM): v
                            for k, v in contours["paths"].items()}, out, "contour_paths",
        "w (thousand per 100 m²)", "b (bias, thousand)", contours["optimum"],
        "Price from area alone (κ = %.0f): %d steps of α = 1/λ_max" % (contours["kappa"], CONTOUR_STEPS)))
    print("  two-parameter problem (area only, κ = %.1f), α = 1/λ_max = %.3f, β = %g: after %d steps ‖θ − θ*‖ is %s"
          % (contours["kappa"], contours["lr"], CONTOUR_MOMENTUM, CONTOUR_STEPS,
             ", ".join("%s %.3g" % (k, d) for k, d in contours["final_distance"].items())))
    figures.append(plots.rate_curves(
        {"%s (measured %.4f)" % (labels_of.get(k, "momentum, β +2%"), r["rate_measured"]): r["errors"]
         for k, r in main_runs.items()}, out, "convergence",
        theory={"%s (measured %.4f)" % (labels_of.get(k, "momentum, β +2%"), r["rate_measured"]):
                (r["rate_theory"], r["window"][0]) for k, r in main_runs.items()},
        title="Practical units, κ = %.0f: distance to least squares" % kappa))
    figures.append(plots.loss_curves(
        {labels_of[k]: main_runs[k]["excess_loss"][1:] for k in ("gd", "momentum", "nag")}, out, "loss",
        xlabel="iteration", ylabel="L(θ_k) − L*", title="Excess loss, full batch, float64"))
    figures.append(plots.rate_curves(
        {"%s %s the limit (theory %.3f)" % ("GD" if k.startswith("gd") else "momentum",
                                            "2% inside" if k.endswith("inside") else "2% outside", r["rate_theory"]):
         r["errors"] for k, r in stability.items()}, out, "stability",
        title="Just inside vs just outside the stability limit"))

    heading("6. Critical points: a shallow dip")
    points = landscape.critical_points_of_double_well(tilt)
    balls = roll_balls(ball_momenta, tilt)
    print("  L(w) = w⁴/4 − w²/2 + %.2g·w: deep valley at w = %.3f, ridge at %.3f, shallow dip at %.3f; start %.1f, η = %g"
          % (tilt, points[0], points[1], points[2], BALL_START, BALL_LR))
    for momentum, ball in balls.items():
        story = ("stops in the dip" if not ball["crossed_ridge"] else
                 "rolls over the ridge into the valley" if ball["ends_in"] == "valley" else
                 "crosses the ridge, overshoots and rolls back into the dip")
        print("  λ = %-4g ends at w = %+.3f (slope %.1e): %s" % (momentum, ball["final"], ball["final_slope"], story))
    grid = onp.linspace(-2.0, 2.1, 400)
    figures.append(plots.ball_on_curve(
        grid, landscape.tilted_double_well(grid, tilt),
        {"λ = %g" % m: balls[m]["path"] for m in BALL_SHOWN if m in balls}, out, "critical_points",
        finals=("momentum λ", list(balls), [b["final"] for b in balls.values()]),
        marks={"shallow dip": points[2], "ridge": points[1], "deep valley": points[0]},
        title="Plain GD stops in the shallow dip; momentum can roll through, or overshoot"))

    heading("7. Mini-batches (B = 10): SGD vs momentum at equal effective step η/(1−λ)")
    comparison = minibatch_comparison(features.astype(onp.float32), labels, momentum=minibatch_momentum,
                                      num_steps=minibatch_steps, seeds=minibatch_seeds)
    for row in comparison:
        print("  η_eff = %.4f (%.0f%% of 2/λ_max): mean excess loss, second half: SGD %.4g, momentum %.4g (ratio %.2f);"
              % (row["effective_lr"], 100 * row["fraction_of_gd_limit"], row["sgd"]["late_excess_loss"],
                 row["momentum"]["late_excess_loss"], row["late_ratio_sgd_over_momentum"]))
        print("      additive-noise theory along the steepest direction: SGD's variance is %.2f× momentum's"
              % row["theory_steepest_ratio"])
    figures.append(plots.loss_curves(
        {"%s, η_eff %.3f" % ("SGD" if name == "sgd" else "momentum %g" % minibatch_momentum, row["effective_lr"]):
         row[name]["curve"][1:] for row in comparison for name in ("sgd", "momentum")}, out, "minibatch",
        xlabel="step", ylabel="L(θ_k) − L* (mean over seeds)",
        title="Mini-batches of 10: equal effective step"))
    print("\nFigures: %s" % ", ".join(str(f) for f in figures))

    heading("What we found")
    gd, hb, det, nag = (main_runs[k] for k in ("gd", "momentum", "momentum_detuned", "nag"))
    print("  - The momentum buffer is the weighted gradient sum: largest difference %.1e, float32 rounding."
          % gradient_sum_max_abs_diff)
    print("  - κ = %.0f. Theory: GD %.4f per step, heavy ball %.4f, NAG %.4f; measured %.4f, %.4f, %.4f."
          % (kappa, gd["rate_theory"], hb["rate_theory"], nag["rate_theory"],
             gd["rate_measured"], hb["rate_measured"], nag["rate_measured"]))
    print("    Heavy ball needs %.0f steps per digit where GD needs %.0f. At exactly the best β the measured rate"
          % (steps_per_digit(hb["rate_measured"]), steps_per_digit(gd["rate_measured"])))
    print("    is %.1f%% slow (the k·ρᵏ of a double eigenvalue); with β +2%% it matches to %.2f%%."
          % (_pct(hb["rate_measured"], hb["rate_theory"]), abs(_pct(det["rate_measured"], det["rate_theory"]))))
    print("  - Stability limits are sharp: 2%% past α λ_max = 2 (GD) the error grows ×%.3f per step, 2%% past"
          % stability["gd_outside"]["rate_measured"])
    print("    α λ_max = 2 + 2β (momentum) ×%.3f per step, both as predicted; 2%% inside both shrink."
          % stability["momentum_outside"]["rate_measured"])
    rolled = [m for m, b in balls.items() if b["ends_in"] == "valley"]
    overshot = [m for m, b in balls.items() if b["crossed_ridge"] and b["ends_in"] == "dip"]
    print("  - Plain GD stops in the shallow dip (gradient zero). Momentum rolled through for λ in %s;"
          % (rolled or "none"))
    print("    for λ in %s it crossed, overshot and came back to the dip: inertia is not a guarantee."
          % (overshot or "none"))
    small, large = comparison[0], comparison[-1]
    print("  - With mini-batch noise and equal effective step, momentum and SGD are close at a small step")
    print("    (excess-loss ratio %.2f) and part near SGD's edge (ratio %.2f, theory for the steepest direction"
          % (small["late_ratio_sgd_over_momentum"], large["late_ratio_sgd_over_momentum"]))
    print("    %.1f): there momentum is the calmer one, though at equal effective step it is no faster."
          % large["theory_steepest_ratio"])
    seconds = time.perf_counter() - started
    print("  (seed %d, %.1f s)" % (seed, seconds))

    second = [v for k, v in measured.items() if k != "practical units"]
    return {
        "seed": seed, "quick": quick, "num_examples": num_examples,
        "gradient_sum_max_abs_diff": gradient_sum_max_abs_diff,
        "gradient_sum_by_momentum": {str(m): s["max_abs_diff"] for m, s in sums.items()},
        "memory_steps": {str(m): convergence.memory_steps(m) for m in MEMORY_MOMENTA},
        "eigenvalues": eigenvalues, "kappa": kappa, "kappa_raw_units": raw_kappa,
        "gd_lr": gd["lr"], "gd_rate_theory": gd["rate_theory"], "gd_rate_measured": gd["rate_measured"],
        "momentum_lr": hb["lr"], "momentum_beta": hb["momentum"],
        "momentum_rate_theory": hb["rate_theory"], "momentum_rate_measured": hb["rate_measured"],
        "momentum_detuned_beta": det["momentum"], "momentum_detuned_rate_theory": det["rate_theory"],
        "momentum_detuned_rate_measured": det["rate_measured"],
        "nag_lr": nag["lr"], "nag_beta": nag["momentum"],
        "nag_rate_theory": nag["rate_theory"], "nag_rate_measured": nag["rate_measured"],
        "momentum_effective_lr": hb_effective, "gd_max_lr": best["gd"]["max_lr"],
        "momentum_max_lr": best["momentum"]["max_lr"], "nag_max_lr": best["nag"]["max_lr"],
        "stability": {k: {"lr": r["lr"], "rate_theory": r["rate_theory"], "rate_measured": r["rate_measured"],
                          "error_ratio": r["error_ratio"]} for k, r in stability.items()},
        "second_data_set": [{"kappa": s["kappa"], **{"%s_rate_%s" % (name, kind): s["runs"][name]["rate_" + kind]
                                                     for name in s["runs"] for kind in ("theory", "measured")}}
                            for s in second],
        "contour_kappa": contours["kappa"], "contour_final_distance": contours["final_distance"],
        "double_well_critical_points": points,
        "ball_final_position": {str(m): b["final"] for m, b in balls.items()},
        "ball_momenta_rolled_through": rolled, "ball_momenta_overshot_back": overshot,
        "minibatch": [{"effective_lr": r["effective_lr"], "sgd_late_excess_loss": r["sgd"]["late_excess_loss"],
                       "momentum_late_excess_loss": r["momentum"]["late_excess_loss"],
                       "ratio": r["late_ratio_sgd_over_momentum"],
                       "theory_steepest_ratio": r["theory_steepest_ratio"]} for r in comparison],
        "seconds": seconds, "figures": figures,
    }


# %% [markdown]
# ## Exercises
# 1. Measure area in 10 m² instead (`--set area_unit_m2=10`). How does κ change, and how many more
#    steps per digit does gradient descent now need? And heavy ball?
# 2. The ball of section 6: try `--set tilt=0.2` (a deeper dip). Which λ still roll through?
# 3. Rebuild the momentum buffer for `nag` from its gradients. MXNet's `nag` keeps
#    v ← λv − η g, but moves w by λv − η g: what sum of gradients is each *step* then?
# 4. Section 7 with `--set minibatch_momentum=0.5`: is the gap at the large step smaller? Compare
#    with the factor (1−β)/(1+β) in the noise formula.
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
