"""Sharp and flat minima (lesson 9): the largest Hessian eigenvalue checked before it is believed,
Keskar et al.'s ε-sharpness, the loss along lines through parameter space, and paired comparisons.

Keskar, Mudigere, Nocedal, Smelyanskiy, Tang (2016), "On large-batch training for deep learning:
generalization gap and sharp minima": with the box C_ε = {y : |y_i| <= ε(|x_i| + 1)},
φ_ε(x) = 100 · (max_{y ∈ C_ε} f(x + y) − f(x)) / (1 + f(x)).
"""
import dataclasses

import numpy as onp

from . import hessian

SYMMETRY_TOL = 1e-6  # |u·Hv − v·Hu| / (‖Hu‖ + ‖Hv‖) above this: the products are not a Hessian's


@dataclasses.dataclass
class Curvature:
    """λ_max from power iteration, and whether the Hessian-vector products it used can be believed."""

    top_eigenvalue: float  # the Rayleigh quotient of the last iterate
    vector: onp.ndarray  # its unit eigenvector
    asymmetry: float  # |u·Hv − v·Hu| / (‖Hu‖ + ‖Hv‖) for the top vector v and a random unit u
    trusted: bool  # products symmetric to SYMMETRY_TOL and λ_max > 0
    reason: str  # why not trusted ("" when trusted)


def top_curvature(hvp, size, num_iterations=30, rtol=1e-3, seed=0):
    """λ_max of the Hessian behind `hvp(v)` by power iteration (`hessian.top_eigenvalue`), then checked.

    A Hessian is symmetric, so u·(Hv) = v·(Hu); products by differences of gradients that straddle a
    kink (ReLU) break this, and can report a negative "largest" eigenvalue. Power iteration finds the
    eigenvalue largest in magnitude: a negative one means the point is not a minimum (or the products
    are wrong), and λ_max is refused rather than reported.
    """
    def products(runs, vectors):
        return onp.array([hvp(vector) for vector in vectors])

    return top_curvatures(products, size, [seed], num_iterations, rtol)[0]


def top_curvatures(hvps, size, seeds, num_iterations=30, rtol=1e-3):
    """`top_curvature` of several Hessians at once, one per seed: `hvps(runs, vectors)` gives H_r v for
    each run index r in `runs` and row v of `vectors` (`hessian.top_eigenvalues`), so every run's
    products, the checks' included, can come from one pass (lesson 9). A list of `Curvature`."""
    found = hessian.top_eigenvalues(hvps, size, seeds, num_iterations=num_iterations, rtol=rtol)
    others = [onp.random.default_rng(seed + 1).standard_normal(size) for seed in seeds]
    others = [other / onp.linalg.norm(other) for other in others]
    runs = list(range(len(seeds)))
    products = hvps(runs + runs, onp.array([vector for _, vector in found] + others))
    curvatures = []
    for (value, vector), other, hv, hu in zip(found, others, products[:len(runs)], products[len(runs):]):
        scale = float(onp.linalg.norm(hv) + onp.linalg.norm(hu))
        asymmetry = abs(float(other @ hv - vector @ hu)) / scale if scale > 0 else 0.0
        reason = ""
        if not asymmetry <= SYMMETRY_TOL:
            reason = f"the products are not symmetric ({asymmetry:.1e} > {SYMMETRY_TOL:g})"
        elif not value > 0:
            reason = f"the eigenvalue largest in magnitude is {value:.3g}, not positive"
        curvatures.append(Curvature(float(value), vector, asymmetry, not reason, reason))
    return curvatures


@dataclasses.dataclass
class PairedDifference:
    """second − first over paired runs (one pair per seed): mean, 95% interval, p-value, detectable size."""

    mean: float
    low: float  # the interval's ends (Student's t with n − 1 degrees of freedom)
    high: float
    p_value: float  # two-sided paired t-test of "no difference"
    detectable: float  # the smallest true |difference| this test finds with 80% power at this spread
    count: int

    @property
    def sign(self):
        """+1 or −1 when the interval excludes 0, else 0."""
        return 1 if self.low > 0 else -1 if self.high < 0 else 0


def paired_difference(first, second, level=0.95, power=0.8):
    """Compare paired measurements: the differences second − first, one per seed.

    Student's t and the noncentral t come from `scipy.special` (`stdtrit` and `stdtr`, equal to
    scipy.stats' t to the last digit; `nctdtr`, within 1e-7 of scipy.stats' nct for 1 to 19
    degrees of freedom): importing scipy.stats costs lesson 9 about 0.4 s more. The p-value and
    interval equal scipy.stats.ttest_rel's (tested).
    """
    from scipy import optimize, special

    differences = onp.asarray(second, onp.float64) - onp.asarray(first, onp.float64)
    count = differences.size
    if count < 2 or differences.shape != (count,):
        raise ValueError(f"need two equally long lists of at least 2 values, got shape {differences.shape}")
    mean, spread = float(differences.mean()), float(differences.std(ddof=1))
    error, freedom = spread / onp.sqrt(count), count - 1
    critical = float(special.stdtrit(freedom, 0.5 + level / 2))
    if error == 0:  # every pair differs by the same amount
        p_value = 1.0 if mean == 0 else 0.0
        return PairedDifference(mean, mean, mean, p_value, 0.0, count)
    p_value = float(2 * special.stdtr(freedom, -abs(mean) / error))

    def power_at(shift):  # the chance that |t| > critical when the true mean is shift * error
        return 1.0 - special.nctdtr(freedom, shift, critical) + special.nctdtr(freedom, shift, -critical) - power

    high = critical  # power is about one half when the true mean sits at the critical value
    while power_at(high) < 0:
        high *= 2
    shift = optimize.brentq(power_at, 0.0, high, xtol=1e-10)  # noncentral t: the t-test's exact power
    return PairedDifference(mean, mean - critical * error, mean + critical * error, p_value,
                            float(shift * error), count)


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
    from scipy.optimize import fmin_l_bfgs_b

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
    # scipy's L-BFGS-B, stopped only by max_iterations (factr, pgtol = 0); called as fmin_l_bfgs_b with
    # the box as plain pairs, since `minimize` converts its bounds element by element (~10 ms a start
    # at 10,000 parameters)
    box = [(-1.0, 1.0)] * x.size
    for start in starts:
        fmin_l_bfgs_b(negative, start, bounds=box, factr=0.0, pgtol=0.0, maxiter=max_iterations)
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


def direction_losses(value, theta, shapes, alphas, num_directions=4, seed=0, values=None):
    """value(θ + α·d_k) for `num_directions` filter-normalised random directions d_k (rows) and each α (columns);
    `shapes` cut θ into the parameters, as `hessian.BlockLoss.shapes`. `values`, if given, takes all the
    points at once, one per row (`digits.SameDataLoss.values`, lesson 9), instead of `value` one by one."""
    if isinstance(num_directions, bool) or not isinstance(num_directions, (int, onp.integer)) or num_directions < 1:
        raise ValueError("num_directions must be an integer >= 1, got %r" % (num_directions,))
    theta, alphas = onp.asarray(theta, dtype=onp.float64), onp.asarray(alphas, onp.float64)
    parts, rng = split(theta, shapes), onp.random.default_rng(seed)
    directions = [filter_normalized_direction(parts, seed=rng) for _ in range(num_directions)]
    points = onp.concatenate([theta + onp.outer(alphas, direction) for direction in directions])
    losses = losses_along(value, points) if values is None else onp.asarray(values(points), onp.float64)
    return losses.reshape(num_directions, len(alphas))


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
