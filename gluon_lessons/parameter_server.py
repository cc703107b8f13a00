"""Data parallel training with a parameter server: each worker trains `Dense(1)` on its own shard of
the house prices through `kvstore='dist_sync'`, and the same global batches in one process.

Lesson 11 launches the workers (`gluon_lessons.shell.worker` is the program each runs) and checks
that they end where one process training on the same global batches ends.
"""
import time

import mxnet as mx
import numpy as onp
from mxnet import gluon, np, npx

from . import loading, model, training
from .seeding import set_seed

npx.set_np()

KVSTORES = ("dist_sync", "dist_async")


def check_sharding(num_examples, num_workers, batch_size):
    """Raise `ValueError` unless every worker gets whole batches: B divisible by N, at least one step."""
    loading.check_batch_size(batch_size)
    if batch_size % num_workers:
        raise ValueError(
            "batch size %d must be a multiple of the %d workers (each takes B/N rows per step)"
            % (batch_size, num_workers)
        )
    if num_examples // num_workers < batch_size // num_workers:
        raise ValueError(
            "%d examples over %d workers leave fewer rows per worker than its %d per step"
            % (num_examples, num_workers, batch_size // num_workers)
        )


def shard(num_examples, rank, num_workers):
    """Rows of worker `rank`: the `rank`-th contiguous block of n // N (the last n % N rows go unused)."""
    size = num_examples // num_workers
    return onp.arange(rank * size, (rank + 1) * size)


def worker_batches(num_examples, rank, num_workers, batch_size, seed, epoch):
    """Row indices of each step of worker `rank` in `epoch`: its shard shuffled, cut into B/N rows (the
    remainder dropped, since every step must hold B rows in all for the server's fixed 1/B)."""
    rows = onp.random.default_rng([seed, rank, epoch]).permutation(
        shard(num_examples, rank, num_workers)
    )
    per_worker = batch_size // num_workers
    return [rows[k * per_worker : (k + 1) * per_worker] for k in range(len(rows) // per_worker)]


def global_batches(num_examples, num_workers, batch_size, seed, epoch):
    """Row indices of the global batches of `epoch`: step k joins every worker's k-th batch."""
    parts = [
        worker_batches(num_examples, rank, num_workers, batch_size, seed, epoch)
        for rank in range(num_workers)
    ]
    return [onp.concatenate(step) for step in zip(*parts)]


class EpochBatches:
    """(X, y) batches for `training.fit`: the i-th pass over it is epoch i of `rows_of(epoch)`.

    Each epoch's rows are copied to the device at once, in the order of its steps, and the batches are
    cut from that copy as views (as `loading.ShuffledBatches` does): one copy an epoch, not two a step.
    """

    def __init__(self, features, labels, rows_of, ctx=None):
        self.features, self.labels, self.rows_of, self.ctx = features, labels, rows_of, ctx
        self.epoch = 0

    def __len__(self):
        return len(self.rows_of(max(self.epoch, 1)))

    def __iter__(self):
        self.epoch += 1
        steps = self.rows_of(self.epoch)
        if not len(steps):
            return
        order = onp.concatenate(steps)
        X = np.array(self.features[order], dtype="float32", ctx=self.ctx)
        y = np.array(self.labels[order], dtype="float32", ctx=self.ctx)
        start = 0
        for rows in steps:
            yield X[start : start + len(rows)], y[start : start + len(rows)]
            start += len(rows)


def _fit(data, rows_of, trainer_of, num_epochs, seed, ctx, eval_rows):
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=data.num_features, hybrid=True)
    trainer = trainer_of(net)
    batches = EpochBatches(data.features, data.labels, rows_of, ctx)
    history = training.fit(
        net,
        batches,
        trainer,
        num_epochs,
        ctx=[ctx],
        eval_data=(data.features[eval_rows], data.labels[eval_rows]),
    )
    weight, bias = model.extract_weights(net)
    return weight, bias, history


def train_one_process(
    data,
    num_workers,
    batch_size=10,
    lr=0.03,
    momentum=0.0,
    optimizer="sgd",
    num_epochs=3,
    seed=0,
    ctx=None,
):
    """What N dist_sync workers compute, in one process: the same global batches, `Trainer.step(B)`.

    Returns (weight, bias, history); the loss per epoch is on the rows the workers use.
    """
    check_sharding(data.num_examples, num_workers, batch_size)
    used = onp.concatenate([shard(data.num_examples, r, num_workers) for r in range(num_workers)])
    return _fit(
        data,
        lambda epoch: global_batches(data.num_examples, num_workers, batch_size, seed, epoch),
        lambda net: training.make_trainer(net, optimizer, lr, momentum),
        num_epochs,
        seed,
        ctx or mx.cpu(),
        used,
    )


def train_worker(data, kv, batch_size=10, lr=0.03, momentum=0.0, optimizer="sgd", num_epochs=3, seed=0,
                 slow_rank=None, slow_ms=0.0, time_one_process=False):
    """Train on this worker's shard through `kv`; the servers sum the N gradients of each step.

    The optimizer runs on the servers with `rescale_grad = 1/N`, and `fit` steps with this worker's B/N
    rows, so each update is the mean gradient over the global batch of B rows, as in one process.
    Returns (weight, bias, history, alone); `alone` is None unless `time_one_process` (lesson 11):
    then after each epoch the workers wait for each other, worker 0 trains one epoch of the same
    global batches alone on a copy of its own, and they wait again, so the distributed epochs and
    the one-process epochs are timed in turn; worker 0's `alone` is (weight, bias, seconds per epoch).
    Worker `slow_rank` sleeps `slow_ms` milliseconds after each of its steps (does the store wait?).
    """
    rank, num_workers = kv.rank, kv.num_workers
    check_sharding(data.num_examples, num_workers, batch_size)
    training.check_hyperparameters(lr, momentum, num_epochs, optimizer)
    ctx, rows = mx.cpu(), shard(data.num_examples, rank, num_workers)
    net = _hybrid_net(data, seed, ctx)
    params = {"learning_rate": lr, "momentum": momentum, "rescale_grad": 1.0 / num_workers}
    trainer = gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kv)
    batches = EpochBatches(data.features, data.labels, lambda epoch: worker_batches(
        data.num_examples, rank, num_workers, batch_size, seed, epoch), ctx)
    pause = (lambda info: time.sleep(slow_ms / 1000)) if rank == slow_rank and slow_ms > 0 else None
    alone = time_one_process and rank == 0
    if alone:  # one process from the same start, on the global batches (as `train_one_process`)
        alone_net = _hybrid_net(data, seed, ctx)
        alone_trainer, alone_seconds = training.make_trainer(alone_net, optimizer, lr, momentum), []
        alone_batches = EpochBatches(data.features, data.labels, lambda epoch: global_batches(
            data.num_examples, num_workers, batch_size, seed, epoch), ctx)
    history = training.History(path="steps")
    # Start the clocks together: a worker that got here first (the other still building its net, on a
    # busy machine for hundreds of milliseconds) would otherwise count that wait as its first step's time.
    kv._barrier()
    for _ in range(num_epochs):  # one `fit` per epoch: the epochs of one process go in between
        part = training.fit(net, batches, trainer, 1, ctx=[ctx], hybridize=False, on_step=pause,
                            eval_data=(data.features[rows], data.labels[rows]))
        history.epoch_loss += part.epoch_loss
        history.step_loss += part.step_loss
        history.seconds_per_epoch += part.seconds_per_epoch
        history.start_loss = part.start_loss if history.start_loss is None else history.start_loss
        if time_one_process:
            kv._barrier()  # every worker has finished this epoch
            if alone:
                part = training.fit(alone_net, alone_batches, alone_trainer, 1, ctx=[ctx], hybridize=False)
                alone_seconds += part.seconds_per_epoch
            kv._barrier()  # worker 0 has finished its epoch alone
    weight, bias = model.extract_weights(net)
    return weight, bias, history, (*model.extract_weights(alone_net), alone_seconds) if alone else None


def _hybrid_net(data, seed, ctx):
    """`Dense(1)` from `seed`, compiled once (its `fit` calls then share the graph)."""
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=data.num_features, hybrid=True)
    net.hybridize(static_alloc=True, static_shape=True)
    return net


def launch_phases(results, launched):
    """Where a launch's wall time went, in seconds, from the workers' clocks: `startup` until the last worker
    had joined, `training` until the last finished, `shutdown` until every process had exited; `epoch`,
    the workers' median seconds per epoch."""
    joined = max(result["connected"] for result in results) - launched.started
    finished = max(result["trained"] for result in results) - launched.started
    return {
        "startup": joined,
        "training": finished - joined,
        "shutdown": launched.seconds - finished,
        "imported": max(result["imported"] for result in results) - launched.started,
        "epoch": float(onp.median([onp.median(result["seconds_per_epoch"]) for result in results])),
    }
