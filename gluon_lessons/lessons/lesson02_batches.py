"""Lesson 2 — Batch, epoch, shuffle: a hand-written iterator, then Gluon's DataLoader.

What you will see: a mini-batch iterator written in ten lines, the walkthrough's
`DataLoader(shuffle=True)` and the course's fast in-memory batcher doing the same job;
a measurement that each epoch shows every example exactly once, in a new order; how many
updates an epoch holds for batch sizes from 1 to 1000; and what becomes of the last,
partial batch.

Run it:  gluon-lessons run batches        (or: python -m gluon_lessons.lessons.lesson02_batches)
"""
# %% [markdown]
# ## Setup
# One seed drives the data, the hand-written iterator's generator and the global RNG that
# Gluon's `DataLoader` shuffles with. Settings, with units:
# %%
import numpy as onp
from mxnet import np, npx

from gluon_lessons import data as house_data
from gluon_lessons import loading, plots
from gluon_lessons.lessons._common import heading, lesson_main, output_dir
from gluon_lessons.seeding import set_seed

npx.set_np()

SLUG = "batches"
TABLE_EXAMPLES = 1000  # examples behind the updates-per-epoch table
TABLE_BATCH_SIZES = (1, 10, 32, 100, 1000)  # examples per batch
PARTIAL_BATCH_SIZE = 32  # does not divide 1000: 31 full batches and 8 left over
FIGURE_EXAMPLES, FIGURE_BATCH_SIZE = 45, 10  # small enough to see every example in the figure


# %% [markdown]
# ## A mini-batch iterator by hand
# One epoch = one pass over the data. Shuffle the row numbers with a seeded generator, cut
# them into pieces of `batch_size`, and hand out the matching rows of `features` and `labels`.
# Each call of `data_iter` is one epoch, with a fresh order.
# %%
def batch_indices(num_examples, batch_size, rng, last_batch="keep"):
    """Row numbers of each batch of one epoch: a fresh permutation cut into `batch_size` pieces."""
    loading.num_batches(num_examples, batch_size, last_batch)  # validates batch_size and last_batch
    order = rng.permutation(num_examples)
    stop = num_examples if last_batch == "keep" else num_examples - num_examples % batch_size
    for start in range(0, stop, batch_size):
        yield order[start:start + batch_size]


def data_iter(batch_size, features, labels, rng, last_batch="keep"):
    """Yield (X, y) mini-batches of one epoch as MXNet arrays, in a new random order per call."""
    if len(features) != len(labels):
        raise ValueError("features have %d rows but labels %d" % (len(features), len(labels)))
    features, labels = onp.asarray(features), onp.asarray(labels)
    for indices in batch_indices(len(features), batch_size, rng, last_batch):
        yield np.array(features[indices]), np.array(labels[indices])


# %% [markdown]
# ## Measuring what an iterator does
# Swap each price for the example's row number: every batch then says which examples it
# holds. From that we count how often each example appears per epoch (it should be exactly
# once), check that features stayed paired with their row, and compare epoch orders.
# %%
def _numpy(array):
    return array.asnumpy() if hasattr(array, "asnumpy") else onp.asarray(array)


def record_epochs(make_epoch, features, num_epochs):
    """Per epoch, the row numbers in each batch; labels must carry row numbers.

    `make_epoch()` returns one epoch's iterable of (X, y). Also returns whether every X row
    equals `features[row]`, i.e. whether shuffling kept each example's features with it.
    """
    features = onp.asarray(features)
    epochs, pairs_intact = [], True
    for _ in range(num_epochs):
        batches = []
        for X, y in make_epoch():
            rows = onp.rint(_numpy(y)).astype(onp.int64).ravel()
            pairs_intact &= bool(onp.array_equal(_numpy(X), features[rows]))
            batches.append(rows)
        epochs.append(batches)
    return epochs, pairs_intact


def times_seen(epoch, num_examples):
    """How many times each example appears in one epoch's batches."""
    rows = onp.concatenate(epoch) if epoch else onp.zeros(0, onp.int64)
    return onp.bincount(rows, minlength=num_examples)


def compare_epochs(first, second):
    """How alike two epochs are: same overall order?, positions holding the same example, batches shared as sets."""
    order_a, order_b = onp.concatenate(first), onp.concatenate(second)
    same_order = len(order_a) == len(order_b) and bool(onp.array_equal(order_a, order_b))
    same_positions = int(onp.sum(order_a[:len(order_b)] == order_b[:len(order_a)]))
    sets_a = {frozenset(batch.tolist()) for batch in first}
    shared = sum(frozenset(batch.tolist()) in sets_a for batch in second)
    return same_order, same_positions, shared


def summarize(epochs, pairs_intact, num_examples):
    """JSON-ready findings about one iterator's epochs."""
    counts = [times_seen(epoch, num_examples) for epoch in epochs]
    same_order, same_positions, shared = compare_epochs(epochs[0], epochs[1])
    return {
        "batches_per_epoch": [len(epoch) for epoch in epochs],
        "last_batch_size": len(epochs[0][-1]),
        "seen_exactly_once": [bool(onp.all(c == 1)) for c in counts],
        "min_times_seen": [int(c.min()) for c in counts],
        "max_times_seen": [int(c.max()) for c in counts],
        "orders_differ": not same_order,
        "same_position_epochs_1_2": same_positions,
        "batches_shared_epochs_1_2": shared,
        "pairs_intact": pairs_intact,
    }


# %% [markdown]
# ## Updates per epoch
# Each batch is one update of the weights. An epoch of n examples holds ceil(n/B) updates
# when the last, smaller batch is kept and floor(n/B) when it is dropped: batch size 1 means
# a thousand small noisy steps per pass, batch size 1000 a single full-data step.
# %%
def updates_table(num_examples=TABLE_EXAMPLES, batch_sizes=TABLE_BATCH_SIZES):
    """Per batch size: updates per epoch from the formula and counted by iterating, kept and dropped."""
    features = onp.zeros((num_examples, 1), onp.float32)
    labels = onp.zeros(num_examples, onp.float32)
    rows = []
    for batch_size in batch_sizes:
        row = {"batch_size": batch_size}
        for last_batch in loading.LAST_BATCH:
            row[last_batch] = loading.num_batches(num_examples, batch_size, last_batch)
            counted = loading.ShuffledBatches(features, labels, batch_size, last_batch=last_batch)
            row[last_batch + "_counted"] = sum(1 for _ in counted)
        row["last_batch_size"] = num_examples - (row["keep"] - 1) * batch_size
        rows.append(row)
    return rows


# %% [markdown]
# ## The last, partial batch
# 1000 examples in batches of 32 leave 8 over. `last_batch="keep"` makes them a small 32nd
# batch (its gradient is averaged over 8, so it counts as much as a full one);
# `last_batch="discard"` drops them, a different 8 each epoch, so over many epochs nothing is
# lost for good. (Gluon's `DataLoader` also has `"rollover"`, which carries them into the
# next epoch.)
# %%
def partial_batch(features, row_ids, batch_size, num_epochs=2):
    """Measure `DataLoader` with the last batch kept and discarded: sizes, examples left out per epoch."""
    found = {}
    for last_batch in loading.LAST_BATCH:
        loader = loading.data_loader(features, row_ids, batch_size, last_batch=last_batch)
        epochs, _ = record_epochs(lambda: loader, features, num_epochs)
        left_out = [onp.flatnonzero(times_seen(epoch, len(features)) == 0) for epoch in epochs]
        found[last_batch] = {
            "batches": len(epochs[0]), "last_batch_size": len(epochs[0][-1]),
            "left_out_per_epoch": [len(rows) for rows in left_out],
            "left_out_differ": len(left_out) > 1 and not onp.array_equal(left_out[0], left_out[1]),
        }
    return found


# %% [markdown]
# ## A picture of shuffling
# 45 examples in batches of 10, coloured by the batch that holds them. Without shuffling the
# batches are fixed stripes; with it, each epoch deals the examples out anew. With
# `discard`, the white cells are the 5 examples that epoch skipped.
# %%
def membership(epoch, num_examples):
    """For each example, the 0-based batch holding it in `epoch`, or -1 if none does."""
    batch_of = onp.full(num_examples, -1)
    for number, rows in enumerate(epoch):
        batch_of[rows] = number
    return batch_of


def membership_figure(out, seed):
    """The figure's rows: no shuffle, data_iter epochs 1 and 2, DataLoader epochs 1 and 2, DataLoader discarding."""
    small = house_data.synthetic_house_prices(FIGURE_EXAMPLES, seed=seed)
    row_ids = onp.arange(FIGURE_EXAMPLES, dtype=onp.float32)
    rng = onp.random.default_rng(seed)
    B = FIGURE_BATCH_SIZE
    fixed = loading.data_loader(small.features, row_ids, B, shuffle=False)
    shuffled = loading.data_loader(small.features, row_ids, B)
    dropping = loading.data_loader(small.features, row_ids, B, last_batch="discard")
    rows = [record_epochs(lambda: fixed, small.features, 1)[0][0]]
    rows += record_epochs(lambda: data_iter(B, small.features, row_ids, rng), small.features, 2)[0]
    rows += record_epochs(lambda: shuffled, small.features, 2)[0]
    rows += record_epochs(lambda: dropping, small.features, 1)[0]
    labels = ["DataLoader, shuffle=False", "data_iter, epoch 1", "data_iter, epoch 2",
              "DataLoader, epoch 1", "DataLoader, epoch 2", "DataLoader, discard"]
    assignments = onp.stack([membership(epoch, FIGURE_EXAMPLES) for epoch in rows])
    return plots.batch_membership(assignments, labels, out, "batch_membership",
                                  title="%d examples, batch size %d" % (FIGURE_EXAMPLES, B))


def run(out_dir=None, seed=0, quick=False, num_examples=1000, batch_size=10, num_epochs=2):
    """Build three iterators, measure their epochs, tabulate updates per epoch; return the findings."""
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, int) or num_epochs < 2:
        raise ValueError("num_epochs must be an integer >= 2 to compare epochs, got %r" % (num_epochs,))
    loading.check_batch_size(batch_size)
    num_examples = 200 if quick else num_examples
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples < PARTIAL_BATCH_SIZE:
        raise ValueError("num_examples must be an integer >= %d (the partial-batch demo uses batches of %d), got %r"
                         % (PARTIAL_BATCH_SIZE, PARTIAL_BATCH_SIZE, num_examples))
    set_seed(seed)
    out = output_dir(SLUG, out_dir)
    house = house_data.synthetic_house_prices(num_examples, seed=seed)
    features = house.features
    row_ids = onp.arange(num_examples, dtype=onp.float32)  # in place of the price
    rng = onp.random.default_rng(seed)

    heading("One batch")
    X, y = next(data_iter(batch_size, features, house.labels, rng))
    print("  data_iter(batch_size=%d): X %s, y %s (%s, %s)" % (batch_size, X.shape, y.shape, type(X).__name__, X.dtype))
    print("  first rows of X: %s" % onp.array2string(X.asnumpy()[:3], precision=3, separator=", ").replace("\n", ""))

    heading("%d examples, batch size %d, %d epochs: what each iterator hands out" % (num_examples, batch_size, num_epochs))
    loader = loading.data_loader(features, row_ids, batch_size)  # re-iterable: a new shuffle per pass
    shuffled = loading.ShuffledBatches(features, row_ids, batch_size)
    iterators = {  # name -> what one epoch iterates over
        "data_iter": lambda: data_iter(batch_size, features, row_ids, rng),
        "DataLoader": lambda: loader,
        "ShuffledBatches": lambda: shuffled,
    }
    found = {}
    for name, make_epoch in iterators.items():
        epochs, pairs_intact = record_epochs(make_epoch, features, num_epochs)
        found[name] = summary = summarize(epochs, pairs_intact, num_examples)
        print("  %-15s %d batches/epoch; seen exactly once per epoch: %s; epoch 1 and 2 orders differ: %s"
              % (name, summary["batches_per_epoch"][0], summary["seen_exactly_once"], summary["orders_differ"]))
        print("  %-15s first batch, epoch 1: %s   epoch 2: %s"
              % ("", epochs[0][0][:6].tolist(), epochs[1][0][:6].tolist()))
        print("  %-15s same example at the same place in both epochs: %d of %d (random orders: about 1);"
              " batches shared: %d; features kept with their rows: %s"
              % ("", summary["same_position_epochs_1_2"], num_examples, summary["batches_shared_epochs_1_2"],
                 summary["pairs_intact"]))

    heading("Updates per epoch on %d examples" % TABLE_EXAMPLES)
    table = updates_table()
    print("  %10s  %12s  %15s  %15s" % ("batch size", "keep: ceil", "discard: floor", "last batch size"))
    for row in table:
        print("  %10d  %12d  %15d  %15d" % (row["batch_size"], row["keep"], row["discard"], row["last_batch_size"]))
    counted_ok = all(r["keep"] == r["keep_counted"] and r["discard"] == r["discard_counted"] for r in table)
    print("  counted by iterating ShuffledBatches: %s" % ("the same" if counted_ok else "DIFFERENT"))

    heading("The last partial batch: %d examples, batch size %d, DataLoader" % (num_examples, PARTIAL_BATCH_SIZE))
    partial = partial_batch(features, row_ids, PARTIAL_BATCH_SIZE)
    for last_batch, result in partial.items():
        print("  last_batch=%-8r %d batches, the last of %d examples; left out per epoch: %s; a different set each epoch: %s"
              % (last_batch, result["batches"], result["last_batch_size"], result["left_out_per_epoch"],
                 result["left_out_differ"]))

    figure = membership_figure(out, seed)
    print("\nFigure: %s" % figure)

    heading("What we found (seed %d)" % seed)
    every = all(all(f["seen_exactly_once"]) for f in found.values())
    print("  All three iterators show every example exactly once per epoch (%s), keep each example's"
          % ("measured" if every else "NOT so"))
    print("  features with it, and deal a new order every epoch. Batch size sets how many updates an epoch")
    print("  buys: %d at B=1, %d at B=%d." % (table[0]["keep"], table[-1]["keep"], table[-1]["batch_size"]))
    return {
        "num_examples": num_examples, "batch_size": batch_size, "num_epochs": num_epochs, "seed": seed,
        "iterators": found, "updates_table": table, "table_examples": TABLE_EXAMPLES,
        "partial_batch_size": PARTIAL_BATCH_SIZE, "partial_batch": partial, "figures": [figure],
    }


# %% [markdown]
# ## Exercises
# 1. Call `data_iter` twice with generators seeded alike. Are the two epochs the same? Why is
#    that useful when you hunt a bug, and why would it be bad in training?
# 2. Build `loading.data_loader(..., shuffle=False)` and train with it (`training.fit`). Does the
#    loss curve change? (Hint: the data here were generated in random order.)
# 3. With 1000 examples, which batch sizes leave no partial batch? Which leave one of size 1, and
#    why could a batch of one example be a problem for a noisy gradient?
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
