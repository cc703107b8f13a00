"""The course's one training loop, the walkthrough's made reusable: devices, loss history, progress, a divergence guard.

Lesson 4 runs the walkthrough through it; later lessons pass `on_step` to watch every update. The fast
path for `Dense(1)` (`gluon_lessons.fused`) is a separate module that callers choose explicitly
(`gluon-lessons train` chooses in `gluon_lessons.shell.train`).
"""
import dataclasses
import functools
import math
import sys
import time

import numpy as onp
import tqdm
from mxnet import autograd, gluon, np, npx
from mxnet.gluon import nn

from . import checks, devices, loading, model
from .seeding import set_seed

npx.set_np()

OPTIMIZERS = ("sgd", "nag")
PROGRESS_AFTER_SECONDS = 2.0  # `progress=None` shows a bar on a terminal once a run takes longer than this
# The divergence guard (`check_divergence`): a loss this many times above where it began, and above what
# predicting 0 everywhere costs, means the run is diverging. Stable SGD from a random start lowers the loss;
# started at the minimum, noise at 85% of the largest stable step lifts it hundreds of times, yet it stays
# far below predicting 0 (both tested).
GROWTH_LIMIT = 10
WINDOW = 10  # without eval_data, the start and the end are means of this many batch losses
EVAL_BLOCK_BYTES = 32 * 2**20  # full-data losses of larger data are computed a block of rows at a time
MAX_STEPS_QUEUED = 256  # updates MXNet may queue ahead of the finished ones (its queue has no bound)


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite, or grew far above where it began."""


@dataclasses.dataclass
class StepInfo:
    """What `on_step` sees after each update (gradients stay readable in the parameters)."""

    epoch: int  # 1-based
    step: int  # 1-based within the epoch
    global_step: int  # 1-based over the run
    batch_size: int
    batch_losses: list  # this batch's per-example losses before the update, one MXNet array per device

    @functools.cached_property
    def loss(self):
        """Mean loss of this batch before the update, an MXNet array (computed only when asked for: two
        MXNet calls a step that a watcher of the parameters alone need not pay)."""
        return np.concatenate(self.batch_losses).mean()


@dataclasses.dataclass
class History:
    epoch_loss: list = dataclasses.field(default_factory=list)  # mean loss on all data after each epoch
    step_loss: list = dataclasses.field(default_factory=list)  # mean loss of each batch before its update
    seconds_per_epoch: list = dataclasses.field(default_factory=list)  # wall time of the updates only
    path: str = "steps"  # "steps" (`fit`: autograd + Trainer.step per batch) or "fused" (`fused.fit_linear`)
    start_loss: float = None  # mean loss on all data before the first update (with eval_data)
    zero_loss: float = None  # mean loss on all data of predicting 0 for every example (with eval_data)
    batch_zero_loss: float = None  # without eval_data: the same on the first `WINDOW` batches

    @property
    def median_seconds_per_epoch(self):
        return float(onp.median(self.seconds_per_epoch)) if self.seconds_per_epoch else float("nan")


def check_hyperparameters(lr=0.03, momentum=0.0, num_epochs=1, optimizer="sgd"):
    """Raise `ValueError` naming the bad setting (float32 must hold lr and momentum); return them as floats."""
    lr = checks.positive("lr: learning rate", lr)
    momentum = checks.fraction("momentum", momentum)
    checks.integer("num_epochs", num_epochs, 1)
    checks.choice("optimizer", optimizer, OPTIMIZERS)
    return lr, momentum


def make_trainer(net, optimizer="sgd", lr=0.03, momentum=0.0, kvstore="device"):
    """`gluon.Trainer` with `sgd` (heavy-ball momentum) or `nag` (Nesterov); d2l's `d2l.Trainer` wraps the same."""
    lr, momentum = check_hyperparameters(lr, momentum, 1, optimizer)
    params = {"learning_rate": lr, "momentum": momentum}
    return gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kvstore)


class WithLoss(nn.HybridBlock):
    """`loss(net(X), y)` as one block, so hybridizing turns a step's forward pass into one graph (lessons 6, 7)."""

    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def hybrid_forward(self, F, X, y):
        return self.loss(self.net(X), y)


class WithLossBlock(nn.Block):
    """The same for a plain `nn.Sequential`, whose hybridizable children are then hybridized one by one."""

    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def forward(self, X, y):
        return self.loss(self.net(X), y)


def split_batch(X, y, contexts):
    """`split_and_load` of a batch over as many devices as it has rows; each device left over gets one
    row (X, y) whose loss `fit` multiplies by 0, so that every device has a fresh, zero gradient to sum."""
    if len(contexts) == 1 and isinstance(X, np.ndarray) and isinstance(y, np.ndarray):
        return [X.as_in_ctx(contexts[0])], [y.as_in_ctx(contexts[0])], []  # split_and_load's answer
    used = contexts[:len(X)]
    Xs = gluon.utils.split_and_load(X, used, even_split=False)
    ys = gluon.utils.split_and_load(y, used, even_split=False)
    idle = [(X[:1].as_in_ctx(c), y[:1].as_in_ctx(c)) for c in contexts[len(X):]]
    return Xs, ys, idle


def full_data_loss(net, loss, data, ctx):
    """A function returning the mean `loss` of `net` on `data=(X, y)` now, and the mean loss of predicting 0
    for every example; (a function returning None, None) when `data` is None.

    Data up to `EVAL_BLOCK_BYTES` are copied to `ctx` once; larger data a block of rows at a time on each
    call, so that no second device copy of them exists beside the one the batches are cut from.
    """
    if data is None:
        return (lambda: None), None
    features, labels = data
    row_bytes = max(1, features.size // max(1, len(features))) * 4
    if len(features) * row_bytes <= EVAL_BLOCK_BYTES:
        X, y = (np.array(a, dtype="float32", ctx=ctx) for a in data)
        return (lambda: float(loss(net(X), y).mean())), float(loss(np.zeros_like(net(X)), y).mean())
    rows = max(1, EVAL_BLOCK_BYTES // row_bytes)

    def mean(predict):
        total = 0.0
        for start in range(0, len(features), rows):
            X, y = (np.array(a[start:start + rows], dtype="float32", ctx=ctx) for a in (features, labels))
            total += float(loss(predict(X), y).sum())
        return total / len(features)
    return (lambda: mean(net)), mean(lambda X: np.zeros_like(net(X)))


def progress_bar(total, progress=None, desc="training", unit="epoch"):
    """A tqdm bar over `total` epochs (or other `unit`s) on stderr: `progress=True` always (left on
    screen at the end), False never, None only when stderr is a terminal and the run has lasted
    `PROGRESS_AFTER_SECONDS` (cleared at the end). tqdm redraws at most twice a second. Lessons count
    their own units with it (`desc`, `unit`)."""
    if progress not in (None, True, False):
        raise TypeError("progress must be None, True or False, got %r" % (progress,))
    show = progress is True or (progress is None and sys.stderr.isatty())
    return tqdm.tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=not show,
                     delay=PROGRESS_AFTER_SECONDS if progress is None else 0, mininterval=0.5,
                     leave=progress is True)


def check_divergence(history, epoch, step_losses, lr):
    """Raise `DivergenceError` if a loss of this epoch is NaN or infinite, or the loss now is more than
    `GROWTH_LIMIT` times the loss at the start.

    With eval_data both are full-data losses (before the first update, after this epoch); without, they
    are the means of the run's first and latest `WINDOW` batch losses. Either way the start counts as at
    least the loss of predicting 0 (on all data, or on the first `WINDOW` batches): a run started near a
    minimum, for example a later one-epoch call of `fit`, has a start so low that noise alone multiplies
    it, yet it stays far below predicting 0. A start at or below 0 is not compared.
    """
    bad = onp.flatnonzero(~onp.isfinite(step_losses))
    if bad.size:
        raise DivergenceError("diverged at epoch %d, step %d (loss %s); try a smaller learning rate (now %g)"
                              % (epoch, bad[0] + 1, step_losses[bad[0]], lr))
    if history.epoch_loss:
        first, zero, now = history.start_loss, history.zero_loss, history.epoch_loss[-1]
    else:
        first, zero = onp.mean(history.step_loss[:WINDOW]), history.batch_zero_loss
        now = onp.mean(history.step_loss[-WINDOW:])
    start, began = first, f"its start ({first:.4g})"
    if zero is not None:
        start, began = max(first, zero), f"{began} and predicting 0 ({zero:.4g})"
    if not math.isfinite(now):
        raise DivergenceError("diverged at epoch %d (loss on all data %s); try a smaller learning rate (now %g)"
                              % (epoch, now, lr))
    if start > 0 and now > GROWTH_LIMIT * start:
        raise DivergenceError("diverging: after epoch %d the loss is %.4g, over %d times %s; try a smaller "
                              "learning rate (now %g)" % (epoch, now, GROWTH_LIMIT, began, lr))


def batch_means(losses, sizes):
    """Mean loss of each batch from an epoch's per-example losses (batches of `sizes` rows), read at once."""
    values = np.concatenate(losses).asnumpy().astype(onp.float64)
    starts = onp.concatenate([[0], onp.cumsum(sizes)[:-1]])
    with onp.errstate(over="ignore", invalid="ignore"):  # a diverging run's infinities: check_divergence says so
        return (onp.add.reduceat(values, starts) / onp.asarray(sizes)).astype(onp.float32)


def record_epoch(history, epoch, step_losses, full_loss, lr, bar):
    """Add an epoch's batch losses and full-data loss to `history`, check them, and move the progress bar."""
    history.step_loss.extend(step_losses.tolist())
    if full_loss is not None:
        history.epoch_loss.append(full_loss)
    check_divergence(history, epoch, step_losses, lr)
    bar.set_postfix(loss="%.4g" % (full_loss if full_loss is not None else step_losses.mean()), refresh=False)
    bar.update()


def fit(net, batches, trainer, num_epochs, *, loss=None, ctx=None, eval_data=None, hybridize=True,
        on_step=None, max_steps=None, progress=None):
    """Train `net` on `batches` (re-iterable (X, y) pairs) with autograd and `trainer`; return a `History`.

    `ctx` lists the devices (default: where the parameters live); with several, each batch is split over
    them (`split_and_load`) and `trainer.step` sums their gradients. `eval_data=(X, y)` adds the full-data
    loss after each epoch; `on_step(StepInfo)` runs after each update; `max_steps` stops early; `progress`
    as in `progress_bar`. A diverging run raises `DivergenceError` (see `check_divergence`).
    d2l's `Trainer.fit` runs the same loop for its `LinearRegression` (lesson 4).
    """
    num_epochs = checks.integer("num_epochs", num_epochs, 1)
    max_steps = None if max_steps is None else checks.integer("max_steps", max_steps, 1)
    contexts = devices.parse_ctx(ctx if ctx is not None else net.collect_params().list_ctx())
    loss = loss or model.l2_loss()
    net_loss = (WithLoss if isinstance(net, nn.HybridBlock) else WithLossBlock)(net, loss)  # loss(net(X), y)
    if hybridize:
        net_loss.hybridize(static_alloc=True, static_shape=True)  # one compiled graph per batch shape
    evaluate, zero_loss = full_data_loss(net, loss, eval_data, contexts[0])
    history, global_step = History(path="steps", start_loss=evaluate(), zero_loss=zero_loss), 0
    zero_losses = []  # without eval_data: per-example losses of predicting 0 on the first batches
    with progress_bar(num_epochs, progress) as bar:
        for epoch in range(1, num_epochs + 1):
            started, losses, sizes, first_batches = time.perf_counter(), [], [], []
            for step, (X, y) in enumerate(batches, start=1):
                batch_size = len(X)
                Xs, ys, idle = split_batch(X, y, contexts)
                with autograd.record():
                    ls = [net_loss(X_part, y_part) for X_part, y_part in zip(Xs, ys)]
                    zeros = [0 * net_loss(X_part, y_part) for X_part, y_part in idle]
                for l in ls + zeros:
                    l.backward()
                trainer.step(batch_size)  # the gradient summed over the batch is divided by batch_size
                global_step += 1
                if eval_data is None and global_step <= WINDOW:  # for the guard's floor, after the timing
                    first_batches.append((Xs[0], ys[0]))
                losses.extend(l.as_in_ctx(contexts[0]) for l in ls)  # averaged per batch after the epoch
                sizes.append(batch_size)
                if len(losses) > MAX_STEPS_QUEUED:  # MXNet queues work without bound: wait for an old step
                    losses[-MAX_STEPS_QUEUED].wait_to_read()
                if on_step is not None:
                    on_step(StepInfo(epoch, step, global_step, batch_size, losses[-len(ls):]))
                if global_step == max_steps:
                    break
            if not sizes:
                raise ValueError("batches gave no batch in epoch %d" % epoch)
            npx.waitall()
            X = y = Xs = ys = None  # views of this epoch's shuffled copy: it is freed before the next is made
            history.seconds_per_epoch.append(time.perf_counter() - started)
            zero_losses += [loss(np.zeros_like(net(X_part)), y_part) for X_part, y_part in first_batches]
            if zero_losses:  # predicting 0 on the first `WINDOW` batches
                history.batch_zero_loss = float(np.concatenate(zero_losses).mean())
            record_epoch(history, epoch, batch_means(losses, sizes), evaluate(), trainer.learning_rate, bar)
            if global_step == max_steps:
                break
    return history


@dataclasses.dataclass
class TrainResult:
    net: object
    weight: onp.ndarray
    bias: float
    history: History
    contexts: list


def prepare_linear_regression(data, batch_size=10, ctx="auto", seed=0, loader="fast"):
    """Seed, then (`Dense(1)` on the devices, its batches, the devices): what every run of the walkthrough starts from.

    `loader="gluon"` is the walkthrough's `DataLoader(shuffle=True)`; `"fast"` cuts batches from one
    shuffled copy (`loading.ShuffledBatches`), the same examples in the same order for a seed.
    """
    if loader not in ("fast", "gluon"):
        raise ValueError("loader must be 'fast' or 'gluon', got %r" % (loader,))
    contexts = devices.parse_ctx(ctx)
    set_seed(seed)
    if loader == "fast":
        batches = loading.ShuffledBatches(data.features, data.labels, batch_size, ctx=contexts[0])
    else:
        batches = loading.data_loader(data.features, data.labels, batch_size)
    net = model.linear_regression(contexts, num_inputs=data.num_features, hybrid=(loader == "fast"))
    return net, batches, contexts


def train_linear_regression(data, batch_size=10, lr=0.03, momentum=0.0, optimizer="sgd", num_epochs=3,
                            ctx="auto", seed=0, loader="fast", on_step=None, max_steps=None, progress=None):
    """Seed, build `Dense(1)`, batch the data and train it with `fit`; the walkthrough's defaults."""
    lr, momentum = check_hyperparameters(lr, momentum, num_epochs, optimizer)
    net, batches, contexts = prepare_linear_regression(data, batch_size, ctx, seed, loader)
    trainer = make_trainer(net, optimizer, lr, momentum)
    history = fit(net, batches, trainer, num_epochs, ctx=contexts, eval_data=(data.features, data.labels),
                  hybridize=(loader == "fast"), on_step=on_step, max_steps=max_steps, progress=progress)
    weight, bias = model.extract_weights(net)
    return TrainResult(net, weight, bias, history, contexts)
