"""Lesson 1's findings against truths: the generator's weights and noise, least squares from the normal
equations, the standardized Hessian's eigenvalues from the features' correlation, and gradient descent
run here on the quadratic; its verdicts follow the numbers.
"""
import math

import numpy as onp
import pytest
from lesson_checks import assert_teaching_shape, check_figures, check_json, normal_equations, run_quietly

from gluon_lessons import data as house_data


@pytest.fixture(scope="module")
def lesson1(tmp_path_factory):
    return run_quietly("data", tmp_path_factory.mktemp("data"))


def test_least_squares_lands_within_the_noise_of_the_truth(lesson1):
    found, text = lesson1
    n, noise = found["num_examples"], found["noise"]
    data = house_data.synthetic_house_prices(n, noise=noise, seed=0)
    ols_w, ols_b = normal_equations(data.features, data.labels)
    onp.testing.assert_allclose(found["ols_weight"], ols_w, atol=1e-9)
    # Standardized features have std ~1, so each coefficient's standard error is ~ noise / sqrt(n);
    # 5 standard errors is far from chance (p < 1e-6) yet 40x tighter than the weights' size.
    tolerance = 5 * noise / math.sqrt(n)
    onp.testing.assert_allclose(found["ols_weight"], found["true_weight"], atol=tolerance)
    assert found["ols_bias"] == pytest.approx(found["true_bias"], abs=tolerance)
    # The exact standard errors are within 20% of noise/sqrt(n): the columns' sample std and correlation
    # at n=200 differ from 1 and 0 by a few multiples of 1/sqrt(200) = 7%.
    onp.testing.assert_allclose(found["standard_errors"], noise / math.sqrt(n), rtol=0.2)
    # The sample std of n Gaussian draws has relative error ~ 1/sqrt(2n) (5% at n=200); allow 4 of those.
    assert found["noise_measured"] == pytest.approx(noise, rel=4 / math.sqrt(2 * n))
    assert found["verdicts"]["least_squares"] == "within the noise"
    assert found["verdicts"]["residual"] == "matches the noise"
    assert found["verdicts"]["raw_least_squares"] == "within the noise"


def test_the_lesson_has_the_teaching_shape(lesson1):
    assert_teaching_shape("data", *lesson1)


def test_raw_units_weights_and_condition_numbers(lesson1):
    found, _ = lesson1
    n = found["num_examples"]
    raw = house_data.raw_house_prices(n, seed=0)
    standard_errors = raw.noise / (math.sqrt(n) * raw.features.std(axis=0))
    onp.testing.assert_array_less(onp.abs(onp.subtract(found["raw_ols_weight"], raw.true_w)), 5 * standard_errors)
    # Standardized columns (mean 0, std 1) with correlation r give X̃ᵀX̃/n = [[1, r, 0], [r, 1, 0], [0, 0, 1]],
    # whose eigenvalues are 1 ± r and 1: κ = (1 + |r|) / (1 - |r|).
    r = abs(onp.corrcoef(raw.features.astype(onp.float64).T)[0, 1])
    assert found["kappa_standardized"] == pytest.approx((1 + r) / (1 - r), rel=1e-4)
    onp.testing.assert_allclose(found["eigenvalues_standardized"], [1 - r, 1, 1 + r], rtol=1e-4)
    # κ of the raw loss from the singular values of X̃/√n (squared), not from an eigen-solver.
    design = onp.hstack([raw.features.astype(onp.float64), onp.ones((n, 1))]) / math.sqrt(n)
    singular = onp.linalg.svd(design, compute_uv=False)
    assert found["kappa_raw"] == pytest.approx((singular[0] / singular[-1]) ** 2, rel=1e-6)
    assert found["kappa_raw"] > 1000 * found["kappa_standardized"]


@pytest.fixture(scope="module")
def standardized_hessian(lesson1):
    """X̃ᵀX̃/n of the lesson's raw houses standardized, in float64, computed here."""
    raw = house_data.raw_house_prices(lesson1[0]["num_examples"], seed=0)
    standardized, _, _ = house_data.standardize(raw.features)
    design = onp.hstack([standardized.astype(onp.float64), onp.ones((len(standardized), 1))])
    return design.T @ design / len(design)


def test_the_valley_is_sqrt_kappa_longer_than_wide(lesson1, standardized_hessian):
    # A contour ½eᵀAe = 1 reaches √(2 / uᵀAu) along a unit direction u: measure its longest and
    # shortest reach over many directions. 20000 directions on the sphere come within 0.5% of the extremes.
    found, _ = lesson1
    directions = onp.random.default_rng(1).normal(size=(20000, 3))
    directions /= onp.linalg.norm(directions, axis=1, keepdims=True)
    reach = onp.sqrt(2 / onp.einsum("ij,jk,ik->i", directions, standardized_hessian, directions))
    assert found["aspect_ratio_standardized"] == pytest.approx(reach.max() / reach.min(), rel=5e-3)
    assert found["aspect_ratio_raw"] == pytest.approx(math.sqrt(found["kappa_raw"]), rel=1e-12)


def test_gradient_descent_needs_the_predicted_steps(lesson1, standardized_hessian):
    # Run gradient descent at α = 2/(λ_min + λ_max) on the standardized quadratic: from any start the
    # distance to the minimum shrinks 1000-fold within the predicted steps, and from the slowest
    # direction (the eigenvector of λ_min) not one step sooner.
    found, text = lesson1
    eigenvalues, eigenvectors = onp.linalg.eigh(standardized_hessian)
    lr, steps = 2 / (eigenvalues[0] + eigenvalues[-1]), found["gd_steps_standardized"]
    starts = onp.vstack([onp.random.default_rng(2).normal(size=(50, 3)), eigenvectors[:, 0]])
    errors = starts.copy()
    for step in range(1, steps + 1):
        before = errors
        errors = errors - lr * errors @ standardized_hessian
    shrink = onp.linalg.norm(errors, axis=1) / onp.linalg.norm(starts, axis=1)
    assert shrink.max() <= 1e-3
    assert onp.linalg.norm(before[-1]) / onp.linalg.norm(starts[-1]) > 1e-3
    assert found["gd_steps_raw"] > 10000 * found["gd_steps_standardized"]
    assert found["verdicts"]["standardizing"] == "pays"


def test_both_figures_show_the_same_houses(lesson1):
    # One data set, two views: the raw houses in m² and years, then the same houses standardized.
    found, text = lesson1
    check_figures(found, ["raw_units", "standardized"])
    check_json(found)
    assert "the same houses standardized" in text  # the wording is the point: not two data sets


def test_with_loud_noise_the_verdict_says_no_trainer_can_meet_the_tolerance(lesson1, tmp_path):
    # noise 1 at n=200: least squares' standard error is ~0.07, so a gap below 0.01 on all three
    # parameters would be a rare draw; the verdict must follow the gap.
    quiet, _ = lesson1
    loud, _ = run_quietly("data", tmp_path, noise=1.0)
    for found in (quiet, loud):
        gap = onp.max(onp.abs(onp.append(found["ols_weight"], found["ols_bias"])
                              - onp.append(found["true_weight"], found["true_bias"])))
        assert found["verdicts"]["training_tolerance"] == ("reachable" if gap < 0.01 else "out of reach")
    assert quiet["verdicts"]["training_tolerance"] == "reachable"
    assert loud["verdicts"]["training_tolerance"] == "out of reach"
    # the gaps in standard errors do not change with the noise's size: the same draws, scaled
    # (up to the float32 rounding of the prices, ~1e-7 of 4, i.e. < 1e-3 standard errors at noise 0.01)
    onp.testing.assert_allclose(loud["gaps_in_standard_errors"], quiet["gaps_in_standard_errors"], atol=1e-3)
    assert loud["verdicts"]["least_squares"] == quiet["verdicts"]["least_squares"] == "within the noise"


@pytest.mark.parametrize("settings, message", [
    ({"num_examples": 1}, r"num_examples must be an integer in \[3, .*\], got 1$"),
    ({"num_examples": None}, "num_examples must be an integer, got None"),
    ({"num_examples": 10 ** 13}, r"num_examples must be an integer in \[3, .*got 10000000000000"),
    ({"noise": 0.0}, "noise must be a number in"),
    ({"noise": 1e308}, "noise must be a number in"),
])
def test_settings_are_refused_at_once_with_their_name(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_quietly("data", tmp_path, **settings)
