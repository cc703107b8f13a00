"""Throughput of one training epoch (examples per second) for batch sizes 1 to 1000.

Four loops train the same Dense(1) linear regression on the walkthrough's 1000 house prices with
mini-batch SGD and momentum 0.9, shuffling every epoch:

  seed       the walkthrough's code: DataLoader(shuffle=True), nn.Sequential, autograd, Trainer.step
  per-step   `training.train_linear_regression(path="steps")`: `training.fit`, the plain loop, on
             in-memory batches with a hybridized net (autograd + Trainer.step per batch)
  default    what `gluon-lessons train` runs: `path="fused"`, `fused.fit_linear` (50 updates per graph)
  numpy      a hand-written NumPy loop, the floor for this tiny model
  pytorch    PyTorch's idiomatic loop (TensorDataset + DataLoader, nn.Linear, optim.SGD), if importable

Each number is the median over `--epochs` epochs after one warm-up epoch, with `npx.waitall()`
before every clock read. Timings on a shared machine vary by tens of percent from run to run.

Run it:  make bench
   or:   python benchmarks/epoch_throughput.py [--batch-sizes 1,10,100,1000] [--epochs 5]
                 [--naive-engine] [--torch-python /path/to/python-with-torch] [--json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LR = 0.003  # with momentum 0.9 the effective step lr / (1 - 0.9) is the walkthrough's 0.03
MOMENTUM = 0.9
BATCH_SIZES = (1, 10, 100, 1000)
EPOCHS = 5  # timed epochs per loop and batch size, after one warm-up epoch


def median_epoch(train_epoch, epochs, sync=lambda: None):
    """Median wall time of `train_epoch()` over `epochs` calls after one warm-up call."""
    train_epoch()
    times = []
    for _ in range(epochs):
        sync()
        started = time.perf_counter()
        train_epoch()
        sync()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def seed_loop(data, batch_size, epochs):
    """The walkthrough's loop as written there, with momentum."""
    import numpy as onp
    from mxnet import autograd, gluon, init, np, npx
    from mxnet.gluon import nn
    npx.set_np()
    onp.random.seed(0)  # DataLoader shuffles with NumPy's global RNG
    dataset = gluon.data.ArrayDataset(np.array(data.features), np.array(data.labels))
    data_iter = gluon.data.DataLoader(dataset, batch_size, shuffle=True)
    net = nn.Sequential()
    net.add(nn.Dense(1))
    net.initialize(init.Normal(sigma=0.01))
    loss = gluon.loss.L2Loss()
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR, "momentum": MOMENTUM})

    def epoch():
        for X, y in data_iter:
            with autograd.record():
                l = loss(net(X), y)
            l.backward()
            trainer.step(batch_size)
    return median_epoch(epoch, epochs, npx.waitall)


def package_loop(data, batch_size, epochs, path="fused"):
    """`training.train_linear_regression` on CPU; its own per-epoch times (updates only, synchronised)."""
    from gluon_lessons.shell import train as training
    result = training.train_linear_regression(data, batch_size=batch_size, lr=LR, momentum=MOMENTUM,
                                              num_epochs=epochs + 1, ctx="cpu", progress=False, path=path)
    return statistics.median(result.history.seconds_per_epoch[1:])


def numpy_loop(data, batch_size, epochs):
    """Hand-written mini-batch SGD with momentum in float32 NumPy."""
    import numpy as onp
    rng = onp.random.default_rng(0)
    X_all, y_all = data.features.astype(onp.float32), data.labels.astype(onp.float32)
    w = (rng.normal(0, 0.01, X_all.shape[1])).astype(onp.float32)
    b = onp.zeros(1, onp.float32)
    v_w, v_b = onp.zeros_like(w), onp.zeros_like(b)

    def epoch():
        nonlocal w, b
        order = rng.permutation(len(X_all))
        X_shuffled, y_shuffled = X_all[order], y_all[order]
        for start in range(0, len(X_all), batch_size):
            X, y = X_shuffled[start:start + batch_size], y_shuffled[start:start + batch_size]
            residual = X @ w + b - y
            v_w[:] = MOMENTUM * v_w - LR * (X.T @ residual) / len(X)
            v_b[:] = MOMENTUM * v_b - LR * residual.sum() / len(X)
            w = w + v_w
            b = b + v_b
    return median_epoch(epoch, epochs)


def pytorch_loop(data, batch_size, epochs):
    """PyTorch's idiomatic loop; MSELoss is twice L2Loss, so the learning rate is halved to match."""
    import torch
    torch.manual_seed(0)
    dataset = torch.utils.data.TensorDataset(torch.tensor(data.features), torch.tensor(data.labels).reshape(-1, 1))
    data_iter = torch.utils.data.DataLoader(dataset, batch_size=batch_size, shuffle=True)
    net = torch.nn.Linear(data.features.shape[1], 1)
    loss = torch.nn.MSELoss()
    optimizer = torch.optim.SGD(net.parameters(), lr=LR / 2, momentum=MOMENTUM)

    def epoch():
        for X, y in data_iter:
            l = loss(net(X), y)
            optimizer.zero_grad()
            l.backward()
            optimizer.step()
    return median_epoch(epoch, epochs)


LOOPS = {"seed": seed_loop, "per-step": lambda d, b, e: package_loop(d, b, e, path="steps"),
         "default": package_loop, "numpy": numpy_loop, "pytorch": pytorch_loop}


def walkthrough_data(npz=None):
    """The walkthrough's 1000 examples, from `gluon_lessons.data` or from an .npz that process wrote
    (a PyTorch venv need not have MXNet, which importing `gluon_lessons` needs)."""
    if npz is None:
        from gluon_lessons import data as house_data
        return house_data.walkthrough_data()
    import numpy as onp
    with onp.load(npz) as arrays:
        return types.SimpleNamespace(features=arrays["features"], labels=arrays["labels"])


def measure(names, batch_sizes, epochs, npz=None):
    data = walkthrough_data(npz)
    return {name: {str(b): LOOPS[name](data, b, epochs) for b in batch_sizes} for name in names}


def pytorch_elsewhere(python, batch_sizes, epochs):
    """Run the PyTorch loop with another interpreter (one that has torch) on the same data; read its JSON."""
    import numpy as onp
    data = walkthrough_data()
    with tempfile.TemporaryDirectory() as folder:
        npz = os.path.join(folder, "walkthrough.npz")
        onp.savez(npz, features=data.features, labels=data.labels)
        command = [python, __file__, "--only", "pytorch", "--json", "--epochs", str(epochs),
                   "--batch-sizes", ",".join(map(str, batch_sizes)), "--data-npz", npz]
        output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output.strip().splitlines()[-1])["seconds_per_epoch"]["pytorch"]


def machine():
    """CPU model, count and OS in one line."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return "%s, %d CPUs, %s" % (model, os.cpu_count(), platform.system())


def table(seconds, num_examples, batch_sizes):
    lines = ["%-10s" % "loop" + "".join("%24s" % ("batch %s" % b) for b in batch_sizes)]
    lines.append("%-10s" % "" + "%24s" % "ms/epoch  examples/s" * len(batch_sizes))
    for name, row in seconds.items():
        cells = ["%10.2f  %10.0f" % (row[str(b)] * 1e3, num_examples / row[str(b)]) for b in batch_sizes]
        lines.append("%-10s" % name + "".join("%24s" % c for c in cells))
    lines.append("")
    ratios = [("seed / default", "seed", "default"), ("per-step / default", "per-step", "default"),
              ("pytorch / default", "pytorch", "default"), ("default / numpy", "default", "numpy")]
    for label, top, bottom in ratios:
        if top in seconds and bottom in seconds:
            cells = ["%.1fx" % (seconds[top][str(b)] / seconds[bottom][str(b)]) for b in batch_sizes]
            lines.append("%-20s" % label + "".join("%12s" % c for c in cells))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-sizes", default=",".join(map(str, BATCH_SIZES)))
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--naive-engine", action="store_true",
                        help="run MXNet with MXNET_ENGINE_TYPE=NaiveEngine (set here, before mxnet is imported)")
    parser.add_argument("--torch-python", help="an interpreter that can import torch, for the PyTorch row")
    parser.add_argument("--only", choices=sorted(LOOPS), action="append", help=argparse.SUPPRESS)
    parser.add_argument("--data-npz", help=argparse.SUPPRESS)  # the data, from the process that runs this one
    parser.add_argument("--json", action="store_true", help="also print the numbers as JSON on the last line")
    args = parser.parse_args(argv)
    try:
        batch_sizes = [int(b) for b in args.batch_sizes.split(",")]
    except ValueError:
        parser.error("--batch-sizes takes a comma list of integers, got %r" % args.batch_sizes)
    if args.epochs < 1 or any(b < 1 or b > 1000 for b in batch_sizes):
        parser.error("--epochs must be >= 1 and batch sizes in 1..1000 (the data set has 1000 examples)")
    if args.naive_engine:
        os.environ["MXNET_ENGINE_TYPE"] = "NaiveEngine"

    names = args.only or ["seed", "per-step", "default", "numpy"]
    seconds = measure(names, batch_sizes, args.epochs, args.data_npz)
    if not args.only:
        try:
            import torch  # noqa: F401
            seconds.update(measure(["pytorch"], batch_sizes, args.epochs))
        except ImportError:
            if args.torch_python:
                seconds["pytorch"] = pytorch_elsewhere(args.torch_python, batch_sizes, args.epochs)
            else:
                print("(PyTorch not importable here and no --torch-python given: no PyTorch row)")

    engine = os.environ.get("MXNET_ENGINE_TYPE", "ThreadedEnginePerDevice")
    print("1000 examples, lr %g, momentum %g; %s; Python %s; MXNet engine %s"
          % (LR, MOMENTUM, machine(), platform.python_version(), engine))
    print(table(seconds, 1000, batch_sizes))
    if args.json:
        print(json.dumps({"seconds_per_epoch": seconds, "batch_sizes": batch_sizes, "engine": engine}))


if __name__ == "__main__":
    main()
