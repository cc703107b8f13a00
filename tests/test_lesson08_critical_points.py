"""Lesson 8: the lecture's saddle, critical points of a small network, and escaping a saddle, against truths.

Truths: the analytic gradient and Hessian of L = (1 − w1·w2)²; for the student network, its gradient
written out in float64 NumPy and its Hessian by the complex step (tests/test_hessian.py), both
independent of MXNet; the label variance (the loss of predicting the mean). Tolerances: the
lesson's Hessians are float64 central differences, good to ~1e-10 relative (test_hessian.py), so
1e-7 relative to the largest eigenvalue leaves a margin of about 1000.
"""
import math

import numpy as onp
import pytest
from lesson_checks import check_figures, check_json, run_quietly
from test_hessian import complex_step_hessian, lecture_hessian, mlp_gradient

from gluon_lessons import hessian
from gluon_lessons.lessons import runner

EIGEN_RTOL = 1e-7


@pytest.fixture(scope="module")
def lesson8(tmp_path_factory):
    return run_quietly("critical-points", tmp_path_factory.mktemp("critical_points"))


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    # Settings that flip three verdicts: escape runs started 1e-4 from the saddle (plain GD now gets out
    # within the quick 150 updates), a critical-point tolerance no float64 gradient can meet, and a step
    # along u long enough to climb out the far side of the valley.
    return run_quietly("critical-points", tmp_path_factory.mktemp("flipped"), saddle_offset=1e-4, critical_tol=1e-30,
                       escape_step=2.5, num_starts=1, max_steps=250)


def test_the_lecture_saddle(lesson8):
    findings, text = lesson8
    onp.testing.assert_allclose(findings["hessian_at_origin"], [[0, -2], [-2, 0]], atol=1e-8)
    onp.testing.assert_allclose(findings["eigenvalues"], [-2, 2], atol=1e-8)
    u = onp.asarray(findings["escape_direction"])
    assert abs(abs(u @ [1, 1]) / math.sqrt(2) - 1) < 1e-9  # ±[1, 1]/√2
    t = findings["escape_step"] / math.sqrt(2)  # the step lands on w1 = w2 = t (or −t)
    assert findings["loss_after_escape"] == pytest.approx((1 - t * t) ** 2, abs=1e-12)
    assert "matches the analytic" in text and "lowered the loss from 1.000 to 0.250" in text


def test_critical_points_of_the_lecture_network(lesson8):
    findings, text = lesson8
    points = findings["critical_points"]
    for label, p in points.items():
        w1, w2 = p["point"]
        gradient = -2 * (1 - w1 * w2) * onp.array([w2, w1])
        assert p["gradient_norm"] == pytest.approx(onp.linalg.norm(gradient), abs=1e-12)
        onp.testing.assert_allclose(p["eigenvalues"], onp.linalg.eigvalsh(lecture_hessian(w1, w2)), atol=1e-8)
        on_valley = abs(w1 * w2 - 1) < 1e-12
        expected = "saddle" if (w1, w2) == (0, 0) else "degenerate" if on_valley else "not critical"
        assert p["kind"] == expected, label
    assert "Degenerate critical points (a zero eigenvalue): (1, 1), (2, 1/2), (−1, −1)." in text


def mlp_loss(theta, X, y, hidden):
    """Mean ½(ŷ − y)² of the student, ŷ = W2 tanh(W1 x + b1) + b2, θ in Gluon's order [W1, b1, W2, b2]."""
    d = X.shape[1]
    W1, b1 = theta[:hidden * d].reshape(hidden, d), theta[hidden * d:hidden * (d + 1)]
    W2, b2 = theta[hidden * (d + 1):hidden * (d + 2)], theta[-1]
    return 0.5 * onp.mean((onp.tanh(X @ W1.T + b1) @ W2 + b2 - y) ** 2)


def student_truths(findings, theta):
    network = findings["network"]
    X, y, hidden = network["features"], network["labels"], network["hidden_units"]
    return mlp_gradient(theta, X, y, hidden), complex_step_hessian(theta, X, y, hidden)


def test_network_end_points_are_what_the_lesson_says(lesson8):
    findings, text = lesson8
    network, tol = findings["network"], findings["zero_tol"]
    assert network["num_parameters"] == 13
    for run in network["runs"]:
        gradient, truth = student_truths(findings, run["theta"])
        assert run["gradient_norm"] == pytest.approx(onp.linalg.norm(gradient), rel=1e-3, abs=1e-13)
        assert run["critical"] == (onp.linalg.norm(gradient) < findings["critical_tol"])
        values = onp.linalg.eigvalsh(truth)
        onp.testing.assert_allclose(run["eigenvalues"], values, atol=EIGEN_RTOL * onp.abs(values).max())
        assert run["minimum_ratio"] == hessian.minimum_ratio(values, tol)
        assert run["kind"] == hessian.classify(values, tol)
        assert run["gd_gradient_norm"] < findings["gd_tol"] or run["steps"] == network["max_steps"]
        # gradient descent only goes down: a critical point above where it stopped is not where it stalled
        loss = mlp_loss(run["theta"], network["features"], network["labels"], network["hidden_units"])
        assert run["loss"] == pytest.approx(loss, rel=1e-9)
        if abs(loss - run["gd_loss"]) > 1e-9 * run["gd_loss"]:  # away from the 1e-12 cut
            assert run["uphill"] == (loss > run["gd_loss"])
    ratios = [run["minimum_ratio"] for run in network["runs"] if run["critical"] and not run["uphill"]]
    if ratios and max(ratios) > 0.65:
        assert "Unlike the lecture's" in text
    elif ratios:
        assert "As in the lecture" in text


def test_the_network_saddle(lesson8):
    findings, _ = lesson8
    saddle = findings["saddle"]
    y = findings["network"]["labels"]
    gradient, truth = student_truths(findings, saddle["theta"])
    assert onp.linalg.norm(gradient) < 1e-12  # zero up to float64 rounding
    assert saddle["loss"] == pytest.approx(0.5 * y.var(), rel=1e-12)  # predicting the mean everywhere
    values = onp.linalg.eigvalsh(truth)
    onp.testing.assert_allclose(saddle["eigenvalues"], values, atol=EIGEN_RTOL * onp.abs(values).max())
    assert values[0] < -0.1 and values[-1] > 0.1 and saddle["kind"] == "saddle"


def test_escape_results_and_their_verdicts(lesson8):
    findings, text = lesson8
    escape, steps = findings["escape"], findings["escape_settings"]["steps"]
    assert escape["step along u, then GD"]["steps"] == 0
    gd = escape["gradient descent"]
    # From 1e-8 away, GD's distance along u grows by 1 + lr·|λ_min| ≈ 1.1 per update: after 150
    # updates ~1e-2, a loss change of order λ·(1e-2)² — far from the 10% needed to count as escaped.
    assert gd["steps"] is None and gd["largest_change_in_first_half"] < 1e-6
    assert "plain gradient descent stalled" in text and findings["measured_speedup"] is None
    for name, e in escape.items():
        if name != "gradient descent" and e["steps"] is not None:
            assert "%s got out after %d updates, sooner than plain gradient descent." % (name, e["steps"]) in text
            assert e["final_loss"] < findings["saddle"]["loss"]
    assert escape["mini-batch SGD (B = 10)"]["steps"] is not None
    assert escape["GD + momentum 0.9"]["steps"] is not None and escape["GD + momentum 0.9"]["steps"] < steps


def test_verdicts_follow_the_numbers_when_settings_flip(flipped):
    findings, text = flipped
    gd_steps = findings["escape"]["gradient descent"]["steps"]
    assert gd_steps is not None and "plain gradient descent stalled" not in text
    assert "plain gradient descent stayed near the saddle's loss for %d updates, then got out too." % gd_steps in text
    assert "Minimum ratio: inconclusive" in text and not any(r["critical"] for r in findings["network"]["runs"])
    t = 2.5 / math.sqrt(2)
    assert findings["loss_after_escape"] == pytest.approx((1 - t * t) ** 2, abs=1e-12)
    assert "did NOT lower the loss" in text


def test_bad_settings_are_refused_with_their_name(tmp_path):
    for name, value in [("gd_tol", -1.0), ("escape_drop", 1.5), ("batch_size", 100), ("num_starts", 0)]:
        with pytest.raises(runner.SettingError, match=name):
            runner.run_lesson("critical-points", quick=True, out_dir=tmp_path, settings={name: value})


def test_figures_and_json(lesson8):
    findings, _ = lesson8
    check_figures(findings, ["error_surface", "minimum_ratio", "saddle_escape"])
    check_json(findings)


def test_momentum_escapes_as_fast_as_the_linearized_dynamics_predict(flipped):
    findings, text = flipped
    # Along the saddle's most negative eigenvector (eigenvalue from the complex-step oracle) GD multiplies
    # the distance by 1 + lr·|λ| per update; heavy ball by the larger root of z² − (1 + β + lr·|λ|)z + β.
    values = onp.linalg.eigvalsh(student_truths(findings, findings["saddle"]["theta"])[1])
    settings = findings["escape_settings"]
    a, beta = settings["lr"] * abs(values[0]), settings["momentum"]
    z = (1 + beta + a + math.sqrt((1 + beta + a) ** 2 - 4 * beta)) / 2
    predicted = math.log(z) / math.log(1 + a)
    assert findings["predicted_speedup"] == pytest.approx(predicted, rel=1e-6)
    # The ratio of escape times matches only up to the transients (momentum starts at rest) and the
    # non-linear last stretch, both a few updates out of ~40 and ~110: 20% covers them.
    assert findings["measured_speedup"] == pytest.approx(predicted, rel=0.2)
    assert "Momentum's head start matches the linear prediction" in text
