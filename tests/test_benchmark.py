"""The benchmarks run and report what they promise (their timings are not asserted: they vary with load)."""
import importlib.util
import json
from pathlib import Path

import numpy as onp
import pytest

BENCHMARKS = Path(__file__).resolve().parent.parent / "benchmarks"


def _load(name):
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_numpy_loop_is_sgd_with_momentum(walkthrough):
    """The reference every ratio divides by must train: on the walkthrough it lands on least squares."""
    bench = _load("epoch_throughput")
    loop = bench.NumpyLoop(walkthrough.features, walkthrough.labels.ravel(), 10, 0.003)
    for _ in range(30):
        step_losses = loop.epoch()
    X = onp.hstack([walkthrough.features, onp.ones((1000, 1))]).astype(onp.float64)
    best = onp.linalg.lstsq(X, walkthrough.labels.ravel().astype(onp.float64), rcond=None)[0]
    onp.testing.assert_allclose(loop.theta[:-1], best, atol=2e-3)
    assert loop.theta[-1] == -1.0 and step_losses.shape == (100,) and step_losses.max() < 1e-3


def test_training_path_benchmark_reports_each_implementation(capsys, tmp_path):
    bench = _load("epoch_throughput")
    before = Path(__file__).resolve().parent.parent / "gluon_lessons" / "fused.py"
    bench.main(["--tasks", "walkthrough", "--rounds", "1", "--no-torch", "--before", str(before), "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    report = json.loads(lines[-1])["walkthrough"]
    assert set(report["seconds"]) == {"fused", "fused-before", "numpy", "fit", "gluon-loop"}
    for times in (report["seconds"], report["cpu_seconds"]):
        assert set(times) == set(report["seconds"]) and all(len(v) == 1 and min(v) > 0 for v in times.values())
    assert report["summary"]["numpy"][3] == 1.0  # the reference's ratio to itself
    assert 0.5 < report["history_share"] <= 1.0  # History.seconds_per_epoch covers the epochs' wall time
    assert any(line.strip().startswith("fused-before") for line in lines)


def test_lesson_times_runs_a_lesson_and_reports_it(capsys):
    times = _load("lesson_times")
    assert times.lesson_numbers()[:2] == [1, 2] and len(times.lesson_numbers()) >= 11
    assert times.main(["--lessons", "1", "--no-defaults", "--json"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    quick = json.loads(lines[-1])["1"]["quick"]
    assert quick["exit"] == 0 and quick["seconds"] > 0 and quick["peak_mb"] > 100  # MXNet alone is ~280 MB
    with pytest.raises(SystemExit):
        times.main(["--lessons", "99"])
