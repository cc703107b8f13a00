# %% [markdown]
# # Lesson 9 — worked solutions
#
# ## Exercise 1 — λ_max by power iteration
# Multiplying a vector by H again and again stretches it most along the eigenvector of the largest
# eigenvalue (for a positive semi-definite H, the largest in size too). Normalize each time, and
# read
# the eigenvalue off the Rayleigh quotient vᵀHv.

# %%
import numpy as onp
from scipy import stats

from gluon_lessons.exercises import check


def largest_eigenvalue(hvp, dim, steps=500, tol=1e-10):
    vector = onp.random.default_rng(0).normal(size=dim)
    vector /= onp.linalg.norm(vector)
    value = 0.0
    for _ in range(steps):
        product = hvp(vector)
        new_value = float(vector @ product)
        vector = product / onp.linalg.norm(product)
        if abs(new_value - value) <= tol * abs(new_value):
            break
        value = new_value
    return new_value


check(9, 1, largest_eigenvalue)

# %% [markdown]
# ## Exercise 2 — a 95% interval over seeds
# The same seed gives both runs the same start and data order, so compare them seed by seed: the
# differences d have mean d̄ and a 95% interval d̄ ± t₀.₉₇₅,ₙ₋₁ · s_d/√n (Student's t: with few
# seeds
# the standard deviation is itself uncertain).


# %%
def paired_interval(small, large):
    differences = small - large
    n = len(differences)
    half = stats.t.ppf(0.975, n - 1) * differences.std(ddof=1) / onp.sqrt(n)
    return differences.mean(), differences.mean() - half, differences.mean() + half


check(9, 2, paired_interval)
