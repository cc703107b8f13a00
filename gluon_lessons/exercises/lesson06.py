"""Lesson 6: the time of an epoch from the time of an update."""

import math

import numpy as onp

from . import _compare, exercise


@exercise(
    6,
    1,
    "seconds per epoch",
    """An update on a batch of B examples costs fixed + per_example·B
          seconds. Write `epoch_seconds(num_examples, batch_size, fixed, per_example)`: the time of
          one epoch with the last, partial batch kept.""",
)
def epoch_seconds(answer):
    function = _compare.callable_answer(answer, "epoch_seconds")
    for n, b in ((1000, 10), (1000, 32), (60000, 1), (60000, 7), (5, 10)):
        fixed, per_example = 2e-4, 3e-6
        truth = sum(
            fixed + per_example * len(range(start, min(start + b, n))) for start in range(0, n, b)
        )
        given = float(_compare.array(function(n, b, fixed, per_example)))
        if _compare.close(given, truth, rtol=1e-9):
            continue
        if math.isclose(given, (n // b) * (fixed + per_example * b), rel_tol=1e-9):
            return False, f"n={n}, B={b}: the partial batch at the end is an update too"
        if math.isclose(given, math.ceil(n / b) * (fixed + per_example * b), rel_tol=1e-9):
            return False, f"n={n}, B={b}: the last batch holds only {n % b or b} examples, not {b}"
        return False, f"n={n}, B={b}: you gave {given:.6g} s"
    return (
        True,
        "equal to summing fixed + per_example·(rows) over the batches of 5 epochs, within 1e-9",
    )


@exercise(
    6,
    2,
    "fitting the time of an update",
    """Write `fit_update_time(batch_sizes, seconds)`
          returning (fixed, per_example): the least-squares line seconds ≈ fixed + per_example·B.""",
)
def fit_update_time(answer):
    function = _compare.callable_answer(answer, "fit_update_time")
    rng = onp.random.default_rng(4)
    batch_sizes = onp.array([1, 2, 4, 8, 16, 32, 64, 128, 256, 512], dtype=onp.float64)
    seconds = 1.5e-4 + 2e-6 * batch_sizes + rng.normal(scale=2e-6, size=batch_sizes.size)
    design = onp.stack([onp.ones_like(batch_sizes), batch_sizes], axis=1)
    truth = onp.linalg.lstsq(design, seconds, rcond=None)[0]
    given = function(batch_sizes.copy(), seconds.copy())
    if not isinstance(given, (tuple, list)) or len(given) != 2:
        return False, "return a pair: (fixed, per_example)"
    given = _compare.array(given)
    if _compare.close(given, truth, rtol=1e-6, atol=1e-12):
        return (
            True,
            f"equal to numpy's lstsq: fixed {truth[0]:.3g} s, per example {truth[1]:.3g} s (within 1e-6)",
        )
    if _compare.close(given[::-1], truth, rtol=1e-6, atol=1e-12):
        return False, "the order is (fixed, per_example): the intercept first"
    return (
        False,
        f"your line is off by up to {_compare.worst(given, truth):.3g}: fit seconds against [1, B] by least squares",
    )
