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
    assert convergence.steps_per_digit(0.1) == pytest.approx(1.0) and convergence.steps_per_digit(0.5) == pytest.approx(
        math.log(10) / math.log(2))  # 0.5^k = 0.1 at k = log₂ 10
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


# ---------------------------------------------------------------- mini-batch noise: the exact moment recursion

def independent_batch_chains(features, labels, lr, momentum, batch_size, start, num_steps, num_chains, seed):
    """Many independent NumPy runs of v' = βv − η g_B, θ' = θ + v', each batch B distinct examples drawn afresh;
    the excess loss ½ (θ − θ*)ᵀ A (θ − θ*) of every chain at every step, with A and θ* from the normal equations."""
    rng = onp.random.default_rng(seed)
    X = onp.hstack([features, onp.ones((len(features), 1))])
    y = onp.asarray(labels, onp.float64)
    A = X.T @ X / len(X)
    optimum = onp.linalg.solve(X.T @ X, X.T @ y)
    theta = onp.tile(onp.asarray(start, onp.float64), (num_chains, 1))
    velocity = onp.zeros_like(theta)
    losses = []
    for _ in range(num_steps + 1):
        offsets = theta - optimum
        losses.append(0.5 * onp.einsum("ci,ij,cj->c", offsets, A, offsets))
        rows = onp.argsort(rng.random((num_chains, len(X))), axis=1)[:, :batch_size]
        residual = onp.einsum("cbi,ci->cb", X[rows], theta) - y[rows]
        velocity = momentum * velocity - lr * onp.einsum("cbi,cb->ci", X[rows], residual) / batch_size
        theta = theta + velocity
    return onp.array(losses)  # (steps + 1, chains)


@pytest.mark.parametrize("momentum, fraction", [(0.0, 0.7), (0.9, 0.3)])
def test_expected_excess_loss_matches_monte_carlo(momentum, fraction):
    # Uncentred features and noisy labels: the noise of a batch grows with the distance from θ*, the case
    # the additive formula misses. 4000 chains; the mean of 4000 excess losses has a standard error the
    # chains themselves give, and 4 standard errors is the tolerance at every checked step.
    rng = onp.random.default_rng(1)
    features = rng.uniform(0.3, 2.5, size=(60, 2)) * [1.0, 3.0]
    labels = features @ [3.0, -1.0] + 2.0 + rng.normal(0, 2.0, size=60)
    noise = convergence.minibatch_noise(features, labels, 5)
    lr = fraction * 2 / landscape.eigenvalues(noise.hessian)[-1] * (1 - momentum)
    start = noise.optimum + [1.0, -0.5, 2.0]
    chains = independent_batch_chains(features, labels, lr, momentum, 5, start, 120, 4000, seed=2)
    expected = convergence.expected_excess_loss(noise, lr, momentum, start, 120)
    for step in (0, 1, 5, 30, 120):
        error = chains[step].std() / math.sqrt(chains.shape[1]) + 1e-12
        assert abs(chains[step].mean() - expected[step]) < 4 * error, step
    # And the long run: the recursion's fixed point is where its curve ends up.
    long_run = convergence.expected_excess_loss(noise, lr, momentum, start, 3 * convergence.settling_time(noise, lr, momentum))
    assert long_run[-1] == pytest.approx(convergence.stationary_excess_loss(noise, lr, momentum), rel=1e-3)


def test_minibatch_noise_by_hand_and_the_additive_limit():
    # Two examples x = 0 and x = 2 (X̃ rows [0, 1], [2, 1]), labels 1 and 3: y = x + 1 exactly, so the residuals
    # at θ* are zero and only the multiplicative part is left; with B = 1 of n = 2, scale = (2−1)/(1·1) = 1.
    noise = convergence.minibatch_noise(onp.array([[0.0], [2.0]]), onp.array([1.0, 3.0]), 1)
    onp.testing.assert_allclose(noise.optimum, [1.0, 1.0], atol=1e-12)
    onp.testing.assert_allclose(noise.hessian, [[2.0, 1.0], [1.0, 1.0]])  # ([0,0],[0,1]) and ([4,2],[2,1]), halved
    assert noise.scale == 1.0 and onp.abs(noise.residual).max() < 1e-20
    assert convergence.stationary_excess_loss(noise, 0.1, 0.0) == pytest.approx(0.0, abs=1e-20)  # no noise at θ*
    # One example repeated: every batch is the whole data, the gradient is exact, the floor is 0 for any start.
    same = convergence.minibatch_noise(onp.array([[1.0], [1.0], [3.0]]), onp.array([2.0, 2.0, 4.0]), 2)
    assert same.scale == pytest.approx((3 - 2) / (2 * 2)) and same.fourth.shape == (2, 2, 2, 2)
    with pytest.raises(ValueError, match="batch_size"):
        convergence.minibatch_noise(onp.ones((3, 1)), onp.ones(3), 3)


def test_stationary_excess_loss_refuses_a_run_the_noise_makes_grow():
    rng = onp.random.default_rng(0)
    features = rng.uniform(0, 3, size=(40, 1)) ** 3  # heavy-tailed x: x⁴ moments dwarf λ²
    noise = convergence.minibatch_noise(features, rng.normal(size=40), 1)
    lr = 0.95 * 2 / landscape.eigenvalues(noise.hessian)[-1]  # inside GD's limit, yet the noise makes E[L] grow
    with pytest.raises(ValueError, match="grow"):
        convergence.stationary_excess_loss(noise, lr, 0.0)


def test_settling_target_and_block_statistics_by_hand():
    assert convergence.settling_step([0.0, 0.5, 0.98, 1.02, 0.995, 1.0], 1.0, tolerance=0.01) == 4
    with pytest.raises(ValueError, match="not settled"):
        convergence.settling_step([0.0, 0.5, 0.9], 1.0)
    # Means of 2 steps ending at k: 7.5, 3.5, 1.25, 0.75, 1.25, 0.75 (k = 1..6): below 1 first at k = 4, for
    # good only from k = 6; below 2.5 from k = 3 on. With a window of 1, the curve itself: below 1.6 from k = 3.
    ringing = [10.0, 5.0, 2.0, 0.5, 1.0, 1.5, 0.0]
    assert convergence.arrival_step(ringing, 1.0, window=2) == 6 and convergence.arrival_step(ringing, 2.5, 2) == 3
    assert convergence.arrival_step(ringing, 1.6, window=1) == 3
    assert convergence.arrival_step([10.0, 5.0], 1.0, window=1) is None
    with pytest.raises(ValueError, match="window"):
        convergence.arrival_step([1.0, 2.0], 1.0, window=3)
    onp.testing.assert_allclose(convergence.block_means(onp.arange(7.0), 3), [0.5, 2.5, 4.5])  # the 7th dropped
    mean, error = convergence.mean_with_error([1.0, 3.0, 5.0, 7.0], 2)  # blocks 2 and 6
    assert mean == pytest.approx(4.0) and error == pytest.approx(2.0)  # sd 2√2 / √2
    ratio, error = convergence.ratio_with_error([2.0, 2.0, 4.0, 4.0], [1.0, 1.0, 2.0, 2.0], 2)
    assert ratio == pytest.approx(2.0) and error == pytest.approx(0.0, abs=1e-12)  # the ratio is 2 in every block
    # Jackknife by hand: blocks (1, 1) and (3, 1); leaving one out gives 3 and 1, mean 2, variance ½·((1)² + (1)²).
    ratio, error = convergence.ratio_with_error([1.0, 3.0], [1.0, 1.0], 2)
    assert ratio == pytest.approx(2.0) and error == pytest.approx(1.0)
    # Student's t: 2 blocks (1 degree of freedom), the 99% point is tan(π/2 · 0.99) = 63.66; many blocks → 2.576.
    assert convergence.student_bound(2) == pytest.approx(math.tan(math.pi / 2 * 0.99), rel=1e-9)
    assert convergence.student_bound(100000) == pytest.approx(2.5758, abs=1e-3)
