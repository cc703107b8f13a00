"""Lesson 11: several devices and a parameter server, checked against truths.

Truths: the gradient and Hessian of the mean L2 loss worked out in float64 (X̃ᵀ(X̃w̃ − y), X̃ᵀX̃/n),
least squares from the normal equations, gradient descent's contraction (I − lr·A)^k, exact
agreement between runs that make the same updates, and the timing verdicts recomputed from the
timings the lesson reports (ranges that overlap are "indistinguishable").
"""
import json
import subprocess
import sys

import numpy as onp
import psutil
import pytest
from lesson_checks import assert_teaching_shape, check_figures, check_json, normal_equations, run_quietly

from gluon_lessons import data as house_data

# Runs that make the same updates differ only in float32 summation order: a few ulp of weights of
# size ~4 (ulp 4.8e-7), far below 1e-5; SGD's own end-point jitter is ~1e-3.
SAME_UPDATES = 1e-5


@pytest.fixture(scope="module")
def house():
    return house_data.walkthrough_data()


def _no_process_left():
    left = [p for p in psutil.Process().children(recursive=True) if p.status() != psutil.STATUS_ZOMBIE]
    assert not left, "processes left after the lesson: %s" % [p.cmdline() for p in left]


@pytest.fixture(scope="module")
def lesson11(tmp_path_factory):
    # --quick (devices 1 and 2, the dist_sync launch) and section 7's launch with a slow worker.
    result = run_quietly("distributed", tmp_path_factory.mktemp("distributed"), compare_async=True)
    _no_process_left()
    return result


def _hessian(features):
    design = onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])
    return design.T @ design / len(design)


def _ranges(seconds, reference):
    """The lesson's rule, written again: different only when the ranges do not overlap."""
    if max(seconds) < min(reference):
        return "faster"
    if min(seconds) > max(reference):
        return "slower"
    return "indistinguishable"


def test_teaching_shape(lesson11):
    findings, printed = lesson11
    assert_teaching_shape("distributed", findings, printed)


def test_split_gradients_add_up_and_devices_train_like_one(lesson11, house):
    findings, _ = lesson11
    assert findings["devices"] == ["cpu(0)", "cpu(1)"]
    # 24 float32 terms of size ~30 summed in pieces: a few ulp of 70 (7.6e-6 each).
    assert findings["split_gradient_gap"] < 1e-4
    assert findings["verdicts"]["split_gradients"] == "add up"
    assert set(findings["device_gaps"]) == {1, 2}
    assert max(findings["device_gaps"].values()) < SAME_UPDATES
    assert findings["verdicts"]["devices_weights"] == "same"
    ols_w, ols_b = normal_equations(house.features, house.labels)
    for weights in findings["device_weights"].values():
        # 164 updates of lr 0.1 from ~0: (1 - 0.1 * 0.95)^164 of the start's 5.8 is left; batch noise ~1e-3
        onp.testing.assert_allclose(weights, onp.append(ols_w, ols_b), atol=2e-3)


def test_timings_are_interleaved_repeats_and_the_verdicts_follow_their_ranges(lesson11):
    findings, _ = lesson11
    timed = findings["seconds_per_epoch_devices"]
    assert all(len(seconds) == findings["num_epochs"] - 1 >= 3 for seconds in timed.values())
    assert all(second > 0 for seconds in timed.values() for second in seconds)
    assert findings["verdicts"]["speed_2_devices"] == _ranges(timed[2], timed[1])
    workers, alone = findings["worker_seconds_per_epoch"], findings["one_process_seconds_per_epoch"]
    assert len(workers) == len(alone) == findings["num_epochs"] - 1
    assert findings["verdicts"]["workers_speed"] == _ranges(workers, alone)
    phase = findings["launch_seconds"]["dist_sync"]
    assert 0 < phase["imported"] <= phase["startup"] and phase["training"] > 0 and phase["shutdown"] >= 0


def test_unscaled_large_batches_lag_as_gradient_descent_predicts(lesson11, house):
    findings, _ = lesson11
    A = _hessian(house.features)
    eigenvalues = onp.linalg.eigvalsh(A)
    assert findings["lambda_max"] == pytest.approx(eigenvalues[-1], rel=1e-9)
    assert findings["stability_limit"] == pytest.approx(2 / eigenvalues[-1], rel=1e-9)
    (base, _), (unscaled, updates), (scaled, _) = (findings["scaling"][name]
                                                   for name in ("base", "unscaled", "scaled"))
    # 2 devices, batch 48, 2 epochs: 21 batches an epoch (the last of 40 rows), 42 updates of lr 0.1.
    # Their mean path is gradient descent's, (I - lr A)^42 (w0 - w*) with w0 ~ 0 (the init's sigma
    # 0.01); batch noise adds ~1e-3.
    assert updates == 42
    ols = onp.append(*normal_equations(house.features, house.labels))
    predicted = onp.linalg.norm(onp.linalg.matrix_power(onp.eye(3) - 0.1 * A, 42) @ (0 - ols))
    assert unscaled == pytest.approx(predicted, rel=0.1, abs=3e-3)
    assert scaled < 3e-3 and base < 3e-3  # lr 0.2 leaves (1 - 0.2 * 0.95)^42 ~ 1e-4: noise remains
    assert findings["verdicts"]["unscaled"] == "lags"
    assert findings["verdicts"]["lr_scaling"] == "recovers"
    assert findings["verdicts"]["stability_limit"] == "agrees"


def test_dist_sync_workers_are_identical_and_equal_one_process(lesson11, house):
    findings, _ = lesson11
    results = findings["worker_results"]
    assert sorted(r["rank"] for r in results) == [0, 1]
    assert sorted(tuple(r["shard"]) for r in results) == [(0, 500), (500, 1000)]
    first, second = (onp.append(r["weight"], r["bias"]) for r in results)
    assert (first == second).all() and findings["verdicts"]["workers_identical"] == "identical"
    # One device in the lesson's own process, and worker 0's one process between the epochs.
    onp.testing.assert_allclose(first, findings["device_weights"][1], atol=SAME_UPDATES)
    alone = next(r for r in results if r["rank"] == 0)["one_process_weight"]
    onp.testing.assert_allclose(first, alone, atol=SAME_UPDATES)
    assert findings["verdicts"]["workers_vs_one_process"] == "same"
    ols = onp.append(*normal_equations(house.features, house.labels))
    onp.testing.assert_allclose(first, ols, atol=2e-3)


def test_a_slow_worker_does_not_hold_up_dist_async(lesson11):
    findings, _ = lesson11
    seconds = findings["slow_training_seconds"]
    # Worker 1 sleeps 20 ms after each of its 41 steps: 0.8 s; worker 0 needs ~0.1 s of its own.
    assert seconds[1] > 41 * 0.020
    assert seconds[0] < 0.5 * seconds[1]
    assert findings["verdicts"]["slow_worker"] == "no waiting"
    assert findings["slow_worker_gap"] > 0  # each ended with the weights it pulled last


def test_the_slow_worker_verdict_follows_the_store(tmp_path):
    # dist_sync applies a step once both workers pushed it, so worker 0 waits for worker 1's sleep.
    findings, _ = run_quietly("distributed", tmp_path, compare_async=True, slow_kvstore="dist_sync")
    _no_process_left()
    seconds = findings["slow_training_seconds"]
    assert seconds[0] > 0.8 * seconds[1]
    assert findings["verdicts"]["slow_worker"] == "waits"
    assert findings["slow_worker_gap"] == 0


def test_figure_and_json(lesson11):
    findings, _ = lesson11
    check_figures(findings, ["parallel_times"])
    check_json(findings)


def _run(*settings, out=None, timeout=180):
    command = [sys.executable, "-m", "gluon_lessons", "run", "distributed", "--quick", "--json"]
    command += ["--out", str(out)] if out is not None else []
    for setting in settings:
        command += ["--set", setting]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def test_beyond_the_stability_limit_the_scaled_run_diverges_and_the_verdict_says_so(tmp_path):
    # lr 0.8 on 2 devices scales to 1.6 < 2/λ_max ≈ 1.89: stable; on 3 devices to 2.4 > 1.89:
    # gradient descent grows the error by |1 - 2.4 λ_max| ≈ 1.5 per update and the guard stops it.
    done = _run("lr=0.8", "start_processes=False", "device_counts=(1, 3)", out=tmp_path)
    assert done.returncode == 0, done.stderr
    findings = json.loads(done.stdout.strip().splitlines()[-1])
    assert findings["scaling"]["scaled"] == [None, None]  # infinity is null in JSON
    assert findings["verdicts"]["lr_scaling"] == "diverged"
    assert findings["verdicts"]["stability_limit"] == "agrees"
    assert findings["workers"] == 0 and "worker_results" not in findings


@pytest.mark.parametrize("setting, word", [
    ("timeout_seconds=1e308", "timeout_seconds"),
    ("slow_worker_ms=-1", "slow_worker_ms"),
    ("num_workers=1000000000000", "num_workers"),
    ("batch_size=25", "batch size 25 must be a multiple of the 2 workers"),
    ("slow_kvstore='local'", "slow_kvstore"),
])
def test_bad_settings_are_one_line_before_any_process_starts(tmp_path, setting, word):
    done = _run(setting, out=tmp_path, timeout=120)
    assert done.returncode == 2 and word in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_a_launch_that_times_out_is_one_line_and_leaves_nothing(tmp_path):
    done = _run("timeout_seconds=0.5", out=tmp_path)
    assert done.returncode == 1, done.stderr
    assert "timed out after 0.5 s" in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    _no_process_left()
