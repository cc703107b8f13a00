"""Gradient noise against independent truths: the 1/B law, a population formula, two estimators, a fit.

Sampling tolerances are 4 standard errors computed from the samples themselves (for a normal
estimate a 4-s.e. miss has probability 6e-5); each test also checks that its standard error is small
enough for the comparison to mean something.
"""
import math

import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons import fused, model, noise

D, SIGMA = 3, 1.0
TRUE_W, TRUE_B = (2.0, -3.4, 1.0), 4.2


def _house(num_examples, seed=0):
    return house_data.synthetic_house_prices(num_examples, true_w=TRUE_W, true_b=TRUE_B, noise=SIGMA, seed=seed)


def test_per_example_gradients_average_to_gluons_batch_gradient():
    house = _house(64)
    weight, bias = onp.array([0.5, -1.0, 0.2]), 0.3
    per_example = noise.per_example_gradients(house.features, house.labels, weight, bias)
    net = noise.net_at(weight, bias)
    # Each of 3 batches of 5 rows drawn with replacement: its gradient is the mean over its rows.
    rng = onp.random.default_rng(0)
    grads = noise.gluon_batch_gradients(net, house.features, house.labels, 5, 3, rng)
    rows = onp.random.default_rng(0).integers(0, 64, 5 * 3).reshape(3, 5)
    onp.testing.assert_allclose(grads, per_example[rows].mean(axis=1), rtol=1e-5, atol=1e-5)


def test_exact_noise_scale_matches_the_population_formula():
    """For x ~ N(0, I_d) and w̃ − w̃* = (a, c): G = (a, c), tr Σ = |a|²(d+2) + c² d + σ²(d+1)."""
    house = _house(200_000, seed=1)
    a, c = onp.array([0.3, -0.2, 0.1]), 0.25
    grads = noise.per_example_gradients(house.features, house.labels, onp.add(TRUE_W, a), TRUE_B + c)
    found = noise.exact_noise_scale(grads)
    trace_truth = (a @ a) * (D + 2) + c * c * D + SIGMA ** 2 * (D + 1)
    norm_truth = a @ a + c * c
    centred = ((grads - grads.mean(axis=0)) ** 2).sum(axis=1)
    trace_error = centred.std() / math.sqrt(len(grads))
    mean = onp.append(a, c)
    norm_error = 2 * math.sqrt(mean @ onp.cov(grads.T) @ mean / len(grads))
    assert trace_error < 0.01 * trace_truth and norm_error < 0.05 * norm_truth
    assert abs(found.trace_sigma - trace_truth) < 4 * trace_error
    assert abs(found.grad_norm_sq - norm_truth) < 4 * norm_error
    assert found.b_simple == pytest.approx(found.trace_sigma / found.grad_norm_sq)


def test_minibatch_gradient_variance_falls_as_one_over_b():
    """Gluon's mini-batch gradients at a fixed point: E|g_B − G|² = tr(Σ)/B, slope −1 on log-log."""
    house = _house(2000, seed=2)
    weight, bias = onp.zeros(D), 0.0
    per_example = noise.per_example_gradients(house.features, house.labels, weight, bias)
    exact, full = noise.exact_noise_scale(per_example), per_example.mean(axis=0)
    net, rng = noise.net_at(weight, bias), onp.random.default_rng(3)
    sizes, draws = (1, 4, 16, 64, 256), 400
    measured, errors = [], []
    for batch_size in sizes:
        squared = ((noise.gluon_batch_gradients(net, house.features, house.labels, batch_size, draws, rng) - full) ** 2).sum(1)
        measured.append(squared.mean())
        errors.append(squared.std(ddof=1) / math.sqrt(draws))
        assert abs(measured[-1] - exact.trace_sigma / batch_size) < 4 * errors[-1]
    slope, slope_error = noise.loglog_slope(sizes, measured, [(m / e) ** 2 for m, e in zip(measured, errors)])
    assert slope_error < 0.05  # so the slope could tell −1 from, say, −0.8
    assert abs(slope + 1) < 4 * slope_error


def test_two_batch_estimator_agrees_with_the_exact_noise_scale():
    house = _house(4000, seed=4)
    weight, bias = onp.add(TRUE_W, [0.4, -0.3, 0.2]), TRUE_B - 0.3  # B_simple about 16
    exact = noise.exact_noise_scale(noise.per_example_gradients(house.features, house.labels, weight, bias))
    net, rng = noise.net_at(weight, bias), onp.random.default_rng(5)
    small = (noise.gluon_batch_gradients(net, house.features, house.labels, 8, 400, rng) ** 2).sum(axis=1)
    big = (noise.gluon_batch_gradients(net, house.features, house.labels, 256, 400, rng) ** 2).sum(axis=1)
    estimate = noise.two_batch_noise_scale(small, big, 8, 256)
    error = noise.two_batch_standard_error(small, big, 8, 256)
    assert 5 < exact.b_simple < 50
    assert error < 0.2 * exact.b_simple
    assert abs(estimate.b_simple - exact.b_simple) < 4 * error
    with pytest.raises(ValueError, match="small_batch < big_batch"):
        noise.two_batch_noise_scale(small, big, 256, 8)


def test_fit_recovers_s_min_and_b_crit():
    sizes = onp.array([1, 2, 4, 8, 16, 64, 256, 1024])
    s_min, b_crit = noise.fit_critical_batch(sizes, 12.0 * (1 + 50.0 / sizes))
    assert s_min == pytest.approx(12.0, rel=1e-9) and b_crit == pytest.approx(50.0, rel=1e-9)
    s_min, b_crit = noise.fit_critical_batch([1, 4, 16, 64], [510.0, 135.0, math.inf, 18.0])  # inf is left out
    assert math.isfinite(s_min) and b_crit > 0
    with pytest.raises(ValueError, match="two batch sizes"):
        noise.fit_critical_batch([1, 2], [math.inf, 3.0])


def test_quadratic_form_is_the_mean_l2_loss_and_smoothing_and_warmup_do_what_they_say():
    house = _house(300, seed=6)
    quadratic = noise.Quadratic(house.features, house.labels)
    point = onp.array([1.0, -2.0, 0.5, 3.0])
    assert quadratic(point[None])[0] == pytest.approx(
        model.mean_l2_loss(house.features, house.labels, point[:-1], point[-1]), rel=1e-10)
    ols_w, ols_b = model.least_squares(house.features, house.labels)
    onp.testing.assert_allclose(quadratic.minimizer, onp.append(ols_w, ols_b), rtol=1e-8)
    losses = onp.array([[4.0, 3.0, 2.0, 1.0, 1.0], [2.0, 3.0, 2.0, 1.0, 3.0]])
    onp.testing.assert_allclose(noise.smoothed_mean(losses), [3.0, 3.0, 2.0, 1.0, 2.0])
    assert noise.steps_to_reach(losses, 1.0) == 4 and noise.steps_to_reach(losses, 0.5) == math.inf
    onp.testing.assert_allclose(noise.warmup_schedule(1.0, 0.2, 4, 6), [0.4, 0.6, 0.8, 1.0, 1.0, 1.0])


def test_sgd_runs_reach_a_target_and_big_batches_need_fewer_steps():
    house = _house(256, seed=7)
    quadratic = noise.Quadratic(house.features, house.labels)
    target = quadratic.minimum + 0.05
    losses = noise.ensemble_losses(house.features, house.labels, 8, 0.1, 400, runs=2, stop_below=target)
    assert losses.shape == (2, 400) and onp.all(losses[:, 0] < quadratic(onp.zeros((1, D + 1)))[0])
    tuned = noise.tuned_steps(house.features, house.labels, (1, 16, 256), target, runs=2, repeats=2, max_steps=2000)
    assert tuned[1].steps > tuned[16].steps >= tuned[256].steps and tuned[1].lr <= tuned[256].lr
    assert all(len(t.per_repeat) == 2 and t.lr in t.tried for t in tuned.values())
    # batch 256 = all the data: every update is a full-batch gradient step, so the search's lr takes exactly
    # the steps gradient descent in float64 takes at it (float32 rounding cannot move a count of a few steps)
    descent = noise.descent_losses(quadratic, [tuned[256].lr], 100)[0]
    assert tuned[256].per_repeat == [noise.steps_to_reach(descent, target)] * 2


def test_correlated_house_prices_have_the_asked_correlation():
    house = noise.correlated_house_prices(20000, correlation=-0.8, price_noise=1.0)
    # the sample correlation's standard error is (1 − ρ²)/√n; 4 of them
    assert onp.corrcoef(house.features.T)[0, 1] == pytest.approx(-0.8, abs=4 * (1 - 0.64) / math.sqrt(20000))
    ols_w, ols_b = model.least_squares(house.features, house.labels)
    onp.testing.assert_allclose(ols_w, [2.0, -3.4], atol=4 / math.sqrt(20000 * (1 - 0.64)))  # noise 1, n = 20000
    with pytest.raises(ValueError, match="correlation"):
        noise.correlated_house_prices(10, correlation=1.0)


def test_descent_follows_the_closed_form_and_diverges_past_the_limit():
    """From 0, the error along each eigenvector of H shrinks by (1 − lr λ) per step."""
    house = _house(500, seed=8)
    quadratic = noise.Quadratic(house.features, house.labels)
    curvatures, vectors = onp.linalg.eigh(quadratic.hessian)
    start = vectors.T @ quadratic.minimizer
    limit = quadratic.largest_stable_lr
    assert limit == pytest.approx(2 / curvatures[-1])
    lrs = onp.array([0.3, 0.9, 1.2]) * limit
    losses = noise.descent_losses(quadratic, lrs, 30)
    k = onp.arange(1, 31)
    for lr, row in zip(lrs, losses):
        excess = 0.5 * ((1 - lr * curvatures[None, :]) ** (2 * k[:, None]) * curvatures * start ** 2).sum(axis=1)
        onp.testing.assert_allclose(row - quadratic.minimum, excess, rtol=1e-6, atol=1e-9)
    assert losses[2, -1] > losses[2, 0]  # past 2/λ_max the loss grows
    path = noise.descent_path(quadratic, 0.5 * limit, quadratic.minimum + 0.01)
    assert quadratic(path[-1:])[0] <= quadratic.minimum + 0.01 < quadratic(path[-2:-1])[0]
    onp.testing.assert_allclose(quadratic(path[1:]), noise.descent_losses(quadratic, 0.5 * limit, len(path) - 1)[0])


def test_lr_grid_runs_up_to_just_below_the_limit():
    grid = noise.lr_grid(2.0, per_octave=4)
    assert grid[0] == pytest.approx(2.0 * 2 ** -0.125) and 1.0 < grid[0] < 2.0
    onp.testing.assert_allclose(grid[:-1] / grid[1:], 2 ** 0.25)
    assert not onp.any(onp.isclose(onp.log2(grid[:, None] * 2.0 ** onp.arange(-20, 21) / 2.0) % 1, 0, atol=1e-9))


def test_groups_spreads_and_verdicts():
    losses = onp.array([[3.0, 1.0, 0.5, 0.2], [3.0, 2.0, 1.0, 0.2], [3.0, 3.0, 3.0, 3.0], [3.0, 3.0, 3.0, 3.0]])
    assert noise.group_steps(losses, 1.0, 2) == [3, math.inf]
    assert noise.spread([5, 3, math.inf]) == (5.0, 3.0, math.inf)
    assert noise.diverged_groups(onp.array([[1.0, 2.0], [1.0, 50.0]]), 10.0, 2) == [False, True]
    assert noise.diverged_groups(onp.array([[1.0, onp.nan], [onp.inf, onp.nan]]), 10.0, 2) == [False, True]
    reference = [100, 120]
    assert noise.compare_spreads([140, 150], reference) == "within"  # 150 <= 1.5 x 100
    assert noise.compare_spreads([181, 200], reference) == "more"  # 181 > 1.5 x 120
    assert noise.compare_spreads([140, 200], reference) == "inconclusive"
    assert noise.compare_spreads([math.inf] * 2, reference, diverged=[True, False]) == "diverged"
    assert noise.compare_spreads([math.inf] * 2, reference, diverged=[False, False]) == "stalled"


def test_linear_scaling_diverges_past_the_limit_and_warms_up_over_the_same_examples():
    house = _house(256, seed=9)
    quadratic = noise.Quadratic(house.features, house.labels)
    target = quadratic.minimum + 0.05
    limit = quadratic.largest_stable_lr
    base_lr = 0.6 * limit / 64  # batch 64 at 0.6 of the limit, batch 256 at 2.4 of it
    scaled = noise.scaled_steps(house.features, house.labels, (1, 64, 256), 1, base_lr, target, warmup_examples=128,
                                runs=2, repeats=2)
    assert [s.warmup_steps for s in scaled.values()] == [128, 2, 1]  # ⌈128 / B⌉ updates: the same 128 examples
    assert all(math.isfinite(x) for x in scaled[1].per_repeat + scaled[64].per_repeat)
    assert scaled[256].per_repeat == [math.inf] * 2 and scaled[256].diverged == [True, True]
    assert scaled[64].diverged == [False, False]
    onp.testing.assert_allclose(noise.warmup_schedule(1.0, 0.0, 4, 6), [0.25, 0.5, 0.75, 1.0, 1.0, 1.0])


def _float64_ensemble(features, labels, batch_size, lrs, num_steps, runs):
    """The ensemble's SGD in float64 NumPy on the same orders (each epoch, one permutation per run drawn
    from NumPy's global RNG in run order): the full-data loss after each step, (runs, num_steps)."""
    quadratic = noise.Quadratic(features, labels)
    X = onp.hstack([features.astype(onp.float64), onp.ones((len(features), 1))])
    y = labels.astype(onp.float64).ravel()
    params = onp.zeros((runs, X.shape[1]))
    losses, orders = onp.empty((runs, num_steps)), None
    per_epoch = -(-len(X) // batch_size)
    for step in range(num_steps):
        if step % per_epoch == 0:
            orders = [onp.random.permutation(len(X)) for _ in range(runs)]
        start = (step % per_epoch) * batch_size
        for r in range(runs):
            rows = orders[r][start:start + batch_size]
            params[r] -= lrs[step] * X[rows].T @ (X[rows] @ params[r] - y[rows]) / len(rows)
        losses[:, step] = quadratic(params)
    return losses


@pytest.mark.parametrize("scan", [True, False])
def test_ensemble_losses_are_sgd_in_float32(scan, monkeypatch):
    """All runs advance in one graph (composed as matrix products for few features, or step by step); each
    follows float64 SGD on its own orders. Float32 rounding moves the weights by about 1e-7 relative per
    step and stable SGD does not add the moves up, so the full-data loss stays within rtol 1e-5 of the
    float64 one (measured: 6e-7); a learning rate 1% off would be far outside it."""
    if not scan:
        monkeypatch.setattr(fused, "SCAN_MAX_FEATURES", 0)
    house = _house(61, seed=10)  # 61 = 7 x 8 + 5: a partial last batch every epoch
    lrs = noise.warmup_schedule(0.1, 0.0, 20, 150)
    onp.random.seed(4)
    found = noise.ensemble_losses(house.features, house.labels, 8, lrs, 150, runs=3)
    onp.random.seed(4)
    expected = _float64_ensemble(house.features, house.labels, 8, lrs, 150, 3)
    onp.testing.assert_allclose(found, expected, rtol=1e-5)
    onp.random.seed(4)
    slower = _float64_ensemble(house.features, house.labels, 8, lrs * 0.99, 150, 3)
    assert onp.abs(slower / expected - 1).max() > 1e-3
