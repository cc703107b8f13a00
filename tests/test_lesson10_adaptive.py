"""Lesson 10 (Rprop and RMSProp on raw units) checked against truths computed here.

Truths: least squares from the normal equations; gradient descent's exact path on a quadratic,
w* + (I − lr·A)ᵏ(w₀ − w*) with A = X̃ᵀX̃/n; its stability limit 2/λ_max; the features' root mean
squares √Aᵢᵢ, which set RMSProp's per-weight rates; and the chance that a batch mean has the wrong
sign under a normal approximation.
"""
import math

import numpy as onp
import pytest
from lesson_checks import check_figures, check_json, mean_half_squared_error, normal_equations, run_quietly

from gluon_lessons import data as house_data

RUNS = ("sgd_raw", "sgd_raw_too_fast", "rprop_full_batch", "rprop_mini_batch", "rmsprop_mini_batch", "standardized_sgd")


@pytest.fixture(scope="module")
def lesson10(tmp_path_factory):
    return run_quietly("adaptive", tmp_path_factory.mktemp("adaptive"))


@pytest.fixture(scope="module")
def raw():
    """The lesson's houses (seed 0) with A = X̃ᵀX̃/n and least squares [w_area, w_age, b]."""
    data = house_data.raw_house_prices(1000, seed=0)
    design = onp.hstack([data.features.astype(onp.float64), onp.ones((1000, 1))])
    weight, bias = normal_equations(data.features, data.labels)
    return data, design.T @ design / 1000, onp.append(weight, bias)


def test_every_run_reports_error_loss_and_divergence_as_recomputed_here(lesson10, raw):
    findings, _ = lesson10
    data, _, optimum = raw
    for name in RUNS:
        run = findings[name]
        weights = onp.asarray(run["weights"])
        assert set(run) >= {"weight_error", "final_loss", "diverged"}
        assert run["weight_error"] == pytest.approx(onp.abs(weights - optimum).max(), rel=1e-9, abs=1e-9)
        loss = mean_half_squared_error(data.features, data.labels, weights[:2], weights[2])
        assert run["final_loss"] == pytest.approx(loss, rel=1e-9)


def test_plain_sgd_follows_gradient_descent_theory_and_crawls(lesson10, raw):
    findings, text = lesson10
    _, hessian, optimum = raw
    lam_max = onp.linalg.eigvalsh(hessian)[-1]
    run = findings["sgd_raw"]
    assert findings["sgd_lr"] == pytest.approx(0.9 * 2 / lam_max, rel=1e-9)
    steps = run["updates"]
    predicted = optimum + onp.linalg.matrix_power(onp.eye(3) - findings["sgd_lr"] * hessian, steps) @ (
        onp.asarray(run["start"]) - optimum)
    # float32 weights and data: 300 updates of rounding leave about 1e-6 here; 1e-3 is far below the crawl.
    onp.testing.assert_allclose(run["weights"], predicted, atol=1e-3)
    assert not run["diverged"]
    assert abs(run["weights"][2] - optimum[2]) > 0.9 * abs(optimum[2])  # the bias has barely left 0
    assert "stable but crawls" in text and "follows the exact prediction" in text


def test_sgd_above_the_stability_limit_is_reported_diverged(lesson10, raw):
    findings, text = lesson10
    _, hessian, _ = raw
    assert findings["too_fast_lr"] > 2 / onp.linalg.eigvalsh(hessian)[-1]
    assert findings["sgd_raw_too_fast"]["diverged"] is True
    assert findings["sgd_raw_too_fast"]["updates"] < findings["full_batch_steps"]  # the guard stopped it early
    assert "diverged and the guard stopped it" in text


def test_full_batch_rprop_reaches_least_squares(lesson10, raw):
    findings, text = lesson10
    data, _, optimum = raw
    # 0.01: the tolerance; float32 leaves ~1e-3 (measured 2.6e-4).
    onp.testing.assert_allclose(findings["rprop_full_batch"]["weights"], optimum, atol=0.01)
    best = mean_half_squared_error(data.features, data.labels, optimum[:2], optimum[2])
    assert findings["rprop_full_batch"]["final_loss"] == pytest.approx(best, rel=1e-6)
    assert "Full-batch Rprop reached least squares" in text


def test_mini_batch_rprop_freezes_because_batch_signs_disagree(lesson10):
    findings, text = lesson10
    assert findings["rprop_mini_batch"]["weight_error"] > 20 * findings["tolerance"]
    assert findings["rprop_frozen_at"] is not None
    against = findings["against_full_gradient"]
    assert max(against["full_batch"]) < 0.02  # full batches: the batch gradient is the full gradient
    assert min(against["mini_batch"]) > 0.1
    wrong = findings["wrong_sign_at_end"]
    # 100 batches: the measured fraction's standard error is at most 0.05, so 0.15 is three of them.
    onp.testing.assert_allclose(wrong["measured"], wrong["predicted"], atol=0.15)
    assert "stalled" in text and "pointed against the full gradient" in text


def test_rmsprop_rates_follow_the_features_rms_and_it_beats_mini_batch_rprop(lesson10, raw):
    findings, text = lesson10
    _, hessian, _ = raw
    rms = onp.sqrt(onp.diag(hessian))
    onp.testing.assert_allclose(findings["feature_rms_ratios"], rms[:2] / rms[2], rtol=1e-9)
    # n tracks the mean squared batch gradient, about noise² · mean(x²) / B per weight, so lr/√n goes as 1/√Aᵢᵢ;
    # the residual is not independent of x, so we ask only for the ratio within a factor 2.
    ratio = onp.asarray(findings["rmsprop_rate_ratios"]) / (rms[:2] / rms[2])
    assert onp.all((ratio > 0.5) & (ratio < 2))
    # Per-weight scaling leaves the area-bias tilt: the Hessian rescaled to unit diagonal is still ill-conditioned.
    eigenvalues = onp.linalg.eigvalsh(hessian / onp.outer(rms, rms))
    assert findings["rescaled_condition_number"] == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-6)
    assert findings["rescaled_condition_number"] > 10
    assert findings["rmsprop_mini_batch"]["weight_error"] < findings["rprop_mini_batch"]["weight_error"]
    assert not findings["rmsprop_mini_batch"]["diverged"]
    assert "follow the features' RMS ratios" in text


def test_standardized_features_let_plain_sgd_reach_least_squares(lesson10, raw):
    findings, text = lesson10
    data, _, optimum = raw
    standardized, _, _ = house_data.standardize(data.features)
    design = onp.hstack([standardized.astype(onp.float64), onp.ones((1000, 1))])
    eigenvalues = onp.linalg.eigvalsh(design.T @ design / 1000)
    assert findings["standardized_condition_number"] == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-6)
    onp.testing.assert_allclose(findings["standardized_sgd"]["weights"], optimum, atol=findings["tolerance"])
    assert "Standardizing is the cheaper cure" in text


def test_figures_and_json(lesson10):
    findings, _ = lesson10
    check_figures(findings, ["step_sizes", "loss_curves"])
    check_json(findings)


def test_verdicts_follow_the_numbers(tmp_path):
    # Batches of all 1000 houses: "mini-batch" Rprop sees the full gradient and reaches least squares;
    # 0.95 × 2/λ_max is below the stability limit, so that SGD run cannot diverge.
    findings, text = run_quietly("adaptive", tmp_path, batch_size=1000, too_fast_fraction=0.95, full_batch_steps=150,
                                 rprop_mini_batch_steps=150, rmsprop_steps=50, standardized_steps=50)
    assert findings["rprop_mini_batch"]["weight_error"] < findings["tolerance"]
    assert "Rprop with batches of 1000 reached least squares too" in text and "stalled" not in text
    assert findings["sgd_raw_too_fast"]["diverged"] is False
    assert "did not diverge within %d updates" % findings["full_batch_steps"] in text
    assert math.isclose(findings["too_fast_lr"], 0.95 / 0.9 * findings["sgd_lr"], rel_tol=1e-9)
