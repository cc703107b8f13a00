"""Lesson 5: MXNet's momentum against the lecture's formula, and MXNet's measured rates against theory.

Truths used: gradients and Hessians computed here from the data (X̃ᵀ(X̃θ − y)/n, eigvalsh of X̃ᵀX̃/n),
the textbook rates written out in each test, and the update rules simulated in NumPy.
"""
import contextlib
import io
import json
import math

import numpy as onp
import pytest

from gluon_lessons import cli, convergence, landscape, recording
from gluon_lessons import data as house_data
from gluon_lessons.lessons import lesson05_momentum as lesson

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


def quiet(function, *args, **kwargs):
    with contextlib.redirect_stdout(io.StringIO()):
        return function(*args, **kwargs)


DATA_SETS = {
    "practical units": lambda: lesson.practical_houses(1000, seed=0),
    "walkthrough, area x10": lambda: lesson.stretched_walkthrough(1000, seed=0),
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
    # at most num_steps of those errors add up (λ < 1 damps older ones).
    scale = max(onp.abs(states).max(), lr * onp.abs(gradients).max())
    assert onp.abs(states - expected).max() <= num_steps * 4 * FLOAT32_EPS * scale


def test_momentum_state_in_float64_equals_the_sum_of_analytic_gradients():
    features, labels = lesson.practical_houses(200, seed=1)
    lr, momentum, num_steps = 0.05, 0.8, 30
    recorder = recording.record_linear_regression(features, labels, lr, momentum, num_steps=num_steps,
                                                  gradients=True, states=True)
    analytic = onp.array([mean_gradient(features, labels, p) for p in recorder.parameters[:-1]])
    # The gradient Trainer.step(n) uses is the mean-loss gradient, to float64 rounding.
    onp.testing.assert_allclose(recorder.gradients, analytic, rtol=1e-9, atol=1e-9 * onp.abs(analytic).max())
    expected = onp.array([-lr * sum(momentum ** (k - i) * analytic[i] for i in range(k + 1)) for k in range(num_steps)])
    # MXNet's optimizer passes lr and momentum to its kernel as float32 (relative error 2^-24 each),
    # and λ^k carries k such errors.
    onp.testing.assert_allclose(recorder.states, expected, rtol=num_steps * FLOAT32_EPS,
                                atol=num_steps * FLOAT32_EPS * onp.abs(expected).max())


def test_mxnet_nag_follows_sutskevers_look_ahead_points():
    features, labels = lesson.practical_houses(200, seed=2)
    lr, momentum, num_steps = 0.05, 0.8, 40
    recorder = recording.record_linear_regression(features, labels, lr, momentum, "nag", num_steps=num_steps)
    # Sutskever: v' = βv − α∇L(w + βv), w' = w + v'. MXNet's nag stores the look-ahead point w + βv.
    w, v, look_ahead = recorder.parameters[0].copy(), onp.zeros(3), [recorder.parameters[0].copy()]
    for _ in range(num_steps):
        v = momentum * v - lr * mean_gradient(features, labels, w + momentum * v)
        w = w + v
        look_ahead.append(w + momentum * v)
    look_ahead = onp.array(look_ahead)
    onp.testing.assert_allclose(recorder.parameters, look_ahead, rtol=1e-5, atol=1e-5 * onp.abs(look_ahead).max())


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


# ---------------------------------------------------------------- rates: theory against measurement

@pytest.fixture(scope="module", params=list(DATA_SETS))
def measured(request):
    features, labels = DATA_SETS[request.param]()
    return features, labels, lesson.measure_methods(features, labels, gd_steps=600, momentum_steps=200)


def test_curvature_is_ill_conditioned_and_matches_numpy(measured):
    features, _, result = measured
    values, kappa = eigen(features)
    onp.testing.assert_allclose(result["eigenvalues"], values, rtol=1e-10)
    assert result["kappa"] == pytest.approx(kappa, rel=1e-10)
    assert kappa > 50


def test_gradient_descent_rate_matches_theory(measured):
    features, _, result = measured
    _, kappa = eigen(features)
    run = result["runs"]["gd"]
    assert run["rate_theory"] == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)
    # GD's error is a sum of pure geometric modes; the slowest, at (κ−1)/(κ+1), leads within a few
    # hundred steps, so the measurement is far inside the 5% asked for: 0.5%.
    assert run["rate_measured"] == pytest.approx(run["rate_theory"], rel=5e-3)


def test_heavy_ball_and_nag_rates_match_theory(measured):
    features, _, result = measured
    _, kappa = eigen(features)
    root = math.sqrt(kappa)
    runs = result["runs"]
    assert runs["momentum"]["rate_theory"] == pytest.approx((root - 1) / (root + 1), rel=1e-12)
    # At the best β the extreme eigenvalues give a double root: the error decays like k·ρᵏ, which
    # reads about 1% slow over the window; 5% is the tolerance.
    assert runs["momentum"]["rate_measured"] == pytest.approx(runs["momentum"]["rate_theory"], rel=0.05)
    assert runs["momentum"]["rate_measured"] < (kappa - 1) / (kappa + 1)  # and far faster than GD
    # With β raised 2% every root is distinct with modulus √β: the measurement is exact but for
    # the window's ends. 0.5%.
    detuned = runs["momentum_detuned"]
    assert detuned["rate_theory"] == pytest.approx(math.sqrt(detuned["momentum"]), rel=1e-9)
    assert detuned["rate_measured"] == pytest.approx(detuned["rate_theory"], rel=5e-3)
    assert runs["nag"]["rate_theory"] == pytest.approx(1 - 2 / math.sqrt(3 * kappa + 1), rel=1e-12)
    assert runs["nag"]["rate_measured"] == pytest.approx(runs["nag"]["rate_theory"], rel=0.05)


@pytest.mark.parametrize("name", list(DATA_SETS))
def test_stability_limits_just_inside_converges_just_outside_diverges(name):
    features, labels = DATA_SETS[name]()
    values, kappa = eigen(features)
    runs = lesson.stability_runs(features, labels, margin=0.02, num_steps=150)
    beta = ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2
    assert runs["gd_inside"]["lr"] == pytest.approx(0.98 * 2 / values[-1], rel=1e-12)
    assert runs["momentum_outside"]["lr"] == pytest.approx(1.02 * (2 + 2 * beta) / values[-1], rel=1e-9)
    for key, run in runs.items():
        if key.endswith("inside"):
            assert run["error_ratio"] < 0.1 and run["rate_measured"] < 1
        else:
            assert run["error_ratio"] > 10 and run["rate_measured"] > 1
        # The predicted factor per step; for GD it is max |1 − αλᵢ|, written out here.
        if key.startswith("gd"):
            assert run["rate_theory"] == pytest.approx(onp.abs(1 - run["lr"] * values).max(), rel=1e-12)
        assert run["rate_measured"] == pytest.approx(run["rate_theory"], rel=5e-3)


def test_nag_stability_limit_is_narrower():
    features, labels = lesson.stretched_walkthrough(300, seed=3)
    values, _ = eigen(features)
    optimum = onp.linalg.lstsq(design(features), labels.astype(onp.float64), rcond=None)[0]
    beta = 0.5
    limit = (2 + 2 * beta) / ((1 + 2 * beta) * values[-1])
    for factor, converges in ((0.98, True), (1.02, False)):
        recorder = recording.record_linear_regression(features, labels, factor * limit, beta, "nag", num_steps=300)
        errors = onp.linalg.norm(recorder.parameters - optimum, axis=1)
        assert (errors[-1] < 0.1 * errors[0]) == converges


# ---------------------------------------------------------------- the lesson end to end

@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    out = tmp_path_factory.mktemp("momentum")
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = cli.main(["run", "momentum", "--quick", "--json", "--out", str(out)])
    assert code == 0
    return json.loads(stdout.getvalue().strip().splitlines()[-1])


def test_lesson_json_has_the_findings_and_they_match_theory(findings):
    for key in ("gradient_sum_max_abs_diff", "kappa", "gd_rate_theory", "gd_rate_measured",
                "momentum_rate_theory", "momentum_rate_measured"):
        assert isinstance(findings[key], float), key
    raw = house_data.raw_house_prices(findings["num_examples"], seed=0)
    _, kappa = eigen(raw.features.astype(onp.float64) / [100.0, 10.0])
    assert findings["kappa"] == pytest.approx(kappa, rel=1e-9)
    assert findings["gd_rate_theory"] == pytest.approx((kappa - 1) / (kappa + 1), rel=1e-12)
    assert findings["momentum_rate_theory"] == pytest.approx((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1), rel=1e-12)
    assert findings["gd_rate_measured"] == pytest.approx(findings["gd_rate_theory"], rel=5e-3)
    assert findings["momentum_rate_measured"] == pytest.approx(findings["momentum_rate_theory"], rel=0.05)
    assert findings["gradient_sum_max_abs_diff"] < 1e-6  # float32 rounding of states below 1
    assert findings["kappa_raw_units"] > 1000 * findings["kappa"]


def test_lesson_ball_stops_in_the_dip_without_momentum_and_rolls_through_with_it(findings):
    finals = findings["ball_final_position"]
    for momentum, w in finals.items():
        assert abs(w ** 3 - w + 0.3) < 1e-3, momentum  # every ball has come to rest at a critical point
        assert w ** 2 > 1 / 3  # and it is a minimum: L''(w) = 3w² − 1 > 0
    assert finals["0.0"] > 0  # plain gradient descent stays in the shallow dip
    assert finals["0.6"] < 0  # momentum carries the ball over the ridge into the deep valley
    assert finals["0.9"] > 0 and findings["ball_momenta_overshot_back"] == [0.9]  # and too much carries it back


def test_lesson_minibatch_and_stability_findings(findings):
    small, large = findings["minibatch"]
    assert small["effective_lr"] < large["effective_lr"]
    # Near SGD's edge the theory says momentum's spread is smaller; the measurement must agree in direction.
    assert large["theory_steepest_ratio"] > 2 and large["ratio"] > 2
    assert findings["stability"]["gd_outside"]["rate_measured"] > 1 > findings["stability"]["gd_inside"]["rate_measured"]


def test_lesson_figures_are_written(findings):
    names = [path.rsplit("/", 1)[-1] for path in findings["figures"]]
    assert names == ["momentum_memory.png", "contour_paths.png", "convergence.png", "loss.png", "stability.png",
                     "critical_points.png", "minibatch.png"]
    for path in findings["figures"]:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def test_lesson_runs_within_its_quick_budget(findings):
    assert findings["seconds"] < 15


@pytest.mark.parametrize("setting, message", [("tilt=0.5", "tilt"), ("gd_steps=10", "gd_steps"),
                                              ("area_unit_m2=0", "area_unit_m2"),
                                              ("minibatch_momentum=1.0", "momentum")])
def test_bad_settings_exit_2_with_one_line(capsys, setting, message):
    assert cli.main(["run", "momentum", "--quick", "--set", setting]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error
