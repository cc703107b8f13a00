"""Lesson 4 runs the walkthrough's own code; its weights, and those of every other path, checked against truths.

Truths: the generator's weights, least squares solved here from the normal equations, and exact
agreement between paths that make the same updates (same seed, same batches, same initial weights).
"""
import numpy as onp
import pytest
from lesson_checks import (assert_recovers_truth_and_least_squares, check_figures, check_json,
                           mean_half_squared_error, run_quietly)

from gluon_lessons import data as house_data

# Paths that make the same updates in float32 may differ only in summation order: a few ulps of
# weights of size ~4, far below 1e-5. SGD's own end-point jitter is ~1e-3, so 1e-5 cannot be met by luck.
SAME_UPDATES = 1e-5


@pytest.fixture(scope="module")
def walkthrough_data():
    return house_data.walkthrough_data()


@pytest.fixture(scope="module")
def lesson4(tmp_path_factory):
    return run_quietly("gluon", tmp_path_factory.mktemp("gluon"))


def test_the_walkthrough_code_recovers_the_truth_and_least_squares(lesson4, walkthrough_data):
    findings, text = lesson4
    ols_w, ols_b = assert_recovers_truth_and_least_squares(findings, walkthrough_data)
    onp.testing.assert_allclose(findings["ols_weight"], ols_w, atol=1e-9)
    best = mean_half_squared_error(walkthrough_data.features, walkthrough_data.labels, ols_w, ols_b)
    assert findings["epoch_loss"] == sorted(findings["epoch_loss"], reverse=True)
    assert best * (1 - 1e-4) <= findings["epoch_loss"][-1] < 1.5 * best
    assert "epoch 3, loss: %f" % findings["epoch_loss"][-1] in text  # the walkthrough's own print


def test_training_fit_makes_the_walkthrough_updates(lesson4):
    findings, text = lesson4
    onp.testing.assert_allclose(findings["fit_weight"], findings["weight"], atol=SAME_UPDATES)
    assert findings["fit_bias"] == pytest.approx(findings["bias"], abs=SAME_UPDATES)
    assert "training.fit reproduces the walkthrough's weights" in text


def test_the_legacy_nd_spelling_recovers_its_own_truth(lesson4):
    findings, _ = lesson4
    onp.testing.assert_allclose(findings["legacy_weight"], [2, -3.4], atol=0.01)
    assert findings["legacy_bias"] == pytest.approx(4.2, abs=0.01)
    onp.testing.assert_allclose(onp.append(findings["legacy_weight"], findings["legacy_bias"]),
                                findings["legacy_ols"], atol=2e-3)
    assert findings["legacy_nd"]["numpy_mode"] is True and "legacy" in findings["legacy_nd"]["legacy_error"]


def test_d2l_trainer_and_training_fit_agree_on_d2l_data(lesson4):
    findings, text = lesson4
    onp.testing.assert_allclose(findings["d2l_weight"], [2, -3.4], atol=0.01)
    onp.testing.assert_allclose(findings["d2l_fit_weight"], findings["d2l_weight"], atol=SAME_UPDATES)
    assert findings["d2l_fit_bias"] == pytest.approx(findings["d2l_bias"], abs=SAME_UPDATES)
    assert "it matches d2l's Trainer" in text


def test_momentum_and_nag_recover_the_truth_in_fewer_updates(lesson4, walkthrough_data):
    findings, text = lesson4
    for name in ("momentum", "nag"):
        onp.testing.assert_allclose(findings[name + "_weight"], walkthrough_data.true_w, atol=0.01)
        assert findings[name + "_bias"] == pytest.approx(walkthrough_data.true_b, abs=0.01)
    reach = findings["updates_to_target"]
    assert None not in reach.values()
    assert reach["momentum"] < reach["sgd"] and reach["nag"] < reach["sgd"]
    assert "momentum and nag reached" in text and "ten times larger effective step" in text


def test_without_momentum_the_verdict_says_neither_was_faster(tmp_path):
    # momentum 0: the "momentum" and "nag" runs make exactly the sgd updates, so they reach the
    # target at the same update and the verdict must say so.
    findings, text = run_quietly("gluon", tmp_path, momentum=0.0)
    reach = findings["updates_to_target"]
    assert reach["momentum"] == reach["sgd"] == reach["nag"]
    assert "neither momentum nor nag reached" in text
    assert "momentum and nag reached" not in text


def test_the_fast_loader_and_two_devices_give_the_same_weights(lesson4):
    findings, text = lesson4
    walk = onp.append(findings["fit_weight"], findings["fit_bias"])
    fast = onp.append(findings["fast_weight"], findings["fast_bias"])
    two = onp.append(findings["two_device_weight"], findings["two_device_bias"])
    onp.testing.assert_allclose(fast, walk, atol=SAME_UPDATES)
    onp.testing.assert_allclose(two, fast, atol=SAME_UPDATES)
    assert findings["two_device_ctx"] == ["cpu(0)", "cpu(1)"]
    assert "change the speed, not the answer" in text


def test_figure_and_json(lesson4):
    findings, _ = lesson4
    check_figures(findings, ["gluon_loss"])
    check_json(findings)
