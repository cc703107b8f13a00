# %% [markdown]
# # Lesson 11 — worked solutions
#
# ## Exercise 1 — a batch over devices
# With `even_split=False`, MXNet gives each device ⌊B/k⌋ rows, and the B mod k rows left over go
# one each to the first devices (10 rows over 4 devices: 3, 3, 2, 2).

# %%
from gluon_lessons import data, landscape
from gluon_lessons.exercises import check


def split_sizes(batch_size, num_devices):
    share, left_over = divmod(batch_size, num_devices)
    return [share + (device < left_over) for device in range(num_devices)]


check(11, 1, split_sizes)

# %% [markdown]
# ## Exercise 2 — the largest stable learning rate
# Along each eigenvector of the Hessian A = X̃ᵀX̃/n, gradient descent multiplies the error by 1 −
# ηλ.
# It shrinks in every direction only while ηλ_max < 2: the edge is η = 2/λ_max.

# %%
house = data.walkthrough_data()
eigenvalues = landscape.eigenvalues(landscape.hessian(house.features))
print(f"eigenvalues {eigenvalues.round(4)}; 2/λ_max = {2 / eigenvalues[-1]:.5f}")
check(11, 2, 2 / eigenvalues[-1])
