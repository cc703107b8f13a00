# %% [markdown]
# # Lesson 2 — Batch, epoch, shuffle: a hand-written iterator, then Gluon's DataLoader
#
# What you will see: the lecture's three words made measurable. A *batch* is the handful of
# examples behind one update; an *epoch* is one pass over all of them; *shuffle* deals the batches
# anew every epoch. A mini-batch iterator written in ten lines, the walkthrough's
# `DataLoader(shuffle=True)` and the course's fast in-memory batcher are each checked to show every
# example exactly once per epoch, in a new order; then how many updates an epoch holds for batch
# sizes from 1 to 1000, what becomes of the last, partial batch, and a picture of shuffling.
#
# Run it: `gluon-lessons run batches`, `python -m gluon_lessons.lessons.lesson02_batches`, or as a
# notebook: `gluon-lessons notebook 2` (then open it in Jupyter or VS Code).

# %%
import numpy as onp
from mxnet import np, npx

from gluon_lessons import data as house_data
from gluon_lessons import loading, plots, shuffling
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0                 # one seed for the data, the hand-written iterator and the global RNG DataLoader shuffles with
num_examples = 1000      # examples in the data set
batch_size = 10          # examples per batch
num_epochs = 2           # epochs each iterator deals; epochs 1 and 2 are compared
partial_batch_size = 32  # batch size of the last-batch section (32 does not divide 1000: 8 are left over)
out_dir = None           # None: figures show inline in a notebook; the command line saves them (lesson_output/batches)
QUICK = dict(num_examples=200)  # what --quick (and the tests) change; a setting given with --set always wins

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    loading.check_batch_size(batch_size)
    runner.require("num_epochs", num_epochs, num_epochs >= 2, "an integer >= 2 (epochs 1 and 2 are compared)")
    loading.check_count(partial_batch_size, "partial_batch_size")
    runner.require("num_examples", num_examples, num_examples >= partial_batch_size,
                   "an integer >= partial_batch_size (%d): the last-batch section needs one full batch"
                   % partial_batch_size)
    house_data.check_memory(100 * num_examples, "num_examples=%d examples" % num_examples)  # ~100 bytes each here
print("seed %d; %d examples, batch size %d, %d epochs; last-batch section: batches of %d"
      % (seed, num_examples, batch_size, num_epochs, partial_batch_size))

# %% [markdown]
# ## 1. Data whose labels say which example they are
# The walkthrough's houses: features (area, age) and a price. To *see* what an iterator hands out,
# we give it each example's row number in place of the price: every batch then tells us which
# examples it holds, and we can check the features still belong to that row.

# %%
set_seed(seed)
house = house_data.synthetic_house_prices(num_examples, seed=seed)
features = house.features                               # (num_examples, 2), float32
row_ids = onp.arange(num_examples, dtype=onp.float32)   # in place of the price
print("features", features.shape, "; prices", house.labels.shape, "; row numbers", row_ids[:5], "...")

# %% [markdown]
# ## 2. A mini-batch iterator by hand
# One epoch = one pass over the data. Shuffle the row numbers with a seeded generator, cut them into
# pieces of `batch_size`, and hand out the matching rows of `features` and `labels`. Each call of
# `data_iter` is one epoch, in a fresh order. `last_batch="discard"` drops the smaller last piece.

# %%
def data_iter(batch_size, features, labels, rng, last_batch="keep"):
    """Yield (X, y) mini-batches of one epoch as MXNet arrays, in a new random order per call."""
    if len(features) != len(labels):
        raise ValueError("features have %d rows but labels %d" % (len(features), len(labels)))
    loading.num_batches(len(features), batch_size, last_batch)  # refuses a bad batch_size or last_batch
    features, labels = onp.asarray(features), onp.asarray(labels)
    order = rng.permutation(len(features))
    stop = len(features) if last_batch == "keep" else len(features) - len(features) % batch_size
    for start in range(0, stop, batch_size):
        rows = order[start:start + batch_size]
        yield np.array(features[rows]), np.array(labels[rows])


rng = onp.random.default_rng(seed)
X, y = next(data_iter(batch_size, features, house.labels, rng))
print("one batch: X %s, y %s, both %s of %s" % (X.shape, y.shape, type(X).__name__, X.dtype))
print("its first three examples:\n", X[:3], "\nprices", y[:3])

# %% [markdown]
# ## 3. What the hand-written iterator hands out, epoch by epoch
# We let it deal `num_epochs` epochs of row numbers and count: how many batches per epoch, how often
# each example appears in an epoch (it should be exactly once), whether epochs 1 and 2 come in
# different orders, and whether every batch's features are those of the rows it claims to hold.
# Two independent shuffles put the same example at the same place about once on average.

# %%
def show(name, epochs, summary):
    """Print what one iterator dealt."""
    print("%s: %s batches per epoch, the last of %d examples" % (name, summary["batches_per_epoch"],
                                                                summary["last_batch_size"]))
    print("  times each example was seen, per epoch: min %s, max %s" % (summary["min_times_seen"],
                                                                        summary["max_times_seen"]))
    print("  first batch, epoch 1: %s ...  epoch 2: %s ..." % (epochs[0][0][:6].tolist(), epochs[1][0][:6].tolist()))
    print("  epochs 1 and 2: orders differ %s; same example at the same place %d times of %d; batches shared %d"
          % (summary["orders_differ"], summary["same_position_epochs_1_2"], num_examples,
             summary["batches_shared_epochs_1_2"]))
    print("  features kept with their rows: %s" % summary["pairs_intact"])


found = {}
epochs, intact = shuffling.record_epochs(lambda: data_iter(batch_size, features, row_ids, rng), features, num_epochs)
found["data_iter"] = shuffling.summarize(epochs, intact, num_examples)
show("data_iter", epochs, found["data_iter"])

# %% [markdown]
# ## 4. Gluon's `DataLoader(shuffle=True)` and the course's `ShuffledBatches`
# The walkthrough wraps the arrays in an `ArrayDataset` and lets `DataLoader` deal them out. It
# shuffles with NumPy's global random generator, which `set_seed` seeded. `loading.ShuffledBatches`
# does the same job faster: it shuffles one copy of the data per epoch and cuts the batches from it
# as views instead of fetching and stacking examples one by one. The same measurements:

# %%
loaders = {"DataLoader": loading.data_loader(features, row_ids, batch_size),  # re-iterable: a new shuffle per pass
           "ShuffledBatches": loading.ShuffledBatches(features, row_ids, batch_size)}
for name, loader in loaders.items():
    epochs, intact = shuffling.record_epochs(lambda: loader, features, num_epochs)
    found[name] = shuffling.summarize(epochs, intact, num_examples)
    show(name, epochs, found[name])

# %% [markdown]
# ## 5. Updates per epoch
# Each batch is one update of the weights. An epoch of n examples holds ceil(n/B) updates when the
# last, smaller batch is kept and floor(n/B) when it is dropped: batch size 1 means a thousand small,
# noisy steps per pass over 1000 examples, batch size 1000 a single full-data step. We check the
# formula by iterating `ShuffledBatches` over 1000 examples and counting.

# %%
TABLE_EXAMPLES, TABLE_BATCH_SIZES = 1000, (1, 10, 32, 100, 1000)  # the walkthrough's 1000 examples
table = []
print("%10s  %12s  %15s  %15s" % ("batch size", "keep: ceil", "discard: floor", "last batch size"))
for B in TABLE_BATCH_SIZES:
    row = {"batch_size": B}
    for last_batch in loading.LAST_BATCH:
        row[last_batch] = loading.num_batches(TABLE_EXAMPLES, B, last_batch)
        zeros = onp.zeros((TABLE_EXAMPLES, 1), onp.float32), onp.zeros(TABLE_EXAMPLES, onp.float32)
        row[last_batch + "_counted"] = sum(1 for _ in loading.ShuffledBatches(*zeros, B, last_batch=last_batch))
    row["last_batch_size"] = TABLE_EXAMPLES - (row["keep"] - 1) * B
    table.append(row)
    print("%10d  %12d  %15d  %15d" % (B, row["keep"], row["discard"], row["last_batch_size"]))
counted_ok = all(r["keep"] == r["keep_counted"] and r["discard"] == r["discard_counted"] for r in table)
print("counted by iterating ShuffledBatches: %s" % ("the same" if counted_ok else "DIFFERENT"))

# %% [markdown]
# ## 6. The last, partial batch
# When the batch size does not divide the number of examples, something is left over.
# `last_batch="keep"` makes the rest a smaller last batch (its gradient is averaged over fewer
# examples, yet the update counts as much as a full one); `last_batch="discard"` drops it — a
# different handful each epoch, so over many epochs nothing is lost for good. (Gluon's `DataLoader`
# also has `"rollover"`, which carries them into the next epoch.) Here with `DataLoader` and
# batches of `partial_batch_size`:

# %%
left_over = num_examples % partial_batch_size
print("%d examples = %d batches of %d + %d left over" % (num_examples, num_examples // partial_batch_size,
                                                         partial_batch_size, left_over))
partial = {}
for last_batch in loading.LAST_BATCH:
    loader = loading.data_loader(features, row_ids, partial_batch_size, last_batch=last_batch)
    epochs, _ = shuffling.record_epochs(lambda: loader, features, 2)
    left_out = [onp.flatnonzero(shuffling.times_seen(epoch, num_examples) == 0) for epoch in epochs]
    partial[last_batch] = {"batches": len(epochs[0]), "last_batch_size": len(epochs[0][-1]),
                           "left_out_per_epoch": [len(rows) for rows in left_out],
                           "left_out_differ": not onp.array_equal(left_out[0], left_out[1])}
    print("last_batch=%-9r %d batches, the last of %d examples; left out per epoch: %s, e.g. %s in epoch 1, %s in 2"
          % (last_batch, partial[last_batch]["batches"], partial[last_batch]["last_batch_size"],
             partial[last_batch]["left_out_per_epoch"], left_out[0][:5].tolist(), left_out[1][:5].tolist()))

# %% [markdown]
# ## 7. A picture of shuffling
# 45 examples in batches of 10, coloured by the batch that holds them. Without shuffling the batches
# are fixed stripes; with it, each epoch deals the examples out anew. With `discard`, the white cells
# are the 5 examples that epoch skipped.

# %%
FIGURE_EXAMPLES, FIGURE_BATCH_SIZE = 45, 10  # small enough to see every example
small, small_ids = features[:FIGURE_EXAMPLES], row_ids[:FIGURE_EXAMPLES]
fixed = loading.data_loader(small, small_ids, FIGURE_BATCH_SIZE, shuffle=False)
shuffled = loading.data_loader(small, small_ids, FIGURE_BATCH_SIZE)
dropping = loading.data_loader(small, small_ids, FIGURE_BATCH_SIZE, last_batch="discard")
dealers = [("DataLoader, shuffle=False", lambda: fixed, 1),  # (label, one epoch, epochs drawn)
           ("data_iter", lambda: data_iter(FIGURE_BATCH_SIZE, small, small_ids, rng), 2),
           ("DataLoader", lambda: shuffled, 2),
           ("DataLoader, discard", lambda: dropping, 1)]
rows, row_labels = [], []
for label, make_epoch, count in dealers:
    dealt, _ = shuffling.record_epochs(make_epoch, small, count)
    rows += [shuffling.membership(epoch, FIGURE_EXAMPLES) for epoch in dealt]
    row_labels += [label if count == 1 else "%s, epoch %d" % (label, k) for k in range(1, count + 1)]
figure = plots.batch_membership(onp.stack(rows), row_labels, out_dir, "batch_membership",
                                title="%d examples, batch size %d" % (FIGURE_EXAMPLES, FIGURE_BATCH_SIZE))

# %% [markdown]
# ## What we found

# %%
print("Seed %d, %d examples, batch size %d:" % (seed, num_examples, batch_size))
once = [name for name, summary in found.items() if all(summary["seen_exactly_once"])]
if len(once) == len(found):
    print("All three iterators show every example exactly once per epoch.")
else:
    print("Only %s show every example exactly once per epoch: %s do NOT."
          % (" and ".join(once) or "none", " and ".join(sorted(set(found) - set(once)))))
kept = [name for name, summary in found.items() if summary["pairs_intact"]]
print("%s keep each example's features with its label." % ("All three" if len(kept) == len(found) else
                                                            "Only " + (" and ".join(kept) or "none")))
fixed = {name: summary["same_position_epochs_1_2"] for name, summary in found.items()}
if all(summary["orders_differ"] for summary in found.values()):
    print("Each deals epoch 2 in a new order; the same example stayed in the same place %s times (independent"
          " shuffles: about 1)." % ", ".join(str(count) for count in fixed.values()))
else:
    print("%s dealt epoch 2 in the same order as epoch 1." % " and ".join(
        name for name, summary in found.items() if not summary["orders_differ"]))
print("Batch size sets how many updates an epoch buys: %d at B=%d, %d at B=%d (%s)."
      % (table[0]["keep"], table[0]["batch_size"], table[-1]["keep"], table[-1]["batch_size"],
         "counting agrees with ceil(n/B)" if counted_ok else "counting DISAGREES with ceil(n/B)"))
keep, discard = partial["keep"], partial["discard"]
if left_over == 0:
    print("%d divides %d: no partial batch, so keep and discard deal the same %d full batches."
          % (partial_batch_size, num_examples, keep["batches"]))
else:
    print("%d examples in batches of %d leave %d over: keep deals them as a last batch of %d, discard leaves out %d"
          " each epoch, %s." % (num_examples, partial_batch_size, left_over, keep["last_batch_size"],
                               discard["left_out_per_epoch"][0],
                               "a different set each time" if discard["left_out_differ"] else "the same ones"))

# %%
findings = {
    "seed": seed, "num_examples": num_examples, "batch_size": batch_size, "num_epochs": num_epochs,
    "iterators": found, "updates_table": table, "table_examples": TABLE_EXAMPLES,
    "partial_batch_size": partial_batch_size, "left_over": left_over, "partial_batch": partial,
    "figures": [figure],
}

# %% [markdown]
# ## Exercises
# 1. Call `data_iter` twice with generators seeded alike (`onp.random.default_rng(5)`). Are the two
#    epochs the same? Why is that useful when you hunt a bug, and why would it be bad in training?
# 2. Build `loading.data_loader(features, house.labels, 10, shuffle=False)` and train with it
#    (`training.fit`, lesson 4). Does the loss curve change? (Hint: the data were generated in random order.)
# 3. With 1000 examples, which batch sizes leave no partial batch? Which leave one of size 1, and why
#    could a batch of one example be a problem for a noisy gradient?
