"""Convergence of gradient descent, heavy-ball momentum and Nesterov on a quadratic: theory and measurement.

Lesson 5 (`gluon_lessons.lessons.lesson05_momentum`) checks each formula against MXNet's `Trainer`.
Update rules, as MXNet's `sgd` and `nag` apply them with learning rate η and momentum β:
heavy ball v ← βv − η∇L(w), w ← w + v; Nesterov evaluates the gradient at the look-ahead w + βv.
λ is always a curvature (an eigenvalue of the Hessian), κ = λ_max / λ_min.
"""
import collections
import math

import numpy as onp

from . import checks, landscape

Rate = collections.namedtuple("Rate", "rate first last")  # per-step factor, measured over steps first..last


def _eigenvalues(eigenvalues):
    eigenvalues = onp.sort(onp.ravel(onp.asarray(eigenvalues, dtype=onp.float64)))
    if eigenvalues.size == 0 or not onp.all(onp.isfinite(eigenvalues)) or eigenvalues[0] <= 0:
        raise ValueError("eigenvalues must be finite and > 0, got %s" % (eigenvalues.tolist(),))
    return eigenvalues


def _kappa(kappa):
    return checks.number("condition number", kappa, 1.0)


def _lr_momentum(lr, momentum):
    checks.positive("learning rate", lr)
    checks.fraction("momentum", momentum)


# Plain gradient descent: per eigenvalue λ the error is multiplied by 1 − ηλ each step.

def gd_best_lr(eigenvalues):
    """η = 2 / (λ_min + λ_max), which balances the slowest and the fastest direction."""
    eigenvalues = _eigenvalues(eigenvalues)
    return 2.0 / (eigenvalues[0] + eigenvalues[-1])


def gd_best_rate(kappa):
    """(κ − 1) / (κ + 1), the rate at the best step."""
    kappa = _kappa(kappa)
    return (kappa - 1) / (kappa + 1)


def gd_max_lr(eigenvalues):
    """Stability limit: gradient descent converges iff η λ_max < 2."""
    return 2.0 / _eigenvalues(eigenvalues)[-1]


def gd_rate(lr, eigenvalues):
    """max |1 − ηλᵢ|, the per-step factor for any step η (above 1: diverges)."""
    return heavy_ball_rate(lr, 0.0, eigenvalues)


# Heavy-ball momentum (MXNet's `sgd` with momentum): per eigenvalue a 2x2 step matrix.

def heavy_ball_matrix(lr, momentum, eigenvalue):
    """[[β, λ], [−ηβ, 1 − ηλ]]: one step of (velocity-like z, error w) along an eigenvector (Goh 2017)."""
    return onp.array([[momentum, eigenvalue], [-lr * momentum, 1.0 - lr * eigenvalue]])


def heavy_ball_rate(lr, momentum, eigenvalues):
    """Largest spectral radius of the per-eigenvalue step matrices: the exact rate for any η, β."""
    _lr_momentum(lr, momentum)
    return max(float(onp.max(onp.abs(onp.linalg.eigvals(heavy_ball_matrix(lr, momentum, value)))))
               for value in _eigenvalues(eigenvalues))


def heavy_ball_best(eigenvalues):
    """(η, β) = ((2 / (√λ_min + √λ_max))², ((√κ − 1) / (√κ + 1))²)."""
    eigenvalues = _eigenvalues(eigenvalues)
    low, high = math.sqrt(eigenvalues[0]), math.sqrt(eigenvalues[-1])
    return (2.0 / (low + high)) ** 2, ((high - low) / (high + low)) ** 2


def heavy_ball_best_rate(kappa):
    """(√κ − 1) / (√κ + 1), the rate at the best η, β."""
    root = math.sqrt(_kappa(kappa))
    return (root - 1) / (root + 1)


def heavy_ball_max_lr(momentum, eigenvalues):
    """Stability limit: heavy ball converges iff η λ_max < 2 + 2β."""
    _lr_momentum(1.0, momentum)
    return (2.0 + 2.0 * momentum) / _eigenvalues(eigenvalues)[-1]


# Nesterov (MXNet's `nag`): per eigenvalue the characteristic polynomial z² − (1+β)(1−ηλ) z + β(1−ηλ).

def nag_rate(lr, momentum, eigenvalues):
    """Largest root modulus over the eigenvalues: the exact rate of Nesterov for any η, β."""
    _lr_momentum(lr, momentum)
    return max(float(onp.max(onp.abs(onp.roots([1.0, -(1 + momentum) * (1 - lr * value),
                                                  momentum * (1 - lr * value)]))))
               for value in _eigenvalues(eigenvalues))


def nag_best(eigenvalues):
    """(η, β) = (4 / (3λ_max + λ_min), (√(3κ+1) − 2) / (√(3κ+1) + 2)) (Lessard, Recht, Packard 2016)."""
    eigenvalues = _eigenvalues(eigenvalues)
    root = math.sqrt(3 * eigenvalues[-1] / eigenvalues[0] + 1)
    return 4.0 / (3 * eigenvalues[-1] + eigenvalues[0]), (root - 2) / (root + 2)


def nag_best_rate(kappa):
    """1 − 2 / √(3κ + 1), the rate at those η, β."""
    return 1.0 - 2.0 / math.sqrt(3 * _kappa(kappa) + 1)


def nag_max_lr(momentum, eigenvalues):
    """Stability limit: Nesterov converges iff η λ_max < (2 + 2β) / (1 + 2β)."""
    _lr_momentum(1.0, momentum)
    return (2.0 + 2.0 * momentum) / ((1.0 + 2.0 * momentum) * _eigenvalues(eigenvalues)[-1])


def steps_per_digit(rate):
    """Steps to shrink the error tenfold at a per-step rate below 1: ln 10 / −ln rate."""
    if not 0 < rate < 1:
        raise ValueError("a rate per step must be in (0, 1) to shrink the error, got %r" % (rate,))
    return math.log(10) / -math.log(rate)


def best_settings(eigenvalues):
    """{"gd", "momentum", "nag"}: each method's best lr, momentum, optimizer name (MXNet's), best rate,
    stability limit `max_lr` and `steps` to run: gradient descent for 3.5 digits of its rate, heavy ball
    and Nesterov for 9 digits of the slower of the two, at least 50 (lesson 5)."""
    kappa = landscape.condition_number(eigenvalues)
    (hb_lr, hb_beta), (nag_lr, nag_beta) = heavy_ball_best(eigenvalues), nag_best(eigenvalues)
    best = {"gd": dict(lr=gd_best_lr(eigenvalues), momentum=0.0, optimizer="sgd", rate=gd_best_rate(kappa),
                       max_lr=gd_max_lr(eigenvalues)),
            "momentum": dict(lr=hb_lr, momentum=hb_beta, optimizer="sgd", rate=heavy_ball_best_rate(kappa),
                             max_lr=heavy_ball_max_lr(hb_beta, eigenvalues)),
            "nag": dict(lr=nag_lr, momentum=nag_beta, optimizer="nag", rate=nag_best_rate(kappa),
                        max_lr=nag_max_lr(nag_beta, eigenvalues))}
    slower = max(best["momentum"]["rate"], best["nag"]["rate"])
    for name, digits, rate in (("gd", 3.5, best["gd"]["rate"]), ("momentum", 9, slower), ("nag", 9, slower)):
        best[name]["steps"] = max(50, round(digits * steps_per_digit(rate)))
    return best


# Momentum as memory.

def momentum_weights(momentum, num_steps):
    """β^t for t = 0 .. num_steps − 1: the weight of the gradient from t steps ago."""
    _lr_momentum(1.0, momentum)
    return momentum ** onp.arange(num_steps, dtype=onp.float64)


def memory_steps(momentum):
    """1 / (1 − β): the sum of all weights β^t, how many steps momentum remembers."""
    _lr_momentum(1.0, momentum)
    return 1.0 / (1.0 - momentum)


def effective_lr(lr, momentum):
    """η / (1 − β): the step a steady gradient gets once the velocity has built up."""
    return lr * memory_steps(momentum)


def momentum_from_gradients(gradients, lr, momentum):
    """Row k: −η Σ_{i<k+1} β^(k−i) gᵢ, the velocity after k+1 steps from zero, summed term by term."""
    _lr_momentum(lr, momentum)
    gradients = onp.asarray(gradients, dtype=onp.float64)
    if gradients.ndim != 2:
        raise ValueError("gradients must be a (steps, parameters) table, got shape %s" % (gradients.shape,))
    return onp.array([-lr * sum(momentum ** (k - i) * gradients[i] for i in range(k + 1))
                      for k in range(len(gradients))])


def stationary_variance(lr, momentum, curvature, noise_variance):
    """Long-run variance of heavy ball along one direction of curvature λ when each gradient carries additive
    noise of variance s²: η s² (1+β) / ((1−β) λ (2(1+β) − ηλ)); β = 0 gives SGD's η s² / (λ (2 − ηλ))."""
    _lr_momentum(lr, momentum)
    if not (math.isfinite(curvature) and curvature > 0 and math.isfinite(noise_variance) and noise_variance >= 0):
        raise ValueError("need curvature > 0 and noise variance >= 0, got %r and %r" % (curvature, noise_variance))
    room = 2 * (1 + momentum) - lr * curvature
    if room <= 0:
        raise ValueError("η λ = %g is past the stability limit 2 + 2β = %g: no stationary variance"
                         % (lr * curvature, 2 + 2 * momentum))
    return lr * noise_variance * (1 + momentum) / ((1 - momentum) * curvature * room)


# Mini-batch noise on linear regression: the mean excess loss of SGD and heavy ball, exactly.
# With θ = θ* + e, a batch's mean gradient is A e plus noise of mean zero; when every batch is a fresh draw of
# B distinct examples its covariance is (n − B)/(B(n − 1)) · (mean_j uⱼuⱼᵀ − A eeᵀ A), uⱼ = x̃ⱼ(x̃ⱼ·e + ρⱼ),
# ρⱼ the residual at θ*. Averaged over e that needs only the moments below, so the first and second
# moments of (e, v) follow a linear recursion and E[L] − L* = ½ tr(A E[eeᵀ]) is exact at every step.

MinibatchNoise = collections.namedtuple("MinibatchNoise", "hessian fourth third residual scale optimum")


def minibatch_noise(features, labels, batch_size):
    """The data's moments that fix mini-batch gradient noise of the mean L2 loss at batch size B (lesson 7)."""
    design, n = landscape.design_matrix(features), len(features)  # X̃ = [X, 1]
    checks.integer("batch_size", batch_size, 1, n - 1)  # fewer than the n examples
    optimum = landscape.optimum(features, labels)
    residual = design @ optimum - onp.ravel(labels)  # ρⱼ; Σ x̃ⱼρⱼ = 0 at θ*
    return MinibatchNoise(
        hessian=landscape.hessian(features),
        fourth=onp.einsum("ja,jb,jc,jd->abcd", design, design, design, design) / n,
        third=onp.einsum("j,ja,jb,jc->abc", residual, design, design, design) / n,
        residual=onp.einsum("j,ja,jb->ab", residual ** 2, design, design) / n,
        scale=(n - batch_size) / (batch_size * (n - 1)), optimum=optimum)


def _gradient_noise(noise, mean, second):
    """Covariance of a batch gradient's noise averaged over e with E[e] = mean, E[eeᵀ] = second."""
    A, cross = noise.hessian, onp.einsum("abc,b->ac", noise.third, mean)
    return noise.scale * (onp.einsum("abcd,bc->ad", noise.fourth, second) - A @ second @ A
                          + noise.residual + cross + cross.T)


def _moment_step(noise, lr, step, mean, second):
    """E[zzᵀ] of z = (e, v) after one update v ← βv − η g, e ← e + v (`step`: its matrix M), the noise added."""
    d = len(noise.hessian)
    return step @ second @ step.T + lr ** 2 * onp.kron(onp.ones((2, 2)), _gradient_noise(noise, mean[:d], second[:d, :d]))


def _moment_operator(noise, lr, momentum):
    """The recursion as matrices: E[z'] = M E[z], vec E[z'z'ᵀ] = T vec E[zzᵀ] + C E[z] + q."""
    d = len(noise.hessian)
    size, identity = 2 * d, onp.eye(d)
    step = onp.block([[identity - lr * noise.hessian, momentum * identity], [-lr * noise.hessian, momentum * identity]])
    zero_mean, zero_second = onp.zeros(size), onp.zeros((size, size))
    residual = _moment_step(noise, lr, step, zero_mean, zero_second).ravel()
    second = onp.array([_moment_step(noise, lr, step, zero_mean, unit.reshape(size, size)).ravel() - residual
                        for unit in onp.eye(size * size)]).T
    mean = onp.array([_moment_step(noise, lr, step, unit, zero_second).ravel() - residual
                      for unit in onp.eye(size)]).T
    return step, second, mean, residual


def expected_excess_loss(noise, lr, momentum, start, num_steps):
    """E[L(θ_k)] − L* for k = 0 .. num_steps from θ_0 = `start`, velocity 0, each batch a fresh draw (exact)."""
    _lr_momentum(lr, momentum)
    d = len(noise.hessian)
    step, second_map, mean_map, residual = _moment_operator(noise, lr, momentum)
    offset = onp.asarray(start, onp.float64) - noise.optimum
    mean = onp.concatenate([offset, onp.zeros(d)])
    second = onp.outer(mean, mean).ravel()
    weights = onp.zeros((2 * d, 2 * d))
    weights[:d, :d] = 0.5 * noise.hessian
    weights = weights.ravel()  # E[L] − L* = ½ tr(A E[eeᵀ]) = weights · vec E[zzᵀ]
    curve = [weights @ second]
    for _ in range(int(num_steps)):
        mean, second = step @ mean, second_map @ second + mean_map @ mean + residual
        curve.append(weights @ second)
    return onp.array(curve)


def _second_moment_radius(second_map):
    return float(onp.max(onp.abs(onp.linalg.eigvals(second_map))))


def has_noise_floor(noise, lr, momentum):
    """True when E[L] − L* settles (the second moments contract), False when the noise makes it grow."""
    _lr_momentum(lr, momentum)
    return _second_moment_radius(_moment_operator(noise, lr, momentum)[1]) < 1


def stationary_excess_loss(noise, lr, momentum):
    """The long-run E[L] − L* (the fixed point of the recursion); ValueError if the noise makes it grow."""
    _lr_momentum(lr, momentum)
    d = len(noise.hessian)
    _, second_map, _, residual = _moment_operator(noise, lr, momentum)
    radius = _second_moment_radius(second_map)
    if radius >= 1:
        raise ValueError("η = %g, β = %g: the noise makes E[L] grow (factor %.4f per step)" % (lr, momentum, radius))
    second = onp.linalg.solve(onp.eye(len(residual)) - second_map, residual).reshape(2 * d, 2 * d)
    return float(0.5 * onp.trace(noise.hessian @ second[:d, :d]))


def settling_time(noise, lr, momentum):
    """Steps for the recursion's slowest mode to shrink 100-fold: a horizon by which E[L] has settled."""
    _lr_momentum(lr, momentum)
    radius = _second_moment_radius(_moment_operator(noise, lr, momentum)[1])
    if radius >= 1:
        raise ValueError("η = %g, β = %g: the noise makes E[L] grow (factor %.4f per step)" % (lr, momentum, radius))
    return int(math.ceil(math.log(100) / -math.log(radius)))


def smallest_reachable_excess(noise, start_excess, max_steps):
    """Roughly the lowest excess loss SGD at this batch size gets below within `max_steps` steps from
    `start_excess`, at its best constant step (lesson 7 refuses targets under it). The floor grows like
    c·η, so η must stay below target/c, and the flattest direction (curvature λ_min) then needs about
    ln(start/target) / (2ηλ_min) steps: target = c ln(start/target) / (2 λ_min max_steps), solved by
    iteration. Counts measured with a tuned step come out about half this estimate. Never below
    1e-9 of the start, about where float32 weights stop resolving the loss."""
    if not (math.isfinite(start_excess) and start_excess > 0):
        raise ValueError("start_excess must be a finite number > 0, got %r" % (start_excess,))
    curvatures = landscape.eigenvalues(noise.hessian)
    probe = 0.01 * 2 / curvatures[-1]  # far below the edge, where the floor is linear in η
    slope = stationary_excess_loss(noise, probe, 0.0) / probe
    target = min(start_excess, slope / (2 * curvatures[0] * max_steps))
    for _ in range(20):  # a contraction while target > slope / (2 λ_min max_steps)
        if target <= 1e-9 * start_excess:
            break
        target = min(start_excess, slope * max(1.0, math.log(start_excess / target))
                     / (2 * curvatures[0] * max_steps))
    return float(max(target, 1e-9 * start_excess))


def settling_step(curve, level, tolerance=0.01):
    """First step from which `curve` stays within `tolerance` (relative) of `level`."""
    curve = onp.asarray(curve, onp.float64)
    outside = onp.flatnonzero(onp.abs(curve - level) > tolerance * abs(level))
    if outside.size and outside[-1] == len(curve) - 1:
        raise ValueError("the curve has not settled within %g of %.4g after %d steps" % (tolerance, level, len(curve)))
    return int(outside[-1]) + 1 if outside.size else 0


def arrival_step(curve, target, window=10):
    """First step k from which the mean of the `window` steps ending at k stays below `target` to the curve's end;
    None if the curve ends above it. The mean smooths mini-batch noise and momentum's ringing."""
    curve = onp.asarray(curve, onp.float64)
    checks.integer("window", window, 1, len(curve))
    means = onp.convolve(curve, onp.ones(window) / window, mode="valid")  # means[j]: steps j .. j + window − 1
    above = onp.flatnonzero(~(means < target))
    if above.size and above[-1] == len(means) - 1:
        return None
    return int(above[-1]) + window if above.size else window - 1


# Measurement.

def measure_rate(errors, start=1e-1, stop=1e-9):
    """Per-step factor of a converging run: exp of the least-squares slope of log error, from the first step
    with error <= start·e₀ until the error drops below stop·e₀ or the run ends."""
    errors = onp.asarray(errors, dtype=onp.float64)
    if not (0 < stop < start <= 1):
        raise ValueError("need 0 < stop < start <= 1, got start=%r, stop=%r" % (start, stop))
    if errors.ndim != 1 or errors.size < 2 or not errors[0] > 0:
        raise ValueError("errors must be a sequence starting with a positive error")
    relative = errors / errors[0]
    below_start = onp.flatnonzero(relative <= start)
    if below_start.size == 0:
        raise ValueError("the error never fell to %g of its start (lowest %.3g): run more steps, or it diverges"
                         % (start, onp.nanmin(relative)))
    first = int(below_start[0])
    below_stop = onp.flatnonzero(~(relative[first:] >= stop))  # also stops at NaN
    last = first + int(below_stop[0]) - 1 if below_stop.size else len(errors) - 1
    if last - first < 4:
        raise ValueError("only %d steps between %g and %g of the starting error; run more steps"
                         % (last - first + 1, start, stop))
    return Rate(_slope_rate(errors, first, last), first, last)


def measure_growth(errors, skip=0.5):
    """Per-step factor over the last part of a run (after skipping the first `skip` fraction): above 1 it diverges."""
    errors = onp.asarray(errors, dtype=onp.float64)
    if not 0 <= skip < 1:
        raise ValueError("skip must be in [0, 1), got %r" % (skip,))
    first = int(len(errors) * skip)
    last = len(errors) - 1
    if last - first < 4 or not onp.all(onp.isfinite(errors[first:])) or onp.any(errors[first:] <= 0):
        raise ValueError("need at least 5 finite, positive errors after skipping %g of the run" % skip)
    return Rate(_slope_rate(errors, first, last), first, last)


def _slope_rate(errors, first, last):
    steps = onp.arange(first, last + 1)
    slope = onp.polyfit(steps, onp.log(errors[first:last + 1]), 1)[0]
    return float(onp.exp(slope))


def block_means(values, num_blocks):
    """Means of `num_blocks` consecutive equal blocks of `values` (the tail that does not fill a block dropped)."""
    values = onp.asarray(values, onp.float64).ravel()
    size = len(values) // num_blocks
    if num_blocks < 2 or size < 1:
        raise ValueError("need at least 2 blocks of at least 1 value, got %d values in %d blocks"
                         % (len(values), num_blocks))
    return values[:size * num_blocks].reshape(num_blocks, size).mean(axis=1)


def mean_with_error(values, num_blocks=10):
    """(mean, standard error) of a correlated series, from the spread of its block means (blocks >> correlation time)."""
    blocks = block_means(values, num_blocks)
    return float(blocks.mean()), float(blocks.std(ddof=1) / math.sqrt(num_blocks))


def ratio_with_error(top, bottom, num_blocks=10):
    """mean(top) / mean(bottom) of two series over the same steps, with a jackknife standard error over blocks."""
    top, bottom = block_means(top, num_blocks), block_means(bottom, num_blocks)
    ratio = top.mean() / bottom.mean()
    left_out = (top.sum() - top) / (bottom.sum() - bottom)
    error = math.sqrt((num_blocks - 1) / num_blocks * onp.sum((left_out - left_out.mean()) ** 2))
    return float(ratio), float(error)


def student_bound(num_blocks, confidence=0.99):
    """|z| below which a mean of `num_blocks` block means lies with probability `confidence` (Student's t,
    num_blocks − 1 degrees of freedom): the spread of a handful of blocks is itself uncertain."""
    from scipy.special import stdtrit  # the t quantile; scipy.stats would cost ~0.5 s more to import
    checks.integer("num_blocks", num_blocks, 2)
    return float(stdtrit(num_blocks - 1, 0.5 + confidence / 2))
