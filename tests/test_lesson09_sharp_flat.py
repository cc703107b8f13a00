"""Lesson 9: small against large batch on the digits; what it reports checked against truths computed here.

Truths: an MLP rebuilt here from the end points the lesson reports gives its losses and accuracies and
the losses on its line; the largest Hessian eigenvalue from the lesson's power iteration against
Lanczos (scipy's `eigsh`, a different algorithm, run to 1e-8) on the same Hessian-vector products;
Keskar's φ is at least the rise at the box corner its search starts from; each run stopped below the
target loss; every verdict follows from a paired t-test recomputed here from the reported numbers; and
with both batch sizes equal a seed's two runs are the same run, so every verdict must be inconclusive.
"""
import numpy as onp
import pytest
from lesson_checks import check_figures, check_json, run_quietly
from scipy.sparse.linalg import LinearOperator, eigsh
from scipy.stats import t as student_t

from gluon_lessons import digits, hessian, sharpness
from gluon_lessons.lessons import runner

GROUPS = ("small_batch", "large_batch")


@pytest.fixture(scope="module")
def lesson9(tmp_path_factory):
    # power_iterations: enough for the rtol = 1e-3 stopping rule to decide, not the quick run's cap of 10
    return run_quietly("sharp-flat", tmp_path_factory.mktemp("sharp_flat"), power_iterations=60)


@pytest.fixture(scope="module")
def data():
    return digits.load()


def rebuilt(findings, which, data):
    """The lesson's first-seed network for `which` (0 small, 1 large batch) as a float64 `BlockLoss` on the
    training set, and its parameters."""
    net = digits.mlp((32,), dtype="float64")
    f = hessian.BlockLoss(net, digits.classification_loss(), data.train_features, data.train_labels)
    theta = onp.asarray(findings["line"]["ends"][which], dtype=onp.float64)
    f.set(theta)
    return f, theta


def test_every_run_reached_the_target_loss(lesson9, data):
    findings, _ = lesson9
    target = 0.1  # the quick setting
    for group in GROUPS:
        batch_size, run = findings[group]["batch_size"], findings[group]
        assert onp.all(onp.asarray(run["train_loss"]) < target)
        updates_per_epoch = -(-data.num_train // batch_size)  # ceil: the last partial batch is kept
        onp.testing.assert_array_equal(run["updates"], onp.asarray(run["epochs"]) * updates_per_epoch)
        gap = onp.asarray(run["train_accuracy"]) - onp.asarray(run["test_accuracy"])
        onp.testing.assert_allclose(run["gap"], gap, atol=1e-15)
    assert findings["seeds"] == [0, 1] and findings["dataset"]["num_train"] == data.num_train == 1348


def test_reported_numbers_match_a_network_rebuilt_from_the_end_points(lesson9, data):
    """Same float64 network, same data: agreement to rounding of the sums (1e-9 relative)."""
    findings, _ = lesson9
    line, alphas = findings["line"], onp.asarray(findings["line"]["alpha"])
    for which, group in enumerate(GROUPS):
        f, theta = rebuilt(findings, which, data)
        train_loss, train_accuracy = digits.evaluate(f.net, data.train_features, data.train_labels)
        test_loss, test_accuracy = digits.evaluate(f.net, data.test_features, data.test_labels)
        assert train_loss == pytest.approx(findings[group]["train_loss"][0], rel=1e-9)
        assert test_loss == pytest.approx(findings[group]["test_loss"][0], rel=1e-9)
        assert train_accuracy == findings[group]["train_accuracy"][0]
        assert test_accuracy == findings[group]["test_accuracy"][0]
        index = int(onp.argmin(onp.abs(alphas - which)))
        assert alphas[index] == pytest.approx(which, abs=1e-12)
        assert line["loss"]["train"][index] == pytest.approx(train_loss, rel=1e-9)
        assert line["accuracy"]["test"][index] == test_accuracy
    f, _ = rebuilt(findings, 0, data)
    middle = int(onp.argmin(onp.abs(alphas - 0.5)))
    halfway = 0.5 * (onp.asarray(line["ends"][0]) + onp.asarray(line["ends"][1]))
    assert f.value(halfway) == pytest.approx(line["loss"]["train"][middle], rel=1e-9)


def test_top_eigenvalue_agrees_with_lanczos(lesson9, data):
    """Power iteration stops when λ changes by < 1e-3 relative; with the gaps seen here that leaves it
    within about 1% of λ_max (and never above it: a Rayleigh quotient). Lanczos also finds the eigenvalue
    of largest magnitude, the one power iteration converges to: it must be λ_max."""
    findings, _ = lesson9
    for which, group in enumerate(GROUPS):
        f, theta = rebuilt(findings, which, data)
        operator = LinearOperator((f.size, f.size), matvec=lambda v: f.hvp(v, theta), dtype=onp.float64)
        top = eigsh(operator, k=1, which="LA", tol=1e-8, return_eigenvectors=False)[0]
        largest_magnitude = eigsh(operator, k=1, which="LM", tol=1e-8, return_eigenvectors=False)[0]
        assert largest_magnitude == pytest.approx(top, rel=1e-6)  # λ_max > 0 is also the largest |λ|
        found = findings[group]["top_eigenvalue"][0]
        assert top * (1 - 0.01) <= found <= top * (1 + 1e-6)


def test_keskar_phi_is_at_least_the_rise_at_its_first_corner(lesson9, data):
    """The search starts at the corner y = sign(∇f)·ε(|θ| + 1) and keeps the best loss it sees."""
    findings, _ = lesson9
    epsilon = findings["settings"]["epsilon"]
    for which, group in enumerate(GROUPS):
        f, theta = rebuilt(findings, which, data)
        value, gradient = f.value_and_gradient(theta)
        corner = onp.where(gradient >= 0, 1.0, -1.0) * sharpness.box_half_widths(theta, epsilon)
        at_corner = 100 * (f.value(theta + corner) - value) / (1 + value)
        assert at_corner > 0
        assert findings[group]["sharpness"][0] >= at_corner * (1 - 1e-9)


def test_rise_along_random_directions_matches_a_recomputation(lesson9, data):
    """The same directions (drawn from the run's seed) on the rebuilt network; float64 rounding only."""
    findings, _ = lesson9
    settings, step = findings["settings"], findings["settings"]["direction_step"]
    for which, group in enumerate(GROUPS):
        f, theta = rebuilt(findings, which, data)
        rows = sharpness.direction_losses(f.value, theta, f.shapes, [-step, 0.0, step], settings["num_directions"],
                                          seed=findings["seeds"][0])
        rise = rows[:, [0, 2]].mean() - rows[:, 1].mean()
        assert rise == pytest.approx(findings[group]["direction_rise"][0], rel=1e-9)
        assert rise > 0  # a minimum: every way out goes up


def expected_verdict(findings, key, more, less):
    """The paired t-test of the lesson, recomputed from the reported numbers."""
    d = onp.asarray(findings["large_batch"][key]) - onp.asarray(findings["small_batch"][key])
    mean, se = d.mean(), d.std(ddof=1) / onp.sqrt(len(d))
    if abs(mean) > student_t.ppf(0.975, len(d) - 1) * se and mean != 0:
        return more if mean > 0 else less
    return "inconclusive"


WORDS = {"top_eigenvalue": ("λ_max", "ended sharper", "ended flatter"),
         "sharpness": ("Keskar's φ", "ended sharper", "ended flatter"),
         "direction_rise": ("the rise along random directions", "ended sharper", "ended flatter"),
         "test_accuracy": ("test accuracy", "generalized better", "generalized worse"),
         "gap": ("the accuracy gap", "had the larger gap", "had the smaller gap")}


def check_verdicts_follow_the_numbers(findings, text):
    for key, (what, more, less) in WORDS.items():
        expected = expected_verdict(findings, key, more, less)
        assert findings["verdicts"][key] == expected
        if expected == "inconclusive":
            assert "Inconclusive for %s:" % what in text
        else:
            assert "The large batch %s: %s " % (expected, what) in text


def expected_headline(verdicts):
    """The lesson's summary rule: a pair of measures counts for Keskar et al. when one goes their way and
    neither the other way; when they point both ways there is no clear verdict."""
    def side(*keys):
        found = {verdicts[key] for key in keys}
        against = found & {"ended sharper", "generalized worse", "had the larger gap"}
        favour = found & {"ended flatter", "generalized better", "had the smaller gap"}
        return None if against and favour else bool(against)
    sharper, worse = side("top_eigenvalue", "sharpness", "direction_rise"), side("test_accuracy", "gap")
    if sharper is None or worse is None:
        return "was NOT clearly reproduced"
    return {(True, True): "was reproduced here", (True, False): "Only half of Keskar et al.'s picture",
            (False, True): "was NOT measurably sharper", (False, False): "was NOT reproduced on this small problem"}[
        sharper, worse]


def test_verdicts_follow_the_numbers(lesson9):
    findings, text = lesson9
    check_verdicts_follow_the_numbers(findings, text)
    assert expected_headline(findings["verdicts"]) in text


def test_equal_batch_sizes_give_identical_runs_and_no_verdict(tmp_path):
    """large_batch = small_batch: each seed's two runs are the same computation, every difference is 0."""
    findings, text = run_quietly("sharp-flat", tmp_path, large_batch=32, keskar_iterations=1, power_iterations=2)
    for key in ("train_loss", "test_accuracy", "top_eigenvalue", "sharpness", "direction_rise"):
        onp.testing.assert_array_equal(findings["large_batch"][key], findings["small_batch"][key])
    assert set(findings["verdicts"].values()) == {"inconclusive"}
    check_verdicts_follow_the_numbers(findings, text)
    assert expected_headline(findings["verdicts"]) == "was NOT reproduced on this small problem"
    assert "Keskar et al.'s picture was NOT reproduced on this small problem" in text
    assert "has no barrier" in text  # both ends are one point: the line is flat in α


def test_figures_and_json(lesson9):
    findings, _ = lesson9
    check_figures(findings, ["small_vs_large", "random_directions", "sharp_flat_line"])
    check_json(findings)


@pytest.mark.parametrize("setting, value, message", [
    ("line_points", 10, "line_points must be 4k \\+ 1"),
    ("large_batch", 5000, "at most the 1348 training examples"),
    ("num_seeds", 1, "num_seeds must be an integer >= 2"),
    ("epsilon", 0.0, "epsilon must be a number > 0"),
])
def test_bad_settings_stop_with_a_message_naming_them(tmp_path, setting, value, message):
    with pytest.raises(runner.SettingError, match=message):
        runner.run_lesson("sharp-flat", quick=True, out_dir=tmp_path, settings={setting: value})


def test_the_first_order_sentence_follows_each_batch_sizes_share(lesson9):
    """φ's rise split into slope and curvature is judged per batch size, never on the pooled mean alone."""
    findings, text = lesson9
    shares = [onp.mean(findings[group]["first_order_share"]) for group in GROUPS]
    assert findings["first_order_share"] == pytest.approx(onp.mean(
        onp.concatenate([findings[group]["first_order_share"] for group in GROUPS])))
    if min(shares) > 0.5:
        assert "most of φ's rise is first order" in text
    elif max(shares) > 0.5:
        sloped = findings[GROUPS[int(onp.argmax(shares))]]["batch_size"]
        assert "φ's rise is mostly first order (∇f·y) at batch %d but mostly curvature at the other" % sloped in text
    else:
        assert "more than half of φ's rise is curvature at both batch sizes" in text
