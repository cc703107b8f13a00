"""Shapes of a loss: the linear-regression Hessian and its eigenvalues, and small hand-made losses.

Lesson 5 (`gluon_lessons.lessons.lesson05_momentum`) predicts convergence rates from the eigenvalues of
house prices in practical units, draws paths over the loss's contours and rolls a ball over
`tilted_double_well` with `PositionLoss`.
"""
import numpy as onp
from mxnet import init, np, npx
from mxnet.gluon import nn

from . import data as house_data
from . import model

npx.set_np()


def _features(features):
    features = onp.asarray(features, dtype=onp.float64)
    if features.ndim != 2 or len(features) == 0:
        raise ValueError("features must be a non-empty (examples, features) table, got shape %s"
                         % (features.shape,))
    return features


def design_matrix(features):
    """X̃ = [X, 1] in float64: the bias is the weight of a column of ones."""
    features = _features(features)
    return onp.hstack([features, onp.ones((len(features), 1))])


def hessian(features):
    """A = X̃ᵀX̃ / n, the constant Hessian of the mean L2 loss ½(x̃·w̃ − y)² (parameters [w, b])."""
    design = design_matrix(features)
    return design.T @ design / len(design)


def gradient(features, labels, params):
    """A w̃ − X̃ᵀy / n: the gradient of the mean L2 loss at `params` = [w..., b]."""
    design = design_matrix(features)
    residual = design @ onp.asarray(params, onp.float64) - onp.ravel(labels).astype(onp.float64)
    return design.T @ residual / len(design)


def mean_loss(features, labels, params):
    """Mean of ½(x̃·w̃ − y)² in float64 at `params` = [w..., b]."""
    params = onp.asarray(params, onp.float64)
    return model.mean_l2_loss(_features(features), labels, params[:-1], params[-1])


def optimum(features, labels):
    """w̃* = [w*, b*], the least-squares parameters (float64 `lstsq`), where the gradient is zero."""
    weight, bias = model.least_squares(_features(features), labels)
    return onp.append(weight, bias)


def eigenvalues(matrix):
    """Eigenvalues of a symmetric matrix, smallest first."""
    matrix = onp.asarray(matrix, dtype=onp.float64)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or not onp.allclose(matrix, matrix.T):
        raise ValueError("need a symmetric square matrix, got shape %s" % (matrix.shape,))
    return onp.linalg.eigvalsh(matrix)


def condition_number(eigenvalues):
    """κ = λ_max / λ_min; needs all eigenvalues > 0 (a loss with a single minimum)."""
    eigenvalues = onp.sort(onp.ravel(eigenvalues).astype(onp.float64))
    if eigenvalues.size == 0 or eigenvalues[0] <= 0:
        raise ValueError("condition number needs positive eigenvalues, got %s" % (eigenvalues.tolist(),))
    return float(eigenvalues[-1] / eigenvalues[0])


def rescale(features, scales):
    """Each column times its scale: the same houses measured in other units."""
    features = _features(features)
    scales = onp.asarray(scales, dtype=onp.float64)
    if scales.shape != (features.shape[1],) or not onp.all(onp.isfinite(scales)) or onp.any(scales == 0):
        raise ValueError("need one finite, non-zero scale per feature column (%d), got %r"
                         % (features.shape[1], scales.tolist()))
    return features * scales


def practical_houses(num_examples=1000, seed=0, area_unit_m2=100.0, age_unit_years=10.0):
    """Lesson 1's raw houses with area in `area_unit_m2` and age in `age_unit_years`: (features, labels)."""
    raw = house_data.raw_house_prices(num_examples, seed=seed)
    return rescale(raw.features, [1.0 / area_unit_m2, 1.0 / age_unit_years]), raw.labels


def stretched_walkthrough(num_examples=1000, seed=0, stretch=10.0):
    """The walkthrough's standardized houses with the area column multiplied by `stretch`: (features, labels)."""
    walk = house_data.synthetic_house_prices(num_examples, seed=seed)
    return rescale(walk.features, [stretch, 1.0]), walk.labels


def excess_losses(features, points, optimum):
    """L(θ) − L* = ½ (θ − θ*)ᵀ A (θ − θ*) for each row θ of `points` (exact: the loss is quadratic)."""
    offsets = onp.atleast_2d(onp.asarray(points, onp.float64)) - optimum
    return 0.5 * onp.einsum("ki,ij,kj->k", offsets, hessian(features), offsets)


def loss_grid(features, optimum, points, size=200, pad=0.08):
    """(grid_w, grid_b, L − L*) on a `size` × `size` grid around `points` (two parameters), for contour plots."""
    points = onp.vstack([onp.asarray(points, onp.float64), onp.asarray(optimum, onp.float64)[None, :]])
    if points.shape[1] != 2:
        raise ValueError("a contour grid needs two parameters (one feature and the bias), got %d" % points.shape[1])
    low, high = points.min(axis=0), points.max(axis=0)
    margin = pad * (high - low)
    grid_w, grid_b = onp.meshgrid(onp.linspace(low[0] - margin[0], high[0] + margin[0], size),
                                  onp.linspace(low[1] - margin[1], high[1] + margin[1], size))
    values = excess_losses(features, onp.stack([grid_w.ravel(), grid_b.ravel()], axis=1), optimum)
    return grid_w, grid_b, values.reshape(grid_w.shape)


def tilted_double_well(w, tilt=0.3):
    """L(w) = w⁴/4 − w²/2 + tilt·w: a shallow dip on one side, a deeper valley on the other."""
    return w ** 4 / 4 - w ** 2 / 2 + tilt * w


def tilted_double_well_slope(w, tilt=0.3):
    """dL/dw = w³ − w + tilt."""
    return w ** 3 - w + tilt


def critical_points_of_double_well(tilt=0.3):
    """The real roots of w³ − w + tilt, smallest first."""
    roots = onp.roots([1.0, 0.0, -1.0, float(tilt)])
    return onp.sort(roots[onp.abs(roots.imag) < 1e-12].real)


class PositionLoss(nn.HybridBlock):
    """A loss of the block's own parameter `w` alone, `loss_of(w)`, whatever the batch (lesson 5).

    `loss_of` must use only arithmetic operators, so that it runs on NumPy and MXNet arrays alike.
    """

    def __init__(self, loss_of, start, dtype="float64"):
        super().__init__()
        start = onp.atleast_1d(onp.asarray(start, dtype=onp.float64))
        self.loss_of = loss_of
        self.w = self.params.get("w", shape=start.shape, dtype=dtype, init=init.Constant(np.array(start, dtype=dtype)))

    def hybrid_forward(self, F, X, w):
        return (X * 0).sum(axis=1) + self.loss_of(w).sum()  # the same loss for every row of the batch


def position_loss_value(value, y):
    """The `loss` for `training.fit` with a `PositionLoss`: the block's output is already the loss."""
    return value + 0 * y  # y is unused; touching it keeps Gluon from warning


def position_batches(num_steps, dtype="float64", ctx=None):
    """One dummy example repeated `num_steps` times: `training.fit` then takes `num_steps` updates of a `PositionLoss`."""
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, onp.integer)) or num_steps < 1:
        raise ValueError("num_steps must be an integer >= 1, got %r" % (num_steps,))
    X, y = np.zeros((1, 1), dtype=dtype, ctx=ctx), np.zeros((1,), dtype=dtype, ctx=ctx)
    return [(X, y)] * int(num_steps)
