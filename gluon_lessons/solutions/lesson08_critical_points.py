# %% [markdown]
# # Lesson 8 — worked solutions
#
# ## Exercise 1 — the lecture's Hessian
# With r = 1 − w₁w₂, L = r² and ∂L/∂w₁ = −2r·w₂, ∂L/∂w₂ = −2r·w₁. Differentiating again,
# ∂²L/∂w₁² = 2w₂², ∂²L/∂w₂² = 2w₁², and by the product rule ∂²L/∂w₁∂w₂ = 2w₁w₂ − 2r = 4w₁w₂ − 2.
# At the origin that is [[0, −2], [−2, 0]], as in the lecture.

# %%
import numpy as onp

from gluon_lessons.exercises import check


def hessian(w1, w2):
    cross = 4 * w1 * w2 - 2
    return onp.array([[2 * w2**2, cross], [cross, 2 * w1**2]])


print(hessian(0.0, 0.0))
check(8, 1, hessian)

# %% [markdown]
# ## Exercise 2 — naming a critical point
# Both signs among the eigenvalues: a saddle, whatever else (there is a way down and a way up).
# Otherwise all positive: a minimum; all negative: a maximum; and an eigenvalue at zero (within the
# tolerance) beside one sign leaves the second-order test undecided: degenerate.


# %%
def kind(eigenvalues, tol):
    if onp.any(eigenvalues > tol) and onp.any(eigenvalues < -tol):
        return "saddle"
    if onp.any(onp.abs(eigenvalues) <= tol):
        return "degenerate"
    return "minimum" if onp.all(eigenvalues > 0) else "maximum"


check(8, 2, kind)
