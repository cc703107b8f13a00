"""Lesson 7: the variance of a mini-batch gradient, and the simple noise scale."""

import numpy as onp

from . import _compare, exercise


def _per_example_gradients(seed=8, num_examples=500):
    """Gradients of ½(x·w + b − y)² per example for correlated houses at a point away from the optimum."""
    rng = onp.random.default_rng(seed)
    X = rng.multivariate_normal([0, 0], [[1, -0.8], [-0.8, 1]], size=num_examples)
    y = X @ onp.array([2.0, -3.4]) + 4.2 + rng.normal(size=num_examples)
    residual = X @ onp.array([1.0, -1.0]) + 3.0 - y
    return onp.hstack([X * residual[:, None], residual[:, None]])  # rows: (∂w₁, ∂w₂, ∂b)


def _total_variance(gradients):
    centered = gradients - gradients.mean(axis=0)
    return float((centered**2).sum(axis=1).mean())  # tr(Σ), Σ the per-example covariance


@exercise(
    7,
    1,
    "the variance of a batch gradient",
    """Write `batch_gradient_variance(gradients,
          batch_size)`: the total variance (trace of the covariance) of the mean gradient of B
          examples drawn with replacement, from the per-example gradients (one row each).""",
)
def batch_gradient_variance(answer):
    function = _compare.callable_answer(answer, "batch_gradient_variance")
    gradients = _per_example_gradients()
    total = _total_variance(gradients)
    for batch_size in (1, 10, 100):
        truth = total / batch_size
        given = float(_compare.array(function(gradients.copy(), batch_size)))
        if _compare.close(given, truth, rtol=1e-6):
            continue
        scale = given / truth
        if _compare.near(scale, batch_size) and batch_size > 1:
            return (
                False,
                f"B={batch_size}: the mean of B independent draws has 1/B of one draw's variance",
            )
        if _compare.near(scale, len(gradients) / (len(gradients) - 1), rtol=1e-4):
            return (
                False,
                "that is the sample variance (n − 1); the draws are from these n gradients: divide by n",
            )
        return (
            False,
            f"B={batch_size}: you gave {given:.4g}; compute tr(Σ) / B with Σ the per-example covariance",
        )
    rng = onp.random.default_rng(0)
    draws = gradients[rng.integers(0, len(gradients), size=(20000, 10))].mean(axis=1)
    simulated = float(((draws - draws.mean(0)) ** 2).sum(axis=1).mean())
    return True, (
        f"equal to tr(Σ)/B for B = 1, 10, 100 within 1e-6; 20000 simulated batches of 10 give "
        f"{simulated:.4g} against {total / 10:.4g}"
    )


@exercise(
    7,
    2,
    "the simple noise scale",
    """Write `noise_scale(gradients)`: B_simple = tr(Σ) / |G|²
          from the per-example gradients (G their mean, Σ their covariance).""",
)
def noise_scale(answer):
    function = _compare.callable_answer(answer, "noise_scale")
    for seed in (8, 9):
        gradients = _per_example_gradients(seed)
        mean = gradients.mean(axis=0)
        truth = _total_variance(gradients) / float(mean @ mean)
        given = float(_compare.array(function(gradients.copy())))
        if _compare.close(given, truth, rtol=1e-6):
            continue
        if _compare.near(given, truth * onp.sqrt(mean @ mean), rtol=1e-4):
            return False, "divide by the squared length |G|², not the length |G|"
        if _compare.near(
            given, float((gradients**2).sum(axis=1).mean()) / float(mean @ mean), rtol=1e-4
        ):
            return False, "center the gradients first: Σ is their covariance, not their mean square"
        return False, f"you gave {given:.4g} for one set of gradients; B_simple = tr(Σ) / |G|²"
    return True, "equal to tr(Σ)/|G|² on two sets of per-example gradients within 1e-6"
