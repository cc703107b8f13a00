"""Seconds per epoch of the course's training paths against a careful NumPy loop, and PyTorch.

Tasks (float32 linear regression, momentum 0.9, shuffled every epoch):

  walkthrough    1000 examples x 2 features, batch 10, lr 0.03 (the Gluon walkthrough's task)
  1M x 20 B1000  1,000,000 x 20, batch 1000, lr 0.03
  1M x 20 B10    1,000,000 x 20, batch 10, lr 0.003

Implementations:

  fused          `fused.fit_linear`, what `gluon-lessons train` runs
  fused-before   the same from another fused.py (`--before FILE`, e.g. main's), to measure a change
  fit            `training.fit`, the plain loop a learner edits (walkthrough only)
  gluon-loop     the walkthrough's own loop: DataLoader(shuffle=True), autograd, Trainer.step (walkthrough)
  numpy          NumPy written carefully: one permutation and one gather per epoch into a buffer made
                 once, batches as views of it, in-place updates, 1/B folded into the learning rate
  pytorch        PyTorch's idiomatic loop (TensorDataset, DataLoader(shuffle=True), nn.Linear, optim.SGD)
  pytorch-slices PyTorch with one randperm and one gather per epoch, batches as slices

Every implementation does an epoch's whole work: the shuffle, the updates, each batch's loss kept, and
the full-data loss after the epoch (what `History` records). Each is set up and warmed up first; then
in each round every implementation runs its epochs, in an order rotated by one from round to round,
so that a change in the machine's load falls on all of them. A package path's time is the wall time
of one call training that many epochs, divided by them. Ratios are medians of per-round ratios to the
NumPy loop of the same round; the spread is the lowest and highest per-round value. Beside the wall
times it prints the CPU times (the process's, all its threads) and their median ratios: on a machine
shared with other work they vary less, though they do not show what overlapping work saves.

Run it:  make bench   (this benchmark, then benchmarks/lesson_times.py)
   or:   python benchmarks/epoch_throughput.py [--tasks walkthrough,1M-B1000,1M-B10] [--rounds 7]
             [--before main_fused.py] [--torch-python PYTHON] [--naive-engine] [--omp-threads N]
             [--quick] [--json]
"""
import argparse
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as onp

ROOT = Path(__file__).resolve().parent.parent
MOMENTUM = 0.9


def task_settings(quick=False):
    """{name: (num_examples, num_features, batch_size, lr, epochs per round of a fast path)}."""
    scale = 100_000 if quick else 1_000_000
    label = "100k" if quick else "1M"
    return {"walkthrough": (1000, 2, 10, 0.03, 50),
            "1M-B1000": (scale, 20, 1000, 0.03, 2),
            "1M-B10": (scale, 20, 10, 0.003, 2)}, label


def make_data(num_examples, num_features, seed=0):
    """The walkthrough's data for 2 features; otherwise N(0, 1) features with weights 1 and bias 4.2."""
    if num_examples == 1000 and num_features == 2:
        from gluon_lessons import data as house_data
        walk = house_data.walkthrough_data()
        return walk.features.astype(onp.float32), walk.labels.astype(onp.float32).ravel()
    rng = onp.random.default_rng(seed)
    X = rng.standard_normal((num_examples, num_features), dtype=onp.float32)
    y = X.sum(axis=1) + onp.float32(4.2) + rng.standard_normal(num_examples, dtype=onp.float32) * onp.float32(0.01)
    return X, y


# NumPy, written carefully -------------------------------------------------------------------------

class NumpyLoop:
    """Mini-batch SGD with momentum in float32 NumPy: x̃ = [x, 1, y] so that one gather per epoch deals
    the examples and their labels, r = x̃·[w, b, -1] in one product, 1/B folded into the learning rate."""

    def __init__(self, X, y, batch_size, lr, seed=0):
        n, d = X.shape
        self.table = onp.empty((n, d + 2), onp.float32)  # [x, 1, y], made once
        self.table[:, :d], self.table[:, d], self.table[:, d + 1] = X, 1.0, y
        self.shuffled = onp.empty_like(self.table)
        self.theta = onp.zeros(d + 2, onp.float32)  # [w, b, -1]: the last entry never moves
        self.theta[-1] = -1.0
        self.velocity = onp.zeros(d + 2, onp.float32)
        self.starts = range(0, n, batch_size)
        self.scale = {size: onp.append(onp.full(d + 1, lr / size), 0.0).astype(onp.float32)
                      for size in {batch_size, n - (len(self.starts) - 1) * batch_size}}
        self.batch_size, self.rng = batch_size, onp.random.default_rng(seed)
        self.step_losses = onp.empty(len(self.starts), onp.float32)
        self.epoch_losses = []

    def epoch(self):
        onp.take(self.table, self.rng.permutation(len(self.table)), axis=0, out=self.shuffled)
        theta, velocity, B = self.theta, self.velocity, self.batch_size
        for i, start in enumerate(self.starts):
            batch = self.shuffled[start:start + B]
            residual = batch @ theta
            self.step_losses[i] = residual @ residual
            velocity *= MOMENTUM
            velocity -= self.scale[len(batch)] * (residual @ batch)
            theta += velocity
        residual = self.table @ theta
        self.epoch_losses.append(0.5 * float(residual @ residual) / len(residual))
        return 0.5 * self.step_losses / B  # each batch's mean L2Loss (the last partial batch aside)


# The course's paths -------------------------------------------------------------------------------

def load_fused(path):
    """gluon_lessons.fused, or another fused.py loaded as a module of the package (for --before)."""
    if path is None:
        from gluon_lessons import fused
        return fused
    spec = importlib.util.spec_from_file_location("gluon_lessons._fused_before", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


class FusedPath:
    def __init__(self, X, y, batch_size, lr, fused_module):
        import mxnet as mx
        from gluon_lessons import loading, model
        self.fused, self.lr = fused_module, lr
        self.net = model.linear_regression(mx.cpu(), num_inputs=X.shape[1], hybrid=True)
        self.batches = loading.ShuffledBatches(X, y, batch_size, ctx=mx.cpu())
        self.eval_data = (X, y)
        self.history_seconds = []

    def epochs(self, count):
        history = self.fused.fit_linear(self.net, self.batches, count, self.lr, MOMENTUM, eval_data=self.eval_data,
                                        progress=False)
        self.history_seconds.append(sum(history.seconds_per_epoch))
        return history.epoch_loss[-1]


class FitPath:
    def __init__(self, X, y, batch_size, lr):
        import mxnet as mx
        from gluon_lessons import loading, model, training
        self.training = training
        self.net = model.linear_regression(mx.cpu(), num_inputs=X.shape[1], hybrid=True)
        self.batches = loading.ShuffledBatches(X, y, batch_size, ctx=mx.cpu())
        self.trainer = training.make_trainer(self.net, "sgd", lr, MOMENTUM)
        self.eval_data = (X, y)

    def epochs(self, count):
        history = self.training.fit(self.net, self.batches, self.trainer, count, eval_data=self.eval_data,
                                    progress=False)
        return history.epoch_loss[-1]


class GluonLoop:
    """The walkthrough's loop as written there, with momentum, keeping each batch's loss."""

    def __init__(self, X, y, batch_size, lr):
        from mxnet import autograd, gluon, init, np, npx
        from mxnet.gluon import nn
        npx.set_np()
        self.np, self.npx, self.autograd = np, npx, autograd
        dataset = gluon.data.ArrayDataset(np.array(X), np.array(y))
        self.data_iter = gluon.data.DataLoader(dataset, batch_size, shuffle=True)
        self.net = nn.Sequential()
        self.net.add(nn.Dense(1))
        self.net.initialize(init.Normal(sigma=0.01))
        self.loss = gluon.loss.L2Loss()
        self.trainer = gluon.Trainer(self.net.collect_params(), "sgd", {"learning_rate": lr, "momentum": MOMENTUM})
        self.X, self.y, self.batch_size = np.array(X), np.array(y), batch_size

    def epochs(self, count):
        for _ in range(count):
            losses = []
            for X, y in self.data_iter:
                with self.autograd.record():
                    l = self.loss(self.net(X), y)
                l.backward()
                self.trainer.step(self.batch_size)
                losses.append(l.mean())
            full = float(self.loss(self.net(self.X), self.y).mean())
            self.np.stack(losses).asnumpy()
        return full


# PyTorch, in a process of its own (its own interpreter may be another venv's) -----------------------

TORCH_WORKER = r'''
import sys, time, numpy as onp, torch
arrays = onp.load(sys.argv[1]); batch_size, lr, momentum = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
X, y = torch.from_numpy(arrays["X"]), torch.from_numpy(arrays["y"]).reshape(-1, 1)
torch.manual_seed(0)
def build():
    net = torch.nn.Linear(X.shape[1], 1)
    return net, torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
loss_of = lambda y_hat, y: 0.5 * torch.mean((y_hat - y) ** 2)  # Gluon's L2Loss, averaged
idiomatic = build(); slices = build()
loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(X, y), batch_size=batch_size, shuffle=True)
def epoch_idiomatic():
    net, opt = idiomatic; losses = []
    for X_b, y_b in loader:
        l = loss_of(net(X_b), y_b); opt.zero_grad(); l.backward(); opt.step(); losses.append(l.detach())
    with torch.no_grad(): full = float(loss_of(net(X), y))
    torch.stack(losses).numpy()
def epoch_slices():
    net, opt = slices; losses = []
    order = torch.randperm(len(X)); X_s, y_s = X[order], y[order]
    for start in range(0, len(X), batch_size):
        X_b, y_b = X_s[start:start + batch_size], y_s[start:start + batch_size]
        l = loss_of(net(X_b), y_b); opt.zero_grad(); l.backward(); opt.step(); losses.append(l.detach())
    with torch.no_grad(): full = float(loss_of(net(X), y))
    torch.stack(losses).numpy()
run = {"pytorch": epoch_idiomatic, "pytorch-slices": epoch_slices}
print("torch", torch.__version__, torch.get_num_threads(), flush=True)
for line in sys.stdin:
    name, count = line.split()
    started, cpu = time.perf_counter(), time.process_time()
    for _ in range(int(count)):
        run[name]()
    print(time.perf_counter() - started, time.process_time() - cpu, flush=True)
'''


class TorchWorker:
    """A PyTorch process timing epochs on request, so that its rounds interleave with the others'."""

    def __init__(self, python, X, y, batch_size, lr, folder):
        npz = os.path.join(folder, "data.npz")
        onp.savez(npz, X=X, y=y)
        self.process = subprocess.Popen([python, "-c", TORCH_WORKER, npz, str(batch_size), str(lr), str(MOMENTUM)],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.version = self.process.stdout.readline().strip()

    def seconds(self, name, count):
        """Wall and CPU seconds of `count` epochs."""
        self.process.stdin.write(f"{name} {count}\n")
        self.process.stdin.flush()
        return tuple(float(value) for value in self.process.stdout.readline().split())

    def close(self):
        self.process.stdin.close()
        self.process.wait()


def torch_python(explicit):
    """An interpreter that imports torch: --torch-python, else this one if it can, else None."""
    if explicit:
        return explicit
    return sys.executable if importlib.util.find_spec("torch") is not None else None


# Rounds ------------------------------------------------------------------------------------------

def timed(work):
    """Wall and CPU seconds of `work()`; the CPU time is the process's, MXNet's engine and OpenMP threads
    included. On a machine shared with other work the CPU times vary less than the wall times."""
    started, cpu = time.perf_counter(), time.process_time()
    work()
    return onp.array([time.perf_counter() - started, time.process_time() - cpu])


def measure_task(name, settings, rounds, before, python, folder):
    """Wall and CPU seconds per epoch of each implementation in each round: two dicts
    {implementation: [seconds, ...]}, and the share of the fused calls' wall time its History covers."""
    num_examples, num_features, batch_size, lr, epochs = settings
    X, y = make_data(num_examples, num_features)
    fused = load_fused(None)
    runners = {"fused": (FusedPath(X, y, batch_size, lr, fused), epochs)}
    if before:
        runners["fused-before"] = (FusedPath(X, y, batch_size, lr, load_fused(before)), epochs)
    numpy_loop = NumpyLoop(X, y, batch_size, lr)
    runners["numpy"] = (types.SimpleNamespace(epochs=lambda count: [numpy_loop.epoch() for _ in range(count)]),
                        epochs)
    if name == "walkthrough":
        runners["fit"] = (FitPath(X, y, batch_size, lr), 2)
        runners["gluon-loop"] = (GluonLoop(X, y, batch_size, lr), 1)
    worker = TorchWorker(python, X, y, batch_size, lr, folder) if python else None
    slow = num_examples >= 1_000_000 and batch_size < 100  # the idiomatic DataLoader's 100,000 steps
    torch_names = [] if worker is None else ["pytorch-slices"] + ([] if slow else ["pytorch"])
    jobs = {name_: (lambda runner=runner, count=count: timed(lambda: runner.epochs(count)) / count)
            for name_, (runner, count) in runners.items()}
    for torch_name in torch_names:
        count = epochs if torch_name == "pytorch-slices" else max(1, epochs // 10)
        jobs[torch_name] = lambda n=torch_name, c=count: onp.array(worker.seconds(n, c)) / c
    for job in jobs.values():  # warm-up: graphs built, caches filled
        job()
    seconds, cpu_seconds = {job_name: [] for job_name in jobs}, {job_name: [] for job_name in jobs}
    names = list(jobs)
    for round_ in range(rounds):
        for job_name in names[round_ % len(names):] + names[:round_ % len(names)]:
            wall, cpu = jobs[job_name]()
            seconds[job_name].append(wall)
            cpu_seconds[job_name].append(cpu)
    history_share = sum(runners["fused"][0].history_seconds[1:]) / (onp.sum(seconds["fused"]) * epochs)
    if worker is not None:
        seconds["_torch"] = worker.version
        worker.close()
    return seconds, cpu_seconds, history_share


def summary(seconds):
    """{implementation: (median seconds, lowest, highest, median ratio to numpy, lowest, highest)}."""
    reference = onp.asarray(seconds["numpy"])
    rows = {}
    for name, values in seconds.items():
        if name.startswith("_"):
            continue
        values = onp.asarray(values)
        ratios = values / reference
        rows[name] = (float(onp.median(values)), float(values.min()), float(values.max()),
                      float(onp.median(ratios)), float(ratios.min()), float(ratios.max()))
    return rows


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
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()}"


def format_table(task, settings, rows, cpu_rows, history_share):
    """The wall-time table with the CPU times' medians and ratios beside it."""
    num_examples, num_features, batch_size, lr, _ = settings
    lines = [f"{task}: {num_examples} x {num_features}, batch {batch_size}, lr {lr:g}, "
             f"momentum {MOMENTUM:g}",
             f"  {'implementation':<15} {'ms per epoch':>13} {'(lowest-highest)':>20} {'/ numpy':>9}"
             f" {'(lowest-highest)':>16}   {'CPU ms':>8} {'/ numpy':>8}"]
    for name, row in sorted(rows.items(), key=lambda kv: kv[1][0]):
        median, low, high, ratio, ratio_low, ratio_high = row
        cpu_median, cpu_ratio = cpu_rows[name][0], cpu_rows[name][3]
        lines.append(f"  {name:<15} {median * 1e3:>13.3g} {f'({low * 1e3:.3g}-{high * 1e3:.3g})':>20}"
                     f" {ratio:>8.2f}x {f'({ratio_low:.2f}-{ratio_high:.2f})':>16}"
                     f"   {cpu_median * 1e3:>8.3g} {cpu_ratio:>7.2f}x")
    lines.append(f"  (fused: History.seconds_per_epoch adds up to {100 * history_share:.0f}% of the wall"
                 " time of its calls; the rest is each call's set-up)")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="walkthrough,1M-B1000,1M-B10")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--before", help="another fused.py (e.g. main's) timed in the same rounds as fused-before")
    parser.add_argument("--torch-python", help="an interpreter that imports torch (default: this one, if it can)")
    parser.add_argument("--no-torch", action="store_true", help="leave PyTorch out")
    parser.add_argument("--quick", action="store_true", help="100k examples instead of 1M, 3 rounds")
    parser.add_argument("--naive-engine", action="store_true",
                        help="MXNet's synchronous engine (MXNET_ENGINE_TYPE=NaiveEngine, set before mxnet is imported)")
    parser.add_argument("--omp-threads", type=int,
                        help="OpenMP threads of MXNet's operators (OMP_NUM_THREADS, set before mxnet is imported)")
    parser.add_argument("--json", action="store_true", help="also print the numbers as JSON on the last line")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    tasks, label = task_settings(args.quick)
    chosen = args.tasks.split(",")
    unknown = [t for t in chosen if t not in tasks]
    if unknown:
        parser.error(f"--tasks takes a comma list of {', '.join(tasks)}; got {', '.join(unknown)}")
    if args.rounds < 1:
        parser.error("--rounds must be >= 1")
    rounds = min(args.rounds, 3) if args.quick else args.rounds
    python = None if args.no_torch else torch_python(args.torch_python)
    if args.naive_engine:
        os.environ["MXNET_ENGINE_TYPE"] = "NaiveEngine"
    if args.omp_threads is not None:
        if args.omp_threads < 1:
            parser.error("--omp-threads must be >= 1")
        os.environ["OMP_NUM_THREADS"] = str(args.omp_threads)
    from mxnet import engine  # noqa: F401  (imported before timing anything)
    print(f"{machine()}; Python {platform.python_version()}; numpy {onp.__version__}; MXNet engine "
          f"{os.environ.get('MXNET_ENGINE_TYPE', 'ThreadedEnginePerDevice')}, OMP_NUM_THREADS "
          f"{os.environ.get('OMP_NUM_THREADS', 'unset')}; {rounds} rounds; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    if python is None:
        print("(PyTorch not importable here and no --torch-python given: no PyTorch rows)")
    report = {}
    with tempfile.TemporaryDirectory() as folder:
        for task in chosen:
            seconds, cpu_seconds, history_share = measure_task(task, tasks[task], rounds, args.before,
                                                               python, folder)
            rows, cpu_rows = summary(seconds), summary(cpu_seconds)
            print(format_table(task.replace("1M", label), tasks[task], rows, cpu_rows, history_share))
            print(f"  (load average after it: {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
            if "_torch" in seconds:
                print(f"  ({seconds['_torch']} threads)")
            report[task] = {"settings": tasks[task], "seconds": {k: v for k, v in seconds.items()
                                                                 if not k.startswith("_")},
                            "summary": rows, "history_share": history_share,
                            "cpu_seconds": cpu_seconds, "cpu_summary": cpu_rows}
    if args.json:
        print(json.dumps(report))


if __name__ == "__main__":
    main()
