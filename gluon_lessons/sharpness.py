"""Sharp and flat minima: Keskar et al.'s ε-sharpness, the loss along a line, a block's loss over a flat vector (lesson 9).

Keskar, Mudigere, Nocedal, Smelyanskiy, Tang (2016), "On large-batch training for deep learning:
generalization gap and sharp minima": with the box C_ε = {y : |y_i| <= ε(|x_i| + 1)},
φ_ε(x) = 100 · (max_{y ∈ C_ε} f(x + y) − f(x)) / (1 + f(x)).
"""
import dataclasses

import numpy as onp
from mxnet import autograd, np, npx

npx.set_np()


class FlatLoss:
    """The mean loss of a Gluon block on fixed data, as a function of all its parameters in one float64 vector.

    Computes in the parameters' own dtype (cast the block to float64 first when tiny loss differences
    matter). Evaluating at x writes x into the block; `get()` reads the current parameters.
    """

    def __init__(self, net, loss, features, labels):
        self.net, self.loss = net, loss
        self.params = [p for p in net.collect_params().values() if p.grad_req != "null"]
        if not self.params:
            raise ValueError("the block has no trainable parameters")
        contexts = self.params[0].list_ctx()
        if len(contexts) != 1:
            raise ValueError("FlatLoss works on one device, the block lives on %d" % len(contexts))
        self.ctx, self.dtype = contexts[0], self.params[0].dtype
        self.shapes = [p.shape for p in self.params]
        self.sizes = [int(onp.prod(s)) for s in self.shapes]
        self.size = sum(self.sizes)
        self.X = np.array(features, dtype=self.dtype, ctx=self.ctx)
        self.y = np.array(labels, dtype=self.dtype, ctx=self.ctx)

    def get(self):
        return onp.concatenate([p.data(self.ctx).asnumpy().ravel() for p in self.params]).astype(onp.float64)

    def set(self, flat):
        flat = onp.asarray(flat, dtype=onp.float64)
        if flat.shape != (self.size,):
            raise ValueError("need a vector of %d parameters, got shape %s" % (self.size, flat.shape))
        for param, part in zip(self.params, onp.split(flat, onp.cumsum(self.sizes)[:-1])):
            param.set_data(np.array(part.reshape(param.shape), dtype=self.dtype, ctx=self.ctx))

    def value(self, flat):
        """f(x): the mean loss with the parameters set to `flat`."""
        self.set(flat)
        return float(self.loss(self.net(self.X), self.y).mean())

    def value_and_grad(self, flat):
        """(f(x), ∇f(x)) by autograd, the gradient as one float64 vector."""
        self.set(flat)
        with autograd.record():
            mean = self.loss(self.net(self.X), self.y).mean()
        mean.backward()
        grad = onp.concatenate([p.grad(self.ctx).asnumpy().ravel() for p in self.params])
        return float(mean), grad.astype(onp.float64)

    def gradient(self, flat):
        return self.value_and_grad(flat)[1]

    def split(self, flat):
        """`flat` cut into arrays shaped like the parameters (NumPy)."""
        flat = onp.asarray(flat, dtype=onp.float64)
        return [part.reshape(s) for part, s in zip(onp.split(flat, onp.cumsum(self.sizes)[:-1]), self.shapes)]


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
    evaluations: int  # function + gradient evaluations spent by the search
    epsilon: float


def keskar_sharpness(value_and_grad, x, epsilon=1e-3, directions=(), max_iterations=20, random_starts=2, seed=0):
    """Keskar's φ_ε at `x`, the inner maximum found by L-BFGS-B with box bounds (scipy).

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
    return Sharpness(float(phi), float(f_x), float(best["f"]), best["y"], best["count"], float(epsilon))


def power_iteration(hvp, size, num_iterations=100, tol=1e-6, seed=0):
    """(λ, v): the Hessian eigenvalue of largest magnitude and its unit eigenvector, from products v ↦ Hv.

    Stops when the Rayleigh quotient changes by less than `tol` relative, or after `num_iterations`.
    Near a minimum the Hessian is (almost) positive semi-definite, so this is the top eigenvalue.
    """
    if isinstance(num_iterations, bool) or not isinstance(num_iterations, (int, onp.integer)) or num_iterations < 1:
        raise ValueError("num_iterations must be an integer >= 1, got %r" % (num_iterations,))
    v = onp.random.default_rng(seed).standard_normal(size)
    v /= onp.linalg.norm(v)
    eigenvalue = None
    for iteration in range(1, num_iterations + 1):
        Hv = onp.asarray(hvp(v), dtype=onp.float64)
        new = float(v @ Hv)
        norm = onp.linalg.norm(Hv)
        if norm == 0:
            return 0.0, v, iteration
        v = Hv / norm
        if eigenvalue is not None and abs(new - eigenvalue) <= tol * max(abs(new), 1e-30):
            return new, v, iteration
        eigenvalue = new
    return eigenvalue, v, num_iterations


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


def filter_normalized_direction(parts, seed=0):
    """A random direction shaped like the parameters `parts`, each row of a weight matrix rescaled to that
    row's norm, vectors (biases) set to zero (Li et al. 2018), so a step α means the same in every layer."""
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
