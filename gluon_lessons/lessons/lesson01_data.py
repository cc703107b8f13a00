# %% [markdown]
# # Lesson 1 — House-price data: features, noise, raw and standardized
#
# What you will see: the walkthrough's synthetic houses — price = 2·area − 3.4·age + 4.2 plus
# Gaussian noise — generated and summarized; least squares, the best fit any trainer can reach,
# landing as close to the true weights as the noise allows; then a second data set of houses
# measured in square metres and years, with prices in thousands, drawn twice: in those units and
# standardized. In raw units the loss is a valley so long and narrow that gradient descent crawls
# along it; standardized, it is nearly round. That is why the course trains on standardized
# features.
#
# Run it: `gluon-lessons run data` (about 1.5 s here; `--quick` in 1.5), or as a notebook:
# `gluon-lessons notebook 1`.

# %%
import dataclasses
import math

import numpy as onp

from gluon_lessons import checks, convergence, landscape, model, plots
from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

# %% tags=["parameters"]
seed = 0             # one seed for random, numpy and mx.random; it also draws both data sets
num_examples = 1000  # houses in each data set
noise = 0.01         # standard deviation of the noise on the walkthrough's (standardized) price
out_dir = None       # None: figures show inline in a notebook; the command line saves them
QUICK = dict(num_examples=200)  # what --quick (and the tests) change; --set always wins

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
num_examples = checks.integer("num_examples", num_examples, 3, 1_000_000)  # w1, w2, b need 3
noise = checks.positive("noise", noise, high=1e6)
set_seed(seed)
print(f"seed {seed}; {num_examples} houses per data set; noise {noise:g} on the walkthrough's"
      " price")
findings = {"seed": seed, "num_examples": num_examples, "figures": [], "verdicts": {}}
verdicts = findings["verdicts"]

# %% [markdown]
# ## 1. The walkthrough's houses
# Each house has two features, `area` and `age`, drawn from a standard normal distribution: they
# are already *standardized* (mean 0, standard deviation 1), the form the walkthrough trains on.
# Its price is 2·area − 3.4·age + 4.2 plus noise of standard deviation `noise`, in no particular
# unit. The features form a table of shape (examples, 2), the prices a vector: `features` and
# `labels` in the walkthrough.

# %%
house = house_data.synthetic_house_prices(num_examples, noise=noise, seed=seed)
print("features", house.features.shape, house.features.dtype,
      "  labels", house.labels.shape, house.labels.dtype)
print("the first three houses (area, age -> price):")
for x, y in zip(house.features[:3], house.labels[:3]):
    print(f"  ({x[0]:6.3f}, {x[1]:6.3f}) -> {y:7.3f}")


# %%
def describe(data, price="price"):
    """Print each column's mean and standard deviation."""
    columns = dict(zip(data.feature_names, data.features.T), **{price: data.labels})
    for name, values in columns.items():
        print(f"  {name:16} mean {values.mean():9.3f}   std {values.std():8.3f}")


describe(house)

# %% [markdown]
# ## 2. How close can any trainer get?
# A trainer sees only the noisy prices. The best it can do is least squares, the weights that
# minimize the mean squared error on these very houses (solved in closed form). Least squares
# misses the truth by a little, because the noise happens to lean one way or the other; how much
# is its *standard error*, noise × √[(X̃ᵀX̃)⁻¹]ᵢᵢ with X̃ = [X, 1] — about noise/√n for
# standardized features. A gap of a few standard errors is the noise; many would be a bug. A
# Gaussian lands beyond 4 standard errors once in 16000 draws: that is our line.

# %%
WITHIN = 4  # standard errors


def standard_errors(features, noise):
    """Standard deviation of each least-squares parameter (w..., b) over redraws of the noise."""
    design = landscape.design_matrix(features)
    return noise * onp.sqrt(onp.diag(onp.linalg.inv(design.T @ design)))


truth = onp.append(house.true_w, house.true_b)
ols_w, ols_b = model.least_squares(house.features, house.labels)
ols = onp.append(ols_w, ols_b)
errors = standard_errors(house.features, noise)
gaps_in_se = onp.abs(ols - truth) / errors
print(f"{'':6} {'truth':>8} {'least squares':>14} {'|gap|':>10} {'standard error':>15}"
      f" {'gap/se':>8}")
for name, true, fitted, error, gap in zip(("w_area", "w_age", "b"), truth, ols, errors, gaps_in_se):
    print(f"{name:6} {true:8.3f} {fitted:14.5f} {abs(fitted - true):10.1e} {error:15.1e}"
          f" {gap:8.2f}")
findings.update(noise=house.noise, true_weight=list(house.true_w), true_bias=house.true_b,
                ols_weight=ols_w, ols_bias=ols_b, standard_errors=errors,
                gaps_in_standard_errors=gaps_in_se, worst_gap_in_se=float(gaps_in_se.max()))
verdicts["least_squares"] = "within the noise" if gaps_in_se.max() <= WITHIN else "beyond the noise"
SAY_OLS = {"within the noise": "{data}: least squares sits within the noise of the truth"
                               " ({gap:.1f} standard errors at most).",
           "beyond the noise": "{data}: least squares lands {gap:.1f} standard errors from the"
                               " truth, more than the noise explains."}
print(SAY_OLS[verdicts["least_squares"]].format(data="Walkthrough", gap=gaps_in_se.max()))

# %% [markdown]
# Lessons 3 and 4 ask training to come within 0.01 of the truth. No trainer can beat least
# squares on the same houses, so that is reachable only if least squares itself is that close.

# %%
TRAINING_TOLERANCE = 0.01  # how close to the truth lessons 3 and 4 ask training to come
findings["largest_gap"] = float(onp.max(onp.abs(ols - truth)))
reachable = findings["largest_gap"] < TRAINING_TOLERANCE
verdicts["training_tolerance"] = "reachable" if reachable else "out of reach"
SAY_TOLERANCE = {
    "reachable": "Its largest gap, {largest_gap:.1e}, is within the 0.01 that lessons 3 and 4 ask"
                 " of training.",
    "out of reach": "Its largest gap, {largest_gap:.2g}, exceeds 0.01: no trainer can come that"
                    " close on these houses;\n  only the comparison with least squares stays fair.",
}
print(SAY_TOLERANCE[verdicts["training_tolerance"]].format(**findings))

# %% [markdown]
# The residual of the *true* line, price − (2·area − 3.4·age + 4.2), is the noise itself: its
# standard deviation should come out near `noise`, within sampling error of relative size 1/√(2n).

# %%
true_line = house.features.astype(onp.float64) @ onp.asarray(house.true_w) + house.true_b
findings["noise_measured"] = float((house.labels - true_line).std())
findings["sampling_error"] = 1 / math.sqrt(2 * num_examples)
findings["noise_off"] = findings["noise_measured"] / noise - 1
matches = abs(findings["noise_off"]) <= WITHIN * findings["sampling_error"]
verdicts["residual"] = "matches the noise" if matches else "does not match the noise"
SAY_RESIDUAL = {
    "matches the noise": "The true line's residual has std {noise_measured:.4g}: the noise we added"
                         " ({noise:g}), {noise_off:+.1%} off.",
    "does not match the noise": "The true line's residual has std {noise_measured:.4g}: not the"
                                " noise we added ({noise:g}), {noise_off:+.1%} off.",
}
print(f"sampling error of a standard deviation from {num_examples} draws: about"
      f" {findings['sampling_error']:.1%}")
print(SAY_RESIDUAL[verdicts["residual"]].format(**findings))

# %% [markdown]
# ## 3. Houses in square metres and years
# Real data come in units. A second data set: area between 30 and 250 m², age between 0 and 60
# years, price in thousands = 3·area − 2·age + 50 plus noise of standard deviation 25 (thousand).
# It is not the walkthrough's data with units put back: its own houses and its own weights.
# Least squares works just as well here; only the numbers' scales differ, by two orders of
# magnitude.

# %%
raw = house_data.raw_house_prices(num_examples, seed=seed)
describe(raw, price="price_thousands")
raw_truth = onp.append(raw.true_w, raw.true_b)
raw_ols_w, raw_ols_b = model.least_squares(raw.features, raw.labels)
raw_errors = standard_errors(raw.features, raw.noise)
raw_gaps_in_se = onp.abs(onp.append(raw_ols_w, raw_ols_b) - raw_truth) / raw_errors
print(f"true w {list(raw.true_w)}, b {raw.true_b:.1f};  least squares w"
      f" {onp.round(raw_ols_w, 3).tolist()}, b {raw_ols_b:.2f}")
print(f"gaps in standard errors {onp.round(raw_gaps_in_se, 2).tolist()}")
findings.update(raw_true_weight=list(raw.true_w), raw_true_bias=raw.true_b, raw_noise=raw.noise,
                raw_ols_weight=raw_ols_w, raw_ols_bias=raw_ols_b,
                raw_gaps_in_standard_errors=raw_gaps_in_se)
verdicts["raw_least_squares"] = ("within the noise" if raw_gaps_in_se.max() <= WITHIN
                                 else "beyond the noise")
print(SAY_OLS[verdicts["raw_least_squares"]].format(data="In raw units", gap=raw_gaps_in_se.max()))
PRICE = "price (thousands)"
in_units = dataclasses.replace(raw, feature_names=("area (m²)", "age (years)"))
findings["figures"].append(plots.house_scatter(
    in_units, out_dir, "raw_units", price_label=PRICE,
    title=f"{num_examples} houses in raw units: area in m², age in years"))

# %% [markdown]
# ## 4. The shape of the loss: curvatures and their ratio κ
# The mean L2 loss of linear regression is a quadratic bowl over the parameters (w, b). Its
# Hessian A = X̃ᵀX̃/n is the same everywhere; its eigenvalues are the bowl's curvatures along its
# principal axes. The *condition number* κ = λ_max/λ_min is the ratio of the largest curvature to
# the smallest. A contour of the loss is an ellipsoid whose semi-axes go as 1/√λ, so the valley is
# √κ times longer than it is wide. Gradient descent pays for κ: at its best learning rate it
# shrinks the distance to the minimum by the factor (κ − 1)/(κ + 1) per step (lesson 5 measures
# it). We compare these houses in raw units with the *same* houses standardized: each column
# minus its mean, divided by its standard deviation. The figure shows them standardized: the
# same clouds, only the axes' scales change.

# %%
def gd_steps(kappa, shrink=1e3):
    """Steps gradient descent at its best learning rate needs to shrink its distance to the
    minimum `shrink`-fold."""
    rate = convergence.gd_best_rate(kappa)
    return 1 if rate == 0 else math.ceil(math.log(shrink) / -math.log(rate))


standardized, column_mean, column_std = house_data.standardize(raw.features)
same_houses = dataclasses.replace(raw, features=standardized, form="standardized",
                                  feature_names=("area (standardized)", "age (standardized)"))
findings["figures"].append(plots.house_scatter(
    same_houses, out_dir, "standardized", price_label=PRICE,
    title=f"the same {num_examples} houses, area and age standardized"))
shape = {}
for form, features in (("raw", raw.features), ("standardized", standardized)):
    eigenvalues = landscape.eigenvalues(landscape.hessian(features))
    kappa = landscape.condition_number(eigenvalues)
    shape[form] = dict(eigenvalues=eigenvalues, kappa=kappa, aspect=math.sqrt(kappa),
                       steps=gd_steps(kappa))
    print(f"{form:12} curvatures {onp.array2string(eigenvalues, precision=4)}")
    print(f"{'':12} κ = {kappa:<10.4g} valley √κ = {math.sqrt(kappa):<8.4g}"
          f" GD steps to shrink the error 1000-fold: {shape[form]['steps']}")

# %%
for form in shape:
    findings.update({f"kappa_{form}": shape[form]["kappa"],
                     f"eigenvalues_{form}": shape[form]["eigenvalues"],
                     f"aspect_ratio_{form}": shape[form]["aspect"],
                     f"gd_steps_{form}": shape[form]["steps"]})
pays = findings["gd_steps_raw"] > 10 * findings["gd_steps_standardized"]
verdicts["standardizing"] = "pays" if pays else "buys little"
SAY_STANDARDIZING = {
    "pays": "Gradient descent would need {gd_steps_raw} steps instead of"
            " {gd_steps_standardized} to get 1000 times closer:\n  that is why we standardize.",
    "buys little": "Gradient descent would need {gd_steps_raw} steps instead of"
                   " {gd_steps_standardized}: here standardizing buys little.",
}
print(SAY_STANDARDIZING[verdicts["standardizing"]].format(**findings))

# %% [markdown]
# ## What we found

# %%
print(SAY_OLS[verdicts["least_squares"]].format(data="Walkthrough", gap=gaps_in_se.max()))
print(SAY_TOLERANCE[verdicts["training_tolerance"]].format(**findings))
print(SAY_RESIDUAL[verdicts["residual"]].format(**findings))
print(SAY_OLS[verdicts["raw_least_squares"]].format(data="In raw units", gap=raw_gaps_in_se.max()))
print(f"In m² and years the loss's largest curvature is κ = {findings['kappa_raw']:.3g} times its"
      f" smallest\n  (a valley {findings['aspect_ratio_raw']:.0f} times longer than wide);"
      f" the same houses standardized: κ = {findings['kappa_standardized']:.3g}.")
print(SAY_STANDARDIZING[verdicts["standardizing"]].format(**findings))

# %% [markdown]
# ## Exercises
# 1. Raise the noise (`--set noise=1`). How far does least squares now land from the truth, in
#    absolute terms and in standard errors? Which of the two stays about the same, and why?
# 2. With `--set num_examples=3`, least squares fits three houses exactly. Is it then as close to
#    the truth as with 1000 houses? What do the standard errors say?
# 3. Standardizing does two things: it subtracts each column's mean and divides by its standard
#    deviation. Do only one of them (`raw.features - column_mean`, or `raw.features / column_std`)
#    and compute κ again. Which of the two made κ small?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 1`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(1, number, answer)
