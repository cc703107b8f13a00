"""Lesson 4 runs the walkthrough's own code; its weights, and those of every other path, checked against truths.

Truths: the generator's weights, least squares solved here from the normal equations, and exact
agreement between paths that make the same updates (same seed, same batches, same initial weights).
The lesson's verdicts are checked against these numbers, and flipped by a setting. A learner sees no
warning the course could avoid, and the executed notebook's figures are PNGs, which JupyterLab shows
in a notebook it does not trust (SVG it does not).
"""
import warnings

import nbformat
import numpy as onp
import pytest
from lesson_checks import (assert_recovers_truth_and_least_squares, assert_teaching_shape, check_figures,
                           check_json, mean_half_squared_error, run_quietly)

from gluon_lessons import data as house_data
from gluon_lessons import lessons
from gluon_lessons.shell import notebooks
from gluon_lessons.shell.settings import resolve_settings

# Paths that make the same updates in float32 may differ only in summation order: a few ulps of
# weights of size ~4, far below 1e-5. SGD's own end-point jitter is ~1e-3, so 1e-5 cannot be met by luck.
SAME_UPDATES = 1e-5


@pytest.fixture(scope="module")
def walkthrough_data():
    return house_data.walkthrough_data()


@pytest.fixture(scope="module")
def lesson4(tmp_path_factory):
    """(findings, printed text, the warnings the run raised, every one of them recorded)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        findings, text = run_quietly("gluon", tmp_path_factory.mktemp("gluon"))
    return findings, text, caught


def test_the_lesson_has_the_teaching_shape(lesson4):
    findings, text, _ = lesson4
    assert_teaching_shape("gluon", findings, text)


def test_a_learner_sees_no_warning(lesson4):
    # Hybridizing a plain nn.Sequential made MXNet warn "Consider using HybridSequential" once per
    # run; the course hybridizes only HybridSequential nets, so nothing is left to warn about.
    # Python shows a learner every warning but the kinds it hides by default (deprecations raised
    # inside libraries, import and resource warnings): those are left out here too.
    hidden = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)
    shown = [w for w in lesson4[2] if not issubclass(w.category, hidden)]
    assert not shown, [f"{w.category.__name__}: {w.message}" for w in shown]


def test_the_walkthrough_code_recovers_the_truth_and_least_squares(lesson4, walkthrough_data):
    findings, text, _ = lesson4
    ols_w, ols_b = assert_recovers_truth_and_least_squares(findings, walkthrough_data)
    onp.testing.assert_allclose(findings["ols_weight"], ols_w, atol=1e-9)
    best = mean_half_squared_error(walkthrough_data.features, walkthrough_data.labels, ols_w, ols_b)
    assert findings["epoch_loss"] == sorted(findings["epoch_loss"], reverse=True)
    assert best * (1 - 1e-4) <= findings["epoch_loss"][-1] < 1.5 * best
    assert f"epoch 3, loss: {findings['epoch_loss'][-1]:f}" in text  # the walkthrough's own print
    assert findings["verdicts"]["walkthrough"] == "recovers"


def test_after_one_epoch_the_verdict_says_the_walkthrough_misses(tmp_path, walkthrough_data):
    # 100 updates at lr 0.03 shrink the error by about (1 - 0.03)^100 = 5%: ~0.2 of weights of size 4
    # is left, twenty times the walkthrough's 0.01. The verdict must follow the weights.
    findings, _ = run_quietly("gluon", tmp_path, num_epochs=1)
    gap = onp.max(onp.abs(onp.append(findings["weight"], findings["bias"])
                          - onp.append(walkthrough_data.true_w, walkthrough_data.true_b)))
    assert gap > 0.01 and findings["truth_gap"] == pytest.approx(gap, rel=1e-6)
    assert findings["verdicts"]["walkthrough"] == "misses"


def test_training_fit_makes_the_walkthrough_updates(lesson4):
    findings, _, _ = lesson4
    onp.testing.assert_allclose(findings["fit_weight"], findings["weight"], atol=SAME_UPDATES)
    assert findings["fit_bias"] == pytest.approx(findings["bias"], abs=SAME_UPDATES)
    assert findings["verdicts"]["fit_vs_walkthrough"] == "agrees"


def test_the_legacy_nd_spelling_recovers_its_own_truth(lesson4):
    findings, text, _ = lesson4
    onp.testing.assert_allclose(findings["legacy_weight"], [2, -3.4], atol=0.01)
    assert findings["legacy_bias"] == pytest.approx(4.2, abs=0.01)
    onp.testing.assert_allclose(onp.append(findings["legacy_weight"], findings["legacy_bias"]),
                                findings["legacy_ols"], atol=2e-3)
    assert findings["legacy_nd"]["numpy_mode"] is True and "legacy" in findings["legacy_nd"]["legacy_error"]
    assert findings["verdicts"]["legacy_nd"] == "refused"
    # The wording is the point here: on the command line the refusal must read as expected, not as a
    # failure, and MXNet's own message (cut off, "If you still see this error ...") is not printed.
    assert "as expected" in text and ".as_np_ndarray() converts" in text
    assert "If you still see this error" not in text


def test_d2l_trainer_and_training_fit_agree_on_d2l_data(lesson4):
    findings, _, _ = lesson4
    onp.testing.assert_allclose(findings["d2l_weight"], [2, -3.4], atol=0.01)
    onp.testing.assert_allclose(findings["d2l_fit_weight"], findings["d2l_weight"], atol=SAME_UPDATES)
    assert findings["d2l_fit_bias"] == pytest.approx(findings["d2l_bias"], abs=SAME_UPDATES)
    assert findings["verdicts"]["fit_vs_d2l"] == "agrees"


def expected_race(updates, sgd_updates):
    """The race verdict from the counts: faster with at least 10% fewer updates."""
    if updates is None or sgd_updates is None:
        return "inconclusive"
    return "faster" if updates < 0.9 * sgd_updates else "not faster"


def test_momentum_and_nag_recover_the_truth_in_fewer_updates(lesson4, walkthrough_data):
    findings, _, _ = lesson4
    for name in ("momentum", "nag"):
        onp.testing.assert_allclose(findings[name + "_weight"], walkthrough_data.true_w, atol=0.01)
        assert findings[name + "_bias"] == pytest.approx(walkthrough_data.true_b, abs=0.01)
    reach, verdicts = findings["updates_to_target"], findings["verdicts"]
    assert None not in reach.values()
    # At the same lr momentum 0.9 takes a ten times larger effective step: measured, about half the updates.
    assert reach["momentum"] < 0.9 * reach["sgd"] and reach["nag"] < 0.9 * reach["sgd"]
    assert verdicts["momentum_same_lr"] == verdicts["nag_same_lr"] == "faster"
    assert verdicts["momentum_equal_step"] == expected_race(reach["momentum, lr/10"], reach["sgd"])


def test_without_momentum_the_verdicts_say_not_faster(tmp_path):
    # momentum 0: the "momentum" and "nag" runs make exactly the sgd updates, so they reach the
    # target at the same update and the verdicts must say so.
    findings, _ = run_quietly("gluon", tmp_path, momentum=0.0)
    reach, verdicts = findings["updates_to_target"], findings["verdicts"]
    assert reach["momentum"] == reach["sgd"] == reach["nag"] == reach["momentum, lr/10"]
    assert verdicts["momentum_same_lr"] == verdicts["nag_same_lr"] == "not faster"
    assert verdicts["momentum_equal_step"] == "not faster"


def test_an_unreachable_target_makes_the_races_inconclusive(tmp_path):
    # The loss cannot fall below the noise's ½·0.01² = 5e-5: a target of 1e-9 is never reached.
    findings, _ = run_quietly("gluon", tmp_path, target_loss=1e-9, num_epochs=1)
    assert set(findings["updates_to_target"].values()) == {None}
    assert {findings["verdicts"][name] for name in ("momentum_same_lr", "nag_same_lr",
                                                   "momentum_equal_step")} == {"inconclusive"}


def test_the_fast_loader_and_two_devices_give_the_same_weights(lesson4):
    findings, _, _ = lesson4
    walk = onp.append(findings["fit_weight"], findings["fit_bias"])
    fast = onp.append(findings["fast_weight"], findings["fast_bias"])
    two = onp.append(findings["two_device_weight"], findings["two_device_bias"])
    onp.testing.assert_allclose(fast, walk, atol=SAME_UPDATES)
    onp.testing.assert_allclose(two, fast, atol=SAME_UPDATES)
    assert findings["two_device_ctx"] == ["cpu(0)", "cpu(1)"]
    assert findings["verdicts"]["loaders_and_devices"] == "same answer"


def test_figures_and_json(lesson4):
    findings = lesson4[0]
    check_figures(findings, ["d2l_loss", "gluon_loss"])
    check_json(findings)


@pytest.mark.parametrize("settings, message", [
    ({"batch_size": None}, "batch_size must be an integer, got None"),
    ({"batch_size": 10**12}, r"batch_size must be an integer in \[1, 1000\]"),
    ({"num_epochs": 10**9}, r"num_epochs must be an integer in \[1, 100\]"),
    ({"lr": 1e39}, "lr must be a number in"),
    ({"momentum": 1.0}, r"momentum must be a number in \[0, 1\)"),
    ({"target_loss": 0.0}, "target_loss must be a number in"),
    ({"num_val": 0}, r"num_val must be an integer in \[1, 10000\]"),
])
def test_settings_are_refused_at_once_with_their_name(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_quietly("gluon", tmp_path, **settings)


def test_quick_shrinks_only_the_validation_set_of_d2l():
    # The title cell says --quick leaves every training run as it is: no setting a run uses may differ.
    path = lessons.source_path(lessons.find("gluon"))
    quick, full = resolve_settings(path, quick=True), resolve_settings(path)
    assert {name for name in full if quick[name] != full[name]} == {"num_val"}
    assert quick["num_val"] < full["num_val"] == 1000  # d2l's own validation set


def test_the_executed_notebook_shows_every_figure_as_png(tmp_path):
    # d2l switches matplotlib's inline format to SVG when it plots; JupyterLab shows no SVG in a
    # notebook it does not trust, and `notebook --execute` signs nothing. Every figure must be a PNG.
    notebook = notebooks.notebook_of("gluon", quick=True, seed=0, settings={"num_epochs": 1})
    notebooks.execute_notebook(notebook, tmp_path, timeout=300)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    figures = [out for out in outputs if out.get("output_type") in ("display_data", "execute_result")
               and (set(out.get("data", {})) - {"text/plain"} or "<Figure" in out["data"].get("text/plain", ""))]
    assert len(figures) == 2, "the d2l board and the Gluon loss curves"
    for out in figures:
        assert "image/png" in out["data"] and "image/svg+xml" not in out["data"], sorted(out["data"])
    stderr = [out["text"] for out in outputs if out.get("name") == "stderr"]
    assert not any("Warning" in text for text in stderr), stderr
    nbformat.validate(notebook)
