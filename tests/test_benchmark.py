"""The throughput benchmark runs and reports every loop it promises (its numbers are not asserted)."""
import importlib.util
import json
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "epoch_throughput.py"


def _load():
    spec = importlib.util.spec_from_file_location("epoch_throughput", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_reports_each_loop_and_batch_size(capsys):
    bench = _load()
    bench.main(["--batch-sizes", "100,1000", "--epochs", "1", "--json"])
    lines = capsys.readouterr().out.strip().splitlines()
    report = json.loads(lines[-1])
    for name in ("seed", "per-step", "default", "numpy"):
        assert set(report["seconds_per_epoch"][name]) == {"100", "1000"}
        assert all(t > 0 for t in report["seconds_per_epoch"][name].values())
    assert any(line.startswith("seed / default") for line in lines)

