"""The formulas behind lesson 5, checked against hand-computed cases and independent computations.

Truths used: arithmetic done by hand; Gelfand's formula ρ(M) = lim ‖Mᵏ‖^(1/k) for step matrices
built here from the update rules (not the library's matrices or its eigenvalue calls); brute-force
grid searches for the best settings; finite differences of the loss; Monte Carlo for the noise formula.
"""
import math

import numpy as onp
import pytest

from gluon_lessons import convergence, landscape


def gelfand_rate(matrix, num_steps=3000):
    """‖Mᵏ‖^(1/k) at large k, renormalising each step: the spectral radius without computing eigenvalues."""
    power, log_norm = onp.eye(len(matrix)), 0.0
    for _ in range(num_steps):
        power = power @ matrix
        norm = onp.linalg.norm(power)
        if norm == 0:  # nilpotent: every error is gone after a few steps
            return 0.0
        power /= norm
        log_norm += math.log(norm)
    return math.exp(log_norm / num_steps)


def heavy_ball_step(lr, momentum, curvature):
    """(x, v) -> (x', v') for v' = βv − αλx, x' = x + v' (MXNet's sgd with momentum on ½λx²)."""
    return onp.array([[1 - lr * curvature, momentum], [-lr * curvature, momentum]])


def nag_step(lr, momentum, curvature):
    """(x, v) -> (x', v') for MXNet's nag: v' = βv − αλx, x' = x + βv' − αλx."""
    return onp.array([[1 - lr * curvature * (1 + momentum), momentum ** 2], [-lr * curvature, momentum]])


# ---------------------------------------------------------------- hand-computed cases

def test_rates_for_eigenvalues_1_and_100_by_hand():
    eigenvalues = [1.0, 100.0]  # κ = 100, √κ = 10
    assert convergence.gd_best_lr(eigenvalues) == pytest.approx(2 / 101, rel=1e-14)
    assert convergence.gd_best_rate(100) == pytest.approx(99 / 101, rel=1e-14)
    assert convergence.gd_rate(2 / 101, [1.0, 37.0, 100.0]) == pytest.approx(99 / 101, rel=1e-12)
    assert convergence.gd_rate(0.03, eigenvalues) == pytest.approx(2.0, rel=1e-12)  # |1 − 3|: diverges
    lr, momentum = convergence.heavy_ball_best(eigenvalues)
    assert lr == pytest.approx(4 / 121, rel=1e-14)  # (2 / (1 + 10))²
    assert momentum == pytest.approx(81 / 121, rel=1e-14)  # (9 / 11)²
    assert convergence.heavy_ball_best_rate(100) == pytest.approx(9 / 11, rel=1e-14)
    # At the best settings the extreme eigenvalues give a double root, which numerical eigenvalues
    # resolve only to about √(machine epsilon) ≈ 1e-8.
    assert convergence.heavy_ball_rate(4 / 121, 81 / 121, eigenvalues) == pytest.approx(9 / 11, rel=1e-6)
    assert convergence.nag_best_rate(100) == pytest.approx(1 - 2 / math.sqrt(301), rel=1e-14)
    nag_lr, nag_momentum = convergence.nag_best(eigenvalues)
    assert nag_lr == pytest.approx(4 / 301, rel=1e-14)
    assert nag_momentum == pytest.approx((math.sqrt(301) - 2) / (math.sqrt(301) + 2), rel=1e-14)


def test_stability_limits_and_small_cases_by_hand():
    assert convergence.gd_max_lr([1.0, 100.0]) == pytest.approx(0.02)
    assert convergence.heavy_ball_max_lr(0.5, [1.0, 100.0]) == pytest.approx(0.03)  # (2 + 1) / 100
    assert convergence.nag_max_lr(0.5, [1.0, 100.0]) == pytest.approx(0.015)  # 3 / (2 · 100)
    assert convergence.heavy_ball_rate(1.0, 0.25, [1.0]) == pytest.approx(0.5)  # z² − ¼z + ¼: |z| = ½
    assert convergence.nag_rate(1.0, 0.5, [1.0]) == pytest.approx(0.0, abs=1e-12)  # 1 − αλ = 0: both roots 0
    onp.testing.assert_allclose(convergence.momentum_weights(0.5, 4), [1, 0.5, 0.25, 0.125])
    assert convergence.memory_steps(0.9) == pytest.approx(10)
    assert convergence.effective_lr(0.01, 0.9) == pytest.approx(0.1)
    # g = 1, 2, 3 with η = 1, λ = ½: v₁ = −1, v₂ = −(2 + ½), v₃ = −(3 + 1 + ¼)
    onp.testing.assert_allclose(convergence.momentum_from_gradients([[1.0], [2.0], [3.0]], 1.0, 0.5),
                                [[-1.0], [-2.5], [-4.25]])


def test_hessian_and_gradient_by_hand():
    features, labels = onp.array([[1.0], [3.0]]), onp.array([2.0, 4.0])
    onp.testing.assert_allclose(landscape.hessian(features), [[5.0, 2.0], [2.0, 1.0]])  # X̃ = [[1,1],[3,1]], /2
    # At θ = 0 the residuals are −y, so the gradient is −X̃ᵀy/n = −[(2 + 12)/2, (2 + 4)/2].
    onp.testing.assert_allclose(landscape.gradient(features, labels, [0.0, 0.0]), [-7.0, -3.0])
    onp.testing.assert_allclose(landscape.optimum(features, labels), [1.0, 1.0], atol=1e-12)  # y = x + 1 exactly
    assert landscape.condition_number([2.0, 8.0]) == pytest.approx(4.0)


# ---------------------------------------------------------------- independent computations

@pytest.mark.parametrize("lr, momentum", [(0.01, 0.0), (0.019, 0.0), (0.021, 0.0), (0.02, 0.5), (0.031, 0.5),
                                          (0.005, 0.9), (0.03, 0.9), (0.039, 0.9)])
def test_per_eigenvalue_rates_match_gelfand_on_the_update_rules(lr, momentum):
    eigenvalues = [1.0, 7.0, 100.0]
    expected = max(gelfand_rate(heavy_ball_step(lr, momentum, value)) for value in eigenvalues)
    # Gelfand's estimate carries a polynomial factor k^(1/k) at a double root: within 0.5% at k = 3000.
    assert convergence.heavy_ball_rate(lr, momentum, eigenvalues) == pytest.approx(expected, rel=5e-3)
    expected_nag = max(gelfand_rate(nag_step(lr, momentum, value)) for value in eigenvalues)
    assert convergence.nag_rate(lr, momentum, eigenvalues) == pytest.approx(expected_nag, rel=5e-3)


def test_stability_limits_are_where_the_rate_crosses_one():
    eigenvalues = [0.3, 2.0, 50.0]
    for momentum in (0.0, 0.5, 0.9):
        limit = convergence.heavy_ball_max_lr(momentum, eigenvalues)
        assert gelfand_rate(heavy_ball_step(0.99 * limit, momentum, 50.0)) < 1 < \
            gelfand_rate(heavy_ball_step(1.01 * limit, momentum, 50.0))
        nag_limit = convergence.nag_max_lr(momentum, eigenvalues)
        assert gelfand_rate(nag_step(0.99 * nag_limit, momentum, 50.0)) < 1 < \
            gelfand_rate(nag_step(1.01 * nag_limit, momentum, 50.0))


@pytest.mark.parametrize("kappa", [10.0, 149.0])
def test_best_settings_beat_a_grid_of_alternatives(kappa):
    eigenvalues = [1.0, kappa]
    lrs = onp.linspace(0.2, 4.5, 44) / kappa
    momenta = onp.linspace(0.0, 0.98, 50)
    grid_hb = min(convergence.heavy_ball_rate(a, b, eigenvalues) for a in lrs for b in momenta)
    grid_nag = min(convergence.nag_rate(a, b, eigenvalues) for a in lrs for b in momenta)
    grid_gd = min(convergence.gd_rate(a, eigenvalues) for a in lrs)
    # The formulas' optimum is at most the grid's best (1e-6 for the double root) and the grid comes close to it.
    assert convergence.heavy_ball_best_rate(kappa) <= grid_hb + 1e-6 < convergence.heavy_ball_best_rate(kappa) + 0.03
    assert convergence.nag_best_rate(kappa) <= grid_nag + 1e-9 < convergence.nag_best_rate(kappa) + 0.03
    assert convergence.gd_best_rate(kappa) <= grid_gd + 1e-12 < convergence.gd_best_rate(kappa) + 0.02
    assert convergence.heavy_ball_rate(*convergence.heavy_ball_best(eigenvalues), eigenvalues) == \
        pytest.approx(convergence.heavy_ball_best_rate(kappa), rel=1e-6)
    assert convergence.nag_rate(*convergence.nag_best(eigenvalues), eigenvalues) == \
        pytest.approx(convergence.nag_best_rate(kappa), rel=1e-6)


def test_gradient_and_hessian_match_finite_differences_of_the_loss():
    rng = onp.random.default_rng(3)
    features, labels, params = rng.normal(size=(50, 2)) * [3, 0.5] + 1, rng.normal(size=50), rng.normal(size=3)
    h = 1e-5
    unit = onp.eye(3)
    numeric_gradient = [(landscape.mean_loss(features, labels, params + h * e)
                         - landscape.mean_loss(features, labels, params - h * e)) / (2 * h) for e in unit]
    onp.testing.assert_allclose(landscape.gradient(features, labels, params), numeric_gradient, rtol=1e-6)
    numeric_hessian = [(landscape.gradient(features, labels, params + h * e)
                        - landscape.gradient(features, labels, params - h * e)) / (2 * h) for e in unit]
    onp.testing.assert_allclose(landscape.hessian(features), numeric_hessian, rtol=1e-6, atol=1e-8)
    onp.testing.assert_allclose(landscape.gradient(features, labels, landscape.optimum(features, labels)), 0,
                                atol=1e-10)


def test_double_well_slope_and_critical_points():
    w = onp.linspace(-2, 2, 41)
    h = 1e-6
    numeric = (landscape.tilted_double_well(w + h, 0.3) - landscape.tilted_double_well(w - h, 0.3)) / (2 * h)
    onp.testing.assert_allclose(landscape.tilted_double_well_slope(w, 0.3), numeric, atol=1e-7)
    points = landscape.critical_points_of_double_well(0.3)
    assert len(points) == 3 and onp.all(onp.diff(points) > 0)
    onp.testing.assert_allclose(landscape.tilted_double_well_slope(points, 0.3), 0, atol=1e-12)
    loss = landscape.tilted_double_well(points, 0.3)
    assert loss[0] < loss[2] < loss[1]  # deep valley below the shallow dip, both below the ridge


@pytest.mark.parametrize("lr, momentum", [(0.5, 0.0), (1.8, 0.0), (0.05, 0.9), (0.18, 0.9)])
def test_stationary_variance_matches_monte_carlo(lr, momentum):
    # 10 000 independent chains of x' = x + v', v' = βv − α(λx + noise), λ = 1, noise variance 1, run to
    # stationarity (the slowest case decays as 0.95^k); the variance of 10 000 Gaussian samples has relative
    # standard error √(2/10000) = 1.4%, so 5% is 3.5 standard errors.
    rng = onp.random.default_rng(0)
    x, v = onp.zeros(10000), onp.zeros(10000)
    for _ in range(1000):
        v = momentum * v - lr * (x + rng.normal(size=x.size))
        x = x + v
    expected = convergence.stationary_variance(lr, momentum, 1.0, 1.0)
    assert x.var() == pytest.approx(expected, rel=0.05)


# ---------------------------------------------------------------- measuring a rate

def test_measure_rate_and_growth_on_exact_sequences():
    steps = onp.arange(300)
    rate = convergence.measure_rate(3.0 * 0.9 ** steps, start=1e-1, stop=1e-9)
    assert rate.rate == pytest.approx(0.9, rel=1e-12)
    assert rate.first == math.ceil(math.log(1e-1) / math.log(0.9))  # first step at or below 0.1 of the start
    assert rate.last == math.floor(math.log(1e-9) / math.log(0.9))  # last step at or above 1e-9
    assert convergence.measure_growth(0.5 * 1.1 ** steps).rate == pytest.approx(1.1, rel=1e-12)


def test_bad_inputs_raise_value_errors():
    with pytest.raises(ValueError, match="never fell"):
        convergence.measure_rate(1.1 ** onp.arange(50))
    with pytest.raises(ValueError, match="run more steps"):
        convergence.measure_rate(0.1 ** onp.arange(20), start=0.5, stop=1e-3)
    with pytest.raises(ValueError, match="eigenvalues"):
        convergence.gd_best_lr([-1.0, 2.0])
    with pytest.raises(ValueError, match="momentum"):
        convergence.heavy_ball_rate(0.1, 1.0, [1.0])
    with pytest.raises(ValueError, match="condition number"):
        convergence.gd_best_rate(0.5)
    with pytest.raises(ValueError, match="stability limit"):
        convergence.stationary_variance(2.5, 0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="scale"):
        landscape.rescale(onp.ones((3, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="positive eigenvalues"):
        landscape.condition_number([0.0, 1.0])
