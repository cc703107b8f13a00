"""Lesson 2: updates per epoch, and an iterator that serves every example once per epoch."""

import math

import numpy as onp

from . import _compare, exercise


@exercise(
    2,
    1,
    "updates per epoch",
    """Write `updates_per_epoch(num_examples, batch_size, last_batch)`:
          how many updates one epoch makes when the last, partial batch is kept (last_batch="keep")
          or discarded ("discard").""",
)
def updates_per_epoch(answer):
    function = _compare.callable_answer(answer, "updates_per_epoch")
    cases = [
        (n, b, how)
        for n in (1, 7, 10, 999, 1000, 1001)
        for b in (1, 3, 10, 32, 1000, 2000)
        for how in ("keep", "discard")
    ]
    for n, b, how in cases:
        truth = (
            len(range(0, n, b)) if how == "keep" else n // b
        )  # batches that start / that are full
        given = function(n, b, how)
        if given != truth:
            hint = {
                "keep": "the partial batch at the end is an update too: ⌈n/B⌉",
                "discard": "only full batches remain: ⌊n/B⌋",
            }[how]
            return False, f"n={n}, B={b}, last_batch={how!r}: you gave {given!r}; {hint}"
    return (
        True,
        f"equal to the batches an epoch really starts on {len(cases)} (n, B, last_batch) cases",
    )


def _rows(batch):
    X, y = batch
    X = _compare.array(X, "a batch's X")
    y = _compare.array(y, "a batch's y").ravel()
    return X, y


@exercise(
    2,
    2,
    "an epoch iterator",
    """Write `data_iter(batch_size, features, labels, rng)`: a generator
          of (X, y) batches of one epoch in a random order drawn from `rng` (a NumPy Generator).""",
)
def epoch_iterator(answer):
    function = _compare.callable_answer(answer, "data_iter")
    num_examples, batch_size = 103, 10
    features = onp.arange(num_examples * 2, dtype=onp.float64).reshape(num_examples, 2)
    labels = onp.arange(num_examples, dtype=onp.float64)  # each label is its row number
    orders = []
    for seed in (0, 1, 0):
        batches = [
            _rows(batch)
            for batch in function(batch_size, features, labels, onp.random.default_rng(seed))
        ]
        sizes = [len(y) for _, y in batches]
        if sizes[:-1] != [batch_size] * (len(sizes) - 1) or not 0 < sizes[-1] <= batch_size:
            return False, f"batch sizes {sizes}: every batch holds {batch_size} rows but the last"
        rows = onp.concatenate([y for _, y in batches]).astype(int)
        if sorted(rows) != list(range(num_examples)):
            return (
                False,
                "one epoch must hold every example exactly once (some were missing or repeated)",
            )
        if not all(onp.array_equal(X, features[y.astype(int)]) for X, y in batches):
            return False, "shuffle rows, not columns: a label must stay with its own features"
        orders.append(rows)
    if onp.array_equal(orders[0], onp.arange(num_examples)):
        return False, "the epoch came in the original order: draw a permutation from rng"
    if onp.array_equal(orders[0], orders[1]) or not onp.array_equal(orders[0], orders[2]):
        return (
            False,
            "the order must come from `rng`: same seed, same order; another seed, another order",
        )
    return True, (
        f"every one of {num_examples} examples once per epoch in batches of {batch_size} (the last "
        f"{num_examples % batch_size}), labels with their rows, the order drawn from rng"
    )
