"""Sharp and flat minima: Keskar et al.'s ε-sharpness and the loss along a line through parameter space (lesson 9).

Keskar, Mudigere, Nocedal, Smelyanskiy, Tang (2016), "On large-batch training for deep learning:
generalization gap and sharp minima": with the box C_ε = {y : |y_i| <= ε(|x_i| + 1)},
φ_ε(x) = 100 · (max_{y ∈ C_ε} f(x + y) − f(x)) / (1 + f(x)).
"""
import dataclasses

import numpy as onp


def split(theta, shapes):
    """The flat vector θ cut into arrays of `shapes` (a `hessian.BlockLoss`'s parameter order)."""
    sizes = [int(onp.prod(shape)) for shape in shapes]
    theta = onp.asarray(theta, dtype=onp.float64)
    if theta.shape != (sum(sizes),):
        raise ValueError("theta must hold %d numbers, got shape %s" % (sum(sizes), theta.shape))
    return [part.reshape(shape) for part, shape in zip(onp.split(theta, onp.cumsum(sizes)[:-1]), shapes)]


def box_half_widths(x, epsilon):
    """ε(|x_i| + 1): Keskar's box scales with each parameter's size, so it means the same in any unit."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise ValueError("epsilon must be a number > 0, got %r" % (epsilon,))
    return epsilon * (onp.abs(onp.asarray(x, dtype=onp.float64)) + 1.0)


@dataclasses.dataclass
class Sharpness:
    phi: float  # 100 (f_max − f_x) / (1 + f_x)
    f_x: float  # the loss at x
    f_max: float  # the largest loss found in the box
    y: onp.ndarray  # the step that reached f_max
    first_order: float  # ∇f(x)·y: the part of the rise a straight slope would give (0 at an exact minimum)
    evaluations: int  # function + gradient evaluations spent by the search
    epsilon: float


def keskar_sharpness(value_and_grad, x, epsilon=1e-3, directions=(), max_iterations=20, random_starts=2, seed=0):
    """Keskar's φ_ε at `x`, the inner maximum found by L-BFGS-B with box bounds (scipy).

    `value_and_grad(x)` returns (f(x), ∇f(x)), e.g. a `hessian.BlockLoss`'s `value_and_gradient`.

    Search in z = y / half_width ∈ [−1, 1]^d (every coordinate on one scale). Starts: the corner sign(∇f(x))
    (first-order ascent; skipped where the gradient is exactly zero), the corners ±sign(v) for each of
    `directions` (e.g. the top Hessian eigenvector: second-order ascent), and `random_starts` points uniform
    in the box; each run takes at most `max_iterations` L-BFGS-B iterations and the best loss seen anywhere
    counts. A local search, so φ is a lower bound on the true maximum (maximizing even a convex quadratic
    over a box is NP-hard in general; its maximum sits at a corner).
    """
    from scipy.optimize import minimize

    for name, value, least in (("max_iterations", max_iterations, 1), ("random_starts", random_starts, 0)):
        if isinstance(value, bool) or not isinstance(value, (int, onp.integer)) or value < least:
            raise ValueError("%s must be an integer >= %d, got %r" % (name, least, value))
    x = onp.asarray(x, dtype=onp.float64)
    half = box_half_widths(x, epsilon)
    f_x, g_x = value_and_grad(x)
    best = {"f": f_x, "y": onp.zeros_like(x), "count": 1}

    def negative(z):
        y = half * z
        f, g = value_and_grad(x + y)
        best["count"] += 1
        if f > best["f"]:
            best["f"], best["y"] = f, y.copy()
        return -f, -g * half

    rng = onp.random.default_rng(seed)
    starts = [onp.where(g_x >= 0, 1.0, -1.0)] if onp.any(g_x != 0) else []
    for v in directions:
        corner = onp.where(onp.asarray(v).ravel() >= 0, 1.0, -1.0)
        if corner.shape != x.shape:
            raise ValueError("each direction needs %d entries, got %d" % (x.size, corner.size))
        starts += [corner, -corner]
    starts += [rng.uniform(-1, 1, x.shape) for _ in range(random_starts)]
    if not starts:
        raise ValueError("no start: the gradient is zero, no directions and random_starts=0")
    options = {"maxiter": max_iterations, "ftol": 0.0, "gtol": 0.0}
    for start in starts:
        minimize(negative, start, jac=True, method="L-BFGS-B", bounds=[(-1.0, 1.0)] * x.size, options=options)
    phi = 100.0 * (best["f"] - f_x) / (1.0 + f_x)
    return Sharpness(float(phi), float(f_x), float(best["f"]), best["y"], float(g_x @ best["y"]), best["count"],
                     float(epsilon))


def line(start, end, alphas):
    """Points (1 − α)·start + α·end, one row per α (α = 0 is `start`, 1 is `end`)."""
    start, end = onp.asarray(start, onp.float64), onp.asarray(end, onp.float64)
    if start.shape != end.shape:
        raise ValueError("start and end differ in shape: %s and %s" % (start.shape, end.shape))
    alphas = onp.asarray(alphas, dtype=onp.float64).reshape(-1, 1)
    return (1 - alphas) * start + alphas * end


def losses_along(value, points):
    """value(p) for each row p of `points`."""
    return onp.array([value(p) for p in points])


def direction_losses(value, theta, shapes, alphas, num_directions=4, seed=0):
    """value(θ + α·d_k) for `num_directions` filter-normalised random directions d_k (rows) and each α (columns);
    `shapes` cut θ into the parameters, as `hessian.BlockLoss.shapes`."""
    if isinstance(num_directions, bool) or not isinstance(num_directions, (int, onp.integer)) or num_directions < 1:
        raise ValueError("num_directions must be an integer >= 1, got %r" % (num_directions,))
    theta = onp.asarray(theta, dtype=onp.float64)
    parts, rng = split(theta, shapes), onp.random.default_rng(seed)
    rows = []
    for _ in range(num_directions):
        direction = filter_normalized_direction(parts, seed=rng)
        rows.append(losses_along(value, theta + onp.outer(onp.asarray(alphas, onp.float64), direction)))
    return onp.array(rows)


def filter_normalized_direction(parts, seed=0):
    """A random direction shaped like the parameters `parts`, each row of a weight matrix rescaled to that
    row's norm, vectors (biases) set to zero (Li et al. 2018), so a step α means the same in every layer.
    `seed`: an integer or a NumPy `Generator` to draw from."""
    rng = onp.random.default_rng(seed)
    pieces = []
    for weight in parts:
        weight = onp.asarray(weight, dtype=onp.float64)
        if weight.ndim < 2:
            pieces.append(onp.zeros(weight.size))
            continue
        rows = weight.reshape(weight.shape[0], -1)
        direction = rng.standard_normal(rows.shape)
        direction *= onp.linalg.norm(rows, axis=1, keepdims=True) / onp.linalg.norm(direction, axis=1, keepdims=True)
        pieces.append(direction.ravel())
    return onp.concatenate(pieces)
