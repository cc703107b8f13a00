"""Lesson 3: the SGD step and the momentum step by hand, judged against MXNet's own optimizer."""

import mxnet as mx
import numpy as onp

from . import _compare, exercise


def _mxnet_sgd(weight, grad_sum, lr, batch_size, momentum=0.0, velocity=None):
    """One update of MXNet's `sgd` (as `Trainer.step(batch_size)` makes it): (weight, velocity)."""
    optimizer = mx.optimizer.SGD(learning_rate=lr, momentum=momentum, rescale_grad=1.0 / batch_size)
    w = mx.nd.array(weight, dtype="float64")
    state = optimizer.create_state(0, w)
    if state is not None and velocity is not None:
        state[:] = mx.nd.array(velocity, dtype="float64")
    optimizer.update(0, w, mx.nd.array(grad_sum, dtype="float64"), state)
    return w.asnumpy(), None if state is None else state.asnumpy()


def _cases(seed=5):
    rng = onp.random.default_rng(seed)
    for lr, batch_size in ((0.03, 10), (0.5, 1), (0.1, 64)):
        yield (
            rng.normal(size=3),
            rng.normal(size=3) * batch_size,
            rng.normal(size=3) * 0.1,
            lr,
            batch_size,
        )


@exercise(
    3,
    1,
    "the SGD step",
    """Write `sgd_step(w, grad_sum, lr, batch_size)` returning the new
          weights, where `grad_sum` is the gradient of the batch's summed loss (what autograd gives).""",
)
def sgd_step(answer):
    function = _compare.callable_answer(answer, "sgd_step")
    for w, grad_sum, _, lr, batch_size in _cases():
        truth, _ = _mxnet_sgd(w, grad_sum, lr, batch_size)
        given = _compare.array(function(w.copy(), grad_sum.copy(), lr, batch_size))
        if not _compare.close(given, truth):
            change = _compare.ratio(given - w, truth - w)
            if _compare.near(change, batch_size) and batch_size > 1:
                return (
                    False,
                    f"your step is {batch_size} (= B) times MXNet's: the gradient of the mean is grad_sum / B",
                )
            if _compare.near(change, -1.0):
                return False, "your step goes uphill: move against the gradient"
            return (
                False,
                f"for lr={lr}, B={batch_size} your weights differ from MXNet's sgd by "
                f"{_compare.worst(given, truth):.3g}",
            )
    return True, "equal to MXNet's `sgd` update with rescale_grad = 1/B on three cases, within 1e-6"


@exercise(
    3,
    2,
    "the momentum step",
    """Write `momentum_step(w, v, grad_sum, lr, beta, batch_size)`
          returning (new w, new v) as MXNet's `sgd` with momentum β makes them.""",
)
def momentum_step(answer):
    function = _compare.callable_answer(answer, "momentum_step")
    for w, grad_sum, v, lr, batch_size in _cases(7):
        beta = 0.9
        truth_w, truth_v = _mxnet_sgd(w, grad_sum, lr, batch_size, beta, v)
        given = function(w.copy(), v.copy(), grad_sum.copy(), lr, beta, batch_size)
        if not isinstance(given, (tuple, list)) or len(given) != 2:
            return False, "return two things: (new w, new v)"
        given_w, given_v = (_compare.array(item) for item in given)
        if _compare.close(given_w, truth_w) and _compare.close(given_v, truth_v):
            continue
        average = beta * v - (1 - beta) * lr * grad_sum / batch_size
        if _compare.close(given_v, average, rtol=1e-4) or _compare.close(
            -given_v, average, rtol=1e-4
        ):
            return (
                False,
                "that v is an average, (1 − β)-weighted; MXNet's velocity sums: v ← βv − η·g/B",
            )
        if _compare.close(given_v, truth_v) and not _compare.close(given_w, truth_w):
            return False, "your v is right; the weights then move by the new v: w ← w + v"
        return False, (
            f"for lr={lr}, β={beta}, B={batch_size}: v differs from MXNet's by "
            f"{_compare.worst(given_v, truth_v):.3g}, w by {_compare.worst(given_w, truth_w):.3g}"
        )
    return True, "(w, v) equal to MXNet's `sgd` with momentum 0.9 on three cases, within 1e-6"
