"""Lesson 11: several devices and a parameter server, checked against truths.

Truths: the gradient and Hessian of the mean L2 loss worked out in float64 (X̃ᵀ(X̃w̃ − y), X̃ᵀX̃/n),
least squares from the normal equations, gradient descent's contraction (I − lr·A)^k, and exact
agreement between runs that make the same updates.
"""
import json
import math
import subprocess
import sys

import numpy as onp
import psutil
import pytest
from lesson_checks import check_figures, check_json, normal_equations, run_quietly

from gluon_lessons import data as house_data

# Runs that make the same updates differ only in float32 summation order: a few ulp of weights of
# size ~4 (ulp 4.8e-7), far below 1e-5; SGD's own end-point jitter is ~1e-3.
SAME_UPDATES = 1e-5


@pytest.fixture(scope="module")
def house():
    return house_data.walkthrough_data()


@pytest.fixture(scope="module")
def lesson11(tmp_path_factory):
    result = run_quietly("distributed", tmp_path_factory.mktemp("distributed"))
    left = [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    assert not left, "processes left after the lesson: %s" % [p.cmdline() for p in left]
    return result


def _hessian(features):
    design = onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])
    return design.T @ design / len(design)


def test_split_gradients_add_up_and_devices_train_like_one(lesson11, house):
    findings, text = lesson11
    assert findings["devices"] == ["cpu(0)", "cpu(1)", "cpu(2)"]
    # 24 float32 terms of size ~30 summed in pieces: a few ulp of 70 (7.6e-6 each).
    assert findings["split_gradient_gap"] < 1e-4
    assert set(findings["device_gaps"]) == {1, 2, 3}
    assert max(findings["device_gaps"].values()) < SAME_UPDATES
    ols_w, ols_b = normal_equations(house.features, house.labels)
    for weights in findings["device_weights"].values():
        # 126 updates of lr 0.1 from ~0: (1 - 0.1 * 0.95)^126 ~ 4e-6 of the start's 5.8 is left; batch noise ~1e-3
        onp.testing.assert_allclose(weights, onp.append(ols_w, ols_b), atol=2e-3)
    assert "left the weights of one device unchanged up to float32 rounding" in text


def test_unscaled_large_batches_lag_as_gradient_descent_predicts(lesson11, house):
    findings, text = lesson11
    A = _hessian(house.features)
    eigenvalues = onp.linalg.eigvalsh(A)
    assert findings["lambda_max"] == pytest.approx(eigenvalues[-1], rel=1e-9)
    assert findings["stability_limit"] == pytest.approx(2 / eigenvalues[-1], rel=1e-9)
    base, unscaled, scaled = (run["distance"] for run in findings["scaling"].values())
    # The unscaled run: 42 updates of lr 0.1 on batches of 72. Its mean path is gradient descent's,
    # (I - lr A)^42 (w0 - w*) with w0 ~ 0 (the init's sigma 0.01); batch noise adds ~1e-3.
    ols = onp.append(*normal_equations(house.features, house.labels))
    predicted = onp.linalg.norm(onp.linalg.matrix_power(onp.eye(3) - 0.1 * A, 42) @ (0 - ols))
    assert unscaled == pytest.approx(predicted, rel=0.1, abs=3e-3)
    assert scaled < 3e-3 and base < 3e-3  # lr 0.3 leaves (1 - 0.3 * 0.95)^42 ~ 1e-6: only the noise remains
    assert "brought it back" in text


def test_dist_sync_workers_are_identical_and_equal_one_process(lesson11, house):
    findings, text = lesson11
    assert findings["workers"] == 2 and sorted(findings["ranks"]) == [0, 1]
    assert sorted(map(tuple, findings["shards"])) == [(0, 500), (500, 1000)]
    first, second = findings["weights_per_worker"]
    assert first == second and findings["biases_per_worker"][0] == findings["biases_per_worker"][1]
    onp.testing.assert_allclose(first, findings["one_process_weight"], atol=SAME_UPDATES)
    assert findings["biases_per_worker"][0] == pytest.approx(findings["one_process_bias"], abs=SAME_UPDATES)
    ols_w, ols_b = normal_equations(house.features, house.labels)
    onp.testing.assert_allclose(first, ols_w, atol=2e-3)
    assert findings["biases_per_worker"][0] == pytest.approx(ols_b, abs=2e-3)
    onp.testing.assert_allclose(findings["ols_weight"], ols_w, atol=1e-9)
    assert findings["true_weight"] == [2.0, -3.4]
    assert "identical weights, bit for bit, and the weights of one process" in text


def _verdict(seconds, reference):
    """The lesson's comparison, recomputed here from its numbers: 10% either way counts as the same."""
    ratio = seconds / reference
    return ("%.2f times slower than" % ratio if ratio > 1.1 else "%.2f times faster than" % (1 / ratio)
            if ratio < 0.9 else "as fast (within 10%) as")


def _line(text, start):
    return next(line for line in text.splitlines() if line.startswith(start))


def test_timings_add_up_and_the_speed_verdicts_follow_them(lesson11):
    findings, text = lesson11
    phase = findings["launch_seconds"][2]
    assert 0 < phase["imported"] <= phase["startup"] and phase["training"] > 0 and phase["shutdown"] >= 0
    one = findings["one_process_seconds_per_epoch"]  # one process training on the workers' global batches
    assert _verdict(phase["epoch"], one) in _line(text, "An epoch on 2 workers was")
    by_devices = findings["seconds_per_epoch_devices"]
    for count in (2, 3):
        assert _verdict(by_devices[count], by_devices[1]) in _line(text, "With %d devices an epoch was" % count)


def test_figure_and_json(lesson11):
    findings, _ = lesson11
    check_figures(findings, ["parallel_times"])
    check_json(findings)


def test_beyond_the_stability_limit_the_scaled_run_diverges_and_the_verdict_says_so(tmp_path):
    # lr 0.8 on 3 devices scales to 2.4 > 2/λ_max ≈ 1.89: gradient descent grows the error by
    # |1 - 2.4 λ_max| ≈ 1.5 per update, so the guard stops it; 0.8 itself is stable. No processes here.
    done = subprocess.run([sys.executable, "-m", "gluon_lessons", "run", "distributed", "--quick", "--json",
                           "--set", "lr=0.8", "--set", "start_processes=False", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout.strip().splitlines()[-1])
    base, unscaled, scaled = findings["scaling"].values()
    assert scaled["distance"] is None and "diverg" in scaled["diverged"]  # infinity is null in JSON
    assert math.isfinite(base["distance"]) and math.isfinite(unscaled["distance"])
    assert "Scaling lr by 3 to 2.4 diverged; 2/λ_max = 1.894 predicted it." in done.stdout
    assert "brought it back" not in done.stdout
    assert findings["workers"] == 0 and findings["weights_per_worker"] == []
    assert "start_processes=False: no processes started" in done.stdout
