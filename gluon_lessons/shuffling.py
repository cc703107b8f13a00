"""What a batch iterator hands out, epoch by epoch: which examples each batch holds and how often each is seen.

Lesson 2 (`gluon_lessons.lessons.lesson02_batches`) measures its hand-written iterator, the walkthrough's
`DataLoader` and `loading.ShuffledBatches` with these, after giving every example its row number as label.
"""
import numpy as onp


def _numpy(array):
    return array.asnumpy() if hasattr(array, "asnumpy") else onp.asarray(array)


def record_epochs(make_epoch, features, num_epochs):
    """(epochs, pairs_intact): per epoch the row numbers in each batch, read from labels that carry row numbers.

    `make_epoch()` returns one epoch's iterable of (X, y). `pairs_intact` says whether every X row equals
    `features[row]`, i.e. whether shuffling kept each example's features with its label.
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
    """(same order?, positions holding the same example, batches shared as sets) of two epochs."""
    order_a, order_b = onp.concatenate(first), onp.concatenate(second)
    same_order = len(order_a) == len(order_b) and bool(onp.array_equal(order_a, order_b))
    same_positions = int(onp.sum(order_a[:len(order_b)] == order_b[:len(order_a)]))
    sets_a = {frozenset(batch.tolist()) for batch in first}
    shared = sum(frozenset(batch.tolist()) in sets_a for batch in second)
    return same_order, same_positions, shared


def summarize(epochs, pairs_intact, num_examples):
    """One iterator's epochs in numbers (JSON-ready): batches, coverage, and how epochs 1 and 2 differ."""
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


def membership(epoch, num_examples):
    """For each example, the 0-based batch holding it in `epoch`, or -1 if none does."""
    batch_of = onp.full(num_examples, -1)
    for number, rows in enumerate(epoch):
        batch_of[rows] = number
    return batch_of
