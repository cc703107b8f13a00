# %% [markdown]
# # Lesson 2 — worked solutions
#
# ## Exercise 1 — updates per epoch
# Batches start at rows 0, B, 2B, ... below n: ⌈n/B⌉ of them when the partial batch at the end is
# kept; ⌊n/B⌋ full ones when it is discarded.

# %%
from gluon_lessons.exercises import check


def updates_per_epoch(num_examples, batch_size, last_batch):
    if last_batch == "keep":
        return -(-num_examples // batch_size)  # ⌈n/B⌉ in integers
    return num_examples // batch_size


check(2, 1, updates_per_epoch)

# %% [markdown]
# ## Exercise 2 — an epoch iterator
# Draw one permutation of the row numbers per epoch from `rng` and cut it into slices of B: every
# example appears once, the rows of X and y are taken together, and the same seed repeats the order.


# %%
def data_iter(batch_size, features, labels, rng):
    order = rng.permutation(len(features))
    for start in range(0, len(features), batch_size):
        rows = order[start : start + batch_size]
        yield features[rows], labels[rows]


check(2, 2, data_iter)
