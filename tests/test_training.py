"""Recovered weights: the trained Dense(1) against the true weights and against least squares."""
import math

import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons import model, training

# The walkthrough's settings (batch 10, lr 0.03, 3 epochs) with each optimizer and device set.
# With momentum λ the step is scaled to keep the effective step lr / (1 - λ) at the walkthrough's
# 0.03: at lr 0.03 and λ 0.9 the effective step is 0.3 and the mini-batch noise leaves the
# weights about 3e-3 from least squares after 3 epochs (measured), outside the 2e-3 asked for.
WALKTHROUGH_RUNS = [
    dict(),
    dict(loader="gluon"),  # the walkthrough's own DataLoader path
    dict(lr=0.003, momentum=0.9),
    dict(lr=0.015, momentum=0.5),
    dict(lr=0.003, momentum=0.9, optimizer="nag"),
    dict(ctx="cpu:0,cpu:1"),  # data parallel: each batch split over two contexts
    dict(ctx="cpu:0,cpu:1", lr=0.003, momentum=0.9),
]


@pytest.mark.parametrize("settings", WALKTHROUGH_RUNS, ids=lambda s: ",".join("%s=%s" % kv for kv in s.items()) or "sgd")
def test_walkthrough_recovers_the_true_weights_and_least_squares(walkthrough, settings):
    result = training.train_linear_regression(walkthrough, **settings)
    ols_w, ols_b = model.least_squares(walkthrough.features, walkthrough.labels)
    onp.testing.assert_allclose(result.weight, [2.0, -3.4], atol=0.01)
    assert result.bias == pytest.approx(4.2, abs=0.01)
    onp.testing.assert_allclose(result.weight, ols_w, atol=2e-3)
    assert result.bias == pytest.approx(ols_b, abs=2e-3)
    assert len(result.history.epoch_loss) == 3 and result.history.epoch_loss[-1] < 1e-3
    assert len(result.history.step_loss) == 3 * 100


def test_least_squares_is_exact_without_noise():
    clean = house_data.synthetic_house_prices(50, true_w=[1.5, -0.5, 0.25], true_b=-2, noise=0)
    w, b = model.least_squares(clean.features, clean.labels)
    onp.testing.assert_allclose(w, [1.5, -0.5, 0.25], atol=1e-5)
    assert b == pytest.approx(-2, abs=1e-5)


def test_with_heavy_noise_training_lands_on_least_squares_not_on_the_truth():
    noise, n, batch_size, lr = 2.0, 4000, 2000, 0.015
    data = house_data.synthetic_house_prices(n, true_w=[2.0, -3.4, 1.0, 0.5, -1.5], true_b=4.2, noise=noise, seed=5)
    result = training.train_linear_regression(data, batch_size=batch_size, lr=lr, num_epochs=300, seed=5)
    ols_w, ols_b = model.least_squares(data.features, data.labels)
    trained = onp.append(result.weight, result.bias)
    ols = onp.append(ols_w, ols_b)
    truth = onp.append(data.true_w, data.true_b)
    # Tolerance. Near w_ols, SGD is w <- w - lr * g_B with g_B = A (w - w_ols) + e, where the
    # Hessian A = X'X/n is about I for standardized features and the mini-batch noise e has
    # covariance at most noise^2 * A / B (sampling with replacement; without it is smaller). The
    # stationary covariance of w - w_ols is then lr * noise^2 / (B (2 - lr)) per coordinate, so
    # |w - w_ols| over the 6 parameters stays below 4 standard deviations * sqrt(6). The transient
    # from the start, (1 - lr)^600 * |w0 - w_ols| ~ 1e-3, is added. The truth instead lies
    # about noise * sqrt(6 / n) ~ 0.08 from w_ols, which the tolerance must be smaller than.
    per_coordinate = noise * math.sqrt(lr / (batch_size * (2 - lr)))
    tolerance = 4 * per_coordinate * math.sqrt(trained.size) + (1 - lr) ** 600 * onp.linalg.norm(truth)
    assert onp.linalg.norm(trained - ols) < tolerance
    assert tolerance < onp.linalg.norm(ols - truth)  # so the test can tell least squares from the truth
    assert onp.linalg.norm(trained - truth) > onp.linalg.norm(trained - ols)


def test_same_seed_same_weights_bit_for_bit(walkthrough):
    first = training.train_linear_regression(walkthrough, momentum=0.9, seed=7)
    again = training.train_linear_regression(walkthrough, momentum=0.9, seed=7)
    other = training.train_linear_regression(walkthrough, momentum=0.9, seed=8)
    assert onp.array_equal(first.weight, again.weight) and first.bias == again.bias
    assert first.history.step_loss == again.history.step_loss
    assert not onp.array_equal(first.weight, other.weight)


def test_a_too_large_step_stops_with_a_clear_error(walkthrough):
    # For L2Loss on standardized data the Hessian is about I, so GD is stable only for lr < 2.
    with pytest.raises(training.DivergenceError, match=r"diverged at epoch 1, step \d+ .*smaller learning rate"):
        training.train_linear_regression(walkthrough, lr=5.0)


@pytest.mark.parametrize("settings, message", [
    (dict(lr=0), "learning rate"), (dict(lr=-1), "learning rate"), (dict(momentum=1.0), "momentum"),
    (dict(momentum=-0.1), "momentum"), (dict(num_epochs=0), "epochs"), (dict(optimizer="adam"), "optimizer"),
    (dict(batch_size=0), "batch size"), (dict(ctx="tpu"), "unknown device"), (dict(loader="torch"), "loader"),
])
def test_bad_settings_are_refused(walkthrough, settings, message):
    with pytest.raises(ValueError, match=message):
        training.train_linear_regression(walkthrough, **settings)


def test_max_steps_and_on_step(walkthrough):
    seen = []
    result = training.train_linear_regression(walkthrough, num_epochs=2, max_steps=150,
                                              on_step=lambda info: seen.append((info.epoch, info.step)))
    assert len(seen) == 150 and seen[99] == (1, 100) and seen[100] == (2, 1)
    assert len(result.history.step_loss) == 150
