# %% [markdown]
# # Lesson 5 — Momentum: a weighted sum of past gradients, theory against measurement
#
# What you will see: MXNet's momentum state read out of a `gluon.Trainer` and rebuilt, to
# float32 rounding, as −η Σ β^(k−1−i) gᵢ; a narrow valley (house prices in practical units), the
# best step and momentum theory predicts for it, and the rates MXNet's `Trainer` then achieves
# with gradient descent, heavy ball and Nesterov; steps just inside and just outside each
# stability limit; the three paths on the loss contours. Symbols: η the learning rate, β the
# momentum (the lecture's λ; here λ is a curvature, a Hessian eigenvalue), κ = λ_max/λ_min,
# θ = [w, b] and θ* the least-squares solution.
#
# Run it: `gluon-lessons run momentum` (about 4 s here; `--quick` in 3), or as a notebook:
# `gluon-lessons notebook 5`.

# %%
import textwrap
import time

import numpy as onp

from gluon_lessons import checks, convergence, landscape, plots, recording
from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

# %% tags=["parameters"]
seed = 0                # one seed for random, numpy and mx.random: data, initial weights, batches
num_examples = 1000     # houses in each data set
area_unit_m2 = 100.0    # area in units of this many m² (age in decades); other units: narrower
stretch = 10.0          # second data set: the walkthrough's standardized area times this
also_stretched = True   # measure the rates on that second data set too
contour_momentum = 0.8  # β of heavy ball and Nesterov on the contours of section 5
out_dir = None          # None: figures inline in a notebook; the command line saves them
QUICK = dict(num_examples=300, also_stretched=False)  # what --quick changes; --set always wins

# %%
num_examples = checks.integer("num_examples", num_examples, 100, 20_000)
area_unit_m2 = checks.number("area_unit_m2", area_unit_m2, 30.0, 500.0)  # κ up to about 850
stretch = checks.number("stretch", stretch, 3.0, 30.0)  # κ from about 10 to 1000
also_stretched = checks.flag("also_stretched", also_stretched)
contour_momentum = checks.number("contour_momentum", contour_momentum, 0.0, 0.95)
set_seed(seed)
started = time.perf_counter()
print(f"seed {seed}; {num_examples} houses, area in {area_unit_m2:g} m², second data set: "
      f"area ×{stretch:g} ({'measured' if also_stretched else 'skipped'}), contours at β = "
      f"{contour_momentum:g}")

# %% [markdown]
# ## 1. Momentum is a sum of gradients
# The lecture's update is m_k = β m_{k−1} − η g_{k−1}, θ_k = θ_{k−1} + m_k, from m_0 = 0.
# Unrolled, m_k = −η Σᵢ β^(k−1−i) gᵢ: every step is a weighted sum of *all* earlier gradients.
# MXNet's `sgd` with `momentum=β` keeps exactly m as its state: v ← βv − η·g, w ← w + v, with g
# the batch's mean gradient. We train 20 mini-batch steps on the walkthrough's data, record each
# gradient, read the state out of the `Trainer` (`recording.optimizer_state`) and rebuild it.

# %%
walk = house_data.synthetic_house_prices(num_examples, seed=seed)
lr, batch_size, num_steps = 0.03, 10, 20  # the walkthrough's step and batch; updates recorded
FLOAT32_EPS, gaps, allowed = 2.0 ** -23, {}, {}
for beta in (0.5, 0.9, 0.99):
    recorder = recording.record_linear_regression(
        walk.features, walk.labels, lr, beta, num_steps=num_steps, batch_size=batch_size,
        dtype="float32", seed=seed, gradients=True, states=True)
    rebuilt = convergence.momentum_from_gradients(recorder.gradients, lr, beta)
    gaps[beta] = float(onp.abs(recorder.states - rebuilt).max())
    # each update rounds a few float32 operations; at most num_steps of those errors add up
    allowed[beta] = num_steps * 4 * FLOAT32_EPS * max(onp.abs(recorder.states).max(),
                                                      lr * onp.abs(recorder.gradients).max())
    print(f"β = {beta:<4g}: |state − (−η Σ β^(k−1−i) gᵢ)| over {num_steps} steps <= "
          f"{gaps[beta]:.1e} (rounding allows {allowed[beta]:.1e})")
within = all(gaps[beta] <= allowed[beta] for beta in gaps)
verdicts = {"momentum_sum": "agrees" if within else "does not agree"}
found = {"momentum_sum": f"MXNet's momentum state and the weighted gradient sum: "
                         f"{max(gaps.values()):.1e} apart ({verdicts['momentum_sum']})."}
print(found["momentum_sum"])

# %% [markdown]
# ### How far back momentum remembers
# The gradient from t steps ago carries weight β^t. The weights add up to 1/(1−β): β = 0.9
# remembers about 10 steps, β = 0.99 about 100. Under a steady gradient the step grows to
# η/(1−β), the *effective* step size (lesson 7 compares methods at equal effective step).

# %%
memory_momenta = (0.5, 0.9, 0.99)
figures = [plots.momentum_memory(
    {beta: convergence.momentum_weights(beta, 120) for beta in memory_momenta}, out_dir)]
for beta in memory_momenta:
    print(f"β = {beta:<4g} remembers about 1/(1−β) = {convergence.memory_steps(beta):.0f} steps")

# %% [markdown]
# ## 2. An ill-conditioned loss: house prices in practical units
# With `L2Loss` (½ squared error, averaged) the loss is exactly quadratic in θ = [w, b]:
# L(θ) = L* + ½ (θ − θ*)ᵀ A (θ − θ*), with the constant Hessian A = X̃ᵀX̃/n, X̃ = [X, 1]. Its
# eigenvalues λ are the curvatures; κ = λ_max/λ_min sets how slowly gradient descent goes (the
# contours are ellipses √κ times longer than wide). Raw units (m², years) give κ of hundreds of
# thousands; area in 100 m² and age in decades about 150, measurable in a few hundred steps.

# %%
X, y = landscape.practical_houses(num_examples, seed, area_unit_m2)
eigenvalues = landscape.eigenvalues(landscape.hessian(X))
kappa = landscape.condition_number(eigenvalues)
raw = house_data.raw_house_prices(num_examples, seed=seed)
raw_kappa = landscape.condition_number(landscape.eigenvalues(landscape.hessian(raw.features)))
optimum = landscape.optimum(X, y)
print(f"features: area / {area_unit_m2:g} m², age / decade; {num_examples} houses")
print("eigenvalues λ of A = X̃ᵀX̃/n: " + ", ".join(f"{v:.4g}" for v in eigenvalues))
print(f"κ = {kappa:.1f}, the valley {onp.sqrt(kappa):.1f} times longer than wide "
      f"(in m² and years κ would be {raw_kappa:.3g})")

# %% [markdown]
# ## 3. Theory: best steps, best rates, stability limits
# Along an eigenvector of curvature λ a gradient-descent step multiplies the error by (1 − ηλ).
# The best compromise, η = 2/(λ_min + λ_max), shrinks the flattest and the steepest direction by
# (κ−1)/(κ+1) per step; past η λ_max = 2 the steepest direction grows: the stability limit.
# Heavy ball (`sgd` with momentum β) turns each direction into the 2×2 system
# [[β, λ], [−ηβ, 1−ηλ]] (Goh, "Why Momentum Really Works", 2017), whose largest eigenvalue
# modulus is the rate: at η = (2/(√λ_min+√λ_max))², β = ((√κ−1)/(√κ+1))² it is (√κ−1)/(√κ+1),
# √κ instead of κ, stable while η λ_max < 2 + 2β. Nesterov (`nag`) has the polynomial
# z² − (1+β)(1−ηλ) z + β(1−ηλ), best rate 1 − 2/√(3κ+1) (Lessard, Recht and Packard, 2016),
# stable while η λ_max < (2+2β)/(1+2β). `convergence.best_settings` gathers these, and how long
# to run: GD for 3.5 digits of its rate, the others for 9 digits of the slower of the two.

# %%
best = convergence.best_settings(eigenvalues)  # the table above, computed
for name, label in (("gd", "gradient descent"), ("momentum", "heavy ball"), ("nag", "Nesterov")):
    run = best[name]
    print(f"{label:<16} η = {run['lr']:.4f}  β = {run['momentum']:.4f}  rate {run['rate']:.4f}  "
          f"({convergence.steps_per_digit(run['rate']):3.0f} steps per digit)  "
          f"stable while η < {run['max_lr']:.4f}")
hb_effective = convergence.effective_lr(best["momentum"]["lr"], best["momentum"]["momentum"])
gd_limit = best["gd"]["max_lr"]
print(f"heavy ball's effective step η/(1−β) = {hb_effective:.3f} is "
      f"{hb_effective / gd_limit:.1f}× plain GD's limit 2/λ_max = {gd_limit:.3f}")

# %% [markdown]
# ## 4. Measurement through MXNet's `Trainer`
# Each method runs with its best settings on the full batch (`trainer.step(n)`: exactly the mean
# loss's gradient) through `training.fit`; a `recording.Recorder` copies [w, b] after every step
# (`recording.iterates`). The rate is exp of the slope of log‖θ_k − θ*‖ while the error lies
# between 10⁻¹ and 10⁻¹⁰ of its start; ten digits need float64 (`net.cast('float64')`). At
# exactly the best β the flattest and the steepest direction have a double eigenvalue; the error
# then decays like k·ρᵏ, and a finite window reads the rate about 1% slow. So heavy ball also
# runs with β raised by 2%, where every direction spirals at exactly √β. A rate *agrees* within
# 0.5% of theory, *roughly agrees* within 5%. The figures: the distance to θ* on a log scale
# (theory's slopes dashed) and the excess loss L(θ_k) − L* = ½ (θ_k − θ*)ᵀ A (θ_k − θ*). A second
# data set, the walkthrough's houses with the area column stretched, checks the same.

# %%
NAMES = {"gd": "gradient descent", "momentum": "heavy ball",
         "momentum_detuned": "heavy ball, β +2%", "nag": "Nesterov"}


def rate_verdict(run):
    off = abs(run["rate_measured"] / run["rate_theory"] - 1)
    return "agrees" if off <= 0.005 else "roughly agrees" if off <= 0.05 else "does not agree"


def measure_methods(X, y, best):
    """GD, heavy ball (best, and β raised 2%) and NAG through the Trainer: distances, rates."""
    detuned_beta = 1.02 * best["momentum"]["momentum"]
    detuned_rate = convergence.heavy_ball_rate(best["momentum"]["lr"], detuned_beta,
                                               landscape.eigenvalues(landscape.hessian(X)))
    runs = dict(best, momentum_detuned=dict(best["momentum"], momentum=detuned_beta,
                                            rate=detuned_rate))
    optimum, results = landscape.optimum(X, y), {}
    print(f"  {'method':<18} {'η':>8} {'β':>8} {'theory':>9} {'measured':>9} {'diff':>7}  verdict")
    for name in NAMES:
        run = runs[name]
        points = recording.iterates(X, y, run["lr"], run["momentum"], run["optimizer"],
                                    run["steps"], seed)
        errors = onp.linalg.norm(points - optimum, axis=1)
        measured = convergence.measure_rate(errors, 1e-1, 1e-10)
        r = results[name] = dict(run, rate_theory=run["rate"], rate_measured=measured.rate,
                                 errors=errors, window=[measured.first, measured.last],
                                 excess_loss=landscape.excess_losses(X, points, optimum))
        print(f"  {name:<18} {r['lr']:8.4f} {r['momentum']:8.4f} {r['rate_theory']:9.5f} "
              f"{r['rate_measured']:9.5f} {100 * (measured.rate / r['rate'] - 1):+6.2f}%  "
              f"{rate_verdict(r)}")
    return results


# %%
print(f"practical units (κ = {kappa:.1f}), {best['gd']['steps']} steps of GD, "
      f"{best['momentum']['steps']} of the others:")
runs = measure_methods(X, y, best)
verdicts.update({"rate_" + name: rate_verdict(run) for name, run in runs.items()})
found["rates"] = f"κ = {kappa:.0f}. Rates, theory / measured: " + ", ".join(
    f"{NAMES[name]} {runs[name]['rate_theory']:.4f} / {runs[name]['rate_measured']:.4f} "
    f"({verdicts['rate_' + name]})" for name in ("gd", "momentum", "nag")) + "."
digits = {name: convergence.steps_per_digit(runs[name]["rate_measured"]) for name in runs}
verdicts["momentum_vs_gd"] = "faster" if digits["momentum"] < digits["gd"] else "not faster"
found["momentum_vs_gd"] = (f"Heavy ball needs {digits['momentum']:.0f} steps per digit, GD "
                           f"{digits['gd']:.0f}: momentum is {verdicts['momentum_vs_gd']}.")
off = {name: 100 * (run["rate_measured"] / run["rate_theory"] - 1) for name, run in runs.items()}
exact = verdicts["rate_momentum_detuned"] == "agrees"
verdicts["double_root"] = "explains the gap" if exact else "does not explain it"
SAY_ROOT = {"explains the gap": "Heavy ball's {best:+.1f}% at the best β is the double root's "
                                "k·ρᵏ: with β +2% the gap is {detuned:+.2f}%.",
            "does not explain it": "With β +2% heavy ball is still {detuned:+.2f}% off theory."}
found["double_root"] = SAY_ROOT[verdicts["double_root"]].format(
    best=off["momentum"], detuned=off["momentum_detuned"])
for name in ("rates", "momentum_vs_gd", "double_root"):
    print(textwrap.fill(found[name], 100))

# %%
curve_label = {name: f"{NAMES[name]} (measured {r['rate_measured']:.4f})"
               for name, r in runs.items()}
figures.append(plots.rate_curves(
    {curve_label[name]: r["errors"] for name, r in runs.items()}, out_dir, "convergence",
    theory={curve_label[name]: (r["rate_theory"], r["window"][0]) for name, r in runs.items()},
    title=f"Practical units, κ = {kappa:.0f}: distance to least squares"))
figures.append(plots.loss_curves(
    {NAMES[name]: runs[name]["excess_loss"][1:] for name in ("gd", "momentum", "nag")}, out_dir,
    "loss", xlabel="step", ylabel="L(θ_k) − L*", title="Excess loss, full batch, float64"))
second, verdicts["stretched_rates"] = [], "not measured"
if also_stretched:
    X_stretched, y_stretched = landscape.stretched_walkthrough(num_examples, seed, stretch)
    stretched_eigenvalues = landscape.eigenvalues(landscape.hessian(X_stretched))
    print(f"walkthrough, area ×{stretch:g} (κ = "
          f"{landscape.condition_number(stretched_eigenvalues):.1f}):")
    second.append({"kappa": landscape.condition_number(stretched_eigenvalues),
                   "runs": measure_methods(X_stretched, y_stretched,
                                           convergence.best_settings(stretched_eigenvalues))})
    close = all(rate_verdict(r) != "does not agree" for r in second[0]["runs"].values())
    verdicts["stretched_rates"] = "agrees" if close else "does not agree"
found["stretched_rates"] = (f"On the stretched walkthrough every rate within 5% of theory: "
                            f"{verdicts['stretched_rates']}.")
print(found["stretched_rates"])

# %% [markdown]
# ### Stability: just inside and just outside each limit
# Each limit is a sharp line: 2% inside it the error still shrinks, 2% outside it grows at the
# rate the same formulas predict (momentum at its best β); the factor per step is measured over
# the second half of 150 steps (`expect_growth=True`: `fit`'s guard lets the error grow). The two
# runs of a limit train side by side (`recording.iterates_side_by_side`): two `Dense(1)` layers
# under one `Trainer`, the outside one with `lr_mult` = 1.02/0.98, each moving as it would alone.

# %%
stability_steps, margin = 150, 0.02
rate_of, stability = {"sgd": convergence.heavy_ball_rate, "nag": convergence.nag_rate}, {}
LIMITS = {"gd": "η λ_max = 2 (GD)", "momentum": "η λ_max = 2 + 2β (heavy ball)",
          "nag": "η λ_max = (2 + 2β)/(1 + 2β) (Nesterov)"}
for name, limit_text in LIMITS.items():
    limit, beta, optimizer = best[name]["max_lr"], best[name]["momentum"], best[name]["optimizer"]
    sides = {"inside": 1 - margin, "outside": 1 + margin}
    paths = recording.iterates_side_by_side(X, y, [f * limit for f in sides.values()], beta,
                                            optimizer, stability_steps, seed, expect_growth=True)
    for (side, factor), points in zip(sides.items(), paths):
        errors = onp.linalg.norm(points - optimum, axis=1)
        r = stability[f"{name}_{side}"] = dict(
            lr=factor * limit, momentum=beta, max_lr=limit, errors=errors,
            error_ratio=float(errors[-1] / errors[0]),
            rate_theory=rate_of[optimizer](factor * limit, beta, eigenvalues),
            rate_measured=convergence.measure_growth(errors).rate)
        print(f"{name + '_' + side:<16} η = {r['lr']:.4f} (limit {r['max_lr']:.4f}): factor per "
              f"step, theory {r['rate_theory']:.4f}, measured {r['rate_measured']:.4f}")
    inside, outside = (stability[f"{name}_{s}"]["rate_measured"] for s in ("inside", "outside"))
    verdicts[name + "_limit"] = "sharp" if inside < 1 < outside else "not sharp"
    found[name + "_limit"] = (f"At {limit_text} the error goes ×{inside:.3f} per step 2% inside, "
                              f"×{outside:.3f} 2% outside: {verdicts[name + '_limit']}.")
    print(textwrap.fill(found[name + "_limit"], 100))
figures.append(plots.rate_curves(
    {f"{NAMES[key.rsplit('_', 1)[0]]} {key.rsplit('_', 1)[1]} (theory {r['rate_theory']:.3f})":
     r["errors"] for key, r in stability.items()}, out_dir, "stability",
    title="2% inside vs 2% outside each stability limit"))

# %% [markdown]
# ## 5. Nesterov on the contours: the look-ahead brakes
# With one feature (area) and a bias the whole loss fits on a page: a narrow, tilted valley. All
# three methods share one modest step, η = 1/λ_max; heavy ball and Nesterov use
# β = `contour_momentum`. What MXNet's `nag` stores needs care. Sutskever's Nesterov is
# v_{k+1} = βv_k − η∇L(w_k + βv_k), w_{k+1} = w_k + v_{k+1}: the gradient is taken at the
# look-ahead ŵ_k = w_k + βv_k. MXNet keeps ŵ_k as the parameter and v_k as the state
# (v ← βv − η∇L(ŵ), ŵ ← ŵ + βv − η∇L(ŵ)). The stored ŵ makes Nesterov's first step 1+β times
# gradient descent's; the iterate w_k = ŵ_k − βv_k (`recording.nag_iterates`) takes exactly
# gradient descent's first step. Then the "characters" of the paths: how far each swings back
# across the valley after its first step and overshoots past the minimum along the valley's floor
# (fractions of the start's offsets). One *brakes more* when both are below 90% of the other's:
# Nesterov should, as its gradient is taken where the velocity is about to carry it.

# %%
area = X[:, :1]
contour_eigenvalues, contour_vectors = onp.linalg.eigh(landscape.hessian(area))
contour_kappa = landscape.condition_number(contour_eigenvalues)
contour_optimum = landscape.optimum(area, y)
contour_lr, contour_steps = 1.0 / contour_eigenvalues[-1], 40
paths = {name: recording.iterates(area, y, contour_lr, beta, num_steps=contour_steps, seed=seed)
         for name, beta in (("gd", 0.0), ("momentum", contour_momentum))}
nag_recorder = recording.record_linear_regression(
    area, y, contour_lr, contour_momentum, "nag", num_steps=contour_steps, seed=seed,
    states=contour_momentum > 0)
paths["nag"] = recording.nag_iterates(nag_recorder, contour_momentum)
look_ahead = nag_recorder.parameters  # what MXNet stores as the parameter
first_step = {name: float(onp.linalg.norm(p[1] - p[0]))
              for name, p in dict(paths, nag_look_ahead=look_ahead).items()}
relative = {name: first_step[name] / first_step["gd"] for name in first_step}
print(f"area and bias: κ = {contour_kappa:.1f}, η = 1/λ_max = {contour_lr:.3f}, "
      f"β = {contour_momentum:g}")
print(f"first step / gradient descent's: heavy ball {relative['momentum']:.3f}, Nesterov "
      f"iterate {relative['nag']:.4f}, stored look-ahead {relative['nag_look_ahead']:.3f}")
verdicts["nag_first_step"] = ("same as gradient descent" if abs(relative["nag"] - 1) < 1e-6
                              else "differs")
found["nag_first_step"] = (f"Nesterov's first step is {relative['nag']:.4f}× gradient descent's "
                           f"({verdicts['nag_first_step']}); the stored look-ahead's "
                           f"{relative['nag_look_ahead']:.2f}×.")
print(textwrap.fill(found["nag_first_step"], 100))


# %%
def characters(path):
    """Swing across the valley after step 1 and overshoot past θ* along its floor."""
    offsets = path - contour_optimum
    floor = offsets @ contour_vectors[:, 0] / (offsets[0] @ contour_vectors[:, 0])  # flattest
    across = offsets @ contour_vectors[:, 1] / (offsets[0] @ contour_vectors[:, 1])  # steepest
    return {"swing": float(onp.abs(across[2:]).max()), "overshoot": float(max(0.0, -floor.min())),
            "final_distance": float(onp.linalg.norm(offsets[-1]))}


def brakes_more(a, b):
    """Path a swings and overshoots below 90% of path b's, and by more than rounding."""
    return all(a[k] < 0.9 * b[k] and b[k] - a[k] > 1e-6 for k in ("swing", "overshoot"))


contour = {name: characters(path) for name, path in paths.items()}
for name, c in contour.items():
    print(f"{name:<8} swings back to {100 * c['swing']:5.1f}% of its start, overshoots by "
          f"{100 * c['overshoot']:5.1f}%; ‖θ − θ*‖ = {c['final_distance']:.3g} at the end")
hb, nag = contour["momentum"], contour["nag"]
verdicts["brakes_more"] = ("nesterov" if brakes_more(nag, hb) else
                           "heavy ball" if brakes_more(hb, nag) else "neither")
found["brakes_more"] = (
    f"Swing and overshoot on the contours: heavy ball {100 * hb['swing']:.0f}% and "
    f"{100 * hb['overshoot']:.0f}%, Nesterov {100 * nag['swing']:.0f}% and "
    f"{100 * nag['overshoot']:.0f}%; the one that brakes more: {verdicts['brakes_more']}.")
print(textwrap.fill(found["brakes_more"], 100))
grid = landscape.loss_grid(area, contour_optimum, onp.vstack(list(paths.values())))
figures.append(plots.contour_paths(
    *grid, {"gradient descent": paths["gd"],
            f"heavy ball, β = {contour_momentum:g}": paths["momentum"],
            f"Nesterov (iterate w = ŵ − βv), β = {contour_momentum:g}": paths["nag"]}, out_dir,
    "contour_paths", f"w (thousand per {area_unit_m2:g} m²)", "b (bias, thousand)",
    contour_optimum,
    f"Price from area alone (κ = {contour_kappa:.0f}): {contour_steps} steps of η = 1/λ_max"))

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
def rates_of(runs):
    return {f"{name}_rate_{kind}": r["rate_" + kind] for name, r in runs.items()
            for kind in ("theory", "measured")}


findings = dict(
    seed=seed, num_examples=num_examples, area_unit_m2=area_unit_m2, stretch=stretch,
    also_stretched=also_stretched, contour_momentum=contour_momentum,
    quick=(num_examples, also_stretched) == (QUICK["num_examples"], QUICK["also_stretched"]),
    verdicts=verdicts, gd_steps=best["gd"]["steps"], momentum_steps=best["momentum"]["steps"],
    gradient_sum_max_abs_diff=max(gaps.values()), gradient_sum_within_rounding=within,
    gradient_sum_by_momentum={str(beta): gap for beta, gap in gaps.items()},
    memory_steps={str(beta): convergence.memory_steps(beta) for beta in memory_momenta},
    eigenvalues=eigenvalues, kappa=kappa, kappa_raw_units=raw_kappa, **rates_of(runs),
    **{f"{name}_{key}": best[name][key] for name in best for key in ("lr", "max_lr")},
    **{f"{name}_beta": runs[name]["momentum"] for name in ("momentum", "nag", "momentum_detuned")},
    momentum_effective_lr=hb_effective, stability={key: {k: r[k] for k in (
        "lr", "momentum", "max_lr", "rate_theory", "rate_measured", "error_ratio")}
        for key, r in stability.items()},
    second_data_set=[dict(kappa=s["kappa"], **rates_of(s["runs"])) for s in second],
    contour_kappa=contour_kappa, contour_lr=contour_lr, contour_first_step=first_step,
    contour_paths=paths, contour_look_ahead=look_ahead, seconds=seconds, figures=figures,
    **{f"contour_{key}": {name: c[key] for name, c in contour.items()}
       for key in ("final_distance", "swing", "overshoot")})

# %% [markdown]
# ## Exercises
# 1. Measure area in 30 m² instead (`--set area_unit_m2=30`). How does κ change, and how many more
#    steps per digit does gradient descent now need? And heavy ball?
# 2. Draw MXNet's stored look-ahead ŵ (`findings["contour_look_ahead"]`) instead of the iterate:
#    which path looks as if it brakes, and why is its first step 1 + β times gradient descent's?
# 3. `--set contour_momentum=0.5`: does Nesterov still brake more than heavy ball? At β = 0 both
#    are gradient descent, and the verdict says so.
# 4. Set `margin = 0.005` in the stability cell: how many steps until the two sides can be told
#    apart, and why?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 5`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(5, number, answer)
