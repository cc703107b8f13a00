"""Convergence of gradient descent, heavy-ball momentum and Nesterov on a quadratic: theory and measurement.

Lesson 5 (`gluon_lessons.lessons.lesson05_momentum`) checks each formula against MXNet's `Trainer`.
Update rules, as MXNet's `sgd` and `nag` apply them with learning rate α and momentum β:
heavy ball v ← βv − α∇L(w), w ← w + v; Nesterov evaluates the gradient at the look-ahead w + βv.
"""
import collections
import math

import numpy as onp

Rate = collections.namedtuple("Rate", "rate first last")  # per-step factor, measured over steps first..last


def _eigenvalues(eigenvalues):
    eigenvalues = onp.sort(onp.ravel(onp.asarray(eigenvalues, dtype=onp.float64)))
    if eigenvalues.size == 0 or not onp.all(onp.isfinite(eigenvalues)) or eigenvalues[0] <= 0:
        raise ValueError("eigenvalues must be finite and > 0, got %s" % (eigenvalues.tolist(),))
    return eigenvalues


def _kappa(kappa):
    if not (isinstance(kappa, (int, float, onp.floating, onp.integer)) and math.isfinite(kappa) and kappa >= 1):
        raise ValueError("condition number must be a finite number >= 1, got %r" % (kappa,))
    return float(kappa)


def _lr_momentum(lr, momentum):
    if not (math.isfinite(lr) and lr > 0):
        raise ValueError("learning rate must be a finite number > 0, got %r" % (lr,))
    if not (math.isfinite(momentum) and 0 <= momentum < 1):
        raise ValueError("momentum must be in [0, 1), got %r" % (momentum,))


# Plain gradient descent: per eigenvalue λ the error is multiplied by 1 − αλ each step.

def gd_best_lr(eigenvalues):
    """α = 2 / (λ_min + λ_max), which balances the slowest and the fastest direction."""
    eigenvalues = _eigenvalues(eigenvalues)
    return 2.0 / (eigenvalues[0] + eigenvalues[-1])


def gd_best_rate(kappa):
    """(κ − 1) / (κ + 1), the rate at the best step."""
    kappa = _kappa(kappa)
    return (kappa - 1) / (kappa + 1)


def gd_max_lr(eigenvalues):
    """Stability limit: gradient descent converges iff α λ_max < 2."""
    return 2.0 / _eigenvalues(eigenvalues)[-1]


def gd_rate(lr, eigenvalues):
    """max |1 − αλᵢ|, the per-step factor for any step α (above 1: diverges)."""
    return heavy_ball_rate(lr, 0.0, eigenvalues)


# Heavy-ball momentum (MXNet's `sgd` with momentum): per eigenvalue a 2x2 step matrix.

def heavy_ball_matrix(lr, momentum, eigenvalue):
    """[[β, λ], [−αβ, 1 − αλ]]: one step of (velocity-like z, error w) along an eigenvector (Goh 2017)."""
    return onp.array([[momentum, eigenvalue], [-lr * momentum, 1.0 - lr * eigenvalue]])


def heavy_ball_rate(lr, momentum, eigenvalues):
    """Largest spectral radius of the per-eigenvalue step matrices: the exact rate for any α, β."""
    _lr_momentum(lr, momentum)
    return max(float(onp.max(onp.abs(onp.linalg.eigvals(heavy_ball_matrix(lr, momentum, value)))))
               for value in _eigenvalues(eigenvalues))


def heavy_ball_best(eigenvalues):
    """(α, β) = ((2 / (√λ_min + √λ_max))², ((√κ − 1) / (√κ + 1))²)."""
    eigenvalues = _eigenvalues(eigenvalues)
    low, high = math.sqrt(eigenvalues[0]), math.sqrt(eigenvalues[-1])
    return (2.0 / (low + high)) ** 2, ((high - low) / (high + low)) ** 2


def heavy_ball_best_rate(kappa):
    """(√κ − 1) / (√κ + 1), the rate at the best α, β."""
    root = math.sqrt(_kappa(kappa))
    return (root - 1) / (root + 1)


def heavy_ball_max_lr(momentum, eigenvalues):
    """Stability limit: heavy ball converges iff α λ_max < 2 + 2β."""
    _lr_momentum(1.0, momentum)
    return (2.0 + 2.0 * momentum) / _eigenvalues(eigenvalues)[-1]


# Nesterov (MXNet's `nag`): per eigenvalue the characteristic polynomial z² − (1+β)(1−αλ) z + β(1−αλ).

def nag_rate(lr, momentum, eigenvalues):
    """Largest root modulus over the eigenvalues: the exact rate of Nesterov for any α, β."""
    _lr_momentum(lr, momentum)
    return max(float(onp.max(onp.abs(onp.roots([1.0, -(1 + momentum) * (1 - lr * value),
                                                  momentum * (1 - lr * value)]))))
               for value in _eigenvalues(eigenvalues))


def nag_best(eigenvalues):
    """(α, β) = (4 / (3λ_max + λ_min), (√(3κ+1) − 2) / (√(3κ+1) + 2)) (Lessard, Recht, Packard 2016)."""
    eigenvalues = _eigenvalues(eigenvalues)
    root = math.sqrt(3 * eigenvalues[-1] / eigenvalues[0] + 1)
    return 4.0 / (3 * eigenvalues[-1] + eigenvalues[0]), (root - 2) / (root + 2)


def nag_best_rate(kappa):
    """1 − 2 / √(3κ + 1), the rate at those α, β."""
    return 1.0 - 2.0 / math.sqrt(3 * _kappa(kappa) + 1)


def nag_max_lr(momentum, eigenvalues):
    """Stability limit: Nesterov converges iff α λ_max < (2 + 2β) / (1 + 2β)."""
    _lr_momentum(1.0, momentum)
    return (2.0 + 2.0 * momentum) / ((1.0 + 2.0 * momentum) * _eigenvalues(eigenvalues)[-1])


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
    """α / (1 − β): the step a steady gradient gets once the velocity has built up."""
    return lr * memory_steps(momentum)


def momentum_from_gradients(gradients, lr, momentum):
    """Row k: −α Σ_{i<k+1} β^(k−i) gᵢ, the velocity after k+1 steps from zero, summed term by term."""
    _lr_momentum(lr, momentum)
    gradients = onp.asarray(gradients, dtype=onp.float64)
    if gradients.ndim != 2:
        raise ValueError("gradients must be a (steps, parameters) table, got shape %s" % (gradients.shape,))
    return onp.array([-lr * sum(momentum ** (k - i) * gradients[i] for i in range(k + 1))
                      for k in range(len(gradients))])


def stationary_variance(lr, momentum, curvature, noise_variance):
    """Long-run variance of heavy ball along one direction of curvature λ when each gradient carries additive
    noise of variance s²: α s² (1+β) / ((1−β) λ (2(1+β) − αλ)); β = 0 gives SGD's α s² / (λ (2 − αλ))."""
    _lr_momentum(lr, momentum)
    if not (math.isfinite(curvature) and curvature > 0 and math.isfinite(noise_variance) and noise_variance >= 0):
        raise ValueError("need curvature > 0 and noise variance >= 0, got %r and %r" % (curvature, noise_variance))
    room = 2 * (1 + momentum) - lr * curvature
    if room <= 0:
        raise ValueError("α λ = %g is past the stability limit 2 + 2β = %g: no stationary variance"
                         % (lr * curvature, 2 + 2 * momentum))
    return lr * noise_variance * (1 + momentum) / ((1 - momentum) * curvature * room)


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
