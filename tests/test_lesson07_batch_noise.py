"""Lesson 7's findings against independent truths, and its verdicts against its own numbers.

Truths: gradient descent on the quadratic loss solved in closed form here (eigenvalues of X̃ᵀX̃/n),
B_simple from residuals computed here, the 1/B law, and the stability limit 2/λ_max past which
gradient descent diverges. Sampling tolerances are 4 standard errors taken from the lesson's own
samples (a normal estimate misses by more with probability 6e-5).
"""
import math

import numpy as onp
import pytest
from lesson_checks import check_figures, check_json, run_quietly

from gluon_lessons import noise
from gluon_lessons.lessons import runner

QUICK_EXAMPLES = 512  # the lesson's QUICK num_examples
# The lesson's 500-point scan and this 4000-point one can straddle the edge of a step count's lr window by one step.
SCAN_SLACK = 1


@pytest.fixture(scope="module")
def lesson7(tmp_path_factory):
    return run_quietly("batch-noise", tmp_path_factory.mktemp("batch_noise"))


@pytest.fixture(scope="module")
def round_bowl(tmp_path_factory):
    # correlation 0: a round bowl. Batch 512 = all the data, at 128x+ the base lr: past 2/λ_max.
    return run_quietly("batch-noise", tmp_path_factory.mktemp("round_bowl"), correlation=0.0,
                       scaled_batch_sizes=(1, 4, 16, 512))


def design_and_labels(correlation):
    house = noise.correlated_house_prices(QUICK_EXAMPLES, correlation, 1.0, seed=0)
    X = onp.hstack([house.features.astype(onp.float64), onp.ones((QUICK_EXAMPLES, 1))])
    return X, house.labels.astype(onp.float64)


def closed_form_descent(X, y, lrs, max_steps=60):
    """Excess loss of full-batch gradient descent from 0 after k = 1..max_steps steps, per lr: along each
    eigenvector of H = X̃ᵀX̃/n the distance to least squares shrinks by (1 − lr λ) per step."""
    H = X.T @ X / len(X)
    curvatures, vectors = onp.linalg.eigh(H)
    start = vectors.T @ onp.linalg.solve(H, X.T @ y / len(X))  # w̃* in the eigenbasis; the start is 0
    k = onp.arange(1, max_steps + 1)
    shrink = (1 - onp.asarray(lrs)[:, None, None] * curvatures) ** (2 * k[None, :, None])
    return 0.5 * (shrink * curvatures * start ** 2).sum(axis=2), curvatures


def fewest_steps(excess, target_excess):
    """First step at or below the target per row (inf if never); below 20 steps the lesson does not smooth."""
    reached = excess <= target_excess
    return onp.where(reached.any(axis=1), reached.argmax(axis=1) + 1, onp.inf)


def test_variance_falls_as_one_over_b_and_b_simple_matches_the_residuals(lesson7):
    findings, _ = lesson7
    X, y = design_and_labels(-0.8)
    H = X.T @ X / len(X)
    lr, w = 1 / onp.linalg.eigvalsh(H)[-1], onp.zeros(3)
    along = []
    for _ in findings["noise_scale_along_descent"]:  # the lesson's path: gradient descent at 1/λ_max from 0
        grads = (X @ w - y)[:, None] * X
        G = grads.mean(axis=0)
        along.append((((grads - G) ** 2).sum(axis=1).mean()) / (G @ G))
        w = w - lr * G
    onp.testing.assert_allclose(findings["noise_scale_along_descent"], along, rtol=1e-9)
    for measured, error, exact in zip(findings["grad_variance"], findings["grad_variance_standard_error"],
                                      findings["grad_variance_exact"]):
        assert abs(measured - exact) < 4 * error
    assert abs(findings["variance_slope"] + 1) < 4 * findings["variance_slope_error"] < 0.25


def test_two_batch_estimate_agrees_with_the_exact_noise_scale(lesson7):
    findings, text = lesson7
    scales = findings["noise_scale_simple"]
    for point in scales.values():
        assert abs(point["two_batch"] - point["exact"]) < 4 * point["two_batch_error"]
        assert point["exact"] == pytest.approx(point["trace_sigma"] / point["grad_norm_sq"], rel=1e-12)
    assert scales["start"]["exact"] < scales["near target"]["exact"]  # the noise scale grows as the loss falls
    assert "The noise scale grows as the loss falls" in text


def test_full_batch_search_reaches_gradient_descents_best(lesson7):
    findings, _ = lesson7
    X, y = design_and_labels(-0.8)
    limit = findings["largest_stable_lr"]
    lrs = limit * onp.linspace(0.0005, 0.9995, 4000)
    excess, curvatures = closed_form_descent(X, y, lrs)
    steps = fewest_steps(excess, findings["target_excess"])
    assert limit == pytest.approx(2 / curvatures[-1], rel=1e-9)
    assert abs(findings["descent_best_steps"] - steps.min()) <= SCAN_SLACK
    assert abs(findings["descent_steps_below_half_limit"] - steps[lrs <= limit / 2].min()) <= SCAN_SLACK
    # At batch = all the data every update is a full-batch step: the search up to 2/λ_max must land within one
    # grid step (a factor 2^(1/4) in lr) of the best, and its lr lies past 1/λ_max, where an older grid stopped.
    full = findings["steps_to_target"][str(QUICK_EXAMPLES)]
    assert full <= steps.min() + 1
    assert limit / 2 < findings["tuned_lr"][str(QUICK_EXAMPLES)] < limit
    # the same lr in closed form takes the same number of steps (float32 training against float64 algebra)
    at_tuned, _ = closed_form_descent(X, y, [findings["tuned_lr"][str(QUICK_EXAMPLES)]])
    assert abs(fewest_steps(at_tuned, findings["target_excess"])[0] - full) <= 1


def test_steps_and_examples_trade_off_and_s_min_is_full_batch_descents(lesson7):
    findings, _ = lesson7
    steps = {int(b): s for b, s in findings["steps_to_target"].items()}
    examples = {int(b): e for b, e in findings["examples_to_target"].items()}
    smallest, largest = min(steps), max(steps)
    assert steps[smallest] > steps[largest] and examples[smallest] < examples[largest]
    # S_min is what full-batch descent needs at its best lr (McCandlish et al.); the fit over a few noisy
    # medians lands within 50% of it.
    assert findings["min_steps"] == pytest.approx(findings["descent_best_steps"], rel=0.5)


@pytest.mark.parametrize("which", ["default", "round bowl"])
def test_linear_scaling_below_and_past_the_stability_limit(which, lesson7, round_bowl):
    findings, _ = lesson7 if which == "default" else round_bowl
    limit = findings["largest_stable_lr"]
    per_repeat = {int(b): s for b, s in findings["scaled_steps_per_repeat"].items()}
    lrs = {int(b): lr for b, lr in findings["scaled_lr"].items()}
    base = min(per_repeat)
    assert None not in per_repeat[base]
    for b, lr in lrs.items():
        assert lr == pytest.approx(findings["scaled_base_lr"] * b / base, rel=1e-9)
        if lr > limit:  # gradient descent diverges past 2/λ_max, and SGD's noise only adds to it
            assert per_repeat[b] == [None] * findings["repeats"] and all(findings["scaled_diverged"][str(b)])
        if lr < 0.25 * limit:  # far below the limit the same lr/B makes the same progress per example
            assert findings["scaled_verdicts"][str(b)] not in ("more", "diverged", "stalled")
    assert (lrs[512] > limit) if which == "round bowl" else (max(lrs.values()) < limit)


def scaling_sentences(findings, text):
    """The scaling verdicts the text must print, computed here from the per-repeat counts."""
    per_repeat = {int(b): [math.inf if s is None else s for s in v] for b, v in findings["scaled_steps_per_repeat"].items()}
    base = min(per_repeat)
    base_examples = [base * s for s in per_repeat[base]]
    verdicts = {b: noise.compare_spreads([b * s for s in v], base_examples, 1.5, findings["scaled_diverged"][str(b)])
                for b, v in per_repeat.items() if b != base}
    assert verdicts == {int(b): v for b, v in findings["scaled_verdicts"].items() if v != "base"}
    past = [b for b, lr in findings["scaled_lr"].items() if lr > findings["largest_stable_lr"]]
    if past:
        assert "Past lr = 2/λ_max" in text and "No scaled learning rate passed" not in text
    else:
        assert "No scaled learning rate passed the stability limit" in text and "diverged in" not in text
    holds = None
    for b in sorted(verdicts):
        if verdicts[b] != "within":
            break
        holds = b
    assert findings["scaling_works_up_to"] == holds
    assert ("up to batch %d" % holds if holds else "for no larger batch") in text
    return verdicts, past


@pytest.mark.parametrize("which", ["default", "round bowl"])
def test_what_we_found_follows_the_numbers(which, lesson7, round_bowl):
    findings, text = lesson7 if which == "default" else round_bowl
    scales = findings["noise_scale_simple"]
    start, late, b_crit = scales["start"]["exact"], scales["near target"]["exact"], findings["critical_batch_size"]
    between = min(start, late) < b_crit < max(start, late)
    assert ("lies between" in text) == between and ("lies OUTSIDE" in text) == (not between)
    saved = findings["descent_steps_below_half_limit"] - findings["descent_best_steps"]
    assert ("would cost full-batch descent %d more step" % saved in text) == (saved > 0)
    assert ("would cost full-batch descent nothing" in text) == (saved == 0)
    verdicts, past = scaling_sentences(findings, text)
    if which == "round bowl":  # one step of size 1/λ ≈ 1 nearly solves a round bowl: the limit costs nothing
        assert saved == 0 and past == ["512"] and verdicts[512] == "diverged"
        assert "the runs diverged in 3 of 3 repeats" in text
    else:  # the tilted valley's best rates lie past 1/λ_max
        assert saved > 0 and not past


def test_figures_and_json(lesson7):
    findings, _ = lesson7
    check_figures(findings, ["gradient_clouds", "gradient_variance", "lr_search", "steps_to_target"])
    check_json(findings)
    for key in ("scaling_works_up_to", "scaling_fails_from", "noise_scale_mean_along_descent", "tuned_lr",
                "scaled_base_lr", "least_squares_loss", "target_loss", "batch_sizes"):
        assert key in findings  # the keys `run --json` has always given


@pytest.mark.parametrize("setting, value, named", [
    ("correlation", 1.0, "correlation must be a number in (-1, 1)"),
    ("target_excess", 100.0, "target_excess must be a number > 0 and below the start's excess loss"),
    ("big_batch", 8, "big_batch must be an integer > small_batch = 16"),
    ("repeats", 1, "repeats must be an integer >= 2"),
    ("step_batch_sizes", (1, 4096), "step_batch_sizes must be at least two different integer batch sizes"),
    ("price_noise", -1.0, "price_noise must be a number >= 0"),
])
def test_bad_settings_stop_with_one_line_naming_them(setting, value, named, tmp_path):
    with pytest.raises(runner.SettingError, match=named.replace("(", r"\(").replace(")", r"\)")) as error:
        run_quietly("batch-noise", tmp_path, **{setting: value})
    assert "\n" not in str(error.value)
