# %% [markdown]
# # Lesson 1 — House-price data: features, noise, raw units and standardized
#
# What you will see: the walkthrough's synthetic houses — price = 2·area − 3.4·age + 4.2 plus
# Gaussian noise — generated, summarized and plotted; least squares, the best fit any trainer
# can reach, landing as close to the true weights as the noise allows; and the same kind of
# houses measured in square metres and years, whose loss is a valley so long and narrow that
# gradient descent crawls along it. That is why the course trains on standardized features.
#
# Run it: `gluon-lessons run data`, `python -m gluon_lessons.lessons.lesson01_data`, or as a
# notebook: `gluon-lessons notebook 1` (then open it in Jupyter or VS Code).

# %%
import math

import numpy as onp

from gluon_lessons import convergence, landscape, model, plots
from gluon_lessons import data as house_data
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0             # one seed for random, numpy and mx.random; it also draws both data sets
num_examples = 1000  # houses in each data set
noise = 0.01         # standard deviation of the noise on the walkthrough's (standardized) price
out_dir = None       # None: figures show inline in a notebook; the command line saves them (lesson_output/data)
QUICK = dict(num_examples=200)  # what --quick (and the tests) change; a setting given with --set always wins

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    runner.require("num_examples", num_examples, num_examples >= 3,
                   "an integer >= 3 (three parameters, w1, w2 and b, need at least three houses to pin them down)")
    runner.require("noise", noise, 0 < noise <= house_data.FLOAT32_TRAIN_MAX,
                   "a number > 0 and at most %.2g (prices are float32)" % house_data.FLOAT32_TRAIN_MAX)
    house_data.check_memory(100 * num_examples, "num_examples=%d houses" % num_examples)  # ~100 bytes a house here
print("seed %d; %d houses per data set; noise %g on the walkthrough's price" % (seed, num_examples, noise))

# %% [markdown]
# ## 1. The walkthrough's houses
# Each house has two features, `area` and `age`, drawn from a standard normal distribution: they
# are already *standardized* (mean 0, standard deviation 1), the form the walkthrough trains on.
# Its price is 2·area − 3.4·age + 4.2 plus noise of standard deviation `noise`. The features form
# a table of shape (examples, 2), the prices a vector: `features` and `labels` in the walkthrough.

# %%
set_seed(seed)
house = house_data.synthetic_house_prices(num_examples, noise=noise, seed=seed)
print("features", house.features.shape, house.features.dtype, "  labels", house.labels.shape, house.labels.dtype)
print("the first three houses (area, age -> price):")
for x, y in zip(house.features[:3], house.labels[:3]):
    print("  (%6.3f, %6.3f) -> %7.3f" % (x[0], x[1], y))


# %%
def describe(data):
    """Print each column's mean and standard deviation."""
    columns = dict(zip(data.feature_names, data.features.T), price=data.labels)
    for name, values in columns.items():
        print("  %-9s mean %9.3f   std %8.3f" % (name, values.mean(), values.std()))


describe(house)
figures = [plots.house_scatter(house, out_dir, "standardized")]

# %% [markdown]
# ## 2. How close can any trainer get?
# A trainer sees only the noisy prices. The best it can do is least squares, the weights that
# minimize the mean squared error on these very houses (solved in closed form). Least squares
# misses the truth by a little, because the noise happens to lean one way or the other; how much
# is its *standard error*, noise × √[(X̃ᵀX̃)⁻¹]ᵢᵢ with X̃ = [X, 1] — about noise/√n for
# standardized features. A gap of a few standard errors is the noise; many would be a bug.

# %%
def standard_errors(features, noise):
    """Standard deviation of each least-squares parameter (w..., b) over redraws of the noise."""
    design = landscape.design_matrix(features)
    return noise * onp.sqrt(onp.diag(onp.linalg.inv(design.T @ design)))


truth = onp.append(house.true_w, house.true_b)
ols_w, ols_b = model.least_squares(house.features, house.labels)
ols = onp.append(ols_w, ols_b)
errors = standard_errors(house.features, noise)
gaps_in_se = onp.abs(ols - truth) / errors
print("%-6s %8s %14s %10s %15s %8s" % ("", "truth", "least squares", "|gap|", "standard error", "gap/se"))
for name, t, o, e, z in zip(("w_area", "w_age", "b"), truth, ols, errors, gaps_in_se):
    print("%-6s %8.3f %14.5f %10.1e %15.1e %8.2f" % (name, t, o, abs(o - t), e, z))

# %% [markdown]
# The residual of the *true* line, price − (2·area − 3.4·age + 4.2), is the noise itself: its
# standard deviation should come out near `noise`, within sampling error of relative size 1/√(2n).

# %%
residual = house.labels - (house.features.astype(onp.float64) @ onp.asarray(house.true_w) + house.true_b)
noise_measured = float(residual.std())
sampling_error = 1 / math.sqrt(2 * num_examples)
print("noise added: std %.4g;  residual of the true line: std %.4g (%+.2f%%; sampling error about %.1f%%)"
      % (noise, noise_measured, 100 * (noise_measured / noise - 1), 100 * sampling_error))

# %% [markdown]
# ## 3. The same kind of houses in square metres and years
# Real data come in units: area between 30 and 250 m², age between 0 and 60 years, price in
# thousands = 3·area − 2·age + 50 plus noise of standard deviation 25 (thousand). Least squares
# works just as well here; only the numbers' scales differ, by two orders of magnitude.

# %%
raw = house_data.raw_house_prices(num_examples, seed=seed)
describe(raw)
raw_truth = onp.append(raw.true_w, raw.true_b)
raw_ols_w, raw_ols_b = model.least_squares(raw.features, raw.labels)
raw_gaps_in_se = onp.abs(onp.append(raw_ols_w, raw_ols_b) - raw_truth) / standard_errors(raw.features, raw.noise)
print("true w %s, b %.1f;  least squares w %s, b %.2f;  gaps in standard errors %s"
      % (list(raw.true_w), raw.true_b, onp.round(raw_ols_w, 3).tolist(), raw_ols_b, onp.round(raw_gaps_in_se, 2)))
figures.append(plots.house_scatter(raw, out_dir, "raw_units"))

# %% [markdown]
# ## 4. The shape of the loss: curvatures and their ratio κ
# The mean L2 loss of linear regression is a quadratic bowl over the parameters (w, b). Its
# Hessian A = X̃ᵀX̃/n is the same everywhere; its eigenvalues are the bowl's curvatures along its
# principal axes. The *condition number* κ = λ_max/λ_min is the ratio of the largest curvature to
# the smallest. A contour of the loss is an ellipsoid whose semi-axes go as 1/√λ, so the valley is
# √κ times longer than it is wide. Gradient descent pays for κ: at its best learning rate it
# shrinks the distance to the minimum by the factor (κ − 1)/(κ + 1) per step (lesson 5 measures it).
# We compare the raw houses with the same houses standardized (each column minus its mean,
# divided by its standard deviation).

# %%
def gd_steps(kappa, shrink=1e3):
    """Steps gradient descent at its best learning rate needs to shrink its distance to the minimum `shrink`-fold."""
    rate = convergence.gd_best_rate(kappa)
    return 1 if rate == 0 else math.ceil(math.log(shrink) / -math.log(rate))


standardized, column_mean, column_std = house_data.standardize(raw.features)
shape = {}
for form, features in (("raw", raw.features), ("standardized", standardized)):
    eigenvalues = landscape.eigenvalues(landscape.hessian(features))
    kappa = landscape.condition_number(eigenvalues)
    shape[form] = dict(eigenvalues=eigenvalues, kappa=kappa, aspect=math.sqrt(kappa), steps=gd_steps(kappa))
    print("%-12s curvatures %s  κ = %-10.4g valley √κ = %-8.4g GD steps to shrink the error 1000-fold: %d"
          % (form, onp.array2string(eigenvalues, precision=4), kappa, math.sqrt(kappa), shape[form]["steps"]))

# %% [markdown]
# ## What we found

# %%
TRAINING_TOLERANCE = 0.01  # how close to the truth lessons 3 and 4 ask training to come
worst, worst_raw = float(gaps_in_se.max()), float(raw_gaps_in_se.max())
for label, z in (("On the walkthrough's houses", worst), ("In raw units", worst_raw)):
    if z <= 4:  # a Gaussian lands beyond 4 standard errors once in 16000 draws
        print("%s least squares lands as close to the truth as the noise allows (at most %.1f standard errors)."
              % (label, z))
    else:
        print("%s least squares lands %.1f standard errors from the truth: more than the noise explains."
              % (label, z))
largest_gap = float(onp.max(onp.abs(ols - truth)))
if largest_gap < TRAINING_TOLERANCE:
    print("Its largest gap, %.1e, is within the %g that lessons 3 and 4 ask of training: a trainer can meet it."
          % (largest_gap, TRAINING_TOLERANCE))
else:
    print("Its largest gap, %.2g, exceeds %g: with noise %g no trainer can come within %g of the truth on %d houses;"
          " only the comparison with least squares stays fair." % (largest_gap, TRAINING_TOLERANCE, noise,
                                                                  TRAINING_TOLERANCE, num_examples))
matches = abs(noise_measured / noise - 1) <= 4 * sampling_error
print("The true line's residual has std %.4g: %s the noise we added (%g)."
      % (noise_measured, "that is" if matches else "that is NOT", noise))
raw_shape, std_shape = shape["raw"], shape["standardized"]
print("In m² and years the loss's largest curvature is κ = %.3g times its smallest (a valley %.0f times longer than"
      " wide); standardized, κ = %.3g (%.2f)." % (raw_shape["kappa"], raw_shape["aspect"], std_shape["kappa"],
                                                std_shape["aspect"]))
if raw_shape["steps"] > 10 * std_shape["steps"]:
    print("Gradient descent would need %d steps instead of %d to get 1000 times closer: that is why we standardize."
          % (raw_shape["steps"], std_shape["steps"]))
else:
    print("Gradient descent would need %d steps instead of %d: here standardizing buys little."
          % (raw_shape["steps"], std_shape["steps"]))

# %%
findings = {
    "seed": seed, "num_examples": num_examples, "noise": house.noise, "noise_measured": noise_measured,
    "true_weight": list(house.true_w), "true_bias": house.true_b, "ols_weight": ols_w, "ols_bias": ols_b,
    "standard_errors": errors, "gaps_in_standard_errors": gaps_in_se,
    "raw_true_weight": list(raw.true_w), "raw_true_bias": raw.true_b, "raw_noise": raw.noise,
    "raw_ols_weight": raw_ols_w, "raw_ols_bias": raw_ols_b, "raw_gaps_in_standard_errors": raw_gaps_in_se,
    "kappa_raw": raw_shape["kappa"], "kappa_standardized": std_shape["kappa"],
    "eigenvalues_raw": raw_shape["eigenvalues"], "eigenvalues_standardized": std_shape["eigenvalues"],
    "aspect_ratio_raw": raw_shape["aspect"], "aspect_ratio_standardized": std_shape["aspect"],
    "gd_steps_raw": raw_shape["steps"], "gd_steps_standardized": std_shape["steps"], "figures": figures,
}

# %% [markdown]
# ## Exercises
# 1. Raise the noise (`--set noise=1`). How far does least squares now land from the truth, in
#    absolute terms and in standard errors? Which of the two stays about the same, and why?
# 2. With `--set num_examples=3`, least squares fits three houses exactly. Is it then as close to
#    the truth as with 1000 houses? What do the standard errors say?
# 3. Standardizing does two things: it subtracts each column's mean and divides by its standard
#    deviation. Do only one of them (`raw.features - column_mean`, or `raw.features / column_std`)
#    and compute κ again. Which of the two made κ small?
