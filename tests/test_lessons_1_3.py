"""Lessons 1-4 run with their quick settings; every finding they print is checked against a truth.

Truths used: the generator's weights and noise, least squares solved here from the normal
equations (not the library's `lstsq`), ceil/floor counting, and exact-once coverage of a shuffle.
"""
import io
import json
import math
from contextlib import redirect_stdout

import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons.lessons import lesson03_scratch
from gluon_lessons.lessons._common import to_json


def run_quietly(module, out_dir, **settings):
    with redirect_stdout(io.StringIO()):
        return module.run(out_dir=out_dir, seed=0, quick=True, **settings)


def normal_equations(features, labels):
    """Least squares with a bias column from XᵀX w = Xᵀy in float64: the best fit a trainer can reach."""
    design = onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])
    solution = onp.linalg.solve(design.T @ design, design.T @ onp.asarray(labels, onp.float64))
    return solution[:-1], solution[-1]


def mean_half_squared_error(features, labels, weight, bias):
    residual = onp.asarray(features, onp.float64) @ onp.asarray(weight, onp.float64) + bias - labels
    return 0.5 * onp.mean(residual ** 2)


def check_figures(findings, names):
    paths = [str(p) for p in findings["figures"]]
    assert [p.rsplit("/", 1)[-1] for p in paths] == [name + ".png" for name in names]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def check_json(findings):
    assert json.loads(to_json(findings))  # plain numbers, lists and strings only


# ---------------------------------------------------------------- lesson 3

def assert_recovers_truth_and_least_squares(found, data):
    """Weights within 0.01 of the truth and 2e-3 of least squares (the walkthrough's tolerances)."""
    ols_w, ols_b = normal_equations(data.features, data.labels)
    onp.testing.assert_allclose(found["weight"], data.true_w, atol=0.01)
    assert found["bias"] == pytest.approx(data.true_b, abs=0.01)
    onp.testing.assert_allclose(found["weight"], ols_w, atol=2e-3)
    assert found["bias"] == pytest.approx(ols_b, abs=2e-3)
    return ols_w, ols_b


@pytest.fixture(scope="module")
def walkthrough_data():
    return house_data.walkthrough_data()


@pytest.fixture(scope="module")
def lesson3(tmp_path_factory):
    return run_quietly(lesson03_scratch, tmp_path_factory.mktemp("scratch"))


def test_lesson3_scratch_weights_recover_the_truth_and_least_squares(lesson3, walkthrough_data):
    assert_recovers_truth_and_least_squares(lesson3, walkthrough_data)
    # Momentum 0.9 at the same lr takes 10x larger effective steps and ends noisier (see lesson 4).
    onp.testing.assert_allclose(lesson3["momentum_weight"], walkthrough_data.true_w, atol=0.01)
    assert lesson3["momentum_bias"] == pytest.approx(walkthrough_data.true_b, abs=0.01)


def test_lesson3_loss_falls_to_but_not_below_least_squares(lesson3, walkthrough_data):
    best = mean_half_squared_error(walkthrough_data.features, walkthrough_data.labels,
                                   *normal_equations(walkthrough_data.features, walkthrough_data.labels))
    for losses in (lesson3["epoch_loss"], lesson3["momentum_epoch_loss"]):
        assert len(losses) == lesson3["num_epochs"]
        assert best * (1 - 1e-4) <= losses[-1] < 1.5 * best  # 1e-4: float32 evaluation of the loss
    assert lesson3["epoch_loss"] == sorted(lesson3["epoch_loss"], reverse=True)


def test_lesson3_scratch_agrees_with_gluon_and_writes_its_figure(lesson3):
    assert lesson3["compare_steps"] >= 20
    assert lesson3["max_gap_sgd"] < 1e-5 and lesson3["max_gap_momentum"] < 1e-5
    check_figures(lesson3, ["scratch_loss"])
    check_json(lesson3)
