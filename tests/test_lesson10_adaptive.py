"""Lesson 10 (Rprop and RMSProp on raw units) checked against truths computed here.

Truths: least squares from the normal equations; gradient descent's exact path on a quadratic,
w* + (I − lr·A)ᵏ(w₀ − w*) with A = X̃ᵀX̃/n; its stability limit 2/λ_max; the features' root mean
squares √Aᵢᵢ, which set RMSProp's per-weight rates; the chance that a batch mean has the wrong
sign under a normal approximation; and the budget runs replayed in NumPy (float64) from the same
start and the same shuffles, with MXNet's rmsprop and sgd formulas and its cosine schedule.
"""
import math
import subprocess
import sys

import numpy as onp
import pytest
from lesson_checks import (assert_teaching_shape, check_figures, check_json, mean_half_squared_error,
                           normal_equations, run_quietly)

from gluon_lessons import data as house_data

RUNS = ("sgd_raw", "sgd_raw_too_fast", "rprop_full_batch", "rprop_mini_batch", "rmsprop_mini_batch",
        "standardized_sgd")


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


def replay(features, labels, start, budget, batch_size, lr, seed, rmsprop):
    """The lesson's budget run in NumPy float64: shuffles from NumPy's global RNG seeded as
    `set_seed` does (`ShuffledBatches` draws one permutation per epoch), lr_t = lr·(1 + cos(πt/T))/2
    at update t = 1..T (MXNet's CosineScheduler to 0), and MXNet's rmsprop (n = 0.9 n + 0.1 g²,
    w −= lr_t g / √(n + 1e-8)) or plain sgd. The final [w..., b]."""
    onp.random.seed(seed)
    design = onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])
    labels = onp.asarray(labels, onp.float64)
    w, n, t = onp.array(start, onp.float64), onp.zeros(design.shape[1]), 0
    while t < budget:
        order = onp.random.permutation(len(design))
        for first in range(0, len(design), batch_size):
            rows = order[first:first + batch_size]
            g = design[rows].T @ (design[rows] @ w - labels[rows]) / len(rows)
            t += 1
            lr_t = lr * (1 + math.cos(math.pi * t / budget)) / 2
            if rmsprop:
                n = 0.9 * n + 0.1 * g * g
                w = w - lr_t * g / onp.sqrt(n + 1e-8)
            else:
                w = w - lr_t * g
            if t == budget:
                break
    return w


def test_teaching_shape(lesson10):
    findings, printed = lesson10
    assert_teaching_shape("adaptive", findings, printed)


def test_every_run_reports_error_and_loss_as_recomputed_here(lesson10, raw):
    findings, _ = lesson10
    data, _, optimum = raw
    for name in RUNS:
        run = findings[name]
        weights = onp.asarray(run["weights"])
        assert run["weight_error"] == pytest.approx(onp.abs(weights - optimum).max(), rel=1e-9, abs=1e-9)
        loss = mean_half_squared_error(data.features, data.labels, weights[:2], weights[2])
        assert run["final_loss"] == pytest.approx(loss, rel=1e-9)


def test_plain_sgd_follows_gradient_descent_theory_and_crawls(lesson10, raw):
    findings, _ = lesson10
    _, hessian, optimum = raw
    lam_max = onp.linalg.eigvalsh(hessian)[-1]
    run = findings["sgd_raw"]
    assert findings["sgd_lr"] == pytest.approx(0.9 * 2 / lam_max, rel=1e-9)
    steps = findings["sgd_updates"]
    assert steps == findings["full_batch_steps"]
    predicted = optimum + onp.linalg.matrix_power(onp.eye(3) - findings["sgd_lr"] * hessian, steps) @ (
        onp.asarray(run["start"]) - optimum)
    # float32 weights and data: 300 updates of rounding leave about 1e-6 here; 1e-3 is far below the crawl.
    onp.testing.assert_allclose(run["weights"], predicted, atol=1e-3)
    assert abs(run["weights"][2] - optimum[2]) > 0.9 * abs(optimum[2])  # the bias has barely left 0
    assert findings["verdicts"]["sgd_raw"] == "crawls"
    assert findings["verdicts"]["sgd_theory"] == "follows"


def test_sgd_above_the_stability_limit_is_reported_diverged(lesson10, raw):
    findings, _ = lesson10
    _, hessian, _ = raw
    assert findings["too_fast_lr"] > 2 / onp.linalg.eigvalsh(hessian)[-1]
    assert findings["sgd_raw_too_fast"]["diverged"] is True
    assert findings["too_fast_updates"] < findings["full_batch_steps"]  # the guard stopped it early
    assert findings["verdicts"]["too_fast"] == "diverged"


def test_full_batch_rprop_reaches_least_squares(lesson10, raw):
    findings, _ = lesson10
    data, _, optimum = raw
    # float32 leaves ~1e-3 (measured 2.6e-4); 0.01 is ten times that.
    onp.testing.assert_allclose(findings["rprop_full_batch"]["weights"], optimum, atol=0.01)
    best = mean_half_squared_error(data.features, data.labels, optimum[:2], optimum[2])
    assert findings["rprop_full_batch"]["final_loss"] == pytest.approx(best, rel=1e-6)
    assert findings["verdicts"]["rprop_full_batch"] == "reached"


def test_mini_batch_rprop_freezes_because_batch_signs_disagree(lesson10):
    findings, _ = lesson10
    assert findings["rprop_mini_batch"]["weight_error"] > 20 * findings["tolerance"]
    assert findings["rprop_frozen_at"] is not None
    against = findings["against_full_gradient"]
    assert max(against["full_batch"]) < 0.02  # full batches: the batch gradient is the full gradient
    assert min(against["mini_batch"]) > 0.1
    wrong = findings["wrong_sign_at_end"]
    # 100 batches: the measured fraction's standard error is at most 0.05, so 0.15 is three of them.
    onp.testing.assert_allclose(wrong["measured"], wrong["predicted"], atol=0.15)
    assert findings["verdicts"]["rprop_mini_batch"] == "stalled"
    assert findings["verdicts"]["wrong_signs"] == "agrees"


def test_rmsprop_rates_follow_the_features_rms(lesson10, raw):
    findings, _ = lesson10
    _, hessian, _ = raw
    rms = onp.sqrt(onp.diag(hessian))
    onp.testing.assert_allclose(findings["feature_rms_ratios"], rms[:2] / rms[2], rtol=1e-9)
    # n tracks the mean squared batch gradient, about noise² · mean(x²) / B per weight, so lr/√n goes
    # as 1/√Aᵢᵢ; the residual is not independent of x, so we ask only for the ratio within a factor 2.
    ratio = onp.asarray(findings["rmsprop_rate_ratios"]) / (rms[:2] / rms[2])
    assert onp.all((ratio > 0.5) & (ratio < 2))
    # Per-weight scaling leaves the area-bias tilt: the Hessian rescaled to unit diagonal is still
    # ill-conditioned.
    eigenvalues = onp.linalg.eigvalsh(hessian / onp.outer(rms, rms))
    assert findings["rescaled_condition_number"] == pytest.approx(eigenvalues[-1] / eigenvalues[0], rel=1e-6)
    assert findings["rescaled_condition_number"] > 10
    assert findings["verdicts"]["rmsprop_rates"] == "follow"


def test_budget_runs_replayed_in_numpy_and_the_cheaper_cure(lesson10, raw):
    # Every budget either method tried ends where NumPy, from the same start and the same shuffles,
    # ends: float32 against float64 over at most 400 updates (measured gaps ~1e-4 of errors ~1-50).
    findings, _ = lesson10
    data, _, optimum = raw
    start = onp.asarray(findings["rmsprop_mini_batch"]["start"])
    for budget, error in findings["budget_errors"]["rmsprop"].items():
        final = replay(data.features, data.labels, start, budget, 200, findings["rmsprop_lr"], 0, True)
        assert error == pytest.approx(onp.abs(final - optimum).max(), rel=1e-3, abs=1e-3)
    standardized, mean, std = house_data.standardize(data.features)
    start = onp.asarray(findings["standardized_sgd"]["start"])
    for budget, error in findings["budget_errors"]["standardized"].items():
        final = replay(standardized, data.labels, start, budget, 200, findings["standardized_lr"], 0, False)
        weights = final[:2] / std
        raw_final = onp.append(weights, final[2] - weights @ mean)
        assert error == pytest.approx(onp.abs(raw_final - optimum).max(), rel=1e-3, abs=1e-3)
    # The search stops at the first budget within tolerance, and only there.
    for method, errors in findings["budget_errors"].items():
        within = [budget for budget, error in errors.items() if error < findings["tolerance"]]
        assert within == ([findings["smallest_budget"][method]] if within else [])
        assert findings["smallest_budget"][method] == (within[0] if within else None)
    # Quick budgets end at 400: standardized SGD ends within 0.1 at 400 (~0.15 at 100), RMSProp never
    # (~34 at 400).
    assert findings["smallest_budget"] == {"standardized": 400, "rmsprop": None}
    assert findings["verdicts"]["cheaper_cure"] == "standardizing"


def test_figures_and_json(lesson10):
    findings, _ = lesson10
    check_figures(findings, ["step_sizes", "loss_curves"])
    check_json(findings)


def test_verdicts_follow_the_numbers(tmp_path):
    # Batches of all 1000 houses: "mini-batch" Rprop sees the full gradient and reaches least squares;
    # 0.95 × 2/λ_max is below the stability limit, so that SGD run cannot diverge; one budget of 50
    # updates leaves both cures far from least squares (RMSProp ~47, standardized SGD ~3).
    findings, _ = run_quietly("adaptive", tmp_path, batch_size=1000, too_fast_fraction=0.95,
                              full_batch_steps=150, rprop_mini_batch_steps=150, budgets=(50,))
    assert findings["rprop_mini_batch"]["weight_error"] < findings["tolerance"]
    assert findings["verdicts"]["rprop_mini_batch"] == "reached"
    assert findings["sgd_raw_too_fast"]["diverged"] is False
    assert findings["verdicts"]["too_fast"] == "did not diverge"
    assert findings["too_fast_updates"] == 150
    assert math.isclose(findings["too_fast_lr"], 0.95 / 0.9 * findings["sgd_lr"], rel_tol=1e-9)
    assert findings["verdicts"]["cheaper_cure"] == "neither reached"


@pytest.mark.parametrize("settings, cheaper", [
    # Tolerance 40: RMSProp ends ~47 away after 50 updates and ~34 after 400; standardized SGD at
    # lr 1e-4 hardly leaves its start, ~49.5 away, so only RMSProp reaches.
    (dict(budgets=(50, 400), tolerance=40.0, standardized_lr=1e-4), "rmsprop"),
    # Tolerance 48: both end within it after 50 updates.
    (dict(budgets=(50, 400), tolerance=48.0), "same budget"),
])
def test_the_cheaper_cure_follows_the_budgets(tmp_path, settings, cheaper):
    findings, _ = run_quietly("adaptive", tmp_path, full_batch_steps=20, rprop_mini_batch_steps=20,
                              **settings)
    assert findings["verdicts"]["cheaper_cure"] == cheaper
    smallest = findings["smallest_budget"]
    if cheaper == "rmsprop":
        assert smallest == {"rmsprop": 400, "standardized": None}
    else:
        assert smallest == {"rmsprop": 50, "standardized": 50}


@pytest.mark.parametrize("setting, word", [
    ("sgd_fraction=1e308", "sgd_fraction"),  # float32 holds no such learning rate
    ("tolerance=1e-320", "tolerance"),
    ("initial_step=100.0", "initial_step"),
    ("budgets=(50, 1000000000000)", "budgets"),
    ("batch_size=2000", "batch_size"),
])
def test_bad_settings_are_one_line(tmp_path, setting, word):
    done = subprocess.run([sys.executable, "-m", "gluon_lessons", "run", "adaptive", "--quick", "--out",
                           str(tmp_path), "--set", setting], capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and word in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
