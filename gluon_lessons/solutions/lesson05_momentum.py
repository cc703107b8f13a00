# %% [markdown]
# # Lesson 5 — worked solutions
#
# ## Exercise 1 — momentum as a sum
# From v₀ = 0, each step makes v ← βv − ηg. Unrolled over k steps, the newest gradient is taken
# once and every older one shrinks by one more factor β: v_k = −η Σᵢ β^(k−1−i) gᵢ.

# %%
import numpy as onp

from gluon_lessons import convergence, landscape
from gluon_lessons.exercises import check


def momentum_state(gradients, lr, beta):
    k = len(gradients)
    weights = beta ** onp.arange(k - 1, -1, -1)  # β^(k−1), ..., β, 1: oldest first
    return -lr * weights @ gradients


check(5, 1, momentum_state)

# %% [markdown]
# ## Exercise 2 — the best heavy ball
# Theory (Polyak; Goh 2017) gives the fastest settings from the smallest and largest eigenvalues of
# the Hessian: η = (2 / (√λ_min + √λ_max))² and β = ((√κ − 1) / (√κ + 1))².

# %%
eigenvalues = landscape.eigenvalues(landscape.hessian(landscape.practical_houses()[0]))
low, high = onp.sqrt(eigenvalues[0]), onp.sqrt(eigenvalues[-1])
lr, beta = (2 / (low + high)) ** 2, ((high - low) / (high + low)) ** 2
print(f"κ = {eigenvalues[-1] / eigenvalues[0]:.1f}: lr = {lr:.4g}, β = {beta:.4f}")
print(f"rate {convergence.heavy_ball_rate(lr, beta, eigenvalues):.5f}")
check(5, 2, (lr, beta))
