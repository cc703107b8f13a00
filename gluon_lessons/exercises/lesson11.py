"""Lesson 11: how a batch is split over devices, and the largest stable learning rate."""

import numpy as onp
from mxnet import gluon, np, npx

from .. import data, landscape
from . import _compare, exercise

npx.set_np()


@exercise(
    11,
    1,
    "a batch over devices",
    """Write `split_sizes(batch_size, num_devices)`: the rows
          each device gets when `gluon.utils.split_and_load(..., even_split=False)` splits a batch.""",
)
def split_sizes(answer):
    function = _compare.callable_answer(answer, "split_sizes")
    for batch_size, devices in ((10, 2), (10, 3), (7, 4), (4, 4), (100, 3), (5, 1), (10, 4)):
        rows = np.arange(batch_size)
        truth = [len(part) for part in gluon.utils.split_data(rows, devices, even_split=False)]
        given = list(function(batch_size, devices))
        if given != truth:
            if sum(given) != batch_size:
                return (
                    False,
                    f"B={batch_size} over {devices}: the parts must add up to the batch (yours: {sum(given)})",
                )
            return (
                False,
                f"B={batch_size} over {devices} devices: MXNet spreads the remainder, one more "
                "row each for the first devices",
            )
    return True, "the same sizes as MXNet's split_data for seven (batch, devices) pairs"


@exercise(
    11,
    2,
    "the largest stable learning rate",
    """Full-batch gradient descent on the
          walkthrough data (`data.walkthrough_data()`), L2 loss averaged: above which learning rate
          does it diverge? Answer a number.""",
)
def stability_limit(answer):
    lr = float(_compare.array(answer))
    house = data.walkthrough_data()
    eigenvalues = landscape.eigenvalues(landscape.hessian(house.features))
    truth = 2.0 / eigenvalues[-1]
    if abs(lr - truth) <= 1e-3 * truth:
        return (
            True,
            f"2/λ_max = {truth:.5f} (λ_max = {eigenvalues[-1]:.5f} of X̃ᵀX̃/n); your {lr:.5f}",
        )
    if abs(lr - 1.0 / eigenvalues[-1]) <= 1e-3 / eigenvalues[-1]:
        return (
            False,
            "that is where the fastest direction is solved in one step; it diverges only twice as far",
        )
    if abs(lr - 2.0 / eigenvalues[0]) <= 1e-3 * 2.0 / eigenvalues[0]:
        return False, "the steepest direction sets the limit: use the largest eigenvalue"
    return False, f"{lr:g} is not the edge: find the eigenvalues of the Hessian X̃ᵀX̃/n"
