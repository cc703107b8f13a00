"""Gradient noise against independent truths: the 1/B law, a population formula, two estimators, a fit.

Sampling tolerances are 4 standard errors computed from the samples themselves (for a normal
estimate a 4-s.e. miss has probability 6e-5); each test also checks that its standard error is small
enough for the comparison to mean something.
"""
import math

import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons import model, noise

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
    tuned = noise.tuned_steps(house.features, house.labels, (1, 16, 256), target, runs=2, max_steps=2000)
    assert tuned[1][0] > tuned[16][0] >= tuned[256][0] and tuned[1][1] <= tuned[256][1]
