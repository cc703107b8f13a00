"""Gradient noise of mini-batch SGD on linear regression: per-example gradients, noise scale, steps to a target.

Lesson 7 (`gluon_lessons.lessons.lesson07_batch_noise`) uses all of it. Losses are Gluon's `L2Loss`
(half the squared error) averaged over the data; w̃ = [w, b] and x̃ = [x, 1].
"""
import dataclasses
import math

import mxnet as mx
import numpy as onp
from mxnet import autograd, np, npx

from . import data as house_data
from . import checks, fused, landscape, loading, model, training

npx.set_np()


def correlated_house_prices(num_examples=1024, correlation=-0.8, price_noise=1.0, seed=0):
    """Standardized area and age with the given correlation; price = 2·area − 3.4·age + 4.2 + noise."""
    correlation = checks.number("correlation", correlation, -1.0, 1.0, low_open=True, high_open=True)
    base = house_data.synthetic_house_prices(num_examples, noise=price_noise, seed=seed)
    area, other = base.features[:, 0].astype(onp.float64), base.features[:, 1].astype(onp.float64)
    age = correlation * area + math.sqrt(1 - correlation ** 2) * other
    features = onp.stack([area, age], axis=1).astype(onp.float32)
    rng = onp.random.default_rng(seed + 1)
    labels = features.astype(onp.float64) @ onp.asarray(base.true_w) + base.true_b + rng.normal(0, price_noise, num_examples)
    return house_data.HouseData(features, labels.astype(onp.float32), base.feature_names, base.true_w, base.true_b,
                                price_noise, seed)


def per_example_gradients(features, labels, weight, bias):
    """Row i is the gradient of ½(x_i·w + b − y_i)² with respect to [w, b]: (x̃_i·w̃ − y_i) x̃_i."""
    X = landscape.design_matrix(features)
    residual = X @ onp.append(onp.ravel(weight), bias).astype(onp.float64) - onp.ravel(labels)
    return residual[:, None] * X


@dataclasses.dataclass
class NoiseScale:
    trace_sigma: float  # tr(Σ): summed variance of one example's gradient
    grad_norm_sq: float  # |G|²: squared norm of the full-data gradient
    b_simple: float  # tr(Σ) / |G|²


def exact_noise_scale(gradients):
    """B_simple = tr(Σ)/|G|² from all per-example gradients (Σ their covariance over the data)."""
    gradients = onp.asarray(gradients, onp.float64)
    mean = gradients.mean(axis=0)
    trace_sigma = float(((gradients - mean) ** 2).sum(axis=1).mean())
    grad_norm_sq = float(mean @ mean)
    return NoiseScale(trace_sigma, grad_norm_sq, trace_sigma / grad_norm_sq)


def two_batch_noise_scale(small_norms_sq, big_norms_sq, small_batch, big_batch):
    """McCandlish et al.'s estimator from |g|² of batches of two sizes (drawn with replacement).

    E|g_B|² = |G|² + tr(Σ)/B, so |G|² ≈ (B_big|g_big|² − B_small|g_small|²)/(B_big − B_small) and
    tr(Σ) ≈ (|g_small|² − |g_big|²)/(1/B_small − 1/B_big); each is averaged before taking the ratio.
    """
    if not 0 < small_batch < big_batch:
        raise ValueError("need 0 < small_batch < big_batch, got %r and %r" % (small_batch, big_batch))
    small, big = onp.mean(small_norms_sq), onp.mean(big_norms_sq)
    grad_norm_sq = (big_batch * big - small_batch * small) / (big_batch - small_batch)
    trace_sigma = (small - big) / (1.0 / small_batch - 1.0 / big_batch)
    return NoiseScale(float(trace_sigma), float(grad_norm_sq), float(trace_sigma / grad_norm_sq))


def two_batch_standard_error(small_norms_sq, big_norms_sq, small_batch, big_batch):
    """Standard error of `two_batch_noise_scale(...).b_simple` (delta method over paired draws)."""
    small, big = onp.asarray(small_norms_sq, float), onp.asarray(big_norms_sq, float)
    if small.shape != big.shape or small.size < 2:
        raise ValueError("need two equally long lists of at least two draws")
    g2 = (big_batch * big - small_batch * small) / (big_batch - small_batch)  # one estimate per pair
    tr = (small - big) / (1.0 / small_batch - 1.0 / big_batch)
    ratio = tr.mean() / g2.mean()
    influence = (tr - ratio * g2) / g2.mean()  # linearised ratio of means
    return float(influence.std(ddof=1) / math.sqrt(small.size))


ROWS_PER_PASS = 2 ** 18  # batch rows one autograd pass of `gluon_batch_gradients` holds (a few MB)


def gluon_batch_gradients(net, features, labels, batch_size, num_batches, rng):
    """`num_batches` mean gradients [w, b] of `L2Loss` from MXNet autograd, batches drawn with replacement.

    The draws go side by side: each gets its own copy of the `Dense(1)`'s weight and bias, so one
    backward pass gives every batch's gradient, as many passes of one batch each would.
    """
    batch_size = checks.integer("batch_size", batch_size, 1)
    num_batches = checks.integer("num_batches", num_batches, 1)
    weight, bias = net[0].weight, net[0].bias
    ctx = weight.list_ctx()[0]
    X_all = np.array(features, dtype="float32", ctx=ctx)
    y_all = np.array(labels, dtype="float32", ctx=ctx).reshape(-1)
    loss = model.l2_loss()
    rows = rng.integers(0, len(features), (num_batches, batch_size))  # the draws, one row each
    per_pass = max(1, ROWS_PER_PASS // batch_size)
    grads = []
    for first in range(0, num_batches, per_pass):
        taken = np.array(rows[first:first + per_pass], dtype="int32", ctx=ctx)  # (draws, B)
        X, y = np.take(X_all, taken, axis=0), np.take(y_all, taken, axis=0)  # (draws, B, d), (draws, B)
        w = np.repeat(weight.data(ctx), len(taken), axis=0)  # (draws, d): one weight per draw
        b = np.repeat(bias.data(ctx), len(taken), axis=0)  # (draws,)
        w.attach_grad()
        b.attach_grad()
        with autograd.record():
            y_hat = (X * w[:, None, :]).sum(axis=2) + b[:, None]  # Dense(1) of each draw
            l = loss(y_hat, y)  # (draws,): each batch's mean loss
        l.backward()
        grads.append(np.concatenate([w.grad, b.grad.reshape(-1, 1)], axis=1))
    return np.concatenate(grads).asnumpy().astype(onp.float64)


def net_at(weight, bias, ctx=None):
    """A `Dense(1)` holding the given weight and bias."""
    weight = onp.ravel(weight)
    net = model.linear_regression(ctx or mx.cpu(), num_inputs=len(weight), hybrid=True)
    net[0].weight.set_data(np.array(weight.reshape(1, -1), dtype="float32"))
    net[0].bias.set_data(np.array([bias], dtype="float32"))
    return net


def loglog_slope(x, y, weights=None):
    """Slope and its standard error of log y against log x (weighted least squares, weights = 1/var of log y)."""
    lx, ly = onp.log(onp.asarray(x, float)), onp.log(onp.asarray(y, float))
    w = onp.ones_like(lx) if weights is None else onp.asarray(weights, float)
    design_ = onp.stack([onp.ones_like(lx), lx], axis=1)
    normal = design_.T @ (w[:, None] * design_)
    coef = onp.linalg.solve(normal, design_.T @ (w * ly))
    return float(coef[1]), float(math.sqrt(onp.linalg.inv(normal)[1, 1]))


# Steps to a target loss -----------------------------------------------------------------------

class Quadratic:
    """The full-data mean L2Loss of linear regression as a quadratic form, cheap to evaluate along a path."""

    def __init__(self, features, labels):
        X, y = landscape.design_matrix(features), onp.asarray(labels, onp.float64).ravel()
        self.hessian = landscape.hessian(features)
        self.linear = X.T @ y / len(X)
        self.constant = float(y @ y / len(X))
        self.minimizer = onp.linalg.solve(self.hessian, self.linear)
        self.minimum = self(self.minimizer[None])[0]

    def __call__(self, params):
        """Loss at each row [w, b] of `params`."""
        params = onp.asarray(params, onp.float64)
        return 0.5 * (onp.einsum("ri,ij,rj->r", params, self.hessian, params) - 2 * params @ self.linear
                      + self.constant)

    @property
    def largest_stable_lr(self):
        """2/λ_max: full-batch gradient descent diverges beyond it."""
        return 2.0 / landscape.eigenvalues(self.hessian)[-1]


def descent_losses(quadratic, lrs, num_steps):
    """Full-batch gradient descent from w̃ = 0 in float64: the loss after each of `num_steps` steps, one row per lr."""
    lrs = onp.atleast_1d(onp.asarray(lrs, onp.float64))
    params = onp.zeros((len(lrs), len(quadratic.linear)))
    losses = onp.empty((len(lrs), num_steps))
    with onp.errstate(over="ignore", invalid="ignore"):  # past 2/λ_max the loss overflows: never reached
        for step in range(num_steps):
            params = params - lrs[:, None] * (params @ quadratic.hessian - quadratic.linear)
            losses[:, step] = quadratic(params)
    return losses


def descent_path(quadratic, lr, target, max_steps=10000):
    """Full-batch gradient descent from w̃ = 0 until the loss is at or below `target`: [w, b] after each step, from 0."""
    params = [onp.zeros(len(quadratic.linear))]
    while quadratic(params[-1][None])[0] > target and len(params) <= max_steps:
        params.append(params[-1] - lr * (quadratic.hessian @ params[-1] - quadratic.linear))
    return onp.array(params)


def ensemble_losses(features, labels, batch_size, lrs, num_steps, runs, segment=fused.STEPS_PER_GRAPH,
                    stop_below=None, groups=1, ctx=None):
    """Full-data loss after each of `num_steps` SGD updates from w̃ = 0, for `runs` shuffles; shape (runs, steps).

    `lrs` is one learning rate or one per step. Stops early (the rest NaN) once each of `groups` equal blocks
    of runs has reached `stop_below` (`group_steps`), or any run has diverged. Uses `fused.LinearRuns`,
    the course's fast path, which advances all runs in one graph call.
    """
    runs, groups = checks.integer("runs", runs, 1), checks.integer("groups", groups, 1)
    num_steps, segment = checks.integer("num_steps", num_steps, 1), checks.integer("segment", segment, 1)
    if runs % groups:
        raise ValueError(f"runs ({runs}) must split into {groups} equal groups")
    quadratic = Quadratic(features, labels)
    lrs = onp.broadcast_to(onp.asarray(lrs, onp.float32), (num_steps,))
    loading.check_examples(features, labels, batch_size)
    num_examples = len(features)
    per_epoch = loading.num_batches(num_examples, batch_size)
    X, y = (np.array(a, dtype="float32", ctx=ctx) for a in (features, onp.ravel(labels)))
    models = fused.LinearRuns(onp.zeros((runs, onp.shape(features)[1] + 1)), batch_size, ctx=ctx)
    losses = onp.full((runs, num_steps), onp.nan)
    start_loss = quadratic(onp.zeros((1, quadratic.hessian.shape[0])))[0]
    done = 0
    while done < num_steps:
        if done % per_epoch == 0:  # each run's new order, drawn as `loading.ShuffledBatches` draws it
            rows = fused.rows_array([onp.random.permutation(num_examples) for _ in range(runs)], models.ctx)
        count = min(segment, num_steps - done, per_epoch - done % per_epoch)
        start = (done % per_epoch) * batch_size
        _, path = models.run(X, y, rows[start:], count, lrs=lrs[done:done + count], record=True)
        losses[:, done:done + count] = quadratic(path.reshape(runs * count, -1)).reshape(runs, count)
        done += count
        mean = losses[:, done - 1].mean()
        if not onp.isfinite(mean) or mean > 1e6 * (1 + start_loss):
            break
        if stop_below is not None and all(map(math.isfinite, group_steps(losses[:, :done], stop_below, groups))):
            break
    return losses


SMOOTHING = 20  # the loss is averaged over runs and over the last 1/SMOOTHING of the steps so far


def smoothed_mean(losses):
    """Mean over runs, then over a trailing window of ⌈t/SMOOTHING⌉ steps: an estimate of the expected loss."""
    losses = onp.asarray(losses, float)
    mean = losses.mean(axis=0) if losses.ndim == 2 else losses
    steps = onp.arange(1, len(mean) + 1)
    window = onp.ceil(steps / SMOOTHING).astype(int)
    total = onp.concatenate([[0.0], onp.cumsum(mean)])  # NaN after an early stop stays NaN
    return (total[steps] - total[steps - window]) / window


def steps_to_reach(losses, target):
    """First step (1-based) at which `smoothed_mean(losses)` is at or below `target`; inf if never."""
    with onp.errstate(invalid="ignore"):
        hit = onp.flatnonzero(smoothed_mean(losses) <= target)
    return int(hit[0]) + 1 if hit.size else math.inf


def group_steps(losses, target, groups):
    """`steps_to_reach` of each of `groups` equal blocks of rows of `losses` (independent ensembles of runs)."""
    return [steps_to_reach(block, target) for block in onp.split(onp.asarray(losses), groups)]


def spread(values):
    """(median, smallest, largest) of repeated measurements; inf counts as larger than any number."""
    values = onp.sort(onp.asarray(values, float))
    return float(onp.median(values)), float(values[0]), float(values[-1])


def diverged_groups(losses, start_loss, groups):
    """For each of `groups` equal blocks of runs: did any end (last recorded step) above `start_loss`, or overflow?"""
    losses = onp.asarray(losses, float)
    recorded = onp.flatnonzero(~onp.isnan(losses).all(axis=0))
    last = losses[:, recorded[-1]] if recorded.size else onp.full(len(losses), onp.nan)
    return [bool(onp.any(~onp.isfinite(block) | (block > start_loss))) for block in onp.split(last, groups)]


def compare_spreads(values, reference, factor=1.5, diverged=()):
    """Repeated costs against a reference's: "within" factor x (all of them, even the reference's cheapest),
    "more" (all above factor x its dearest), else "inconclusive"; "diverged"/"stalled" when none reached."""
    values, reference = onp.asarray(values, float), onp.asarray(reference, float)
    if not onp.isfinite(values).any():
        return "diverged" if any(diverged) else "stalled"
    if values.max() <= factor * reference.min():
        return "within"
    if values.min() > factor * reference.max():
        return "more"
    return "inconclusive"


def fit_critical_batch(batch_sizes, steps):
    """Fit S = S_min (1 + B_crit / B) (relative least squares on S = a + b/B); return (S_min, B_crit)."""
    batch_sizes, steps = onp.asarray(batch_sizes, float), onp.asarray(steps, float)
    keep = onp.isfinite(steps)
    if keep.sum() < 2:
        raise ValueError("need steps for at least two batch sizes")
    b, s = batch_sizes[keep], steps[keep]
    design_ = onp.stack([onp.ones_like(b), 1.0 / b], axis=1) / s[:, None]
    s_min, slope = onp.linalg.lstsq(design_, onp.ones_like(s), rcond=None)[0]
    return float(s_min), float(slope / s_min)


def lr_grid(largest_stable_lr, per_octave=4, octaves=24):
    """Learning rates 2/λ_max · 2^(-(k - ½)/per_octave), k = 1, 2, ...: from just below the stability limit down.

    The half step keeps lr · 2^m (linear scaling from a grid point) off the limit itself."""
    return largest_stable_lr * 2.0 ** (-(onp.arange(1, per_octave * octaves + 1) - 0.5) / per_octave)


@dataclasses.dataclass
class Tuned:
    steps: float  # median over the repeats at the kept lr (inf if most never reached the target)
    lr: float  # the kept learning rate
    per_repeat: list  # steps of each repeat at that lr, on fresh shuffles
    tried: dict  # {lr: steps} of the search (one ensemble each)
    checked: dict  # {lr: median over repeats} of the search's best and the next smaller lr


def tuned_steps(features, labels, batch_sizes, target, runs=4, repeats=1, max_steps=4000, per_octave=4, ctx=None):
    """Fewest steps to `target` for each batch size over `lr_grid` (up to the stability limit 2/λ_max).

    Batch sizes are taken largest first. Each search starts where linear scaling from the previous
    batch size points (its best lr times the ratio of batch sizes) and walks the grid while the step
    count of one ensemble of `runs` falls; a run that has not beaten the best count by then is cut there
    (recorded as inf). The search's best and the next smaller lr are then run again, `repeats` fresh
    ensembles each, and the one with the lower median is kept: a lucky ensemble at a rate whose noise floor
    just touches the target cannot win. Returns {B: Tuned}.
    """
    grid = lr_grid(Quadratic(features, labels).largest_stable_lr, per_octave)
    results, previous = {}, None
    for batch_size in sorted(set(batch_sizes), reverse=True):
        if previous is None:
            start, first_cap = 0, max_steps
        else:
            steps, lr, size = previous
            shift = int(round(per_octave * math.log2(size / batch_size)))
            start = min(int(onp.argmin(abs(grid - lr))) + shift, len(grid) - 1)
            first_cap = int(min(max_steps, 2 * steps * size // batch_size + 20))
        tried = {}

        def steps_at(i, cap):
            if i not in tried:
                losses = ensemble_losses(features, labels, batch_size, grid[i], cap, runs, stop_below=target, ctx=ctx)
                tried[i] = steps_to_reach(losses, target)
            return tried[i]

        best_i, best = start, steps_at(start, first_cap)
        for direction in (1, -1):  # smaller learning rates first, then larger
            i = best_i + direction
            while 0 <= i < len(grid):
                steps = steps_at(i, int(best) if math.isfinite(best) else max_steps)
                if steps < best:
                    best_i, best = i, steps
                elif math.isfinite(best):
                    break
                i += direction
            if best_i != start:
                break  # it moved one way, so the other way is worse
        cap = int(min(max_steps, 3 * best + 20) if math.isfinite(best) else max_steps)
        checked = {}
        for i in sorted({best_i, min(best_i + 1, len(grid) - 1)}):
            again = ensemble_losses(features, labels, batch_size, grid[i], cap, runs * repeats, stop_below=target,
                                    groups=repeats, ctx=ctx)
            checked[i] = group_steps(again, target, repeats)
        kept = min(checked, key=lambda i: (spread(checked[i])[0], -i))  # a tie goes to the smaller lr
        results[batch_size] = Tuned(spread(checked[kept])[0], float(grid[kept]), checked[kept],
                                    {float(grid[i]): s for i, s in sorted(tried.items())},
                                    {float(grid[i]): spread(c)[0] for i, c in checked.items()})
        if math.isfinite(best):
            previous = (results[batch_size].steps if math.isfinite(results[batch_size].steps) else best,
                        float(grid[kept]), batch_size)
    return dict(sorted(results.items()))


def warmup_schedule(lr, base_lr, warmup_steps, num_steps):
    """Learning rate per step: linear from `base_lr` to `lr` over `warmup_steps`, then `lr`."""
    ramp = onp.linspace(base_lr, lr, warmup_steps + 1)[1:] if warmup_steps > 0 else onp.zeros(0)
    return onp.concatenate([ramp, onp.full(max(num_steps - len(ramp), 0), lr)])[:num_steps]


@dataclasses.dataclass
class Scaled:
    lr: float  # base_lr · B / base_batch
    warmup_steps: int  # updates of the linear warm-up from 0 (the same number of examples for every B)
    per_repeat: list  # steps to the target of each repeat (inf: diverged, or stalled above the target)
    diverged: list  # per repeat: whether its runs ended above the loss at w̃ = 0 (or overflowed)

    @property
    def steps(self):
        """Median over the repeats."""
        return spread(self.per_repeat)[0]


def scaled_steps(features, labels, batch_sizes, base_batch, base_lr, target, warmup_examples=0, runs=4, repeats=1,
                 max_steps=4000, ctx=None):
    """Steps to `target` with the linear scaling rule lr = base_lr · B / base_batch, the same for every B.

    With `warmup_examples` > 0 every run ramps its lr up linearly from 0 over the first ⌈warmup_examples/B⌉
    updates, the same amount of data for every batch size. The base batch size is run first; perfect
    scaling would then need base_steps · base_batch / B steps, and each other run is cut at 3x its
    slowest repeat plus the warm-up. Returns {B: Scaled}.
    """
    def run(batch_size, cap):
        lr = base_lr * batch_size / base_batch
        warmup = -(-warmup_examples // batch_size)
        schedule = warmup_schedule(lr, 0.0, warmup, cap)
        losses = ensemble_losses(features, labels, batch_size, schedule, cap, runs * repeats, stop_below=target,
                                 groups=repeats, ctx=ctx)
        return Scaled(float(lr), warmup, group_steps(losses, target, repeats), diverged_groups(losses, start, repeats))

    start = Quadratic(features, labels)(onp.zeros((1, onp.shape(features)[1] + 1)))[0]
    results = {base_batch: run(base_batch, max_steps)}
    slowest = max(results[base_batch].per_repeat)
    if not math.isfinite(slowest):
        raise ValueError("the base batch size %d does not reach the target at lr %g in %d steps"
                         % (base_batch, base_lr, max_steps))
    for batch_size in sorted(set(batch_sizes) - {base_batch}):
        cap = int(3 * slowest * base_batch / batch_size) + -(-warmup_examples // batch_size) + 10
        results[batch_size] = run(batch_size, min(cap, max_steps))
    return dict(sorted(results.items()))
