"""Lesson 5: MXNet's momentum against the lecture's formula, and MXNet's measured rates and noise against theory.

Truths used: gradients and Hessians computed here from the data (X̃ᵀ(X̃θ − y)/n, eigvalsh of X̃ᵀX̃/n),
the textbook rates written out in each test, the update rules simulated in NumPy, and the exact
mini-batch moment recursion of `convergence` (itself checked against Monte Carlo in
test_convergence_theory.py).
"""
import math

import numpy as onp
import pytest
from lesson_checks import check_figures, check_json, run_quietly

from gluon_lessons import convergence, landscape, recording
from gluon_lessons.shell import cli
from gluon_lessons import data as house_data

FLOAT32_EPS = 2.0 ** -23


def design(features):
    return onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])


def eigen(features):
    """Eigenvalues of X̃ᵀX̃/n, computed here, and κ."""
    X = design(features)
    values = onp.linalg.eigvalsh(X.T @ X / len(X))
    return values, values[-1] / values[0]


def mean_gradient(features, labels, params):
    X = design(features)
    return X.T @ (X @ params - onp.asarray(labels, onp.float64)) / len(X)


def least_squares(features, labels):
    return onp.linalg.lstsq(design(features), onp.asarray(labels, onp.float64), rcond=None)[0]


DATA_SETS = {
    "practical units": lambda: landscape.practical_houses(1000, seed=0),
    "walkthrough, area x10": lambda: landscape.stretched_walkthrough(1000, seed=0),
}


# ---------------------------------------------------------------- momentum is a sum of gradients

@pytest.mark.parametrize("momentum", [0.5, 0.9, 0.99])
def test_trainer_momentum_state_is_the_weighted_gradient_sum(walkthrough, momentum):
    lr, num_steps = 0.03, 20
    recorder = recording.record_linear_regression(walkthrough.features, walkthrough.labels, lr, momentum,
                                                  num_steps=num_steps, batch_size=10, dtype="float32",
                                                  gradients=True, states=True)
    gradients, states = recorder.gradients, recorder.states
    expected = onp.array([-lr * sum(momentum ** (k - i) * gradients[i] for i in range(k + 1))
                          for k in range(num_steps)])
    # Float32 rounding: each update rounds a few operations at 2^-23 relative to |v| or η|g|, and
    # at most num_steps of those errors add up (β < 1 damps older ones).
    scale = max(onp.abs(states).max(), lr * onp.abs(gradients).max())
    assert onp.abs(states - expected).max() <= num_steps * 4 * FLOAT32_EPS * scale


def test_momentum_state_in_float64_equals_the_sum_of_analytic_gradients():
    features, labels = landscape.practical_houses(200, seed=1)
    lr, momentum, num_steps = 0.05, 0.8, 30
    recorder = recording.record_linear_regression(features, labels, lr, momentum, num_steps=num_steps,
                                                  gradients=True, states=True)
    analytic = onp.array([mean_gradient(features, labels, p) for p in recorder.parameters[:-1]])
    # The gradient Trainer.step(n) uses is the mean-loss gradient, to float64 rounding.
    onp.testing.assert_allclose(recorder.gradients, analytic, rtol=1e-9, atol=1e-9 * onp.abs(analytic).max())
    expected = onp.array([-lr * sum(momentum ** (k - i) * analytic[i] for i in range(k + 1)) for k in range(num_steps)])
    # MXNet's optimizer passes lr and momentum to its kernel as float32 (relative error 2^-24 each),
    # and β^k carries k such errors.
    onp.testing.assert_allclose(recorder.states, expected, rtol=num_steps * FLOAT32_EPS,
                                atol=num_steps * FLOAT32_EPS * onp.abs(expected).max())


def sutskever(features, labels, lr, momentum, num_steps, start):
    """Sutskever's Nesterov in NumPy: v' = βv − η∇L(w + βv), w' = w + v'; (iterates w_k, look-aheads w_k + βv_k)."""
    w, v = onp.array(start, onp.float64), onp.zeros(len(start))
    iterates, look_ahead = [w.copy()], [w.copy()]
    for _ in range(num_steps):
        v = momentum * v - lr * mean_gradient(features, labels, w + momentum * v)
        w = w + v
        iterates.append(w.copy())
        look_ahead.append(w + momentum * v)
    return onp.array(iterates), onp.array(look_ahead)


def test_mxnet_nag_stores_the_look_ahead_and_nag_iterates_recovers_the_iterate():
    features, labels = landscape.practical_houses(200, seed=2)
    lr, momentum, num_steps = 0.05, 0.8, 40
    recorder = recording.record_linear_regression(features, labels, lr, momentum, "nag", num_steps=num_steps,
                                                  states=True)
    iterates, look_ahead = sutskever(features, labels, lr, momentum, num_steps, recorder.parameters[0])
    # MXNet's float32 lr/momentum (relative 2^-24) over 40 steps of a contracting map: 1e-5 relative is ample.
    tolerance = dict(rtol=1e-5, atol=1e-5 * onp.abs(iterates).max())
    onp.testing.assert_allclose(recorder.parameters, look_ahead, **tolerance)
    onp.testing.assert_allclose(recording.nag_iterates(recorder, momentum), iterates, **tolerance)
    # The first step: the iterate moves −η∇L(w₀), gradient descent's step; the stored point (1 + β) times it.
    # MXNet's kernel takes η and β as float32: relative errors of 2^-24 ≈ 6e-8 each, so 1e-6.
    gd_step = lr * onp.linalg.norm(mean_gradient(features, labels, recorder.parameters[0]))
    stored, actual = recorder.parameters, recording.nag_iterates(recorder, momentum)
    assert onp.linalg.norm(actual[1] - actual[0]) == pytest.approx(gd_step, rel=1e-6)
    assert onp.linalg.norm(stored[1] - stored[0]) == pytest.approx((1 + momentum) * gd_step, rel=1e-6)
    onp.testing.assert_allclose(recording.iterates(features, labels, lr, momentum, "nag", num_steps), iterates,
                                **tolerance)


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


def test_independent_batches_and_a_given_start():
    features, labels = landscape.practical_houses(50, seed=4)
    start = [1.0, -2.0, 3.0]
    first = recording.record_linear_regression(features, labels, 0.01, 0.5, num_steps=30, batch_size=10,
                                               dtype="float32", seed=7, start=start, independent=True)
    again = recording.record_linear_regression(features, labels, 0.01, 0.0, num_steps=30, batch_size=10,
                                               dtype="float32", seed=7, start=start, independent=True)
    onp.testing.assert_allclose(first.parameters[0], start, rtol=1e-7)  # float32 copies of the numbers given
    batches = recording.IndependentBatches(features, labels, 10, 30)
    assert len(batches) == 30 and all(len(onp.unique(X.asnumpy(), axis=0)) == 10 for X, _ in batches)
    # The same seed deals the same batches whatever the optimizer: the first update differs only by momentum's
    # state, which is zero before it, so both runs take the same first step.
    onp.testing.assert_allclose(first.parameters[1], again.parameters[1], rtol=1e-6)


# ---------------------------------------------------------------- rates: theory against measurement

@pytest.mark.parametrize("name", list(DATA_SETS))
def test_curvature_is_ill_conditioned_and_matches_numpy(name):
    features, _ = DATA_SETS[name]()
    expected, expected_kappa = eigen(features)
    values = landscape.eigenvalues(landscape.hessian(features))
    onp.testing.assert_allclose(values, expected, rtol=1e-10)
    assert landscape.condition_number(values) == pytest.approx(expected_kappa, rel=1e-10)
    assert expected_kappa > 50


def check_rates(runs, kappa):
    """The measured rates of section 4 against the textbook formulas written out here."""
    root = math.sqrt(kappa)
    assert runs["gd"]["rate_theory"] == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-9)
    # GD's error is a sum of pure geometric modes; the slowest, at (κ−1)/(κ+1), leads within a few
    # hundred steps, so the measurement is far inside the 5% asked for: 0.5%.
    assert runs["gd"]["rate_measured"] == pytest.approx(runs["gd"]["rate_theory"], rel=5e-3)
    assert runs["momentum"]["rate_theory"] == pytest.approx((root - 1) / (root + 1), rel=1e-9)
    # At the best β the extreme eigenvalues give a double root: the error decays like k·ρᵏ, which
    # reads about 1% slow over the window; 5% is the tolerance.
    assert runs["momentum"]["rate_measured"] == pytest.approx(runs["momentum"]["rate_theory"], rel=0.05)
    assert runs["momentum"]["rate_measured"] < (kappa - 1) / (kappa + 1)  # and far faster than GD
    # With β raised 2% every root is distinct with modulus √β: exact but for the window's ends. 0.5%.
    detuned = runs["momentum_detuned"]
    assert detuned["rate_theory"] == pytest.approx(math.sqrt(detuned["momentum"]), rel=1e-9)
    assert detuned["rate_measured"] == pytest.approx(detuned["rate_theory"], rel=5e-3)
    assert runs["nag"]["rate_theory"] == pytest.approx(1 - 2 / math.sqrt(3 * kappa + 1), rel=1e-9)
    assert runs["nag"]["rate_measured"] == pytest.approx(runs["nag"]["rate_theory"], rel=0.05)


def test_stability_limits_just_inside_converges_just_outside_diverges():
    # The lesson measures these on the practical-units houses (test_lesson_stability_findings); here the other data set.
    features, labels = landscape.stretched_walkthrough(1000, seed=0)
    values, kappa = eigen(features)
    optimum = least_squares(features, labels)
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    for limit, momentum in ((2 / values[-1], 0.0), ((2 + 2 * beta) / values[-1], beta)):
        for factor, converges in ((0.98, True), (1.02, False)):
            lr = factor * limit
            points = recording.iterates(features, labels, lr, momentum, num_steps=150, expect_growth=True)
            errors = onp.linalg.norm(points - optimum, axis=1)
            measured_rate = convergence.measure_growth(errors).rate
            assert (errors[-1] < 0.1 * errors[0], measured_rate < 1) == (converges, converges)
            assert (errors[-1] > 10 * errors[0]) == (not converges)
            # The predicted factor per step; for GD it is max |1 − ηλᵢ|, written out here.
            theory = convergence.heavy_ball_rate(lr, momentum, values)
            if momentum == 0:
                assert theory == pytest.approx(onp.abs(1 - lr * values).max(), rel=1e-12)
            assert measured_rate == pytest.approx(theory, rel=5e-3)


def test_nag_stability_limit_is_narrower():
    features, labels = landscape.stretched_walkthrough(300, seed=3)
    values, _ = eigen(features)
    optimum = least_squares(features, labels)
    beta = 0.5
    limit = (2 + 2 * beta) / ((1 + 2 * beta) * values[-1])
    for factor, converges in ((0.98, True), (1.02, False)):
        points = recording.iterates(features, labels, factor * limit, beta, "nag", num_steps=300, expect_growth=True)
        errors = onp.linalg.norm(points - optimum, axis=1)
        assert (errors[-1] < 0.1 * errors[0]) == converges


# ---------------------------------------------------------------- the lesson end to end

@pytest.fixture(scope="module")
def lesson5(tmp_path_factory):
    return run_quietly("momentum", tmp_path_factory.mktemp("momentum"))


@pytest.fixture(scope="module")
def without_momentum(tmp_path_factory):
    """β = 0 on the contours and in section 7 (every other section as small as it goes), the second data set on."""
    return run_quietly("momentum", tmp_path_factory.mktemp("momentum0"), contour_momentum=0.0, minibatch_momentum=0.0,
                       ball_momenta=(0.0,), minibatch_fractions=(0.7,), also_stretched=True)


def test_lesson_findings_match_theory(lesson5):
    findings, text = lesson5
    raw = house_data.raw_house_prices(findings["num_examples"], seed=0)
    values, kappa = eigen(raw.features.astype(onp.float64) / [100.0, 10.0])
    onp.testing.assert_allclose(findings["eigenvalues"], values, rtol=1e-9)
    assert findings["kappa"] == pytest.approx(kappa, rel=1e-9)
    assert findings["kappa_raw_units"] > 1000 * findings["kappa"]
    runs = {name: {"momentum": findings.get(name + "_beta", 0.0), "rate_theory": findings[name + "_rate_theory"],
                   "rate_measured": findings[name + "_rate_measured"]}
            for name in ("gd", "momentum", "momentum_detuned", "nag")}
    check_rates(runs, kappa)
    assert findings["gradient_sum_max_abs_diff"] < 1e-6  # float32 rounding of states below 1
    assert findings["gradient_sum_within_rounding"] and "is float32 rounding" in text
    assert findings["quick"] is True and findings["seed"] == 0


def test_lesson_stability_findings(lesson5):
    findings, text = lesson5
    stability = findings["stability"]
    assert stability["gd_outside"]["rate_measured"] > 1 > stability["gd_inside"]["rate_measured"]
    assert stability["momentum_outside"]["rate_measured"] > 1 > stability["momentum_inside"]["rate_measured"]
    for run in stability.values():
        assert run["rate_measured"] == pytest.approx(run["rate_theory"], rel=5e-3)  # as in the test above
    assert text.count("the limit is sharp") == 2


def test_lesson_draws_nesterovs_iterate_and_it_brakes(lesson5):
    findings, text = lesson5
    beta = findings["contour_momentum"]
    first = findings["contour_first_step"]
    # Sutskever's first step equals gradient descent's; the look-ahead MXNet stores moved (1 + β) times as far
    # (η and β reach MXNet's kernel as float32, relative 6e-8 each: 1e-6).
    assert first["nag"] == pytest.approx(first["gd"], rel=1e-6)
    assert first["nag_look_ahead"] == pytest.approx((1 + beta) * first["gd"], rel=1e-6)
    path, look_ahead = onp.array(findings["contour_paths"]["nag"]), onp.array(findings["contour_look_ahead"])
    velocity = onp.diff(path, axis=0)  # v_k = w_k − w_{k−1}
    onp.testing.assert_allclose(look_ahead[1:], path[1:] + beta * velocity, rtol=1e-6, atol=1e-6)
    # On this valley (η = 1/λ_max) NAG's steep component vanishes after one step: 1 − ηλ_max = 0 makes both of
    # its roots zero, while heavy ball's have modulus √β; along the floor NAG's roots are the smaller.
    assert findings["contour_swing"]["nag"] < 1e-6 < 0.5 < findings["contour_swing"]["momentum"]
    assert findings["contour_overshoot"]["nag"] < findings["contour_overshoot"]["momentum"]
    assert "Nesterov brakes" in text and "the same first step as gradient descent" in text


def test_lesson_ball_stops_in_the_dip_without_momentum_and_rolls_through_with_it(lesson5):
    findings, text = lesson5
    finals = findings["ball_final_position"]
    for momentum, w in finals.items():
        assert abs(w ** 3 - w + 0.3) < 1e-3, momentum  # every ball has come to rest at a critical point
        assert w ** 2 > 1 / 3  # and it is a minimum: L''(w) = 3w² − 1 > 0
    assert finals["0.0"] > 0  # plain gradient descent stays in the shallow dip
    assert finals["0.6"] < 0  # momentum carries the ball over the ridge into the deep valley
    assert finals["0.9"] > 0 and findings["ball_momenta_overshot_back"] == [0.9]  # and too much carries it back
    assert "stopped in the shallow dip (gradient zero) for β = 0;" in text
    assert "into the deeper valley for β = 0.6;" in text


def test_lesson_minibatch_floors_are_measured_at_stationarity_and_match_theory(lesson5):
    findings, text = lesson5
    small, large = findings["minibatch"]
    assert small["effective_lr"] < large["effective_lr"]
    features, labels = landscape.practical_houses(findings["num_examples"], seed=0)
    noise = convergence.minibatch_noise(features.astype(onp.float32), labels, 10)  # what the float32 batches hold
    for row in (small, large):
        for name in ("sgd", "momentum"):
            assert row[name + "_stationary_theory"] == pytest.approx(
                convergence.stationary_excess_loss(noise, row[name + "_lr"], 0.0 if name == "sgd" else 0.9), rel=1e-9)
            # The mean of 4 block means: Student's t with 3 degrees of freedom; its 99% interval, ±5.8 s.e.
            # (simulations of this very set-up: the block s.e. is calibrated to within ~1.5×).
            z = (row[name + "_late_excess_loss"] - row[name + "_stationary_theory"]) / row[name + "_late_error"]
            assert abs(z) < convergence.student_bound(4), (row["effective_lr"], name, z)
        # From θ = 0 the descent to 1% of the start is carried by the mean, not the noise, but momentum rings and
        # how much varies from run to run: single runs arrive within about 20% of E[L]'s arrival (simulated over
        # seeds); 25% is the tolerance.
        for name in ("sgd", "momentum"):
            assert row[name + "_steps_to_target"] == pytest.approx(row[name + "_steps_to_target_theory"], rel=0.25)
    # Near SGD's edge theory says momentum's floor is lower, by the additive-noise estimate and by the exact
    # recursion alike; the measurement must agree in direction, by more than 2 s.e.
    assert large["theory_steepest_ratio"] > 2 and large["ratio_theory"] > 2
    assert large["ratio"] - convergence.student_bound(4) * large["ratio_error"] > 1 and "momentum settles lower" in text
    assert text.count("agrees with the exact theory: ") == 2


def test_verdicts_follow_the_numbers_when_momentum_is_zero(lesson5, without_momentum):
    _, default_text = lesson5
    findings, text = without_momentum
    # β = 0: the "momentum" runs make exactly the SGD updates on the same batches, so the floors are
    # identical (ratio 1, no spread) and both arrive at the same step; heavy ball, NAG and GD draw one path.
    row = findings["minibatch"][0]
    assert row["ratio"] == 1.0 and row["ratio_error"] == 0.0
    assert row["sgd_steps_to_target"] == row["momentum_steps_to_target"]
    assert max(findings["contour_swing"].values()) < 1e-9 and max(findings["contour_overshoot"].values()) < 1e-9
    for changed, default in (("the two floors cannot be told apart", "momentum settles lower"),
                             ("momentum is about as fast (within 10%), no faster", "momentum is slower"),
                             ("neither clearly brakes more than the other", "Nesterov brakes")):
        assert changed in text and default not in text
        assert default in default_text
    assert "rolled through into the deeper valley for β = none" in text


def test_second_data_set_rates_match_theory(without_momentum):
    findings, _ = without_momentum
    (second,) = findings["second_data_set"]
    features, _ = landscape.stretched_walkthrough(findings["num_examples"], seed=0)
    values, kappa = eigen(features)
    assert second["kappa"] == pytest.approx(kappa, rel=1e-9)
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    runs = {name: {"momentum": 1.02 * beta if name == "momentum_detuned" else 0.0,
                   "rate_theory": second[name + "_rate_theory"], "rate_measured": second[name + "_rate_measured"]}
            for name in ("gd", "momentum", "momentum_detuned", "nag")}
    check_rates(runs, kappa)


def test_lesson_figures_and_json(lesson5):
    findings, _ = lesson5
    check_figures(findings, ["momentum_memory", "convergence", "loss", "stability", "contour_paths",
                             "critical_points", "minibatch"])
    check_json(findings)


def test_lesson_runs_within_its_quick_budget(lesson5):
    # About 6 s on an idle two-core machine; the bound leaves room for a machine shared with other
    # work and still catches a quick run that has grown many times over.
    assert lesson5[0]["seconds"] < 90


@pytest.mark.parametrize("setting, message", [
    ("num_examples=50", "num_examples"), ("gd_steps=10", "gd_steps"), ("momentum_steps=10", "momentum_steps"),
    ("area_unit_m2=0", "area_unit_m2"), ("stretch=-1", "stretch"), ("tilt=0.5", "tilt"),
    ("contour_momentum=1.0", "contour_momentum"), ("ball_momenta=0.5,1.5", "ball_momenta"),
    ("minibatch_momentum=1.0", "minibatch_momentum"), ("minibatch_fractions=0.5,0.95", "minibatch_fractions"),
    ("minibatch_steps=100", "minibatch_steps"), ("minibatch_repeats=0", "minibatch_repeats"),
    ("target_fraction=1.0", "target_fraction"), ("also_stretched=3", "also_stretched")])
def test_bad_settings_exit_2_with_one_line_naming_the_setting(capsys, setting, message):
    assert cli.main(["run", "momentum", "--quick", "--set", setting]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error
