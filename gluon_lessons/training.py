"""The course's one training loop: optimizers, devices, loss history, progress and a divergence guard.

Lesson 4 runs the walkthrough through it; later lessons pass `on_step` to watch every update.
"""
import dataclasses
import math
import sys
import time

import numpy as onp
from mxnet import autograd, gluon, np, npx
from mxnet.gluon import nn

from . import devices, loading, model
from .seeding import set_seed

npx.set_np()

OPTIMIZERS = ("sgd", "nag")
PROGRESS_AFTER_SECONDS = 2.0  # `progress=None` starts printing once a run takes longer than this


class DivergenceError(RuntimeError):
    """The loss became NaN or infinite."""


@dataclasses.dataclass
class StepInfo:
    """What `on_step` sees after each update (gradients stay readable in the parameters)."""

    epoch: int  # 1-based
    step: int  # 1-based within the epoch
    global_step: int  # 1-based over the run
    batch_size: int
    loss: object  # mean loss of this batch before the update, an MXNet array


@dataclasses.dataclass
class History:
    epoch_loss: list = dataclasses.field(default_factory=list)  # mean loss on all data after each epoch
    step_loss: list = dataclasses.field(default_factory=list)  # mean loss of each batch before its update
    seconds_per_epoch: list = dataclasses.field(default_factory=list)  # wall time of the updates only

    @property
    def median_seconds_per_epoch(self):
        return float(onp.median(self.seconds_per_epoch)) if self.seconds_per_epoch else float("nan")


def check_hyperparameters(lr=0.03, momentum=0.0, num_epochs=1, optimizer="sgd"):
    """Raise `ValueError` naming the bad setting and what is allowed."""
    if not (isinstance(lr, (int, float)) and math.isfinite(lr) and lr > 0):
        raise ValueError("learning rate must be a number > 0, got %r" % (lr,))
    if not (isinstance(momentum, (int, float)) and 0 <= momentum < 1):
        raise ValueError("momentum must be in [0, 1), got %r" % (momentum,))
    if isinstance(num_epochs, bool) or not isinstance(num_epochs, (int, onp.integer)) or num_epochs < 1:
        raise ValueError("epochs must be an integer >= 1, got %r" % (num_epochs,))
    if optimizer not in OPTIMIZERS:
        raise ValueError("optimizer must be one of %s, got %r" % ("|".join(OPTIMIZERS), optimizer))


def make_trainer(net, optimizer="sgd", lr=0.03, momentum=0.0, kvstore="device"):
    """`gluon.Trainer` with `sgd` (heavy-ball momentum) or `nag` (Nesterov)."""
    check_hyperparameters(lr, momentum, 1, optimizer)
    params = {"learning_rate": lr, "momentum": momentum}
    return gluon.Trainer(net.collect_params(), optimizer, params, kvstore=kvstore)


class WithLoss(nn.HybridBlock):
    """`loss(net(X), y)` as one block, so hybridizing turns a whole step's forward pass into one graph."""

    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def hybrid_forward(self, F, X, y):
        return self.loss(self.net(X), y)


class _WithLossBlock(nn.Block):
    """The same for a plain `nn.Sequential`, whose hybridizable children are then hybridized one by one."""

    def __init__(self, net, loss):
        super().__init__()
        self.net, self.loss = net, loss

    def forward(self, X, y):
        return self.loss(self.net(X), y)


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def fit(net, batches, trainer, num_epochs, *, loss=None, ctx=None, eval_data=None, hybridize=True,
        on_step=None, max_steps=None, progress=None):
    """Train `net` on `batches` (any iterable of (X, y) re-iterable per epoch) and return a `History`.

    `ctx` lists the devices; with several, each batch is split over them (`split_and_load`) and
    Gluon's `Trainer` sums their gradients. `eval_data=(X, y)` adds the full-data loss per epoch.
    `progress`: True prints a line per epoch to stderr, None does so once the run passes 2 s.
    """
    check_hyperparameters(num_epochs=num_epochs)
    contexts = devices.parse_ctx(ctx if ctx is not None else net.collect_params().list_ctx())
    loss = loss or model.l2_loss()
    step_loss_of = (WithLoss if isinstance(net, nn.HybridBlock) else _WithLossBlock)(net, loss)
    if hybridize:
        step_loss_of.hybridize(static_alloc=True, static_shape=True)
    if eval_data is not None:
        eval_X, eval_y = (np.array(a, dtype="float32", ctx=contexts[0]) for a in eval_data)
    history, global_step, started = History(), 0, time.perf_counter()
    for epoch in range(1, num_epochs + 1):
        epoch_started, batch_losses = time.perf_counter(), []
        for step, (X, y) in enumerate(batches, start=1):
            batch_size = len(X)
            if len(contexts) == 1:
                X, y = X.as_in_ctx(contexts[0]), y.as_in_ctx(contexts[0])
                with autograd.record():
                    l = step_loss_of(X, y)
                l.backward()
                batch_loss = l.mean()
            else:
                Xs = gluon.utils.split_and_load(X, contexts, even_split=False)
                ys = gluon.utils.split_and_load(y, contexts, even_split=False)
                with autograd.record():
                    ls = [step_loss_of(X_part, y_part) for X_part, y_part in zip(Xs, ys)]
                for l in ls:
                    l.backward()
                batch_loss = sum(l.sum().as_in_ctx(contexts[0]) for l in ls) / batch_size
            trainer.step(batch_size)
            global_step += 1
            batch_losses.append(batch_loss)
            if on_step is not None:
                on_step(StepInfo(epoch, step, global_step, batch_size, batch_loss))
            if max_steps is not None and global_step >= max_steps:
                break
        npx.waitall()
        history.seconds_per_epoch.append(time.perf_counter() - epoch_started)
        values = np.stack(batch_losses).asnumpy() if batch_losses else onp.zeros(0)
        bad = onp.flatnonzero(~onp.isfinite(values))
        if bad.size:
            raise DivergenceError("diverged at epoch %d, step %d (loss %s); try a smaller learning rate (now %g)"
                                  % (epoch, bad[0] + 1, values[bad[0]], trainer.learning_rate))
        history.step_loss.extend(values.tolist())
        if eval_data is not None:
            history.epoch_loss.append(float(loss(net(eval_X), eval_y).mean()))
        elapsed = time.perf_counter() - started
        if progress or (progress is None and elapsed > PROGRESS_AFTER_SECONDS):
            shown = history.epoch_loss[-1] if history.epoch_loss else values.mean()
            _progress("epoch %d/%d, loss %.6g, %.2f s" % (epoch, num_epochs, shown, elapsed))
        if max_steps is not None and global_step >= max_steps:
            break
    return history


@dataclasses.dataclass
class TrainResult:
    net: object
    weight: onp.ndarray
    bias: float
    history: History
    contexts: list


def train_linear_regression(data, batch_size=10, lr=0.03, momentum=0.0, optimizer="sgd", num_epochs=3,
                            ctx="auto", seed=0, loader="fast", on_step=None, max_steps=None, progress=None):
    """Seed, build `Dense(1)`, batch the data and run `fit`; the walkthrough's defaults.

    `loader="fast"` cuts batches from one shuffled copy and hybridizes; `loader="gluon"` is the
    walkthrough's plain `DataLoader(shuffle=True)` path. Both mean the same updates.
    """
    check_hyperparameters(lr, momentum, num_epochs, optimizer)
    loading.check_batch_size(batch_size)
    if loader not in ("fast", "gluon"):
        raise ValueError("loader must be 'fast' or 'gluon', got %r" % (loader,))
    contexts = devices.parse_ctx(ctx)
    set_seed(seed)
    net = model.linear_regression(contexts, num_inputs=data.num_features, hybrid=(loader == "fast"))
    trainer = make_trainer(net, optimizer, lr, momentum)
    if loader == "fast":
        batches = loading.ShuffledBatches(data.features, data.labels, batch_size, ctx=contexts[0])
    else:
        batches = loading.data_loader(data.features, data.labels, batch_size)
    history = fit(net, batches, trainer, num_epochs, ctx=contexts, eval_data=(data.features, data.labels),
                  hybridize=(loader == "fast"), on_step=on_step, max_steps=max_steps, progress=progress)
    weight, bias = model.extract_weights(net)
    return TrainResult(net, weight, bias, history, contexts)
