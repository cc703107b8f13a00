# %% [markdown]
# # Lesson 10 — worked solutions
#
# ## Exercise 1 — the iRprop− step
# Per weight: compare the gradient's sign with the last one used. Same sign: the step grows ×1.2;
# flipped: it shrinks ×0.5, the weight does not move, and the gradient counts as 0 next time (so the
# step after a flip neither grows nor shrinks). Steps stay within [1e-6, 50].

# %%
import numpy as onp

from gluon_lessons.exercises import check


def rprop_run(gradients, initial_step):
    weight = onp.zeros(gradients.shape[1])
    step = onp.full(gradients.shape[1], float(initial_step))
    previous = onp.zeros(gradients.shape[1])
    path = []
    for gradient in gradients:
        agreement = onp.sign(gradient) * previous
        step = onp.where(agreement > 0, step * 1.2, step)
        step = onp.where(agreement < 0, step * 0.5, step)
        step = onp.clip(step, 1e-6, 50.0)
        used = onp.where(agreement < 0, 0.0, onp.sign(gradient))
        weight = weight - used * step
        previous = used
        path.append(weight.copy())
    return onp.array(path)


check(10, 1, rprop_run)

# %% [markdown]
# ## Exercise 2 — MXNet's RMSProp step
# MXNet keeps a running average of squared gradients, n ← (1 − γ)g² + γn, and divides the step by
# its square root: w ← w − η·g/√(n + ε).


# %%
def rmsprop_step(w, n, g, lr, gamma, eps):
    n = (1 - gamma) * g * g + gamma * n
    return w - lr * g / onp.sqrt(n + eps), n


check(10, 2, rmsprop_step)
