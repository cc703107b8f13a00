# %% [markdown]
# # Lesson 1 — worked solutions
#
# Try the exercises at the end of lesson 1 first; each section here explains one answer, computes
# it and hands it to the same check the lesson's exercise cell calls.
#
# ## Exercise 1 — standard errors
# Least squares solves X̃ᵀX̃ w̃ = X̃ᵀy with X̃ = [X, 1]. With y = X̃w̃* + ε and noise ε of standard
# deviation σ, the estimate is w̃* + (X̃ᵀX̃)⁻¹X̃ᵀε, whose covariance is σ²(X̃ᵀX̃)⁻¹. The
# standard error of each parameter is the square root of that matrix's diagonal.

# %%
import numpy as onp

from gluon_lessons import data, landscape
from gluon_lessons.exercises import check


def standard_errors(features, noise):
    design = onp.hstack([features, onp.ones((len(features), 1))])  # X̃ = [X, 1]
    return noise * onp.sqrt(onp.diag(onp.linalg.inv(design.T @ design)))


check(1, 1, standard_errors)

# %% [markdown]
# ## Exercise 2 — which half of standardizing
# Compute κ of the Hessian X̃ᵀX̃/n for the raw houses with each half applied alone. Centering
# removes
# the large column means, which otherwise tie the weights to the bias; scaling only evens out the
# columns' spreads.

# %%
raw = data.raw_house_prices(2000, seed=3).features
halves = {"centering": raw - raw.mean(0), "scaling": raw / raw.std(0)}
kappas = {
    name: landscape.condition_number(landscape.eigenvalues(landscape.hessian(features)))
    for name, features in halves.items()
}
for name, kappa in kappas.items():
    print(f"{name:9s} alone: κ = {kappa:.3g}")
check(1, 2, min(kappas, key=kappas.get))
