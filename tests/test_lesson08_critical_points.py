"""Lesson 8: the lecture's saddle, the minimum ratio at small-gradient points, Newton's exact critical
points, escaping a saddle and a ball with momentum, against truths.

Truths (tests/oracles.py): the analytic gradient and Hessian of L = (1 − w1·w2)²; for the tanh
networks, the loss and gradient written out in float64 NumPy and the Hessian by the complex step,
independent of MXNet; Spearman's ρ from ranks; the label variance (the loss of predicting the mean);
the heavy-ball recursion for the ball. Tolerances: the lesson's Hessians are float64 central
differences, good to ~1e-10 relative (test_hessian.py), so 1e-7 relative to the largest eigenvalue
leaves a margin of about 1000; an eigenvalue counts by its sign only when it is 100 times the
lesson's zero_tol away from it.
"""
import math

import numpy as onp
import pytest
from lesson_checks import assert_teaching_shape, check_figures, check_json, run_quietly
from oracles import complex_step_hessian, lecture_gradient, lecture_hessian, mlp_gradient, mlp_loss, spearman

from gluon_lessons import hessian, landscape, recording, training

EIGEN_RTOL = 1e-7


@pytest.fixture(scope="module")
def lesson8(tmp_path_factory):
    return run_quietly("critical-points", tmp_path_factory.mktemp("critical_points"))


@pytest.fixture(scope="module")
def flipped(tmp_path_factory):
    # Settings that flip verdicts: escape runs started 1e-4 from the saddle (plain descent now gets out
    # within the quick 150 updates, so momentum's head start is measured), a step along u long enough to
    # climb out the far side of the valley, section 5's network as small as the smallest one (its end
    # points then mostly have no way down), Newton given no iteration, and balls too slow to leave the dip.
    return run_quietly("critical-points", tmp_path_factory.mktemp("flipped"), saddle_offset=1e-4,
                       escape_step=2.5, hidden_units=3, newton_iterations=0, ball_momenta=(0.0, 0.3))


def test_the_lecture_saddle(lesson8):
    findings, _ = lesson8
    lecture = findings["lecture_network"]
    onp.testing.assert_allclose(lecture["hessian_at_origin"], lecture_hessian(0, 0), atol=1e-8)
    onp.testing.assert_allclose(lecture["eigenvalues"], [-2, 2], atol=1e-8)
    u = onp.asarray(lecture["escape_direction"])
    assert abs(abs(u @ [1, 1]) / math.sqrt(2) - 1) < 1e-9  # ±[1, 1]/√2
    t = lecture["escape_step"] / math.sqrt(2)  # the step lands on w1 = w2 = t (or −t)
    assert lecture["loss_after_escape"] == pytest.approx((1 - t * t) ** 2, abs=1e-12)
    verdicts = findings["verdicts"]
    assert verdicts["origin_hessian"] == "agrees" and verdicts["origin_kind"] == "saddle"
    assert verdicts["step_along_u"] == "lowers the loss"


def test_critical_points_of_the_lecture_network(lesson8):
    findings, _ = lesson8
    for label, p in findings["lecture_network"]["critical_points"].items():
        w1, w2 = p["point"]
        assert p["gradient_norm"] == pytest.approx(onp.linalg.norm(lecture_gradient(w1, w2)), abs=1e-12)
        onp.testing.assert_allclose(p["eigenvalues"], onp.linalg.eigvalsh(lecture_hessian(w1, w2)), atol=1e-8)
        on_valley = abs(w1 * w2 - 1) < 1e-12
        expected = "saddle" if (w1, w2) == (0, 0) else "degenerate" if on_valley else "not critical"
        assert p["kind"] == expected, label
    assert findings["verdicts"]["valley_points"] == "degenerate"


def check_end_points(points, X, y, hidden, zero_tol, gd_tol):
    """Every number of every end point against the NumPy oracle."""
    assert len(points["steps"]) == len(points["ends"]) == len(points["minimum_ratios"])
    for run, theta in enumerate(points["ends"]):
        gradient, truth = mlp_gradient(theta, X, y, hidden), complex_step_hessian(theta, X, y, hidden)
        assert points["gradient_norms"][run] == pytest.approx(onp.linalg.norm(gradient), rel=1e-6)
        assert points["training_losses"][run] == pytest.approx(mlp_loss(theta, X, y, hidden), rel=1e-12)
        assert points["reached"][run] == (points["steps"][run] is not None)
        if points["reached"][run]:
            assert onp.linalg.norm(gradient) < gd_tol
        values = onp.linalg.eigvalsh(truth)
        onp.testing.assert_allclose(points["eigenvalues"][run], values,
                                    atol=EIGEN_RTOL * onp.abs(values).max())
        clear = onp.abs(values) > 100 * zero_tol  # signs that rounding cannot flip
        assert points["negative_counts"][run] >= onp.sum(values[clear] < 0)
        assert points["negative_counts"][run] <= onp.sum(values < -zero_tol / 100)
        assert points["minimum_ratios"][run] == hessian.minimum_ratio(points["eigenvalues"][run], zero_tol)
        step = hessian.examine(truth, zero_tol).newton_step(gradient)
        assert points["newton_lengths"][run] == pytest.approx(onp.linalg.norm(step), rel=1e-3)


def test_end_points_of_both_networks_against_numpy(lesson8):
    findings, _ = lesson8
    X, y, tol = findings["features"], findings["labels"], findings["zero_tol"]
    hidden, small_hidden = findings["hidden_units"], findings["small_hidden_units"]
    assert findings["num_parameters"] == (X.shape[1] + 2) * hidden + 1 == 33  # quick: 8 hidden units
    for key in ("minimum_ratios", "gradient_norms", "training_losses", "negative_counts"):
        assert len(findings[key]) == 4  # one entry per point (quick: 4 starts)
        onp.testing.assert_array_equal(findings[key], findings["network"][key])
    check_end_points(findings["network"], X, y, hidden, tol, findings["gd_tol"])
    check_end_points(findings["small_network"], X, y, small_hidden, tol, findings["gd_tol"])


def expected_ratio_verdicts(points, lecture_ratio=0.6):
    reached = onp.asarray(points["reached"])
    if not reached.any():
        return dict.fromkeys(("ways_down", "ratio_range", "loss_and_ratio"), "not measured")
    ratios = onp.asarray(points["minimum_ratios"])[reached]
    negative = onp.asarray(points["negative_counts"])[reached] > 0
    ways_down = {1.0: "every point", 0.0: "no point"}.get(
        negative.mean(), "most points" if negative.mean() > 0.5 else "some points")
    trend = "not measured"
    if reached.sum() >= 4 and onp.ptp(ratios) > 0:
        trend = "no clear trend" if points["p_value"] >= 0.05 else (
            "lower ratio at higher loss" if points["rank_correlation"] < 0 else "higher ratio at higher loss")
    return dict(ways_down=ways_down, loss_and_ratio=trend,
                ratio_range="as in the lecture" if ratios.max() <= lecture_ratio else "above the lecture's")


def test_ratio_verdicts_follow_the_numbers(lesson8):
    findings, _ = lesson8
    verdicts, network, small = findings["verdicts"], findings["network"], findings["small_network"]
    for name, value in expected_ratio_verdicts(network).items():
        assert verdicts[name] == value, name
    for name, value in expected_ratio_verdicts(small).items():
        assert verdicts["small_network_" + name] == value, name
    # quick, seed 0: every end point of the 33-parameter network has a way down, the 13-parameter
    # network's have none, and the ratios are lower in the bigger network
    assert verdicts["ways_down"] == "every point" and verdicts["small_network_ways_down"] == "no point"
    assert verdicts["ratio_and_size"] == "lower in the bigger network"
    assert max(network["minimum_ratios"]) < min(small["minimum_ratios"])


def test_full_batch_descent_makes_the_trainers_steps():
    # The compiled descent against the path it replaces: `training.fit` over full batches with
    # Trainer('sgd'), 120 steps of 3 networks side by side, and the gradient at the end against the
    # NumPy oracle. Both paths make the same float64 arithmetic in another order: measured 4e-16 apart
    # after 120 steps; a wrong step factor (lr without its float32 rounding) parts them by 1.5e-8.
    rng = onp.random.default_rng(3)
    X, hidden, lr = rng.standard_normal((40, 2)), 5, 0.4
    y = onp.tanh(X @ [1.5, -1.0]) + 0.1 * rng.standard_normal(40)
    networks = hessian.TanhNetworks(3, 2, hidden)
    networks.initialize()
    networks.cast("float64")
    runs = hessian.RunsLoss(networks, X, y)
    start = rng.standard_normal((3, networks.size))
    runs.set(start)
    trainer = training.make_trainer(networks, "sgd", lr)
    training.fit(networks, recording.full_batches(X, y, 120), trainer, 1, loss=hessian.sum_of_l2_losses,
                 progress=False)
    descent = hessian.FullBatchDescent(networks, X, y, lr)
    theta, gradients, _ = descent(start, 50)
    theta, gradients, losses = descent(theta, 70)  # two graphs, 50 and 70 steps, continue one path
    onp.testing.assert_allclose(theta, runs.get().reshape(3, -1), rtol=0, atol=1e-12)
    for row, gradient in zip(theta, gradients):
        onp.testing.assert_allclose(gradient, mlp_gradient(row, X, y, hidden), rtol=1e-10, atol=1e-13)
    with pytest.raises(ValueError, match="num_steps"):
        descent(theta, 0)
    with pytest.raises(ValueError, match="theta"):
        descent(theta[:2], 10)


def test_full_batch_descent_with_momentum_per_run_is_the_trainers_heavy_ball():
    # Three runs side by side with momenta 0, 0.5 and 0.9, against one Trainer('sgd', momentum) per run
    # through training.fit; the losses it reports against the networks' own, before and after.
    rng = onp.random.default_rng(4)
    X, hidden, lr, momenta = rng.standard_normal((30, 2)), 3, 0.1, (0.0, 0.5, 0.9)
    y = onp.sin(X @ [1.0, 2.0])
    networks = hessian.TanhNetworks(3, 2, hidden)
    networks.initialize()
    networks.cast("float64")
    runs = hessian.RunsLoss(networks, X, y)
    start = rng.standard_normal((3, networks.size))
    descent = hessian.FullBatchDescent(networks, X, y, lr, momentum=momenta)
    theta, _, first = descent(start, 40)
    theta, _, second = descent(theta, 40)  # the velocity carries over
    onp.testing.assert_allclose(first[0], runs.run_values(start), rtol=1e-13)
    onp.testing.assert_allclose(second[-1], runs.run_values(theta), rtol=1e-13)
    onp.testing.assert_array_equal(first[-1], second[0])
    for k, beta in enumerate(momenta):
        one = hessian.TanhNetworks(1, 2, hidden)
        one.initialize()
        one.cast("float64")
        alone = hessian.RunsLoss(one, X, y)
        alone.set(start[k])
        trainer = training.make_trainer(one, "sgd", lr, beta)
        training.fit(one, recording.full_batches(X, y, 80), trainer, 1, loss=hessian.sum_of_l2_losses,
                     progress=False)
        onp.testing.assert_allclose(theta[k], alone.get(), rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match="momentum"):
        hessian.FullBatchDescent(networks, X, y, lr, momentum=(0.5, 1.0, 0.0))


def test_rank_correlation_against_ranks(tmp_path):
    findings, _ = run_quietly("critical-points", tmp_path, num_starts=6, hidden_units=3, escape_steps=10,
                              ball_momenta=(0.0,), newton_iterations=0)
    for points in (findings["network"], findings["small_network"]):
        reached = onp.asarray(points["reached"])
        assert reached.sum() >= 4
        rho = spearman(points["training_losses"][reached], points["minimum_ratios"][reached])
        if len(set(points["minimum_ratios"][reached])) == reached.sum():  # no ties: plain ranks hold
            assert points["rank_correlation"] == pytest.approx(rho, abs=1e-12)
        for name, value in expected_ratio_verdicts(points).items():
            prefix = "" if points is findings["network"] else "small_network_"
            assert findings["verdicts"][prefix + name] == value


def test_newton_finds_critical_points_and_says_how_far(lesson8):
    findings, _ = lesson8
    small, tol = findings["small_network"], findings["critical_tol"]
    X, y, hidden = findings["features"], findings["labels"], findings["small_hidden_units"]
    found = onp.asarray(small["newton_found"])
    for run, theta in enumerate(small["newton_ends"]):
        norm = onp.linalg.norm(mlp_gradient(theta, X, y, hidden))
        assert small["newton_gradient_norms"][run] == pytest.approx(norm, rel=1e-3, abs=1e-13)
        assert small["newton_moved"][run] == pytest.approx(onp.linalg.norm(theta - small["ends"][run]),
                                                           rel=1e-12)
        assert small["newton_iterations"][run] <= 8
        if found[run]:
            assert norm < 10 * tol  # exact to the tolerance, by an independent gradient
            values = onp.linalg.eigvalsh(complex_step_hessian(theta, X, y, hidden))
            assert small["newton_kinds"][run] == hessian.classify(values, findings["zero_tol"])
    share = found.sum() / onp.sum(small["reached"])
    assert findings["verdicts"]["exact_critical_points"] == (
        "found for most" if share > 0.5 else "found for some" if share > 0 else "found for none")
    agree = all(small["newton_kinds"][run] == small["end_kinds"][run] for run in onp.flatnonzero(found))
    assert findings["verdicts"]["kinds_agree"] == ("agree" if agree else "differ for some")


def test_the_network_saddle(lesson8):
    findings, _ = lesson8
    escape = findings["escape"]
    X, y, hidden = findings["features"], findings["labels"], findings["small_hidden_units"]
    gradient, truth = mlp_gradient(escape["saddle"], X, y, hidden), complex_step_hessian(escape["saddle"],
                                                                                        X, y, hidden)
    assert onp.linalg.norm(gradient) < 1e-12  # zero up to float64 rounding
    assert escape["saddle_loss"] == pytest.approx(0.5 * y.var(), rel=1e-12)  # predicting the mean
    values = onp.linalg.eigvalsh(truth)
    onp.testing.assert_allclose(escape["saddle_eigenvalues"], values, atol=EIGEN_RTOL * onp.abs(values).max())
    assert values[0] < -0.1 and values[-1] > 0.1 and escape["saddle_kind"] == "saddle"


def test_escape_results_and_their_verdicts(lesson8):
    findings, _ = lesson8
    runs, verdicts = findings["escape"]["runs"], findings["verdicts"]
    assert runs["step along u, then GD"]["steps"] == 0
    gd = runs["gradient descent"]
    # From 1e-8 away, GD's distance along u grows by 1 + lr·|λ_min| ≈ 1.1 per update: after 150
    # updates ~1e-2, a loss change of order λ·(1e-2)² — far from the 10% needed to count as escaped.
    assert gd["steps"] is None and gd["largest_early_change"] < 1e-6
    assert verdicts["plain_descent_at_saddle"] == "stalled"
    assert math.isnan(findings["escape"]["measured_speedup"]) and verdicts["momentum_speedup"] == "not measured"
    for name, key in [("step along u, then GD", "escape_step_along_u"),
                      ("mini-batch SGD (B = 10)", "escape_minibatch"), ("GD + momentum 0.9", "escape_momentum")]:
        assert runs[name]["steps"] is not None and verdicts[key] == "escaped sooner"
        assert runs[name]["final_loss"] < findings["escape"]["saddle_loss"]


def test_the_ball_stops_in_the_dip_without_momentum_and_rolls_through_with_it(lesson8):
    findings, _ = lesson8
    ball = findings["ball"]
    for momentum, w in ball["final_position"].items():
        assert abs(w ** 3 - w + 0.3) < 1e-3, momentum  # every ball has come to rest at a critical point
    dip, ridge, valley = sorted(landscape.critical_points_of_double_well(0.3), reverse=True)
    assert ball["final_position"]["0.0"] == pytest.approx(dip, abs=1e-3)  # plain descent stays in the dip
    assert ball["final_position"]["0.6"] == pytest.approx(valley, abs=1e-3)  # momentum carries it over
    assert ball["final_position"]["0.9"] > ridge and ball["overshot_back"] == [0.9]  # too much: back again
    assert ball["rolled_through"] == [0.6] and findings["verdicts"]["momentum_past_dip"] == "carried past"


def test_ball_through_the_trainer_follows_the_heavy_ball_recursion():
    lr, momentum, start, tilt = 0.1, 0.6, 2.0, 0.3
    recorder = recording.record_position(lambda w: landscape.tilted_double_well(w, tilt), [start], lr, momentum,
                                         num_steps=100)
    w, v, path = start, 0.0, [start]
    for _ in range(100):
        v = momentum * v - lr * (w ** 3 - w + tilt)
        w = w + v
        path.append(w)
    onp.testing.assert_allclose(recorder.parameters[:, 0], path, atol=1e-5)


def test_verdicts_follow_the_numbers_when_settings_flip(lesson8, flipped):
    findings, _ = flipped
    verdicts, before = findings["verdicts"], lesson8[0]["verdicts"]
    assert findings["escape"]["runs"]["gradient descent"]["steps"] is not None
    assert verdicts["plain_descent_at_saddle"] == "escaped" != before["plain_descent_at_saddle"]
    t = 2.5 / math.sqrt(2)
    assert findings["lecture_network"]["loss_after_escape"] == pytest.approx((1 - t * t) ** 2, abs=1e-12)
    assert verdicts["step_along_u"] == "does not" != before["step_along_u"]
    assert findings["num_parameters"] == 13
    assert verdicts["ways_down"] == "some points" != before["ways_down"]
    assert verdicts["ratio_and_size"] == "no clear difference" != before["ratio_and_size"]
    assert verdicts["exact_critical_points"] == "found for none" != before["exact_critical_points"]
    assert verdicts["kinds_agree"] == "not measured" != before["kinds_agree"]
    assert verdicts["momentum_past_dip"] == "not carried past" != before["momentum_past_dip"]


def test_momentum_escapes_as_fast_as_the_linearized_dynamics_predict(flipped):
    findings, _ = flipped
    # Along the saddle's most negative eigenvector (eigenvalue from the complex-step oracle) GD multiplies
    # the distance by 1 + lr·|λ| per update; heavy ball by the larger root of z² − (1 + β + lr·|λ|)z + β.
    escape = findings["escape"]
    truth = complex_step_hessian(escape["saddle"], findings["features"], findings["labels"],
                                 findings["small_hidden_units"])
    a, beta = escape["lr"] * abs(onp.linalg.eigvalsh(truth)[0]), escape["momentum"]
    z = (1 + beta + a + math.sqrt((1 + beta + a) ** 2 - 4 * beta)) / 2
    predicted = math.log(z) / math.log(1 + a)
    assert escape["predicted_speedup"] == pytest.approx(predicted, rel=1e-6)
    # The ratio of escape times matches only up to the transients (momentum starts at rest) and the
    # non-linear last stretch, both a few updates out of ~40 and ~110: 20% covers them.
    assert escape["measured_speedup"] == pytest.approx(predicted, rel=0.2)
    assert findings["verdicts"]["momentum_speedup"] == "agrees"


def test_descent_that_cannot_reach_the_tolerance_is_reported_not_reached(tmp_path):
    findings, text = run_quietly("critical-points", tmp_path, num_starts=2, max_steps=50, gd_tol=1e-6,
                                 escape_steps=10, ball_momenta=(0.0,), newton_iterations=1)
    assert not any(findings["network"]["reached"]) and not any(findings["small_network"]["reached"])
    for prefix in ("", "small_network_"):
        for name in ("ways_down", "ratio_range", "loss_and_ratio"):
            assert findings["verdicts"][prefix + name] == "not measured"
    assert findings["verdicts"]["ratio_and_size"] == "not measured"
    assert "no run reached ‖∇L‖ < 1e-06 within 50 steps" in text


@pytest.mark.parametrize("name, value", [
    ("zero_tol", 3.0), ("escape_lr", 1e-17), ("label_noise", 1e308), ("label_noise", -1.0),
    ("num_starts", 10**12), ("max_steps", 10**12), ("escape_steps", 10**12), ("hidden_units", 0),
    ("gd_tol", -1.0), ("escape_drop", 1.5), ("batch_size", 100), ("tilt", 0.5), ("init_scale", 1e308),
    ("ball_momenta", (0.5, 1.5)), ("small_hidden_units", 30)])
def test_bad_settings_are_refused_with_their_name(tmp_path, name, value):
    with pytest.raises(ValueError, match=name):
        run_quietly("critical-points", tmp_path, **{name: value})


def test_figures_json_and_teaching_shape(lesson8):
    findings, text = lesson8
    check_figures(findings, ["error_surface", "minimum_ratio", "minimum_ratio_by_size", "saddle_escape",
                             "momentum_ball"])
    check_json(findings)
    assert_teaching_shape("critical-points", findings, text)
