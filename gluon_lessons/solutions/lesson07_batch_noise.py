# %% [markdown]
# # Lesson 7 — worked solutions
#
# ## Exercise 1 — the variance of a batch gradient
# One example drawn at random has the per-example gradients' covariance Σ. The mean of B independent
# draws has covariance Σ/B, so its total variance is tr(Σ)/B (Σ of these n rows: divide by n).

# %%
from gluon_lessons.exercises import check


def total_variance(gradients):
    centered = gradients - gradients.mean(axis=0)
    return (centered**2).sum(axis=1).mean()


def batch_gradient_variance(gradients, batch_size):
    return total_variance(gradients) / batch_size


check(7, 1, batch_gradient_variance)

# %% [markdown]
# ## Exercise 2 — the simple noise scale
# B_simple = tr(Σ)/|G|² is the batch size at which the noise in a batch gradient is as large as the
# gradient itself.


# %%
def noise_scale(gradients):
    mean = gradients.mean(axis=0)
    return total_variance(gradients) / (mean @ mean)


check(7, 2, noise_scale)
