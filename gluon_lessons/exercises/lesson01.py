"""Lesson 1: how close least squares can get, and which half of standardizing shrinks κ."""

import numpy as onp

from .. import data, landscape
from . import _compare, exercise


@exercise(
    1,
    1,
    "standard errors",
    """Write `standard_errors(features, noise)` returning the standard
          deviation of each least-squares parameter (w..., b) over redraws of the noise.""",
)
def standard_errors(answer):
    function = _compare.callable_answer(answer, "standard_errors")
    rng = onp.random.default_rng(11)
    for num_examples, noise in ((50, 0.5), (400, 0.01), (12, 3.0)):
        features = rng.normal(size=(num_examples, 2)) * (1.0, 4.0) + (0.0, 2.0)
        design = landscape.design_matrix(features)
        truth = noise * onp.sqrt(onp.diag(onp.linalg.inv(design.T @ design)))
        given = _compare.array(function(features, noise))
        if given.shape != truth.shape:
            return False, (
                f"with 2 features give {len(truth)} values, one per weight and one for the "
                f"bias (got shape {given.shape})"
            )
        if not _compare.close(given, truth, rtol=1e-6):
            scale = _compare.ratio(given, truth)
            if _compare.near(scale, onp.sqrt(num_examples)) or _compare.near(
                scale, 1 / onp.sqrt(num_examples)
            ):
                return (
                    False,
                    f"off by a factor of about √n (n={num_examples}): use (X̃ᵀX̃)⁻¹, not (X̃ᵀX̃/n)⁻¹",
                )
            return False, (
                f"for n={num_examples}, noise={noise} your values differ by up to "
                f"{_compare.worst(given, truth):.3g}: noise × √[(X̃ᵀX̃)⁻¹]ᵢᵢ with X̃ = [X, 1]"
            )
    return True, "matches noise × √diag((X̃ᵀX̃)⁻¹) on three fresh data sets within 1e-6 (relative)"


CHOICES = ("centering", "scaling")


@exercise(
    1,
    2,
    "which half of standardizing",
    """Standardizing subtracts each column's mean
          ("centering") and divides by its standard deviation ("scaling"). On the raw-unit houses,
          which one alone makes κ smaller? Answer "centering" or "scaling".""",
)
def which_half(answer):
    if answer not in CHOICES:
        return False, f'answer "centering" or "scaling", got {answer!r}'
    raw = data.raw_house_prices(2000, seed=3).features
    kappa = {
        "centering": landscape.condition_number(
            landscape.eigenvalues(landscape.hessian(raw - raw.mean(0)))
        ),
        "scaling": landscape.condition_number(
            landscape.eigenvalues(landscape.hessian(raw / raw.std(0)))
        ),
    }
    best = min(kappa, key=kappa.get)
    if answer != best:
        return (
            False,
            f"compute κ of the Hessian for both: {answer} alone leaves κ = {kappa[answer]:.3g}",
        )
    other = CHOICES[1 - CHOICES.index(answer)]
    return True, f"{answer} alone gives κ = {kappa[answer]:.3g}, {other} alone {kappa[other]:.3g}"
