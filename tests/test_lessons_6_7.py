"""Lessons 6 and 7 run end to end with small settings; their findings are checked, never their timings."""
import json
import math

import numpy as onp
import pytest

from gluon_lessons import cli, loading, noise, timing
from gluon_lessons.lessons import lesson06_batch_time, lesson07_batch_noise


def _run_json(capsys, *argv):
    assert cli.main(list(argv)) == 0
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])


def test_lesson6_findings_through_the_cli(capsys, tmp_path):
    findings = _run_json(capsys, "run", "batch-time", "--quick", "--json", "--out", str(tmp_path))
    sizes = findings["batch_sizes"]
    assert sizes == sorted(sizes) and sizes[-1] == findings["num_examples"]
    assert findings["updates_per_epoch"] == [math.ceil(findings["num_examples"] / b) for b in sizes]
    assert findings["device"] == "cpu(0)"
    for key in ("seconds_per_update", "seconds_per_epoch", "gluon_seconds_per_update", "fused_seconds_per_update"):
        assert len(findings[key]) == len(sizes) and all(t > 0 for t in findings[key])
    # An epoch is extrapolated exactly when fewer updates were timed than it holds, and then it is
    # shuffle + seconds per update x updates per epoch.
    for timed, per_epoch, guessed, update, epoch in zip(findings["timed_updates"], findings["updates_per_epoch"],
                                                        findings["extrapolated"], findings["seconds_per_update"],
                                                        findings["seconds_per_epoch"]):
        assert guessed == (timed < per_epoch)
        if guessed:
            assert epoch == pytest.approx(findings["shuffle_seconds"] + update * per_epoch, rel=1e-9)
    num_features = findings["num_features"]
    assert findings["default_path"] == ["fused" if b * num_features <= 250_000 else "gluon" for b in sizes]
    for fit in findings["fits"].values():
        assert fit["overhead"] > 0 and fit["per_example"] > 0 and fit["knee"] > 0
    assert (tmp_path / "batch_time.png").stat().st_size > 10_000


def test_lesson6_refuses_bad_settings():
    with pytest.raises(ValueError, match="must not exceed"):
        lesson06_batch_time.run(out_dir=None, num_examples=100, num_features=4, batch_sizes=(1, 1000))
    with pytest.raises(ValueError, match="one device"):
        lesson06_batch_time.run(out_dir=None, ctx="cpu:0,cpu:1")


def test_overhead_fit_recovers_a_line():
    overhead, per_example = timing.overhead_and_slope([1, 10, 100, 1000], [2e-4 + 3e-7 * b for b in (1, 10, 100, 1000)])
    assert overhead == pytest.approx(2e-4, rel=1e-9) and per_example == pytest.approx(3e-7, rel=1e-9)
    assert timing.knee(overhead, per_example) == pytest.approx(2e-4 / 3e-7)


def test_lesson7_findings_through_the_cli(capsys, tmp_path):
    findings = _run_json(capsys, "run", "batch-noise", "--quick", "--json", "--out", str(tmp_path))
    # Variance: each measurement within 4 standard errors of tr(Σ)/B, slope −1 within 4 of its own.
    for measured, error, exact in zip(findings["grad_variance"], findings["grad_variance_standard_error"],
                                      findings["grad_variance_exact"]):
        assert abs(measured - exact) < 4 * error
    assert abs(findings["variance_slope"] + 1) < 4 * findings["variance_slope_error"] < 0.25
    # Noise scale: the two-batch estimate within 4 standard errors of the exact value at every point.
    scales = findings["noise_scale_simple"]
    for point in scales.values():
        assert abs(point["two_batch"] - point["exact"]) < 4 * point["two_batch_error"]
    assert scales["start"]["exact"] < scales["near target"]["exact"]  # the noise scale grows as the loss falls
    # Steps: the smallest batch needs the most steps and the fewest examples; B_crit sits between the
    # noise scale at the start and near the target, as the lesson says.
    steps = {int(b): s for b, s in findings["steps_to_target"].items()}
    examples = {int(b): e for b, e in findings["examples_to_target"].items()}
    smallest, largest = min(steps), max(steps)
    assert steps[smallest] > steps[largest] and examples[smallest] < examples[largest]
    assert scales["start"]["exact"] < findings["critical_batch_size"] < scales["near target"]["exact"]
    # Linear scaling: works at the base batch size, and a learning rate past 2/λ_max never reaches the target.
    scaled = {int(b): s for b, s in findings["scaled_steps"].items()}
    lrs = {int(b): lr for b, lr in findings["scaled_lr"].items()}
    assert scaled[min(scaled)] is not None and findings["scaling_works_up_to"] >= min(scaled)
    assert all(scaled[b] is None for b in scaled if lrs[b] > findings["largest_stable_lr"])
    for name in ("gradient_clouds", "gradient_variance", "steps_to_target"):
        assert (tmp_path / (name + ".png")).stat().st_size > 10_000


def test_lesson7_data_has_the_asked_correlation():
    house = lesson07_batch_noise.correlated_house_prices(20000, correlation=-0.8, price_noise=1.0)
    assert onp.corrcoef(house.features.T)[0, 1] == pytest.approx(-0.8, abs=4 * (1 - 0.64) / math.sqrt(20000))
    with pytest.raises(ValueError, match="correlation"):
        lesson07_batch_noise.correlated_house_prices(10, correlation=1.0)


def test_updates_per_epoch_is_ceil_n_over_b():
    for n, b in [(60000, 1), (60000, 7), (60000, 10000), (6000, 6000), (1024, 1000)]:
        assert loading.num_batches(n, b) == math.ceil(n / b) == -(-n // b)
    assert noise.steps_to_reach([5.0, 4.0], 4.5) == 2  # a sanity anchor for the steps counter
