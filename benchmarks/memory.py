"""Peak memory of `gluon-lessons train` on large data, against the size of the float32 data it trains on.

Each run is a fresh process; its peak resident memory is the kernel's count (ru_maxrss from wait4):

  import     python -c "import mxnet"                 what MXNet costs before any data
  numpy      python -c "import numpy"                 what NumPy alone costs (the CSV loader's base)
  generate   train --num-examples N --true-w 1,...,1  N examples with D features, made in memory
  csv        train --data big.csv                     a CSV of about --csv-mb MB in the committed layout
  load       data.load_dataset(big.csv) alone         the CSV loader without training

For each it prints the peak, the float32 data (features and prices) and the ratio
(peak - import) / data (for `load`, (peak - numpy) / data): about 3 means three copies of the
data at the worst moment.

Run it:  python benchmarks/memory.py [--num-examples 4000000] [--features 20] [--csv-mb 200]
                                      [--batch-size 10] [--epochs 1] [--json]
"""
import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as onp  # noqa: E402

from gluon_lessons import data as house_data  # noqa: E402
from gluon_lessons.shell import datafiles, memory  # noqa: E402

MB = 1e6
LOAD_ONLY = "import sys; from gluon_lessons.shell import datafiles; datafiles.load_dataset(sys.argv[1])"


def peak_of(argv):
    """Run `argv`; return (peak resident bytes, seconds, exit code, the end of its stderr)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=err, cwd=ROOT,
                                   env=dict(os.environ, PYTHONPATH=str(ROOT)))
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.WEXITSTATUS(status) if os.WIFEXITED(status) else -os.WTERMSIG(status)
        err.seek(0)
        tail = err.read().decode(errors="replace")[-400:]
    return usage.ru_maxrss * 1024, time.perf_counter() - started, process.returncode, tail


def write_csv(path, megabytes, num_features, seed=0):
    """About `megabytes` of CSV (header, features, price) from the synthetic generator; returns its rows."""
    block_rows = 20000
    sample = house_data.synthetic_house_prices(block_rows, true_w=[1.0] * num_features, seed=seed)
    bytes_per_row = len(datafiles.csv_text(sample).encode()) / block_rows
    rows = int(megabytes * MB / bytes_per_row)
    with open(path, "w") as f:
        f.write(",".join(sample.feature_names + (house_data.LABEL_NAME,)) + "\n")
        written = 0
        while written < rows:
            count = min(block_rows, rows - written)
            block = house_data.synthetic_house_prices(count, true_w=[1.0] * num_features, seed=seed + written)
            table = onp.column_stack([block.features, block.labels])
            onp.savetxt(f, table, fmt="%.9g", delimiter=",")
            written += count
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-examples", type=int, default=4_000_000)
    parser.add_argument("--features", type=int, default=20)
    parser.add_argument("--csv-mb", type=float, default=200)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--json", action="store_true", help="results as one JSON object on the last line")
    args = parser.parse_args(argv)
    cli = [sys.executable, "-m", "gluon_lessons", "train", "--epochs", str(args.epochs),
           "--batch-size", str(args.batch_size)]
    weights = ",".join(["1"] * args.features)
    runs = []
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "big.csv"
        rows = write_csv(csv_path, args.csv_mb, args.features)
        size = csv_path.stat().st_size
        cases = [  # (name, command, float32 data bytes, the run whose peak it is measured above)
            ("import", [sys.executable, "-c", "import mxnet"], 0, None),
            ("numpy", [sys.executable, "-c", "import numpy"], 0, None),
            ("generate", cli + ["--num-examples", str(args.num_examples), "--true-w", weights],
             memory.data_bytes(args.num_examples, args.features), "import"),
            ("csv", cli + ["--data", str(csv_path)], memory.data_bytes(rows, args.features), "import"),
            ("load", [sys.executable, "-c", LOAD_ONLY, str(csv_path)], memory.data_bytes(rows, args.features),
             "numpy"),  # the loader imports NumPy, not MXNet
        ]
        for name, command, data_size, baseline in cases:
            peak, seconds, code, tail = peak_of(command)
            if code != 0:
                raise SystemExit("%s failed (exit %d): %s" % (name, code, tail))
            runs.append({"run": name, "peak_mb": peak / MB, "data_mb": data_size / MB, "seconds": seconds,
                         "above": baseline})
    peaks = {run["run"]: run["peak_mb"] for run in runs}
    for run in runs:
        if run["above"] is not None:
            run["copies"] = (run["peak_mb"] - peaks[run["above"]]) / run["data_mb"]
    print("%s, Python %s; %d examples x %d features generated, a %.0f MB CSV of %d rows; batch %d, %d epoch(s)"
          % (platform.machine(), platform.python_version(), args.num_examples, args.features, size / MB, rows,
             args.batch_size, args.epochs))
    print("%-9s %10s %10s %8s %8s" % ("run", "peak MB", "data MB", "copies", "seconds"))
    for run in runs:
        copies = "%.2f" % run["copies"] if "copies" in run else "-"
        print("%-9s %10.0f %10.0f %8s %8.1f" % (run["run"], run["peak_mb"], run["data_mb"], copies, run["seconds"]))
    if args.json:
        print(json.dumps({"num_examples": args.num_examples, "features": args.features, "csv_mb": size / MB,
                          "csv_rows": rows, "batch_size": args.batch_size, "epochs": args.epochs, "runs": runs}))


if __name__ == "__main__":
    main()
