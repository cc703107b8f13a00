# %% [markdown]
# # Lesson 2 — Batch, epoch, shuffle: a hand-written iterator and DataLoader
#
# What you will see: the lecture's three words made measurable. A *batch* is the handful of
# examples behind one update; an *epoch* is one pass over all of them; *shuffle* deals the batches
# anew every epoch. A mini-batch iterator written in ten lines, the walkthrough's
# `DataLoader(shuffle=True)` and the course's fast in-memory batcher are each checked to show every
# example exactly once per epoch, in a new order; then how many updates an epoch holds for batch
# sizes from 1 to 1000, what becomes of the last, partial batch, and a picture of shuffling.
#
# Run it: `gluon-lessons run batches` (about 1.5 s here; `--quick` in 1.5), or as a notebook:
# `gluon-lessons notebook 2`.

# %%
import numpy as onp
from mxnet import np, npx

from gluon_lessons import checks, loading, plots, shuffling
from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

npx.set_np()

# %% tags=["parameters"]
seed = 0                 # one seed for the data, data_iter and DataLoader's shuffles
num_examples = 1000      # examples in the data set
batch_size = 10          # examples per batch
num_epochs = 2           # epochs each iterator deals; epochs 1 and 2 are compared
partial_batch_size = 32  # batch size of the last-batch section (32 into 1000: 8 are left over)
out_dir = None           # None: figures show inline in a notebook; the command line saves them
QUICK = dict(num_examples=200)  # what --quick (and the tests) change; --set always wins

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
num_examples = checks.integer("num_examples", num_examples, 2, 100_000)
batch_size = checks.integer("batch_size", batch_size, 1, num_examples)
num_epochs = checks.integer("num_epochs", num_epochs, 2, 10)  # epochs 1 and 2 are compared
partial_batch_size = checks.integer("partial_batch_size", partial_batch_size, 1, num_examples)
set_seed(seed)
print(f"seed {seed}; {num_examples} examples, batch size {batch_size}, {num_epochs} epochs;"
      f" last-batch section: batches of {partial_batch_size}")
findings = {"seed": seed, "num_examples": num_examples, "batch_size": batch_size,
            "num_epochs": num_epochs, "partial_batch_size": partial_batch_size, "verdicts": {}}
verdicts = findings["verdicts"]

# %% [markdown]
# ## 1. Data whose labels say which example they are
# The walkthrough's houses: features (area, age) and a price. To *see* what an iterator hands out,
# we give it each example's row number in place of the price: every batch then tells us which
# examples it holds, and we can check the features still belong to that row.

# %%
house = house_data.synthetic_house_prices(num_examples, seed=seed)
features = house.features                               # (num_examples, 2), float32
row_ids = onp.arange(num_examples, dtype=onp.float32)   # in place of the price
print("features", features.shape, "; prices", house.labels.shape, "; row numbers", row_ids[:5],
      "...")

# %% [markdown]
# ## 2. A mini-batch iterator by hand
# One epoch = one pass over the data. Shuffle the row numbers with a seeded generator, cut them
# into pieces of `batch_size`, and hand out the matching rows of `features` and `labels`. Each
# call of `data_iter` is one epoch, in a fresh order. `last_batch="discard"` drops the smaller
# last piece.

# %%
def data_iter(batch_size, features, labels, rng, last_batch="keep"):
    """Yield (X, y) mini-batches of one epoch as MXNet arrays, in a new random order per call."""
    if len(features) != len(labels):
        raise ValueError(f"features have {len(features)} rows but labels {len(labels)}")
    loading.num_batches(len(features), batch_size, last_batch)  # refuses a bad batch_size
    features, labels = onp.asarray(features), onp.asarray(labels)
    order = rng.permutation(len(features))
    stop = len(features) if last_batch == "keep" else len(features) - len(features) % batch_size
    for start in range(0, stop, batch_size):
        rows = order[start:start + batch_size]
        yield np.array(features[rows]), np.array(labels[rows])


rng = onp.random.default_rng(seed)
X, y = next(data_iter(batch_size, features, house.labels, rng))
print(f"one batch: X {X.shape}, y {y.shape}, both {type(X).__name__} of {X.dtype}")
print("its first three examples:\n", X[:3], "\nprices", y[:3])

# %% [markdown]
# ## 3. What the hand-written iterator hands out, epoch by epoch
# We let it deal `num_epochs` epochs of row numbers and count: how many batches per epoch, how
# often each example appears in an epoch (it should be exactly once), whether epochs 1 and 2 come
# in different orders, and whether every batch's features are those of the rows it claims to
# hold (its feature–label pairs are intact). Two independent shuffles put the same example at
# the same place about once on average.

# %%
def judge(name, summary):
    """The three verdicts on one iterator, from what it dealt."""
    once = all(summary["seen_exactly_once"])
    verdicts[f"{name}_once"] = "exactly once" if once else "not exactly once"
    verdicts[f"{name}_pairs"] = "pairs intact" if summary["pairs_intact"] else "pairs mixed up"
    verdicts[f"{name}_order"] = "new order" if summary["orders_differ"] else "same order"


SAY_ITERATOR = "{name:15} each example {once} per epoch, {pairs}, epoch 2 in a {order}."


def show(name, epochs, summary):
    """Print what one iterator dealt, and its verdicts."""
    print(f"{name}: {summary['batches_per_epoch']} batches per epoch, the last of"
          f" {summary['last_batch_size']} examples")
    print(f"  times each example was seen, per epoch: min {summary['min_times_seen']},"
          f" max {summary['max_times_seen']}")
    print(f"  first batch, epoch 1: {epochs[0][0][:5].tolist()} ...  epoch 2:"
          f" {epochs[1][0][:5].tolist()} ...")
    print(f"  epochs 1 and 2: same example at the same place {summary['same_position_epochs_1_2']}"
          f" times of {num_examples}; batches shared {summary['batches_shared_epochs_1_2']}")
    judge(name, summary)
    print(SAY_ITERATOR.format(name=name, once=verdicts[f"{name}_once"],
                              pairs=verdicts[f"{name}_pairs"], order=verdicts[f"{name}_order"]))


found = {}
epochs, intact = shuffling.record_epochs(lambda: data_iter(batch_size, features, row_ids, rng),
                                         features, num_epochs)
found["data_iter"] = shuffling.summarize(epochs, intact, num_examples)
show("data_iter", epochs, found["data_iter"])

# %% [markdown]
# ## 4. Gluon's `DataLoader(shuffle=True)` and the course's `ShuffledBatches`
# The walkthrough wraps the arrays in an `ArrayDataset` and lets `DataLoader` deal them out. It
# shuffles with NumPy's global random generator, which `set_seed` seeded.
# `loading.ShuffledBatches` does the same job faster: it shuffles one copy of the data per epoch
# and cuts the batches from it as views instead of fetching and stacking examples one by one. The
# same measurements:

# %%
loaders = {"DataLoader": loading.data_loader(features, row_ids, batch_size),  # reshuffles per pass
           "ShuffledBatches": loading.ShuffledBatches(features, row_ids, batch_size)}
for name, loader in loaders.items():
    epochs, intact = shuffling.record_epochs(lambda: loader, features, num_epochs)
    found[name] = shuffling.summarize(epochs, intact, num_examples)
    show(name, epochs, found[name])
findings["iterators"] = found

# %% [markdown]
# ## 5. Updates per epoch
# Each batch is one update of the weights. An epoch of n examples holds ceil(n/B) updates when the
# last, smaller batch is kept and floor(n/B) when it is dropped: batch size 1 means a thousand
# small, noisy steps per pass over 1000 examples, batch size 1000 a single full-data step. We
# check the formula by iterating `ShuffledBatches` over 1000 examples and counting.

# %%
TABLE_EXAMPLES, TABLE_BATCH_SIZES = 1000, (1, 10, 32, 100, 1000)  # the walkthrough's 1000 examples
zeros = onp.zeros((TABLE_EXAMPLES, 1), onp.float32), onp.zeros(TABLE_EXAMPLES, onp.float32)
table = []
print(f"{'batch size':>10}  {'keep: ceil':>12}  {'discard: floor':>15}  {'last batch size':>15}")
for B in TABLE_BATCH_SIZES:
    row = {"batch_size": B}
    for last_batch in loading.LAST_BATCH:
        row[last_batch] = loading.num_batches(TABLE_EXAMPLES, B, last_batch)
        row[last_batch + "_counted"] = sum(1 for _ in loading.ShuffledBatches(*zeros, B,
                                                                           last_batch=last_batch))
    row["last_batch_size"] = TABLE_EXAMPLES - (row["keep"] - 1) * B
    table.append(row)
    print(f"{B:10d}  {row['keep']:12d}  {row['discard']:15d}  {row['last_batch_size']:15d}")
counted_ok = all(r["keep"] == r["keep_counted"] and r["discard"] == r["discard_counted"]
                 for r in table)
verdicts["updates_counted"] = "agrees" if counted_ok else "does not agree"
findings.update(updates_table=table, table_examples=TABLE_EXAMPLES,
                updates_at_smallest=table[0]["keep"], updates_at_largest=table[-1]["keep"])
SAY_COUNTED = {"agrees": "Counting the batches agrees with ceil(n/B) and floor(n/B).",
               "does not agree": "Counting the batches does NOT agree with ceil(n/B), floor(n/B)."}
print(SAY_COUNTED[verdicts["updates_counted"]])

# %% [markdown]
# ## 6. The last, partial batch
# When the batch size does not divide the number of examples, something is left over.
# `last_batch="keep"` makes the rest a smaller last batch (its gradient is averaged over fewer
# examples, yet the update counts as much as a full one); `last_batch="discard"` drops it — a
# different handful each epoch, so over many epochs nothing is lost for good. (Gluon's
# `DataLoader` also has `"rollover"`, which carries them into the next epoch.) Here with
# `DataLoader` and batches of `partial_batch_size`:

# %%
left_over = num_examples % partial_batch_size
print(f"{num_examples} examples = {num_examples // partial_batch_size} batches of"
      f" {partial_batch_size} + {left_over} left over")
partial = {}
for last_batch in loading.LAST_BATCH:
    loader = loading.data_loader(features, row_ids, partial_batch_size, last_batch=last_batch)
    epochs, _ = shuffling.record_epochs(lambda: loader, features, 2)
    left_out = [onp.flatnonzero(shuffling.times_seen(epoch, num_examples) == 0) for epoch in epochs]
    partial[last_batch] = {"batches": len(epochs[0]), "last_batch_size": len(epochs[0][-1]),
                           "left_out_per_epoch": [len(rows) for rows in left_out],
                           "left_out_differ": not onp.array_equal(left_out[0], left_out[1])}
    print(f"last_batch={last_batch!r:9} {partial[last_batch]['batches']} batches, the last of"
          f" {partial[last_batch]['last_batch_size']} examples; left out per epoch:"
          f" {partial[last_batch]['left_out_per_epoch']}")
    print(f"  e.g. {left_out[0][:5].tolist()} in epoch 1, {left_out[1][:5].tolist()} in epoch 2")

# %%
findings.update(left_over=left_over, partial_batch=partial,
                kept_last_batch=partial["keep"]["last_batch_size"],
                batches_without_remainder=partial["keep"]["batches"])
discard = partial["discard"]
if left_over == 0:
    verdicts["left_out"] = "nothing"
elif discard["left_out_differ"]:
    verdicts["left_out"] = "a new set each epoch"
else:
    verdicts["left_out"] = "the same set each epoch"
SAY_LEFT_OUT = {
    "nothing": "{partial_batch_size} divides {num_examples}: no partial batch, so keep and"
               " discard deal the same {batches_without_remainder} full batches.",
    "a new set each epoch": "{num_examples} examples in batches of {partial_batch_size} leave"
                            " {left_over} over: keep deals them as a last batch of"
                            " {kept_last_batch},\n  discard leaves out {left_over}, a new set"
                            " each epoch.",
    "the same set each epoch": "{num_examples} examples in batches of {partial_batch_size} leave"
                               " {left_over} over: discard leaves out the same ones every epoch.",
}
print(SAY_LEFT_OUT[verdicts["left_out"]].format(**findings))

# %% [markdown]
# ## 7. A picture of shuffling
# 45 examples in batches of 10, coloured by the batch that holds them. Without shuffling the
# batches are fixed stripes; with it, each epoch deals the examples out anew. With `discard`, the
# white cells are the 5 examples that epoch skipped.

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
    row_labels += [label] if count == 1 else [f"{label}, epoch {k}" for k in range(1, count + 1)]
findings["figures"] = [plots.batch_membership(
    onp.stack(rows), row_labels, out_dir, "batch_membership",
    title=f"{FIGURE_EXAMPLES} examples, batch size {FIGURE_BATCH_SIZE}")]

# %% [markdown]
# ## What we found

# %%
print(f"Seed {seed}, {num_examples} examples, batch size {batch_size}:")
for name in found:
    print(SAY_ITERATOR.format(name=name, once=verdicts[f"{name}_once"],
                              pairs=verdicts[f"{name}_pairs"], order=verdicts[f"{name}_order"]))
print(f"Batch size sets how many updates an epoch buys: {findings['updates_at_smallest']} at"
      f" B={TABLE_BATCH_SIZES[0]}, {findings['updates_at_largest']} at B={TABLE_BATCH_SIZES[-1]}.")
print(SAY_COUNTED[verdicts["updates_counted"]])
print(SAY_LEFT_OUT[verdicts["left_out"]].format(**findings))

# %% [markdown]
# ## Exercises
# 1. Call `data_iter` twice with generators seeded alike (`onp.random.default_rng(5)`). Are the
#    two epochs the same? Why is that useful when you hunt a bug, and why would it be bad in
#    training?
# 2. Build `loading.data_loader(features, house.labels, 10, shuffle=False)` and train with it
#    (`training.fit`, lesson 4). Does the loss curve change? (Hint: the data were generated in
#    random order.)
# 3. With 1000 examples, which batch sizes leave no partial batch? Which leave one of size 1, and
#    why could a batch of one example be a problem for a noisy gradient?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 2`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(2, number, answer)
