"""Lesson 5: momentum's state as a sum of past gradients, and the best heavy-ball settings."""

import mxnet as mx
import numpy as onp

from .. import convergence, landscape
from . import _compare, exercise


@exercise(
    5,
    1,
    "momentum as a sum",
    """Write `momentum_state(gradients, lr, beta)`: the velocity
          after len(gradients) steps of MXNet's `sgd` with momentum β, started from zero, as the
          lecture's weighted sum of the past gradients (rows of `gradients` are g₀, g₁, ...).""",
)
def momentum_state(answer):
    function = _compare.callable_answer(answer, "momentum_state")
    rng = onp.random.default_rng(2)
    for num_steps, lr, beta in ((1, 0.1, 0.9), (6, 0.05, 0.9), (12, 0.2, 0.5)):
        gradients = rng.normal(size=(num_steps, 3))
        optimizer = mx.optimizer.SGD(learning_rate=lr, momentum=beta)
        weight = mx.nd.zeros(3, dtype="float64")
        state = optimizer.create_state(0, weight)
        for gradient in gradients:  # MXNet's own update, one recorded gradient at a time
            optimizer.update(0, weight, mx.nd.array(gradient, dtype="float64"), state)
        truth = state.asnumpy()
        given = _compare.array(function(gradients.copy(), lr, beta))
        if _compare.close(given, truth):
            continue
        powers = beta ** onp.arange(num_steps)  # β^i on g_i: the oldest gradient weighted most
        if _compare.close(given, -lr * powers @ gradients) or _compare.close(
            given, lr * powers @ gradients
        ):
            return (
                False,
                "the newest gradient gets β⁰ = 1 and the oldest β^(k−1), not the other way round",
            )
        if _compare.near(_compare.ratio(given, truth), 1 - beta):
            return (
                False,
                "that is an average with weights (1 − β)β^i; MXNet's velocity is −η Σ β^(k−1−i) gᵢ",
            )
        if _compare.near(_compare.ratio(given, truth), -1.0):
            return False, "mind the sign: the velocity points against the gradients"
        return (
            False,
            f"{num_steps} steps, lr={lr}, β={beta}: your velocity differs from MXNet's by "
            f"{_compare.worst(given, truth):.3g}",
        )
    return (
        True,
        "equal to the state of MXNet's sgd after 1, 6 and 12 recorded gradients, within 1e-6",
    )


@exercise(
    5,
    2,
    "the best heavy ball",
    """For the houses in practical units
          (features `landscape.practical_houses()[0]`), give (lr, beta): the learning rate and momentum with
          which heavy ball converges fastest.""",
)
def best_heavy_ball(answer):
    if not isinstance(answer, (tuple, list)) or len(answer) != 2:
        return False, "pass a pair: (lr, beta)"
    lr, beta = (float(_compare.array(item)) for item in answer)
    if not (lr > 0 and 0 <= beta < 1):
        return False, f"need lr > 0 and 0 ≤ β < 1, got lr={lr:g}, β={beta:g}"
    eigenvalues = landscape.eigenvalues(landscape.hessian(landscape.practical_houses()[0]))
    kappa = landscape.condition_number(eigenvalues)
    best = convergence.heavy_ball_best_rate(kappa)  # (√κ − 1)/(√κ + 1), from theory
    rate = convergence.heavy_ball_rate(
        lr, beta, eigenvalues
    )  # the spectral radius of your settings
    if rate <= best * (1 + 1e-3):
        return (
            True,
            f"your settings converge at rate {rate:.5f}, theory's best (√κ−1)/(√κ+1) = {best:.5f} (κ = {kappa:.1f})",
        )
    if rate >= 1:
        return False, f"these settings diverge (rate {rate:.3f}): ηλ_max must stay below 2 + 2β"
    root = (onp.sqrt(kappa) - 1) / (onp.sqrt(kappa) + 1)
    if abs(beta - root) < 1e-3 * root:
        return False, "β is the square of (√κ − 1)/(√κ + 1), not that ratio itself"
    return (
        False,
        f"rate {rate:.5f} against the best {best:.5f}: both η and β follow from λ_min and λ_max",
    )
