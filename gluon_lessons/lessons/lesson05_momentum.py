# %% [markdown]
# # Lesson 5 — Momentum: a weighted sum of past gradients; SGD vs momentum vs NAG, theory checked against measurement
#
# What you will see: MXNet's momentum buffer read out of a `gluon.Trainer` and rebuilt, to float32
# rounding, as −η Σ β^(k−1−i) gᵢ from the recorded gradients; house prices in practical units, whose
# loss is a narrow valley; the best step size and momentum that theory predicts for that valley and the
# rates MXNet's own `Trainer` then achieves (gradient descent, heavy-ball momentum and Nesterov side by
# side); step sizes just past the stability limits blowing up as predicted; the three paths on the loss
# contours; a ball that momentum rolls through a shallow dip, and one that it carries too far; and
# mini-batch SGD against momentum at the same effective step, measured where the noise has settled.
#
# Symbols, one meaning each: η is the learning rate, β the momentum (the lecture writes λ for it; here
# λ is kept for curvatures, the eigenvalues of the Hessian), κ = λ_max/λ_min, θ = [w, b] the parameters
# and θ* the least-squares solution.
#
# Run it: `gluon-lessons run momentum`, `python -m gluon_lessons.lessons.lesson05_momentum`, or as a
# notebook: `gluon-lessons notebook 5`.

# %%
import time

import numpy as onp

from gluon_lessons import convergence, landscape, plots, recording
from gluon_lessons import data as house_data
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0                  # one seed for random, numpy and mx.random: data, initial weights, batches
num_examples = 1000       # houses in each data set
gd_steps = 600            # full-batch steps of gradient descent in section 4
momentum_steps = 200      # full-batch steps of heavy ball and Nesterov in section 4
area_unit_m2 = 100.0      # area measured in units of this many m² (age in decades); smaller units, narrower valley
stretch = 10.0            # second data set: the walkthrough's standardized area multiplied by this
also_stretched = True     # measure the rates of section 4 on that second data set too
tilt = 0.3                # the loss w⁴/4 − w²/2 + tilt·w of section 6; in (0, 0.385) it has a dip and a valley
contour_momentum = 0.8    # β of heavy ball and Nesterov on the contours of section 5
ball_momenta = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)  # β of the balls rolled in section 6
minibatch_momentum = 0.9  # β of section 7
minibatch_fractions = (0.15, 0.7)  # section 7: effective steps η/(1−β) as fractions of plain GD's limit 2/λ_max
minibatch_steps = 2000    # section 7: steps averaged per run once the noise has settled
minibatch_repeats = 2     # section 7: independent runs per setting (seeds seed, seed + 1, ...)
target_fraction = 0.01    # section 7: a run has "arrived" when its excess loss is below this fraction of the start
out_dir = None            # None: figures show inline in a notebook; the command line saves them (lesson_output/momentum)
QUICK = dict(num_examples=300, gd_steps=300, also_stretched=False, ball_momenta=(0.0, 0.6, 0.9),
             minibatch_steps=400, minibatch_repeats=1)  # what --quick (and the tests) change; --set always wins

# %%
TILT_LIMIT = 2 / (3 * onp.sqrt(3))  # beyond it w³ − w + tilt has one real root: no dip, no ridge
BLOCK = 100  # section 7 averages blocks of this many steps, several times the excess loss's memory
with runner.checking_settings():  # a bad setting stops here with one line that names it
    runner.require("num_examples", num_examples, num_examples >= 100, "an integer >= 100")
    runner.require("gd_steps", gd_steps, gd_steps >= 50, "an integer >= 50")
    runner.require("momentum_steps", momentum_steps, momentum_steps >= 50, "an integer >= 50")
    runner.require("area_unit_m2", area_unit_m2, area_unit_m2 > 0, "a number > 0")
    runner.require("stretch", stretch, stretch > 0, "a number > 0")
    runner.require("tilt", tilt, 0 < tilt < TILT_LIMIT, "in (0, %.3f) so the loss has a dip and a valley" % TILT_LIMIT)
    runner.require("contour_momentum", contour_momentum, 0 <= contour_momentum < 1, "in [0, 1)")
    runner.require("ball_momenta", ball_momenta, all(0 <= b < 1 for b in ball_momenta), "momenta in [0, 1)")
    runner.require("minibatch_momentum", minibatch_momentum, 0 <= minibatch_momentum < 1, "in [0, 1)")
    runner.require("minibatch_fractions", minibatch_fractions, all(0.01 <= f <= 0.9 for f in minibatch_fractions),
                   "fractions of 2/λ_max in [0.01, 0.9] (nearer the edge SGD's excess loss has tails too heavy to average)")
    runner.require("minibatch_steps", minibatch_steps, minibatch_steps >= 4 * BLOCK, "an integer >= %d" % (4 * BLOCK))
    runner.require("minibatch_repeats", minibatch_repeats, minibatch_repeats >= 1, "an integer >= 1")
    runner.require("target_fraction", target_fraction, 0 < target_fraction < 1, "in (0, 1)")
    set_seed(seed)
started = time.perf_counter()

# %% [markdown]
# ## 1. Momentum is a sum of gradients
# The lecture's update is m_k = β m_{k−1} − η g_{k−1}, θ_k = θ_{k−1} + m_k, starting from m_0 = 0.
# Unrolled, m_k = −η (g_{k−1} + β g_{k−2} + β² g_{k−3} + …) = −η Σᵢ β^(k−1−i) gᵢ: every step is a
# weighted sum of *all* earlier gradients. MXNet's `sgd` with `momentum=β` keeps exactly m as its
# optimizer state: v ← βv − η·g, w ← w + v, with g the batch's mean gradient (`trainer.step(B)` divides
# the summed gradient by B). We train 20 mini-batch steps on the walkthrough's data, record each gradient
# (still readable in `param.grad()` after the step), read the state out of the `Trainer`
# (`recording.optimizer_state`), and rebuild it term by term from the gradients.

# %%
walk = house_data.synthetic_house_prices(num_examples, seed=seed)
sum_lr, sum_batch_size, sum_steps = 0.03, 10, 20  # the walkthrough's step and batch; updates recorded
FLOAT32_EPS = 2.0 ** -23
sums = {}
for beta in (0.5, 0.9, 0.99):
    recorder = recording.record_linear_regression(walk.features, walk.labels, sum_lr, beta, num_steps=sum_steps,
                                                  batch_size=sum_batch_size, dtype="float32", seed=seed,
                                                  gradients=True, states=True)
    rebuilt = convergence.momentum_from_gradients(recorder.gradients, sum_lr, beta)
    scale = max(onp.abs(recorder.states).max(), sum_lr * onp.abs(recorder.gradients).max())
    # each update rounds a few float32 operations; at most sum_steps of those errors add up
    sums[beta] = {"max_abs_diff": float(onp.max(onp.abs(recorder.states - rebuilt))),
                  "state_size": float(onp.max(onp.abs(recorder.states))),
                  "rounding_bound": sum_steps * 4 * FLOAT32_EPS * scale}
    print("β = %-4g: MXNet's state vs −η Σ β^(k−1−i) gᵢ over %d steps: max |difference| %.2e (state up to %.3f;"
          " float32 rounding allows %.1e)" % (beta, sum_steps, sums[beta]["max_abs_diff"], sums[beta]["state_size"],
                                            sums[beta]["rounding_bound"]))
gradient_sum_max_abs_diff = max(s["max_abs_diff"] for s in sums.values())
sum_is_rounding = all(s["max_abs_diff"] <= s["rounding_bound"] for s in sums.values())

# %% [markdown]
# ### How far back momentum remembers
# The gradient from t steps ago carries weight β^t. The weights add up to 1/(1−β): β = 0.9 remembers
# about 10 steps, β = 0.99 about 100. Under a steady gradient the step therefore grows to η/(1−β), the
# *effective* step size; section 7 compares SGD and momentum at equal effective step.

# %%
memory_momenta = (0.5, 0.9, 0.99)
figures = [plots.momentum_memory({beta: convergence.momentum_weights(beta, 120) for beta in memory_momenta},
                                 out_dir)]
for beta in memory_momenta:
    print("β = %-4g remembers about 1/(1−β) = %.0f steps" % (beta, convergence.memory_steps(beta)))

# %% [markdown]
# ## 2. An ill-conditioned loss: house prices in practical units
# For linear regression with `L2Loss` (½ squared error, averaged) the loss is exactly quadratic in
# θ = [w, b]: L(θ) = L* + ½ (θ − θ*)ᵀ A (θ − θ*) with the constant Hessian A = X̃ᵀX̃/n, X̃ = [X, 1].
# Its eigenvalues λ are the curvatures along its principal directions; their ratio κ = λ_max/λ_min
# sets how slowly gradient descent goes, and the valley's contours are ellipses √κ times longer than
# wide. Lesson 1's raw units (m², years) give κ in the hundreds of thousands, far too slow to watch;
# the same houses with area in 100 m² and age in decades give κ of about 150: narrow enough to matter,
# wide enough to measure in a few hundred steps. The features are not centred, so the bias and the
# weights pull against each other.

# %%
features, labels = landscape.practical_houses(num_examples, seed, area_unit_m2)
eigenvalues = landscape.eigenvalues(landscape.hessian(features))
kappa = landscape.condition_number(eigenvalues)
raw_kappa = landscape.condition_number(landscape.eigenvalues(landscape.hessian(
    house_data.raw_house_prices(num_examples, seed=seed).features)))
optimum = landscape.optimum(features, labels)
print("features: area / %g m², age / decade; %d houses" % (area_unit_m2, num_examples))
print("eigenvalues λ of A = X̃ᵀX̃/n: %s" % ", ".join("%.4g" % v for v in eigenvalues))
print("κ = %.1f, the valley %.1f times longer than wide   (in m² and years κ would be %.3g)"
      % (kappa, onp.sqrt(kappa), raw_kappa))

# %% [markdown]
# ## 3. Theory: best steps, best rates, stability limits
# Along an eigenvector with curvature λ, one gradient-descent step multiplies the error by (1 − ηλ).
# The flattest direction wants a large η, the steepest a small one; the best compromise is
# η = 2/(λ_min + λ_max), where both shrink by (κ−1)/(κ+1) per step. Past η λ_max = 2 the steepest
# direction grows: the stability limit.
#
# Heavy ball (MXNet's `sgd` with momentum β) turns each direction into a 2×2 linear system,
# [[β, λ], [−ηβ, 1−ηλ]] (Goh, "Why Momentum Really Works", 2017); its largest eigenvalue modulus is the
# rate, for any η and β. The best choice, η = (2/(√λ_min+√λ_max))² and β = ((√κ−1)/(√κ+1))², gives the
# rate (√κ−1)/(√κ+1): the square root of κ instead of κ. It is stable while η λ_max < 2 + 2β, so
# momentum tolerates larger steps. Nesterov (`nag`) has its own 2×2 system, z² − (1+β)(1−ηλ) z +
# β(1−ηλ); on a quadratic its best settings reach 1 − 2/√(3κ+1) (Lessard, Recht and Packard, 2016),
# between the two, and it is stable only while η λ_max < (2+2β)/(1+2β).

# %%
def theory(eigenvalues):
    """Best settings, rates and stability limits of GD, heavy ball and NAG for these eigenvalues."""
    kappa = landscape.condition_number(eigenvalues)
    hb_lr, hb_momentum = convergence.heavy_ball_best(eigenvalues)
    nag_lr, nag_momentum = convergence.nag_best(eigenvalues)
    return {"gd": dict(lr=convergence.gd_best_lr(eigenvalues), momentum=0.0, optimizer="sgd",
                       rate=convergence.gd_best_rate(kappa), max_lr=convergence.gd_max_lr(eigenvalues)),
            "momentum": dict(lr=hb_lr, momentum=hb_momentum, optimizer="sgd", rate=convergence.heavy_ball_best_rate(kappa),
                             max_lr=convergence.heavy_ball_max_lr(hb_momentum, eigenvalues)),
            "nag": dict(lr=nag_lr, momentum=nag_momentum, optimizer="nag", rate=convergence.nag_best_rate(kappa),
                        max_lr=convergence.nag_max_lr(nag_momentum, eigenvalues))}


def check_steps(best):
    """gd_steps and momentum_steps must let each error fall tenfold, with room to fit a rate after that."""
    needed = {name: int(onp.ceil(1.2 * onp.log(0.1) / onp.log(rate))) + 10 for name, rate in (
        ("gd_steps", best["gd"]["rate"]), ("momentum_steps", max(best["momentum"]["rate"], best["nag"]["rate"])))}
    with runner.checking_settings():
        for name, steps in (("gd_steps", gd_steps), ("momentum_steps", momentum_steps)):
            runner.require(name, steps, steps >= needed[name], "an integer >= %d to measure the rates on this valley"
                           % needed[name])


best = theory(eigenvalues)
check_steps(best)
hb_momentum = best["momentum"]["momentum"]
for name, label in (("gd", "gradient descent"), ("momentum", "heavy ball"), ("nag", "Nesterov")):
    b = best[name]
    print("%-16s η = %.4f  β = %.4f  rate %.4f  (%3.0f steps per digit)  stable while η < %.4f"
          % (label, b["lr"], b["momentum"], b["rate"], convergence.steps_per_digit(b["rate"]), b["max_lr"]))
hb_effective = convergence.effective_lr(best["momentum"]["lr"], hb_momentum)
print("heavy ball's effective step η/(1−β) = %.3f is %.1f× plain GD's limit 2/λ_max = %.3f"
      % (hb_effective, hb_effective / best["gd"]["max_lr"], best["gd"]["max_lr"]))

# %% [markdown]
# ## 4. Measurement through MXNet's `Trainer`
# Each method runs with its best settings as full-batch gradient descent: every step sees all n
# examples and `trainer.step(n)`, so the update uses exactly the gradient of the mean loss. The loop is
# `training.fit`; a `recording.Recorder` copies [w, b] after every step (`recording.iterates`), and we
# follow the distance ‖θ_k − θ*‖ to the least-squares solution. The rate is exp of the slope of
# log‖θ_k − θ*‖ while the error lies between 10⁻¹ and 10⁻¹⁰ of its start: past the first transients,
# before rounding. Ten orders of magnitude need more digits than float32's seven, so these runs cast the
# net to float64 (`net.cast('float64')`) and feed float64 data; the `Trainer` works the same.
#
# One subtlety. At exactly the best β, the 2×2 systems of the flattest and the steepest direction have
# a double eigenvalue; the error then decays like k·ρᵏ rather than ρᵏ, and a finite window reads the
# rate about 1% slow. So heavy ball runs twice: at the best (η, β), compared with (√κ−1)/(√κ+1), and
# with β raised by 2%, where every direction spirals at exactly √β and the per-eigenvalue spectral
# radius is the exact prediction.

# %%
def measure_methods(features, labels, eigenvalues, runs):
    """Each run (name -> dict(lr, momentum, optimizer, rate, steps)) through the Trainer: distances and measured rate."""
    optimum = landscape.optimum(features, labels)
    results = {}
    for name, run in runs.items():
        points = recording.iterates(features, labels, run["lr"], run["momentum"], run["optimizer"], run["steps"], seed)
        errors = onp.linalg.norm(points - optimum, axis=1)
        measured = convergence.measure_rate(errors, 1e-1, 1e-10)
        results[name] = dict(run, rate_theory=run["rate"], rate_measured=measured.rate, errors=errors,
                             window=[measured.first, measured.last],
                             excess_loss=landscape.excess_losses(features, points, optimum))
    return results


def method_runs(eigenvalues, best):
    """GD, heavy ball (best and with β raised 2%) and NAG at their best settings, with their predicted rates."""
    detuned = 1.02 * best["momentum"]["momentum"]
    return {"gd": dict(best["gd"], steps=gd_steps), "momentum": dict(best["momentum"], steps=momentum_steps),
            "momentum_detuned": dict(best["momentum"], momentum=detuned, steps=momentum_steps,
                                     rate=convergence.heavy_ball_rate(best["momentum"]["lr"], detuned, eigenvalues)),
            "nag": dict(best["nag"], steps=momentum_steps)}


def print_rates(results):
    print("  %-18s %8s %8s %9s %9s %7s" % ("method", "η", "β", "theory", "measured", "diff"))
    for name, r in results.items():
        print("  %-18s %8.4f %8.4f %9.5f %9.5f %+6.2f%%" % (name, r["lr"], r["momentum"], r["rate_theory"],
              r["rate_measured"], 100 * (r["rate_measured"] / r["rate_theory"] - 1)))


main_runs = measure_methods(features, labels, eigenvalues, method_runs(eigenvalues, best))
print("practical units (κ = %.1f):" % kappa)
print_rates(main_runs)

# %% [markdown]
# The distance to θ* on a log scale: straight lines, with the slopes theory predicts (dashed). Below
# it, the excess loss L(θ_k) − L* = ½ (θ_k − θ*)ᵀ A (θ_k − θ*) of the same runs.

# %%
labels_of = {"gd": "gradient descent", "momentum": "heavy ball", "momentum_detuned": "heavy ball, β +2%",
             "nag": "Nesterov"}
curve_label = {k: "%s (measured %.4f)" % (labels_of[k], r["rate_measured"]) for k, r in main_runs.items()}
figures.append(plots.rate_curves(
    {curve_label[k]: r["errors"] for k, r in main_runs.items()}, out_dir, "convergence",
    theory={curve_label[k]: (r["rate_theory"], r["window"][0]) for k, r in main_runs.items()},
    title="Practical units, κ = %.0f: distance to least squares" % kappa))
figures.append(plots.loss_curves(
    {labels_of[k]: main_runs[k]["excess_loss"][1:] for k in ("gd", "momentum", "nag")}, out_dir, "loss",
    xlabel="step", ylabel="L(θ_k) − L*", title="Excess loss, full batch, float64"))

# %% [markdown]
# The same measurement on a second data set — the walkthrough's standardized houses with the area
# column stretched — checks that nothing above depends on one data set.

# %%
second = []
if also_stretched:
    X2, y2 = landscape.stretched_walkthrough(num_examples, seed, stretch)
    eigenvalues2 = landscape.eigenvalues(landscape.hessian(X2))
    kappa2 = landscape.condition_number(eigenvalues2)
    best2 = theory(eigenvalues2)
    check_steps(best2)
    runs2 = measure_methods(X2, y2, eigenvalues2, method_runs(eigenvalues2, best2))
    second.append({"kappa": kappa2, "runs": runs2})
    print("walkthrough, area ×%g (κ = %.1f):" % (stretch, kappa2))
    print_rates(runs2)
else:
    print("(skipped: also_stretched is False)")

# %% [markdown]
# ### Stability: just inside and just outside the limit
# Each limit is a sharp line. 2% inside it the error still shrinks (for GD the steepest direction now
# flips sign every step and loses only 4% of its size each time); 2% outside it grows geometrically, at
# the rate the same formulas predict. We measure the factor per step over the second half of 150 steps
# (`fit`'s divergence guard would stop such a run; `expect_growth=True` lets it finish).

# %%
stability_steps, margin = 150, 0.02
limits = {"gd": (best["gd"]["max_lr"], 0.0), "momentum": (best["momentum"]["max_lr"], hb_momentum)}
stability = {}
for name, (limit, beta) in limits.items():
    for side, factor in (("inside", 1 - margin), ("outside", 1 + margin)):
        lr = factor * limit
        points = recording.iterates(features, labels, lr, beta, num_steps=stability_steps, seed=seed, expect_growth=True)
        errors = onp.linalg.norm(points - optimum, axis=1)
        stability["%s_%s" % (name, side)] = dict(
            lr=lr, momentum=beta, max_lr=limit, errors=errors, error_ratio=float(errors[-1] / errors[0]),
            rate_theory=convergence.heavy_ball_rate(lr, beta, eigenvalues),
            rate_measured=convergence.measure_growth(errors).rate)
for name, r in stability.items():
    print("%-17s η = %.4f (limit %.4f, β = %.3f): factor per step, theory %.4f, measured %.4f; error ×%.3g"
          " after %d steps" % (name, r["lr"], r["max_lr"], r["momentum"], r["rate_theory"], r["rate_measured"],
                               r["error_ratio"], stability_steps))
figures.append(plots.rate_curves(
    {"%s %s the limit (theory %.3f)" % ("GD" if k.startswith("gd") else "heavy ball",
                                        "2% inside" if k.endswith("inside") else "2% outside", r["rate_theory"]):
     r["errors"] for k, r in stability.items()}, out_dir, "stability",
    title="Just inside vs just outside the stability limit"))

# %% [markdown]
# ## 5. Pictures: paths on the loss contours
# With one feature (area) and a bias there are two parameters, so the whole loss fits on a page. The
# valley is narrow and tilted, because area and the bias column are correlated. The best settings of
# section 3 make heavy ball leap across the whole picture, so here all three share one modest step,
# η = 1/λ_max, and momentum and NAG use β = `contour_momentum` (0.8).
#
# What MXNet's `nag` stores needs care. Sutskever's form of Nesterov's method is
# v_{k+1} = βv_k − η∇L(w_k + βv_k), w_{k+1} = w_k + v_{k+1}: the gradient is taken at the look-ahead
# point ŵ_k = w_k + βv_k. MXNet keeps ŵ_k as the parameter and v_k as the state, updating
# v ← βv − η∇L(ŵ), ŵ ← ŵ + βv − η∇L(ŵ) (substitute ŵ = w + βv to check). Drawing the stored ŵ would
# show Nesterov's first step 1+β times as long as gradient descent's; the iterate is
# w_k = ŵ_k − βv_k (`recording.nag_iterates`), whose first step is exactly gradient descent's. We draw
# the iterates, and measure the "characters" of the three paths: how far each swings across the valley
# after its first step, and how far past the minimum it overshoots along the valley floor.

# %%
area = features[:, :1]
contour_eigenvalues, contour_vectors = onp.linalg.eigh(landscape.hessian(area))
contour_kappa = landscape.condition_number(contour_eigenvalues)
contour_optimum = landscape.optimum(area, labels)
contour_lr, contour_steps = 1.0 / contour_eigenvalues[-1], 40
paths = {"gd": recording.iterates(area, labels, contour_lr, 0.0, num_steps=contour_steps, seed=seed),
         "momentum": recording.iterates(area, labels, contour_lr, contour_momentum, num_steps=contour_steps, seed=seed)}
nag_recorder = recording.record_linear_regression(area, labels, contour_lr, contour_momentum, "nag",
                                                  num_steps=contour_steps, seed=seed, states=contour_momentum > 0)
paths["nag"] = recording.nag_iterates(nag_recorder, contour_momentum)
look_ahead = nag_recorder.parameters  # what MXNet stores as the parameter
first_step = {k: float(onp.linalg.norm(p[1] - p[0])) for k, p in paths.items()}
first_step["nag_look_ahead"] = float(onp.linalg.norm(look_ahead[1] - look_ahead[0]))
print("two parameters (area, bias): κ = %.1f, η = 1/λ_max = %.3f, β = %g" % (contour_kappa, contour_lr, contour_momentum))
print("first step, relative to gradient descent's: heavy ball %.3f, Nesterov's iterate %.3f, MXNet's stored"
      " look-ahead %.3f" % tuple(first_step[k] / first_step["gd"] for k in ("momentum", "nag", "nag_look_ahead")))

# %%
def characters(path):
    """Swing across the valley after step 1 and overshoot past θ* along its floor, as fractions of the start's offsets."""
    offsets = path - contour_optimum
    floor = offsets @ contour_vectors[:, 0] / (offsets[0] @ contour_vectors[:, 0])  # flattest direction
    across = offsets @ contour_vectors[:, 1] / (offsets[0] @ contour_vectors[:, 1])  # steepest direction
    return {"swing": float(onp.abs(across[2:]).max()), "overshoot": float(max(0.0, -floor.min())),
            "final_distance": float(onp.linalg.norm(offsets[-1]))}


contour = {k: characters(p) for k, p in paths.items()}
for name, c in contour.items():
    print("%-8s swings across the valley to %5.1f%% of its start, overshoots the floor's minimum by %5.1f%%;"
          " after %d steps ‖θ − θ*‖ = %.3g" % (name, 100 * c["swing"], 100 * c["overshoot"], contour_steps,
                                            c["final_distance"]))
grid = landscape.loss_grid(area, contour_optimum, onp.vstack(list(paths.values())))
figures.append(plots.contour_paths(
    *grid, {"gradient descent": paths["gd"], "heavy ball, β = %g" % contour_momentum: paths["momentum"],
            "Nesterov (iterate w = ŵ − βv), β = %g" % contour_momentum: paths["nag"]}, out_dir, "contour_paths",
    "w (thousand per %g m²)" % area_unit_m2, "b (bias, thousand)", contour_optimum,
    "Price from area alone (κ = %.0f): %d steps of η = 1/λ_max" % (contour_kappa, contour_steps)))

# %% [markdown]
# ## 6. Critical points: a shallow dip and a ball with inertia
# The lecture's picture: plain gradient descent stops wherever the gradient is zero; momentum keeps the
# speed it had and may roll on. Here is a one-parameter loss, L(w) = w⁴/4 − w²/2 + tilt·w; at the
# default tilt 0.3 it has a shallow dip near w ≈ 0.79 and a deeper valley near w ≈ −1.13, separated by
# a low ridge at w ≈ 0.34 (the gradient is zero at all three). A `landscape.PositionLoss` makes the
# parameter itself the thing being trained, so the same `Trainer` and loop move it; we start at w = 2
# with η = 0.1 and sweep β.

# %%
critical = landscape.critical_points_of_double_well(tilt)  # deep valley, ridge, shallow dip
ball_start, ball_lr, ball_steps = 2.0, 0.1, 150
balls = {}
for beta in ball_momenta:
    recorder = recording.record_position(lambda w: landscape.tilted_double_well(w, tilt), [ball_start], ball_lr, beta,
                                         num_steps=ball_steps)
    path = recorder.parameters[:, 0]
    balls[beta] = {"path": path, "final": float(path[-1]), "ends_in": "dip" if path[-1] > critical[1] else "valley",
                   "crossed_ridge": bool(onp.any(path < critical[1])),
                   "final_slope": float(landscape.tilted_double_well_slope(path[-1], tilt))}
print("L(w) = w⁴/4 − w²/2 + %.2g·w: deep valley at w = %.3f, ridge at %.3f, shallow dip at %.3f; start %.1f, η = %g"
      % (tilt, critical[0], critical[1], critical[2], ball_start, ball_lr))
for beta, ball in balls.items():
    story = ("stops in the dip" if not ball["crossed_ridge"] else
             "rolls over the ridge into the valley" if ball["ends_in"] == "valley" else
             "crosses the ridge, overshoots and rolls back into the dip")
    print("β = %-4g ends at w = %+.3f (slope %.1e): %s" % (beta, ball["final"], ball["final_slope"], story))
shown = [b for b in (0.0, 0.6, 0.9) if b in balls] or list(balls)[:3]
line = onp.linspace(-2.0, 2.1, 400)
figures.append(plots.ball_on_curve(
    line, landscape.tilted_double_well(line, tilt), {"β = %g" % b: balls[b]["path"] for b in shown}, out_dir,
    "critical_points", finals=("momentum β", list(balls), [b["final"] for b in balls.values()]),
    marks={"shallow dip": critical[2], "ridge": critical[1], "deep valley": critical[0]},
    title="Where each ball comes to rest, by momentum"))

# %% [markdown]
# ## 7. Mini-batches: momentum at the same effective step
# Under a steady gradient, momentum β with step η moves like plain SGD with the effective step
# η_eff = η/(1−β). With noisy gradients two questions remain: how much excess loss L − L* the noise
# leaves once it has settled (the *noise floor*), and how soon each method gets down there.
#
# A first theory: along one direction of curvature λ, with gradients carrying additive noise of variance
# s², heavy ball's long-run variance is η s²(1+β)/((1−β)λ(2(1+β) − ηλ)) (`convergence.stationary_variance`).
# At equal effective step that is η_eff s²/(λ(2 − η_eff λ)) for SGD and η_eff s²/(λ(2 − η_eff λ(1−β)/(1+β)))
# for heavy ball: equal while η_eff λ is small, apart as η_eff λ_max nears 2, plain SGD's edge.
# Mini-batch noise is not additive: a batch's gradient at θ is A_B(θ − θ*) plus its gradient at θ*, so
# the noise grows with the distance from θ*. For linear regression the exact answer is still in reach:
# when every batch is a fresh draw of B distinct examples, the mean and covariance of (θ − θ*, v) obey a
# linear recursion whose coefficients are moments of the data (`convergence.minibatch_noise`). It gives
# E[L(θ_k)] − L* at every step k and its long-run level (`convergence.expected_excess_loss`,
# `convergence.stationary_excess_loss`). The batches hold 10 examples, in float32.

# %%
X7 = features.astype(onp.float32).astype(onp.float64)  # exactly the numbers the float32 batches hold
noise = convergence.minibatch_noise(X7, labels, 10)
lambda_max = landscape.eigenvalues(noise.hessian)[-1]
with runner.checking_settings():  # a step so large that the noise makes E[L] grow has no floor to measure
    runner.require("minibatch_fractions", minibatch_fractions, all(
        convergence.has_noise_floor(noise, f * 2 / lambda_max * (1 - b), b) for f in minibatch_fractions
        for b in (0.0, minibatch_momentum)), "fractions at which the noise leaves a finite floor on these data")
plan = {}
for fraction in minibatch_fractions:
    row = {"fraction_of_gd_limit": fraction, "effective_lr": fraction * 2 / lambda_max}
    for name, beta in (("sgd", 0.0), ("momentum", minibatch_momentum)):
        lr = row["effective_lr"] * (1 - beta)
        level = convergence.stationary_excess_loss(noise, lr, beta)
        rise = convergence.expected_excess_loss(noise, lr, beta, noise.optimum, convergence.settling_time(noise, lr, beta))
        row[name] = {"lr": lr, "momentum": beta, "theory": level, "rise": rise,
                     "burn_in": convergence.settling_step(rise, level),
                     "additive": convergence.stationary_variance(lr, beta, lambda_max, 1.0)}
    row["burn_in"] = max(row["sgd"]["burn_in"], row["momentum"]["burn_in"])
    row["ratio_theory"] = row["sgd"]["theory"] / row["momentum"]["theory"]
    row["theory_steepest_ratio"] = row["sgd"]["additive"] / row["momentum"]["additive"]
    plan[fraction] = row
    print("η_eff = %.4f (%2.0f%% of 2/λ_max): noise floor E[L] − L*, theory: SGD (η = %.4f) %.4g, momentum (η = %.5f,"
          " β = %g) %.4g, ratio %.2f; additive noise, steepest direction: ratio %.2f; settled after %d steps"
          % (row["effective_lr"], 100 * fraction, row["sgd"]["lr"], row["sgd"]["theory"], row["momentum"]["lr"],
             minibatch_momentum, row["momentum"]["theory"], row["ratio_theory"], row["theory_steepest_ratio"],
             row["burn_in"]))

# %% [markdown]
# ### The noise floor, measured where it has settled
# Each run starts at θ* itself with zero velocity, so no descent is mixed into the measurement: the
# excess loss rises from 0 to its floor. The recursion says how long that takes; we drop the steps
# until the expected excess loss stays within 1% of its floor (the burn-in above), then average
# `minibatch_steps` more steps per run, in blocks of 100 whose spread gives the standard error (s.e.).
# With few blocks that spread is itself uncertain, so "agrees" means: within the 99% interval of
# Student's t for that many blocks (±5.8 s.e. for 4 blocks, ±2.7 for 40; `convergence.student_bound`).
# The batches are independent draws (`recording.IndependentBatches`), as the recursion assumes, and
# SGD and momentum see the same batches. (A shuffled epoch deals each example once, so its batches are
# slightly anti-correlated: exercise 4.)

# %%
def settled_excess_loss(fraction, name, repeat):
    """The excess loss of one run from θ* after the burn-in, cut to whole blocks."""
    row, kept = plan[fraction], BLOCK * (minibatch_steps // BLOCK)
    run = recording.record_linear_regression(X7, labels, row[name]["lr"], row[name]["momentum"], batch_size=10,
                                             num_steps=row["burn_in"] + kept, dtype="float32", seed=seed + repeat,
                                             start=noise.optimum, independent=True)
    return landscape.excess_losses(X7, run.parameters, noise.optimum)[row["burn_in"] + 1:]


floor = {}
for fraction, row in plan.items():
    tails = {name: onp.concatenate([settled_excess_loss(fraction, name, r) for r in range(minibatch_repeats)])
             for name in ("sgd", "momentum")}
    blocks = len(tails["sgd"]) // BLOCK
    floor[fraction] = {name: convergence.mean_with_error(tails[name], blocks) for name in tails}
    floor[fraction]["ratio"] = convergence.ratio_with_error(tails["sgd"], tails["momentum"], blocks)
    floor[fraction]["curves"] = {name: tails[name][:minibatch_steps // BLOCK * BLOCK] for name in tails}
    floor[fraction]["bound"] = convergence.student_bound(blocks)
    for name in ("sgd", "momentum"):
        (mean, error), theory = floor[fraction][name], row[name]["theory"]
        print("η_eff %.4f, %-8s: measured %.4g ± %.2g (s.e.), theory %.4g: %+.1f s.e." % (
            row["effective_lr"], name, mean, error, theory, (mean - theory) / error))
    print("η_eff %.4f, SGD / momentum: measured %.3f ± %.3f, theory %.3f   (%d blocks: 99%% within ±%.1f s.e.)"
          % ((row["effective_lr"],) + floor[fraction]["ratio"] + (row["ratio_theory"], blocks, floor[fraction]["bound"])))

# %% [markdown]
# ### Who gets down first
# Now from θ = 0 (w = 0, b = 0), far from θ*: the step from which the excess loss, averaged over the
# repeats and over 10 consecutive steps, stays below `target_fraction` of where it started
# (`convergence.arrival_step`; the 10-step mean smooths the noise and momentum's ringing), for SGD and
# momentum at the same effective step, beside the step at which the recursion's E[L] − L* gets there.

# %%
def steps_to_arrive(row, name, target, horizon):
    """Measured (mean over repeats) and predicted excess-loss curves from θ = 0, and the step each arrives at."""
    start = onp.zeros(X7.shape[1] + 1)
    runs = [recording.record_linear_regression(X7, labels, row[name]["lr"], row[name]["momentum"], batch_size=10,
                                               num_steps=horizon, dtype="float32", seed=seed + r, start=start,
                                               independent=True) for r in range(minibatch_repeats)]
    curve = onp.mean([landscape.excess_losses(X7, run.parameters, noise.optimum) for run in runs], axis=0)
    theory = convergence.expected_excess_loss(noise, row[name]["lr"], row[name]["momentum"], start, horizon)
    return {"curve": curve, "theory": theory, "steps": convergence.arrival_step(curve, target),
            "steps_theory": convergence.arrival_step(theory, target)}


arrival = {}
for fraction, row in plan.items():
    start_loss = float(landscape.excess_losses(X7, onp.zeros((1, X7.shape[1] + 1)), noise.optimum)[0])
    target = target_fraction * start_loss
    predicted = [convergence.arrival_step(convergence.expected_excess_loss(
        noise, row[name]["lr"], row[name]["momentum"], onp.zeros(X7.shape[1] + 1), 5000), target) for name in ("sgd", "momentum")]
    horizon = 2 * max([p for p in predicted if p is not None] or [240]) + 20  # twice the later arrival: room to be late
    arrival[fraction] = {name: steps_to_arrive(row, name, target, horizon) for name in ("sgd", "momentum")}
    arrival[fraction].update(target=target, horizon=horizon)
    when = ["step %d" % step if step is not None else "not within %d steps" % horizon
            for step in (arrival[fraction][n][k] for n in ("sgd", "momentum") for k in ("steps", "steps_theory"))]
    print("η_eff %.4f: excess loss from %.4g at θ = 0 to below %.4g: SGD arrives at %s (theory %s), momentum"
          " at %s (theory %s)" % (row["effective_lr"], start_loss, target, *when))

# %%
panels, method = {}, {"sgd": "SGD", "momentum": "momentum, β = %g" % minibatch_momentum}
for fraction, row in plan.items():
    panels["from θ*, η_eff = %.3f: the noise floor" % row["effective_lr"]] = dict(
        curves={method[name]: floor[fraction]["curves"][name] for name in method}, smooth=BLOCK,
        theory={method[name]: onp.full(len(floor[fraction]["curves"][name]), row[name]["theory"]) for name in method})
for fraction, row in plan.items():
    panels["from θ = 0, η_eff = %.3f: getting down" % row["effective_lr"]] = dict(
        curves={method[name]: arrival[fraction][name]["curve"] for name in method},
        theory={method[name]: arrival[fraction][name]["theory"] for name in method},
        hline=(arrival[fraction]["target"], "target"))
figures.append(plots.minibatch_panels(panels, out_dir, "minibatch"))

# %% [markdown]
# Section 7 in one table (the floors are the settled means ± s.e.; steps are to `target_fraction` of the start).

# %%
def minibatch_summary(fraction, row):
    """Section 7's numbers for one effective step (the `_late_` keys: the settled floor)."""
    summary = {key: row[key] for key in ("fraction_of_gd_limit", "effective_lr", "burn_in", "ratio_theory",
                                         "theory_steepest_ratio")}
    for name in ("sgd", "momentum"):
        summary.update({name + "_lr": row[name]["lr"], name + "_stationary_theory": row[name]["theory"],
                        name + "_late_excess_loss": floor[fraction][name][0], name + "_late_error": floor[fraction][name][1],
                        name + "_steps_to_target": arrival[fraction][name]["steps"],
                        name + "_steps_to_target_theory": arrival[fraction][name]["steps_theory"]})
    summary.update(ratio=floor[fraction]["ratio"][0], ratio_error=floor[fraction]["ratio"][1],
                   agreement_bound=floor[fraction]["bound"], target=arrival[fraction]["target"],
                   arrival_horizon=arrival[fraction]["horizon"])
    return summary


minibatch_rows = [minibatch_summary(fraction, row) for fraction, row in plan.items()]
print("%8s | %-24s %-24s | %-22s | %s" % ("η_eff", "SGD floor (theory)", "momentum floor (theory)", "ratio (theory)",
                                          "steps SGD / momentum (theory)"))
for r in minibatch_rows:
    print("%8.4f | %9.4g ± %-6.2g (%6.4g) %9.4g ± %-6.2g (%6.4g) | %5.2f ± %-5.2f (%5.2f) | %s / %s (%s / %s)" % (
        r["effective_lr"], r["sgd_late_excess_loss"], r["sgd_late_error"], r["sgd_stationary_theory"],
        r["momentum_late_excess_loss"], r["momentum_late_error"], r["momentum_stationary_theory"], r["ratio"],
        r["ratio_error"], r["ratio_theory"], r["sgd_steps_to_target"], r["momentum_steps_to_target"],
        r["sgd_steps_to_target_theory"], r["momentum_steps_to_target_theory"]))

# %% [markdown]
# ## What we found

# %%
if sum_is_rounding:
    print("- MXNet's momentum buffer is the weighted gradient sum −η Σ β^(k−1−i) gᵢ: the largest difference, %.1e,"
          " is float32 rounding." % gradient_sum_max_abs_diff)
else:
    print("- MXNet's momentum buffer differs from −η Σ β^(k−1−i) gᵢ by %.1e, more than float32 rounding explains."
          % gradient_sum_max_abs_diff)
gd, hb, detuned, nag = (main_runs[k] for k in ("gd", "momentum", "momentum_detuned", "nag"))
off = {k: 100 * (r["rate_measured"] / r["rate_theory"] - 1) for k, r in main_runs.items()}
print("- κ = %.0f. Rates per step, theory vs measured: GD %.4f / %.4f, heavy ball %.4f / %.4f, Nesterov %.4f / %.4f."
      % (kappa, gd["rate_theory"], gd["rate_measured"], hb["rate_theory"], hb["rate_measured"],
         nag["rate_theory"], nag["rate_measured"]))
groups = {"within 0.5%": [k for k in off if abs(off[k]) <= 0.5], "within 5%": [k for k in off if 0.5 < abs(off[k]) <= 5],
          "more than 5% off": [k for k in off if abs(off[k]) > 5]}
print("  Measured against theory — " + "; ".join("%s: %s" % (words, ", ".join(labels_of[k] for k in names) or "none")
                                               for words, names in groups.items()) + ".")
print("  Heavy ball needs %.0f steps per digit where GD needs %.0f: %s." % (
    convergence.steps_per_digit(hb["rate_measured"]), convergence.steps_per_digit(gd["rate_measured"]),
    "momentum is faster on this valley" if hb["rate_measured"] < gd["rate_measured"] else "momentum is NOT faster here"))
if abs(off["momentum_detuned"]) < abs(off["momentum"]):
    print("  At exactly the best β heavy ball reads %+.1f%% off (the k·ρᵏ of a double eigenvalue); with β +2%% the gap"
          " shrinks to %+.2f%%." % (off["momentum"], off["momentum_detuned"]))
else:
    print("  Raising β by 2%% did not close heavy ball's gap to theory (%+.2f%% vs %+.2f%%)."
          % (off["momentum_detuned"], off["momentum"]))

# %%
for method, words in (("gd", "η λ_max = 2 (GD)"), ("momentum", "η λ_max = 2 + 2β (heavy ball)")):
    inside, outside = stability[method + "_inside"], stability[method + "_outside"]
    sharp = inside["rate_measured"] < 1 < outside["rate_measured"]
    print("- At %s: 2%% inside the error %s (×%.3f per step), 2%% outside it %s (×%.3f per step, theory ×%.3f)%s." % (
        words, "shrinks" if inside["rate_measured"] < 1 else "does NOT shrink", inside["rate_measured"],
        "grows" if outside["rate_measured"] > 1 else "does NOT grow", outside["rate_measured"], outside["rate_theory"],
        ": the limit is sharp" if sharp else ""))
stored_ratio, iterate_ratio = first_step["nag_look_ahead"] / first_step["gd"], first_step["nag"] / first_step["gd"]
print("- MXNet's `nag` stores the look-ahead: its first stored step is %.2f× gradient descent's (1 + β = %.2f), while"
      " the iterate w = ŵ − βv moves %.4f× — %s." % (stored_ratio, 1 + contour_momentum, iterate_ratio,
      "the same first step as gradient descent" if abs(iterate_ratio - 1) < 1e-6 else "NOT gradient descent's first step"))
hb_c, nag_c = contour["momentum"], contour["nag"]


def clearly_less(a, b):
    """a below 90% of b, and by more than rounding (1e-6 of the start's offset)."""
    return a < 0.9 * b and b - a > 1e-6


brakes = clearly_less(nag_c["swing"], hb_c["swing"]) and clearly_less(nag_c["overshoot"], hb_c["overshoot"])
rides = clearly_less(hb_c["swing"], nag_c["swing"]) and clearly_less(hb_c["overshoot"], nag_c["overshoot"])
print("  On the contours heavy ball swings back across the valley to %.0f%% of its start and overshoots the floor's"
      " minimum by %.0f%%; Nesterov %.0f%% and %.0f%%: %s." % (
          100 * hb_c["swing"], 100 * hb_c["overshoot"], 100 * nag_c["swing"], 100 * nag_c["overshoot"],
          "Nesterov brakes, looking ahead before it overshoots" if brakes else
          "Nesterov overshoots more than heavy ball here" if rides else "neither clearly brakes more than the other"))

# %%
rolled = [b for b, ball in balls.items() if ball["ends_in"] == "valley"]
overshot = [b for b, ball in balls.items() if ball["crossed_ridge"] and ball["ends_in"] == "dip"]
stayed = [b for b, ball in balls.items() if not ball["crossed_ridge"]]
print("- The ball: stopped in the shallow dip (gradient zero) for β = %s; rolled through into the deeper valley for"
      " β = %s; crossed the ridge, overshot and came back to the dip for β = %s." % tuple(
          ", ".join("%g" % b for b in group) or "none" for group in (stayed, rolled, overshot)))
for fraction, row in plan.items():
    z = {name: (floor[fraction][name][0] - row[name]["theory"]) / floor[fraction][name][1] for name in ("sgd", "momentum")}
    (ratio, error), bound = floor[fraction]["ratio"], floor[fraction]["bound"]
    print("- Mini-batches, η_eff = %.0f%% of 2/λ_max: the settled excess loss %s: SGD %+.1f s.e., momentum %+.1f s.e.,"
          " against a 99%% interval of ±%.1f." % (100 * fraction, "agrees with the exact theory" if max(map(abs, z.values()))
                                                 <= bound else "does NOT agree with the exact theory", z["sgd"], z["momentum"], bound))
    print("  SGD's floor / momentum's = %.2f ± %.2f (theory %.2f): %s." % (
        ratio, error, row["ratio_theory"], "momentum settles lower, the calmer one" if ratio - bound * error > 1 else
        "momentum settles higher" if ratio + bound * error < 1 else "the two floors cannot be told apart at this precision"))
    s, m, within = arrival[fraction]["sgd"]["steps"], arrival[fraction]["momentum"]["steps"], arrival[fraction]["horizon"]
    print("  Down to %g of the start: SGD arrives at step %s, momentum at %s (theory %s and %s): %s." % (
        target_fraction, s, m, arrival[fraction]["sgd"]["steps_theory"], arrival[fraction]["momentum"]["steps_theory"],
        "neither arrived within %d steps" % within if s is None and m is None else
        "momentum is faster: SGD did not arrive within %d steps" % within if s is None else
        "momentum is slower: it did not arrive within %d steps" % within if m is None else
        "momentum is faster" if m < 0.9 * s else "momentum is slower" if m > 1.1 * s else
        "momentum is about as fast (within 10%), no faster"))
seconds = time.perf_counter() - started
print("(seed %d, %.1f s)" % (seed, seconds))

# %%
def rates_of(runs):
    return {"%s_rate_%s" % (name, kind): runs[name]["rate_" + kind] for name in runs for kind in ("theory", "measured")}


setting_names = ("num_examples", "gd_steps", "momentum_steps", "area_unit_m2", "stretch", "also_stretched", "tilt",
                 "contour_momentum", "ball_momenta", "minibatch_momentum", "minibatch_fractions", "minibatch_steps",
                 "minibatch_repeats", "target_fraction")
findings = dict(
    {name: globals()[name] for name in setting_names}, seed=seed,
    quick=all(globals()[name] == value for name, value in QUICK.items()),
    gradient_sum_max_abs_diff=gradient_sum_max_abs_diff, gradient_sum_within_rounding=sum_is_rounding,
    gradient_sum_by_momentum={str(b): v["max_abs_diff"] for b, v in sums.items()},
    memory_steps={str(b): convergence.memory_steps(b) for b in memory_momenta},
    eigenvalues=eigenvalues, kappa=kappa, kappa_raw_units=raw_kappa, **rates_of(main_runs),
    gd_lr=gd["lr"], momentum_lr=hb["lr"], momentum_beta=hb["momentum"], nag_lr=nag["lr"], nag_beta=nag["momentum"],
    momentum_detuned_beta=detuned["momentum"], momentum_effective_lr=hb_effective,
    **{name + "_max_lr": best[name]["max_lr"] for name in best},
    stability={k: {key: r[key] for key in ("lr", "momentum", "max_lr", "rate_theory", "rate_measured", "error_ratio")}
               for k, r in stability.items()},
    second_data_set=[dict(kappa=run["kappa"], **rates_of(run["runs"])) for run in second],
    contour_kappa=contour_kappa, contour_lr=contour_lr, contour_first_step=first_step, contour_paths=paths,
    contour_look_ahead=look_ahead, **{"contour_" + key: {k: c[key] for k, c in contour.items()}
                                      for key in ("final_distance", "swing", "overshoot")},
    double_well_critical_points=critical, ball_final_position={str(b): ball["final"] for b, ball in balls.items()},
    ball_momenta_rolled_through=rolled, ball_momenta_overshot_back=overshot, ball_momenta_stayed=stayed,
    minibatch=minibatch_rows, seconds=seconds, figures=figures)

# %% [markdown]
# ## Exercises
# 1. Measure area in 10 m² instead (`--set area_unit_m2=10`; the lesson then asks for more `gd_steps`,
#    and says how many). How does κ change, and how many more steps per digit does gradient descent now
#    need? And heavy ball?
# 2. The ball of section 6: try `--set tilt=0.2` (a deeper dip). Which β still roll through?
# 3. Section 5 draws Nesterov's iterate w = ŵ − βv. Draw MXNet's stored look-ahead ŵ instead
#    (`findings["contour_look_ahead"]`): which path looks as if it brakes, and why does its first step
#    measure 1 + β times gradient descent's?
# 4. Section 7 with shuffled epochs instead of independent draws: pass `independent=False` to
#    `recording.record_linear_regression` in `settled_excess_loss`. Every epoch then uses each example once;
#    is the measured floor still within 3 s.e. of the recursion's? Which way does it move, and why?
# 5. Section 7 with `--set minibatch_momentum=0.5`: is the gap between the floors at the large step
#    smaller? Compare with the factor (1−β)/(1+β) in the additive-noise formula.
# 6. `--set target_fraction=0.001`: the target now lies close to SGD's floor at the large step. Which
#    method gets down first now, and what does that say about "momentum is no faster"?
