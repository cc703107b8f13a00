"""What the checks share: turning answers into arrays and saying how far apart two arrays are."""

import numpy as onp


def array(value, name="your answer"):
    """`value` (a number, list, NumPy or MXNet array) as a float64 NumPy array, or ValueError."""
    if hasattr(value, "asnumpy"):
        value = value.asnumpy()
    result = onp.asarray(value, dtype=onp.float64)
    if not onp.all(onp.isfinite(result)):
        raise ValueError(f"{name} holds NaN or infinity")
    return result


def close(answer, truth, rtol=1e-6, atol=1e-9):
    """True when `answer` has `truth`'s shape and agrees elementwise within rtol*|truth| + atol."""
    answer, truth = onp.asarray(answer, onp.float64), onp.asarray(truth, onp.float64)
    return answer.shape == truth.shape and bool(
        onp.all(onp.abs(answer - truth) <= rtol * onp.abs(truth) + atol)
    )


def ratio(answer, truth):
    """The median of answer/truth over the nonzero entries of truth (a scale error shows as a clean ratio)."""
    answer, truth = onp.ravel(answer).astype(onp.float64), onp.ravel(truth).astype(onp.float64)
    if answer.shape != truth.shape:
        return None
    mask = onp.abs(truth) > 1e-12
    return float(onp.median(answer[mask] / truth[mask])) if mask.any() else None


def near(value, target, rtol=0.02):
    return value is not None and abs(value - target) <= rtol * abs(target)


def worst(answer, truth):
    """The largest absolute difference, for the evidence a check prints."""
    return float(
        onp.max(onp.abs(onp.asarray(answer, onp.float64) - onp.asarray(truth, onp.float64)))
    )


def callable_answer(answer, what):
    if not callable(answer):
        raise ValueError(f"pass the function itself ({what}), not the result of calling it")
    return answer
