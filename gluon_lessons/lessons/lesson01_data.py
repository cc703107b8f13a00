"""Lesson 1 — House-price data: features, noise, raw units and standardized.

What you will see: the walkthrough's synthetic data set (price from area and age plus noise),
how close the best possible fit comes to the true weights, and why the course trains on
standardized features rather than square metres and years.

Run it:  gluon-lessons run data        (or: python -m gluon_lessons.lessons.lesson01_data)
"""
# %% [markdown]
# ## Setup
# Every number below comes from one seed; change it with `--seed`.
# %%
import numpy as onp

from gluon_lessons import data as house_data
from gluon_lessons import landscape, model, plots
from gluon_lessons.lessons._common import heading, lesson_main, output_dir
from gluon_lessons.seeding import set_seed

SLUG = "data"


# %% [markdown]
# ## The walkthrough's data
# price = 2·area − 3.4·age + 4.2 + noise, with area and age already standardized
# (mean 0, standard deviation 1) and Gaussian noise of standard deviation 0.01.
# %%
def describe(data):
    """Per-column mean and standard deviation of features and price."""
    columns = dict(zip(data.feature_names, data.features.T))
    columns["price"] = data.labels
    return {name: (float(values.mean()), float(values.std())) for name, values in columns.items()}


def noise_check(data):
    """The residual of the *true* line is the noise itself: its spread should match `data.noise`."""
    residual = data.labels - (data.features.astype(onp.float64) @ onp.asarray(data.true_w) + data.true_b)
    return float(residual.std())


# %% [markdown]
# ## Raw units and the shape of the loss
# In square metres and years the columns differ in scale by two orders of magnitude, so the
# loss surface is a long narrow valley. Its curvature matrix X̃ᵀX̃/n (lesson 5 uses it) has a
# condition number that tells how much harder gradient descent finds it.
# %%
def condition_number(features):
    """κ of the least-squares Hessian X̃ᵀX̃/n, X̃ = [X, 1]."""
    return landscape.condition_number(landscape.eigenvalues(landscape.hessian(features)))


def run(out_dir=None, seed=0, quick=False, num_examples=1000):
    """Generate, describe and plot both forms of the data; return the findings."""
    set_seed(seed)
    out = output_dir(SLUG, out_dir)
    num_examples = 200 if quick else num_examples
    walk = house_data.synthetic_house_prices(num_examples, seed=seed)
    raw = house_data.raw_house_prices(num_examples, seed=seed)

    heading("The walkthrough's data (standardized)")
    for name, (mean, std) in describe(walk).items():
        print("  %-6s mean %8.3f   std %7.3f" % (name, mean, std))
    ols_w, ols_b = model.least_squares(walk.features, walk.labels)
    noise_measured = noise_check(walk)
    print("  true  w = %s, b = %.3f, noise std %.3f" % (list(walk.true_w), walk.true_b, walk.noise))
    print("  least squares w = %s, b = %.4f" % (onp.round(ols_w, 4).tolist(), ols_b))
    print("  residual of the true line: std %.4f (the noise we added)" % noise_measured)

    heading("Raw units: area in m², age in years, price in thousands")
    for name, (mean, std) in describe(raw).items():
        print("  %-9s mean %8.1f   std %7.1f" % (name, mean, std))
    raw_ols_w, raw_ols_b = model.least_squares(raw.features, raw.labels)
    print("  true  w = %s, b = %.1f, noise std %.1f" % (list(raw.true_w), raw.true_b, raw.noise))
    print("  least squares w = %s, b = %.2f" % (onp.round(raw_ols_w, 3).tolist(), raw_ols_b))
    standardized, mean, std = house_data.standardize(raw.features)
    kappa_raw, kappa_std = condition_number(raw.features), condition_number(standardized)
    print("  condition number of the loss: raw %.0f, standardized %.2f" % (kappa_raw, kappa_std))

    figures = [plots.house_scatter(walk, out, "standardized"), plots.house_scatter(raw, out, "raw_units")]
    print("\nFigures: %s" % ", ".join(str(f) for f in figures))

    heading("What we found")
    print("  Least squares recovers the true weights to within the noise; the raw-unit loss is")
    print("  %.0f times more stretched than the standardized one, which is why we standardize." % (kappa_raw / kappa_std))
    return {
        "num_examples": num_examples, "seed": seed,
        "true_weight": list(walk.true_w), "true_bias": walk.true_b,
        "ols_weight": ols_w, "ols_bias": ols_b, "noise": walk.noise, "noise_measured": noise_measured,
        "raw_true_weight": list(raw.true_w), "raw_ols_weight": raw_ols_w, "raw_ols_bias": raw_ols_b,
        "kappa_raw": kappa_raw, "kappa_standardized": kappa_std, "figures": figures,
    }


# %% [markdown]
# ## Exercises
# 1. Raise the noise (`gluon-lessons train --noise 1`): how far does least squares now land from the truth?
# 2. Give the model a third feature with true weight 0 (`--true-w 2,-3.4,0`). What does least squares give it?
# 3. Standardize the raw data and compare κ: which column made it large?
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
