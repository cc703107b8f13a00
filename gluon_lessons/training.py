"""The course's one training loop: optimizers, devices, loss history, progress and a divergence guard.

Lesson 4 runs the walkthrough through it; later lessons pass `on_step` to watch every update;
lessons 6 and 7 time and sweep the fused updates (`LinearUpdates`) that its fast path uses.
"""
import dataclasses
import functools
import math
import sys
import time

import mxnet as mx
import numpy as onp
from mxnet import autograd, gluon, np, npx
from mxnet.gluon import nn

from . import devices, loading, model
from .seeding import set_seed

npx.set_np()

OPTIMIZERS = ("sgd", "nag")
PROGRESS_AFTER_SECONDS = 2.0  # `progress=None` starts printing once a run takes longer than this
STEPS_PER_GRAPH = 50  # updates compiled into one graph by the fused path (about 0.05 s to build one)
# Above this many numbers per batch (B x features) FullyConnected's own backward beats the fused graph's
# hand-written gradient per example (measured on CPU in lesson 6), so `fit` steps through autograd.
FUSED_MAX_BATCH_NUMBERS = 250_000
FUSED = ("auto", True, False)


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
    path: str = "steps"  # "fused" (LinearUpdates) or "steps" (autograd + Trainer.step per batch)
    why_not_fused: str = None  # the reason `fit` took the per-step path, if it did

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


class _LinearSteps(nn.HybridBlock):
    """`num_steps` SGD or NAG updates of `Dense(1)` under `L2Loss` as one graph, gradients written out.

    Rows of X (num_steps * batch_size, d) and y (same, 1) are used in order, one batch per step.
    Returns each batch's mean loss before its update, the new weight, bias and optimizer states,
    and with `record` the (w, b) after every step.
    """

    def __init__(self, num_steps, batch_size, num_features, nesterov=False, record=False):
        super().__init__()
        self.num_steps, self.batch_size, self.num_features = num_steps, batch_size, num_features
        self.nesterov, self.record = nesterov, record

    def hybrid_forward(self, F, X, y, weight, bias, weight_state, bias_state, lrs, momentum, rescale):
        n, B = self.num_steps, self.batch_size
        Xs = _per_step(F, X, n, B, self.num_features)
        ys = _per_step(F, y, n, B, 1)
        lrs = _per_step(F, lrs, n, 1, 1)
        residuals, path = [], []
        for X_k, y_k, lr in zip(Xs, ys, lrs):
            residual = F.npx.fully_connected(X_k, weight, bias, num_hidden=1) - y_k  # (B, 1) = dL2Loss/dy_hat
            residuals.append(residual)
            grad_w = rescale * F.np.dot(residual.T, X_k)  # (1, d); rescale = 1/B as in Trainer.step(B)
            grad_b = rescale * F.np.sum(residual, axis=0)  # (1,)
            weight_state = momentum * weight_state - lr * grad_w  # v = momentum v - lr g, as MXNet keeps it
            bias_state = momentum * bias_state - lr * grad_b
            if self.nesterov:  # MXNet's nag_mom_update: w = w + momentum v - lr g
                weight = weight + momentum * weight_state - lr * grad_w
                bias = bias + momentum * bias_state - lr * grad_b
            else:  # MXNet's sgd_mom_update: w = w + v
                weight = weight + weight_state
                bias = bias + bias_state
            if self.record:
                path.append(F.np.concatenate([F.np.reshape(weight, (-1,)), bias]))
        squared = F.np.square(F.np.reshape(F.np.concatenate(residuals, axis=0), (n, self.batch_size)))
        outputs = [0.5 * F.np.mean(squared, axis=1), weight, bias, weight_state, bias_state]
        if self.record:
            outputs.append(F.np.stack(path))
        return tuple(outputs)


SPLIT_MAX_NUMBERS = 2048  # per step: below this one split op is cheaper than a slice per step, above far dearer


def _per_step(F, array, num_steps, rows, width):
    """`array` cut along axis 0 into `num_steps` parts of `rows` rows: one split op, or a slice per part
    when a part holds more than SPLIT_MAX_NUMBERS numbers (MXNet's split is then far slower)."""
    if num_steps == 1:
        return [array]
    if rows * width <= SPLIT_MAX_NUMBERS:
        return F.np.split(array, num_steps, axis=0)
    return [array[k * rows:(k + 1) * rows] for k in range(num_steps)]


@functools.lru_cache(maxsize=64)
def _steps_graph(num_steps, batch_size, num_features, nesterov, record):
    graph = _LinearSteps(num_steps, batch_size, num_features, nesterov, record)
    graph.hybridize(static_alloc=True, static_shape=True)
    return graph


def single_dense(net):
    """The `Dense(1)` (no activation, with bias, known input size) that `net` consists of, or ValueError."""
    layers = list(net._children.values()) if isinstance(net, (nn.Sequential, nn.HybridSequential)) else [net]
    if len(layers) != 1 or not isinstance(layers[0], nn.Dense):
        raise ValueError("the fused path trains a net that is one Dense(1) layer, got %s" % type(net).__name__)
    dense = layers[0]
    if dense._units != 1 or dense.act is not None or dense.bias is None or 0 in dense.weight.shape:
        raise ValueError("the fused path needs Dense(1) with a bias, no activation and a known input size")
    return dense


class LinearUpdates:
    """SGD (heavy ball) or NAG on `Dense(1)` + `L2Loss`, many updates per compiled graph: `fit`'s fast path.

    The updates are those of autograd + `Trainer.step(batch_size)` up to float32 rounding; the optimizer
    state starts at zero unless `states` (two arrays, shared and updated in place) are given.
    """

    def __init__(self, net, batch_size, lr=0.03, momentum=0.0, optimizer="sgd", states=None,
                 steps_per_graph=STEPS_PER_GRAPH):
        check_hyperparameters(lr, momentum, 1, optimizer)
        self.batch_size = loading.check_batch_size(batch_size)
        self.steps_per_graph = loading.check_batch_size(steps_per_graph)
        self.dense = single_dense(net)
        contexts = self.dense.weight.list_ctx()
        if len(contexts) != 1:
            raise ValueError("the fused path runs on one device, the net lives on %d" % len(contexts))
        self.ctx = contexts[0]
        self.lr, self.momentum, self.nesterov = float(lr), float(momentum), optimizer == "nag"
        params = (self.dense.weight.data(self.ctx), self.dense.bias.data(self.ctx))
        self.states = list(states) if states is not None else [np.zeros_like(p) for p in params]
        self._constants = {}

    def _scalar(self, value, size=1):
        """A float32 vector of `size` copies of `value`, made once (each new array costs an engine call)."""
        key = (value, size)
        if key not in self._constants:
            self._constants[key] = np.full((size,), value, dtype="float32", ctx=self.ctx)
        return self._constants[key]

    def run(self, X, y, num_steps=None, lrs=None, record=False):
        """Update on the rows of (X, y) in order, one batch per step (the last may be partial).

        `lrs` gives a learning rate per step (e.g. a warm-up). Returns the loss of each batch before
        its update as an MXNet array, and with `record` also the (w, b) after each step.
        """
        X = X if isinstance(X, np.ndarray) else np.array(X, dtype="float32", ctx=self.ctx)
        y = y if isinstance(y, np.ndarray) else np.array(y, dtype="float32", ctx=self.ctx)
        num_examples, batch_size = X.shape[0], self.batch_size
        most = loading.num_batches(num_examples, batch_size)
        num_steps = most if num_steps is None else num_steps
        if isinstance(num_steps, bool) or not isinstance(num_steps, (int, onp.integer)) or not 0 < num_steps <= most:
            raise ValueError("num_steps must be an integer in 1..%d for %d examples in batches of %d, got %r"
                             % (most, num_examples, batch_size, num_steps))
        if lrs is None:
            lr_of_step = self._scalar(self.lr, num_steps)
        else:
            lrs = onp.asarray(lrs, dtype=onp.float32).ravel()
            if lrs.shape != (num_steps,) or not (onp.all(onp.isfinite(lrs)) and onp.all(lrs >= 0)):
                raise ValueError("lrs must hold %d finite learning rates >= 0" % num_steps)
            lr_of_step = np.array(lrs, ctx=self.ctx)
        y = y.reshape(-1, 1)
        weight, bias = self.dense.weight.data(self.ctx), self.dense.bias.data(self.ctx)
        state = [weight, bias] + self.states
        momentum = self._scalar(self.momentum)
        losses, paths, step = [], [], 0
        while step < num_steps:
            rows = min(batch_size, num_examples - step * batch_size)
            count = min(self.steps_per_graph, num_steps - step) if rows == batch_size else 1
            count = min(count, (num_examples - step * batch_size) // rows)
            begin, end = step * batch_size, step * batch_size + count * rows
            graph = _steps_graph(count, rows, X.shape[1], self.nesterov, record)
            outputs = graph(X[begin:end], y[begin:end], *state, lr_of_step[step:step + count], momentum,
                            self._scalar(1.0 / rows))
            losses.append(outputs[0])
            state = list(outputs[1:5])
            if record:
                paths.append(outputs[5])
            step += count
        for target, value in zip([weight, bias] + self.states, state):
            value.copyto(target)
        losses = np.concatenate(losses) if len(losses) > 1 else losses[0]
        if record:
            return losses, (np.concatenate(paths) if len(paths) > 1 else paths[0])
        return losses


def fused_suits(batch_size, num_features):
    """Whether `fit` prefers the fused path for batches of this shape (small batches: overhead dominates)."""
    return batch_size * num_features <= FUSED_MAX_BATCH_NUMBERS


def fused_obstacle(net, loss, trainer, batches, contexts, on_step=None, hybridize=True):
    """Why `fit` cannot take the fused path for these arguments, or None when it can."""
    if on_step is not None:
        return "on_step watches each Trainer.step, so every update goes through autograd and the Trainer"
    if not hybridize:
        return "hybridize=False asks for the imperative path"
    if len(contexts) != 1:
        return "several devices: batches are split over them and the Trainer sums their gradients"
    if not isinstance(batches, loading.ShuffledBatches):
        return "the batches are not a loading.ShuffledBatches"
    if batches.features.ctx != contexts[0]:
        return "the batches live on %s, the net on %s" % (batches.features.ctx, contexts[0])
    if not (type(loss) is gluon.loss.L2Loss and loss._weight == 1.0 and loss._batch_axis == 0):
        return "the loss is not a plain L2Loss"
    try:
        dense = single_dense(net)
    except ValueError as error:
        return str(error)
    optimizer = trainer.optimizer
    if type(optimizer) not in (mx.optimizer.SGD, mx.optimizer.NAG):
        return "the optimizer is %s, not sgd or nag" % type(optimizer).__name__
    if optimizer.wd or optimizer.clip_gradient or optimizer.lr_scheduler is not None or trainer._scale != 1:
        return "the optimizer has weight decay, clipping, a schedule or a gradient scale"
    if getattr(trainer, "_update_on_kvstore", None) or len(trainer._updaters) != 1:
        return "the trainer updates on a kvstore or on several devices"
    for param in (dense.weight, dense.bias):
        if param.name not in trainer._param2idx or param.lr_mult != 1 or param.grad_req != "write":
            return "parameter %s is not trained plainly by this trainer" % param.name
        if param.list_ctx() != contexts or param.dtype not in (onp.float32, "float32"):
            return "parameter %s is not float32 on %s" % (param.name, contexts[0])
    return None


def _trainer_states(trainer, params):
    """The Trainer's own optimizer states for `params` as NumPy-interface views, created if missing."""
    updater, optimizer = trainer._updaters[0], trainer.optimizer
    views = []
    for param in params:
        index = trainer._param2idx[param.name]
        if updater.states.get(index) is None:
            updater.states[index] = optimizer.create_state_multi_precision(index, param.data().as_nd_ndarray())
            updater.states_synced[index] = True
        state = updater.states[index]
        views.append(None if state is None else state.as_np_ndarray())
    return views


def _fused_updates(net, trainer, batch_size):
    """`LinearUpdates` with the trainer's learning rate and momentum, sharing its momentum state."""
    optimizer = trainer.optimizer
    name = "nag" if isinstance(optimizer, mx.optimizer.NAG) else "sgd"
    dense = single_dense(net)
    states = _trainer_states(trainer, [dense.weight, dense.bias]) if optimizer.momentum else None
    return LinearUpdates(net, batch_size, trainer.learning_rate, optimizer.momentum, name, states)


def _progress(message):
    print(message, file=sys.stderr, flush=True)


def _batch_means(losses, sizes):
    """Mean loss of each batch from the per-example losses of an epoch, with one synchronisation."""
    if not losses:
        return onp.zeros(0)
    values = np.concatenate(losses).asnumpy().astype(onp.float64)
    starts = onp.concatenate([[0], onp.cumsum(sizes)[:-1]])
    return (onp.add.reduceat(values, starts) / onp.asarray(sizes)).astype(onp.float32)


def fit(net, batches, trainer, num_epochs, *, loss=None, ctx=None, eval_data=None, hybridize=True,
        on_step=None, max_steps=None, progress=None, fused="auto"):
    """Train `net` on `batches` (any iterable of (X, y) re-iterable per epoch) and return a `History`.

    `ctx` lists the devices; with several, each batch is split over them (`split_and_load`) and
    Gluon's `Trainer` sums their gradients. `eval_data=(X, y)` adds the full-data loss per epoch.
    `progress`: True prints a line per epoch to stderr, None does so once the run passes 2 s.
    `fused="auto"` runs `Dense(1)` + `L2Loss` + sgd/nag on `ShuffledBatches` through `LinearUpdates`
    (same updates, the Trainer's momentum state kept in step) when batches are small (`fused_suits`);
    `on_step` and several devices always take the per-step autograd + `Trainer.step` path.
    `fused=True` insists (ValueError when it cannot), `fused=False` never fuses.
    """
    check_hyperparameters(num_epochs=num_epochs)
    if fused not in FUSED:
        raise ValueError("fused must be 'auto', True or False, got %r" % (fused,))
    contexts = devices.parse_ctx(ctx if ctx is not None else net.collect_params().list_ctx())
    loss = loss or model.l2_loss()
    obstacle = fused_obstacle(net, loss, trainer, batches, contexts, on_step, hybridize) if fused else "off"
    if fused is True and obstacle is not None:
        raise ValueError("fused=True is not possible here: %s" % obstacle)
    if obstacle is None and fused == "auto" and not fused_suits(batches.batch_size, single_dense(net).weight.shape[1]):
        obstacle = "big batches: FullyConnected's own backward is faster per example"
    updates = _fused_updates(net, trainer, batches.batch_size) if obstacle is None else None
    step_loss_of = (WithLoss if isinstance(net, nn.HybridBlock) else _WithLossBlock)(net, loss)
    if hybridize:
        step_loss_of.hybridize(static_alloc=True, static_shape=True)
    if eval_data is not None:
        eval_X, eval_y = (np.array(a, dtype="float32", ctx=contexts[0]) for a in eval_data)
    history, global_step, started = History(), 0, time.perf_counter()
    history.path, history.why_not_fused = ("fused", None) if updates is not None else ("steps", obstacle)
    for epoch in range(1, num_epochs + 1):
        epoch_started, batch_losses, sizes = time.perf_counter(), [], []
        if updates is not None:
            X, y = batches.epoch_arrays()
            num_steps = len(batches) if max_steps is None else min(len(batches), max_steps - global_step)
            batch_losses = [updates.run(X, y, num_steps)]
            global_step += num_steps
        for step, (X, y) in enumerate(batches if updates is None else (), start=1):
            batch_size = len(X)
            if len(contexts) == 1:
                X, y = X.as_in_ctx(contexts[0]), y.as_in_ctx(contexts[0])
                with autograd.record():
                    l = step_loss_of(X, y)
                l.backward()
                batch_loss = l.mean() if on_step is not None else l
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
            sizes.append(batch_size)
            if on_step is not None:
                on_step(StepInfo(epoch, step, global_step, batch_size, batch_loss))
            if max_steps is not None and global_step >= max_steps:
                break
        npx.waitall()
        history.seconds_per_epoch.append(time.perf_counter() - epoch_started)
        if updates is not None:
            values = batch_losses[0].asnumpy()
        elif on_step is None and len(contexts) == 1:  # per-example losses, averaged once per epoch
            values = _batch_means(batch_losses, sizes)
        else:
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
                            ctx="auto", seed=0, loader="fast", on_step=None, max_steps=None, progress=None,
                            fused="auto"):
    """Seed, build `Dense(1)`, batch the data and run `fit`; the walkthrough's defaults.

    `loader="fast"` cuts batches from one shuffled copy and runs `fit`'s fused path (on one device
    without `on_step`; otherwise hybridized autograd + `Trainer.step`); `loader="gluon"` is the
    walkthrough's plain `DataLoader(shuffle=True)` path. All mean the same updates.
    `fused=False` keeps the fast loader but updates through autograd + `Trainer.step`.
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
                  hybridize=(loader == "fast"), on_step=on_step, max_steps=max_steps, progress=progress,
                  fused=fused if loader == "fast" else False)
    weight, bias = model.extract_weights(net)
    return TrainResult(net, weight, bias, history, contexts)
