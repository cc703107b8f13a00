"""Lesson 10: the iRprop− rule and MXNet's RMSProp step, each run on the same gradients."""

import mxnet as mx
import numpy as onp

from . import _compare, exercise


def _irprop_minus(
    gradients, initial_step, eta_plus=1.2, eta_minus=0.5, step_min=1e-6, step_max=50.0
):
    """Weights (from 0) after each gradient under iRprop− (Igel & Hüsken 2000), written out plainly."""
    weight = onp.zeros(gradients.shape[1])
    step = onp.full(gradients.shape[1], initial_step)
    previous = onp.zeros(gradients.shape[1])
    path = []
    for gradient in gradients:
        agreement = onp.sign(gradient) * previous
        step = onp.clip(
            onp.where(
                agreement > 0, step * eta_plus, onp.where(agreement < 0, step * eta_minus, step)
            ),
            step_min,
            step_max,
        )
        gradient = onp.where(
            agreement < 0, 0.0, gradient
        )  # after a flip: no move, counted as 0 next time
        weight = weight - onp.sign(gradient) * step
        previous = onp.sign(gradient)
        path.append(weight.copy())
    return onp.array(path)


@exercise(
    10,
    1,
    "the iRprop− step",
    """Write `rprop_run(gradients, initial_step)`: starting from
          weights 0, apply iRprop− (×1.2 while a gradient keeps its sign, ×0.5 when it flips, steps in
          [1e-6, 50]; after a flip no move and the gradient counts as 0) to each row of `gradients` and
          return the weights after every step, one row each.""",
)
def rprop_run(answer):
    function = _compare.callable_answer(answer, "rprop_run")
    rng = onp.random.default_rng(10)
    gradients = onp.sign(rng.normal(size=(12, 3))) * rng.uniform(1e-3, 1e3, size=(12, 3))
    gradients[:5, 0] = 1.0  # one weight with a steady sign, so the step grows
    truth = _irprop_minus(gradients, 0.1)
    given = _compare.array(function(gradients.copy(), 0.1))
    if _compare.close(given, truth, rtol=1e-9, atol=1e-12):
        return (
            True,
            "equal, step by step, to iRprop− on 12 gradients of sizes 1e-3 to 1e3, within 1e-9",
        )
    if given.shape != truth.shape:
        return (
            False,
            f"return one row of weights per gradient: shape {truth.shape}, got {given.shape}",
        )
    first = int(onp.argmax(onp.any(onp.abs(given - truth) > 1e-9 + 1e-9 * onp.abs(truth), axis=1)))
    if first == 0:
        return (
            False,
            "the first step moves each weight by initial_step against the sign of its gradient",
        )
    flipped = onp.sign(gradients[first]) * onp.sign(gradients[first - 1]) < 0
    if flipped.any():
        return (
            False,
            f"step {first}: a gradient changed sign; iRprop− shrinks that step and does not move the weight",
        )
    return (
        False,
        f"step {first} differs: the step grows ×1.2 only while the sign is kept (and not right after a flip)",
    )


@exercise(
    10,
    2,
    "MXNet's RMSProp step",
    """Write `rmsprop_step(w, n, g, lr, gamma, eps)` returning
          (new w, new n) as MXNet's `rmsprop` makes them (gamma1 = γ, not centered).""",
)
def rmsprop_step(answer):
    function = _compare.callable_answer(answer, "rmsprop_step")
    rng = onp.random.default_rng(3)
    for lr, gamma, eps in ((0.01, 0.9, 1e-8), (0.1, 0.5, 1e-3)):
        w, n, g = (
            values.astype(onp.float32)
            for values in (rng.normal(size=4), rng.uniform(0, 2, size=4), rng.normal(size=4) * 10)
        )
        optimizer = mx.optimizer.RMSProp(learning_rate=lr, gamma1=gamma, epsilon=eps)
        weight = mx.nd.array(w, dtype="float32")  # MXNet's rmsprop keeps its state in float32
        state = optimizer.create_state(0, weight)
        state[0][:] = mx.nd.array(n, dtype="float32")  # (n,) when not centered
        optimizer.update(0, weight, mx.nd.array(g, dtype="float32"), state)
        given = function(w.copy(), n.copy(), g.copy(), lr, gamma, eps)
        if not isinstance(given, (tuple, list)) or len(given) != 2:
            return False, "return two things: (new w, new n)"
        given_w, given_n = (_compare.array(item) for item in given)
        truth_w, truth_n = weight.asnumpy(), state[0].asnumpy()
        if _compare.close(given_w, truth_w, 1e-5, 1e-6) and _compare.close(
            given_n, truth_n, 1e-5, 1e-6
        ):
            continue
        if _compare.close(given_n, gamma * g * g + (1 - gamma) * n, 1e-5, 1e-6):
            return False, "γ weighs the old average: n ← (1 − γ)g² + γn"
        if _compare.close(given_n, truth_n, 1e-5, 1e-6):
            return False, "n is right; the step divides by √(n + ε), with the new n"
        return (
            False,
            f"lr={lr}, γ={gamma}: w differs from MXNet's by {_compare.worst(given_w, truth_w):.3g}",
        )
    return (
        True,
        "(w, n) equal to MXNet's rmsprop update in two settings, within float32 rounding (1e-5)",
    )
