"""Lesson 8: the lecture's Hessian by hand, and naming a critical point from its eigenvalues."""

import numpy as onp

from . import _compare, exercise


def _gradient(w1, w2):
    """∇(1 − w₁w₂)² = −2(1 − w₁w₂)·(w₂, w₁)."""
    return -2.0 * (1.0 - w1 * w2) * onp.array([w2, w1])


@exercise(
    8,
    1,
    "the lecture's Hessian",
    """For L(w₁, w₂) = (1 − w₁w₂)², write `hessian(w1, w2)`
          returning the 2×2 Hessian at any point.""",
)
def hessian(answer):
    function = _compare.callable_answer(answer, "hessian")
    rng = onp.random.default_rng(6)
    points = [(0.0, 0.0), (1.0, 1.0)] + [tuple(rng.normal(size=2)) for _ in range(5)]
    step = 1e-5
    for w1, w2 in points:  # central differences of the gradient: the truth without the formula
        truth = onp.stack(
            [
                (_gradient(w1 + step, w2) - _gradient(w1 - step, w2)) / (2 * step),
                (_gradient(w1, w2 + step) - _gradient(w1, w2 - step)) / (2 * step),
            ],
            axis=1,
        )
        given = _compare.array(function(w1, w2))
        if given.shape != (2, 2):
            return False, f"return a 2×2 matrix, got shape {given.shape}"
        if _compare.close(given, truth, rtol=1e-6, atol=1e-6):
            continue
        if not onp.allclose(given, given.T):
            return False, "a Hessian of a smooth loss is symmetric: ∂²L/∂w₁∂w₂ = ∂²L/∂w₂∂w₁"
        if onp.allclose(onp.diag(given), onp.diag(truth), atol=1e-6):
            return (
                False,
                f"at ({w1:.3g}, {w2:.3g}) the diagonal is right, the off-diagonal is not: "
                "the product rule gives two terms",
            )
        return (
            False,
            f"at ({w1:.3g}, {w2:.3g}) your Hessian differs from finite differences of the "
            f"gradient by {_compare.worst(given, truth):.3g}",
        )
    return (
        True,
        "equal to central differences of the gradient at 7 points (the origin included) within 1e-6",
    )


KINDS = ("minimum", "maximum", "saddle", "degenerate")


def _kind(eigenvalues, tol):
    if onp.any(eigenvalues > tol) and onp.any(eigenvalues < -tol):
        return "saddle"  # a way down and a way up, whatever the flat directions do
    if onp.any(onp.abs(eigenvalues) <= tol):
        return "degenerate"
    return "minimum" if onp.all(eigenvalues > 0) else "maximum"


@exercise(
    8,
    2,
    "naming a critical point",
    """Write `kind(eigenvalues, tol)`: "minimum", "maximum",
          "saddle" (eigenvalues of both signs) or "degenerate" (no sign change, and some eigenvalue
          within tol of zero: the Hessian cannot decide).""",
)
def kind(answer):
    function = _compare.callable_answer(answer, "kind")
    rng = onp.random.default_rng(1)
    cases = [[2.0, 3.0], [-1.0, -4.0], [-2.0, 2.0], [0.0, 2.0], [1e-9, -3.0], [5.0, -1e-3, 2.0], [0.0, -1.0, 2.0]]
    cases += [list(rng.normal(size=4) * 3) for _ in range(20)]
    for eigenvalues in cases:
        truth = _kind(onp.array(eigenvalues), 1e-6)
        given = function(onp.array(eigenvalues), 1e-6)
        if given != truth:
            shown = ", ".join(f"{value:.3g}" for value in eigenvalues)
            return (
                False,
                f"eigenvalues [{shown}] with tol 1e-6: you said {given!r}; look at every sign; a zero decides only when no two signs differ",
            )
    return True, f"the right kind for {len(cases)} sets of eigenvalues, degenerate ones included"
