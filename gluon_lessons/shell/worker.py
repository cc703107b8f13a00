"""The program every launched process runs: a parameter-server worker training `Dense(1)` on its own
shard of the house prices (`gluon_lessons.parameter_server`), `kvstore='dist_sync'`.

`gluon-lessons launch --workers N -- train [arguments]` runs it on every process; on a server or the
scheduler, importing mxnet runs MXNet's server loop instead and exits. Each worker prints one JSON line
with its weights and timings. Lesson 11 launches it (`launch_training`).
"""

import argparse
import dataclasses
import gc
import json
import os
import socket
import sys
import time

from .environment import import_mxnet

if __name__ == "__main__":  # a launched process (not an import): start it faster
    # The scheduler and the servers end without MXNet's interpreter teardown, as the workers do.
    if os.environ.get("DMLC_ROLE") == "scheduler":  # ps-lite's scheduler: MXNet's library only
        from .launcher import run_scheduler

        code = run_scheduler()
        sys.stdout.flush()
        os._exit(code)
    try:
        import_mxnet()  # without the optional scikit-learn and SciPy: 0.3-0.5 s less a process
    except SystemExit as ended:  # a server: MXNet's import ran ps-lite's loop until the job ended
        sys.stdout.flush()
        os._exit(ended.code if isinstance(ended.code, int) else 0)

import mxnet as mx  # with DMLC_ROLE=server or scheduler, this import runs MXNet's server loop and exits
import numpy as onp

from .. import checks, training
from .. import data as house_data
from ..parameter_server import KVSTORES, check_sharding, launch_phases, shard, train_one_process, train_worker  # noqa: F401

# A launched worker needs neither the CSV reader (`--data` only) nor the launcher: they are imported
# where used, 20 ms of CPU less a worker (measured).


# `--synthetic-rows N`: more rows than the committed file, made where they are used. Row i of the
# set is the same whoever makes it: rows come in blocks of BLOCK_ROWS, block k from its own seed.
BLOCK_ROWS = 10_000
MAX_SYNTHETIC_ROWS = 10**9
MAX_ROWS_PER_WORKER = 20_000_000  # a worker holds its shard: 12 bytes a row in float32, 240 MB


def _block_seed(seed, block):
    return int(onp.random.SeedSequence([seed, block]).generate_state(1)[0])


def synthetic_rows(start, stop, seed=house_data.WALKTHROUGH["seed"]):
    """(features, prices) of rows start..stop-1 of the walkthrough's model drawn block by block."""
    truth = {k: v for k, v in house_data.WALKTHROUGH.items() if k not in ("num_examples", "seed")}
    features = onp.empty((stop - start, len(truth["true_w"])), dtype=onp.float32)
    labels = onp.empty(stop - start, dtype=onp.float32)
    for block in range(start // BLOCK_ROWS, (stop - 1) // BLOCK_ROWS + 1):
        made = house_data.synthetic_house_prices(BLOCK_ROWS, seed=_block_seed(seed, block), **truth)
        first, last = max(start, block * BLOCK_ROWS), min(stop, (block + 1) * BLOCK_ROWS)
        rows = slice(first - block * BLOCK_ROWS, last - block * BLOCK_ROWS)
        features[first - start:last - start], labels[first - start:last - start] = (
            made.features[rows], made.labels[rows])
    return features, labels


class ShardRows:
    """The rows `start`.. of a `total`-row array that one worker holds, indexed by their row numbers
    in the whole set (as `parameter_server.shard` gives them); other rows are an IndexError."""

    def __init__(self, values, start, total):
        self.values, self.start, self.total = values, start, total

    @property
    def shape(self):
        return (self.total, *self.values.shape[1:])

    def __getitem__(self, rows):
        rows = onp.asarray(rows) - self.start
        if rows.size and (rows.min() < 0 or rows.max() >= len(self.values)):
            raise IndexError("rows outside this worker's shard")
        return self.values[rows]


def synthetic_data(num_rows, rank=None, num_workers=1):
    """The `num_rows`-row synthetic set as `HouseData`: all of it, or only worker `rank`'s shard."""
    if rank is None:
        start, stop = 0, num_rows
    else:
        rows = shard(num_rows, rank, num_workers)
        start, stop = int(rows[0]), int(rows[-1]) + 1
    features, labels = synthetic_rows(start, stop)
    if rank is not None:
        features, labels = ShardRows(features, start, num_rows), ShardRows(labels, start, num_rows)
    truth = house_data.WALKTHROUGH
    return house_data.HouseData(features, labels, house_data.feature_names(2), truth["true_w"],
                                truth["true_b"], truth["noise"], truth["seed"])


def launch_training(num_workers, num_servers=1, kvstore="dist_sync", batch_size=10, lr=0.03, momentum=0.0,
                    optimizer="sgd", num_epochs=3, seed=0, data_path=None, timeout=None,
                    slow_rank=None, slow_ms=0.0, time_one_process=False):
    """Start `num_workers` of these workers and `num_servers` servers on this machine; (results by rank, launch).

    `gluon-lessons launch --workers N -- train ...` runs the same; `data_path` None is the committed data.
    `slow_rank`, `slow_ms` and `time_one_process` as in `parameter_server.train_worker` (lesson 11);
    `timeout` None is the launcher's DEFAULT_TIMEOUT_SECONDS.
    """
    from . import datafiles
    from . import launcher as distributed

    dataset = (
        house_data.walkthrough_data() if data_path is None else datafiles.load_dataset(data_path)
    )
    check_sharding(dataset.num_examples, num_workers, batch_size)  # here, before any process starts
    training.check_hyperparameters(lr, momentum, num_epochs, optimizer)
    if kvstore not in KVSTORES:
        raise ValueError("kvstore must be one of %s, got %r" % ("|".join(KVSTORES), kvstore))
    arguments = ["--kvstore", kvstore, "--batch-size", str(batch_size), "--lr", repr(float(lr)),
                 "--momentum", repr(float(momentum)), "--optimizer", optimizer, "--epochs", str(num_epochs),
                 "--seed", str(seed)] + (["--data", str(data_path)] if data_path is not None else [])
    if slow_rank is not None:
        checks.integer("slow_rank", slow_rank, 0, num_workers - 1)
        arguments += ["--slow-rank", str(slow_rank), "--slow-ms", repr(checks.number("slow_ms", slow_ms, 0.0, 1000.0))]
    arguments += ["--time-one-process"] if time_one_process else []
    timeout = distributed.DEFAULT_TIMEOUT_SECONDS if timeout is None else timeout
    launched = distributed.launch(distributed.train_command(arguments), num_workers, num_servers, timeout=timeout)
    return launched.worker_results(), launched


class _Parser(argparse.ArgumentParser):
    def error(
        self, message
    ):  # a ValueError, so the command line can refuse bad arguments before launching
        raise ValueError("train: %s" % message)


def build_parser():
    parser = _Parser(
        prog="gluon-lessons launch --workers N -- train",
        description="one parameter-server worker (run it through gluon-lessons launch)",
    )
    parser.add_argument("--kvstore", choices=KVSTORES, default="dist_sync")
    parser.add_argument(
        "--data", help="a CSV in the layout of data/house_prices.csv (default: that file)"
    )
    parser.add_argument("--num-examples", type=int, help="use the first N examples only")
    parser.add_argument("--synthetic-rows", type=int, metavar="N",
                        help="instead of a file: N rows of the walkthrough's model, each worker "
                        "making only its own shard (the same rows whatever the number of workers)")
    parser.add_argument(
        "--batch-size", type=int, default=10, help="global batch: B/N rows per worker and step"
    )
    parser.add_argument("--lr", type=float, default=0.03)
    parser.add_argument("--momentum", type=float, default=0.0)
    parser.add_argument("--optimizer", choices=training.OPTIMIZERS, default="sgd")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0, help="seeds the initial weights and the shuffles")
    parser.add_argument("--slow-rank", type=int, help="this worker sleeps --slow-ms after each step")
    parser.add_argument("--slow-ms", type=float, default=0.0, help="milliseconds (0 to 1000)")
    parser.add_argument("--time-one-process", action="store_true",
                        help="worker 0 also trains the global batches alone, an epoch after each")
    return parser


def parse_arguments(argv, num_workers, folder=None):
    """(settings, data set) for a worker among `num_workers`; `ValueError` names a bad one. `gluon-lessons
    launch -- train ...` calls it before starting any process (a relative --data then read from
    `folder`, the processes' --workdir), each worker again when it starts."""
    args = build_parser().parse_args(argv)
    if args.synthetic_rows is not None:  # each worker makes its shard once it knows its rank
        if args.data is not None or args.num_examples is not None:
            raise ValueError("--synthetic-rows replaces --data and --num-examples; give one")
        checks.integer("--synthetic-rows", args.synthetic_rows, 1, MAX_SYNTHETIC_ROWS)
        if args.synthetic_rows // num_workers > MAX_ROWS_PER_WORKER:
            raise ValueError("--synthetic-rows %d over %d worker(s) is over %d rows a worker "
                             "(each holds its shard in memory); use more workers"
                             % (args.synthetic_rows, num_workers, MAX_ROWS_PER_WORKER))
        _check_training(args, args.synthetic_rows, num_workers)
        return args, None
    from . import datafiles

    path = args.data if folder is None or args.data is None else os.path.join(folder, args.data)
    dataset = datafiles.load_dataset(path) if args.data else house_data.walkthrough_data()
    if args.num_examples is not None:
        if not 1 <= args.num_examples <= dataset.num_examples:
            raise ValueError(
                "--num-examples must be in 1..%d, got %d"
                % (dataset.num_examples, args.num_examples)
            )
        dataset = dataclasses.replace(
            dataset,
            features=dataset.features[: args.num_examples],
            labels=dataset.labels[: args.num_examples],
        )
    _check_training(args, dataset.num_examples, num_workers)
    return args, dataset


def _check_training(args, num_examples, num_workers):
    check_sharding(num_examples, num_workers, args.batch_size)
    training.check_hyperparameters(args.lr, args.momentum, args.epochs, args.optimizer)
    if args.slow_rank is not None:
        checks.integer("--slow-rank", args.slow_rank, 0, num_workers - 1)
    checks.number("--slow-ms", args.slow_ms, 0.0, 1000.0)


def _report(args, dataset, kv, weight, bias, history, alone, times):
    """A line for people, then one JSON line (`LaunchResult.worker_results` reads it)."""
    rows = shard(dataset.num_examples, kv.rank, kv.num_workers)
    print("rank %d of %d, rows %d-%d, %s: w %s, b %.6f, loss on its rows %.3g after %d epochs (%.2f s)"
          % (kv.rank, kv.num_workers, rows[0], rows[-1], args.kvstore, [round(float(value), 6) for value in weight], bias,
             history.epoch_loss[-1], args.epochs, sum(history.seconds_per_epoch)), flush=True)
    result = {"rank": kv.rank, "num_workers": kv.num_workers, "weight": weight.tolist(), "bias": bias,
              "shard": [int(rows[0]), int(rows[-1]) + 1], "shard_loss": history.epoch_loss,
              "steps_per_epoch": len(history.step_loss) // args.epochs, "seconds_per_epoch": history.seconds_per_epoch,
              **times, **vars(args), "num_examples": dataset.num_examples, "host": _address()}
    if alone is not None:  # worker 0 with --time-one-process: the one process it trained in between
        result.update(one_process_weight=alone[0].tolist() + [alone[1]], one_process_seconds_per_epoch=alone[2])
    sys.stdout.write(json.dumps(result) + "\n")  # one write: stderr shares the pipe; print() writes "\n" apart


def _address():
    """This machine's address toward the scheduler (which host of a cluster this worker ran on)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            sock.connect((os.environ.get("DMLC_PS_ROOT_URI", "127.0.0.1"), 9))  # sends nothing
            return sock.getsockname()[0]
    except OSError:
        return None


def main(argv=None):
    """Train as worker `kv.rank` and print its result; exit 2 on a bad setting."""
    imported = (
        time.time()
    )  # the interpreter has started and imported mxnet: the process start-up is over
    try:
        if os.environ.get("DMLC_ROLE") != "worker":
            raise ValueError(
                "this is a parameter-server worker: run it with gluon-lessons launch --workers N -- train"
            )
        args, dataset = parse_arguments(argv, int(os.environ.get("DMLC_NUM_WORKER", "1")))
    except ValueError as error:
        print("error: %s" % error, file=sys.stderr)
        return 2
    kv = mx.kv.create(args.kvstore)  # waits until the scheduler has seen every server and worker
    connected = time.time()
    if dataset is None:
        dataset = synthetic_data(args.synthetic_rows, kv.rank, kv.num_workers)
    weight, bias, history, alone = train_worker(dataset, kv, args.batch_size, args.lr, args.momentum,
                                                args.optimizer, args.epochs, args.seed, args.slow_rank,
                                                args.slow_ms, args.time_one_process)
    _report(args, dataset, kv, weight, bias, history, alone,
            {"imported": imported, "connected": connected, "trained": time.time()})
    return 0


if __name__ == "__main__":
    code = main()
    gc.collect()  # frees the kvstore the Trainer held in a reference cycle: the worker leaves ps-lite's group
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(
        code
    )  # skips MXNet's interpreter teardown: 1-3 s per worker here (measured), with nothing left to do
