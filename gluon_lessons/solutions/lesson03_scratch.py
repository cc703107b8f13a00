# %% [markdown]
# # Lesson 3 — worked solutions
#
# ## Exercise 1 — the SGD step
# Autograd gives the gradient of the batch's *summed* loss; the mini-batch gradient is its mean, so
# divide by B before stepping against it. MXNet's `Trainer.step(B)` does the same division through
# `rescale_grad = 1/B`.

# %%
from gluon_lessons.exercises import check


def sgd_step(w, grad_sum, lr, batch_size):
    return w - lr * grad_sum / batch_size


check(3, 1, sgd_step)

# %% [markdown]
# ## Exercise 2 — the momentum step
# MXNet's momentum keeps a velocity that sums the past steps, each older one shrunk by β:
# v ← βv − η·g/B, then w ← w + v.


# %%
def momentum_step(w, v, grad_sum, lr, beta, batch_size):
    v = beta * v - lr * grad_sum / batch_size
    return w + v, v


check(3, 2, momentum_step)
