"""A fast path for `Dense(1)` + `L2Loss` with sgd or nag: many updates compiled into one MXNet graph.

The same updates as `training.fit` with a `Trainer` (tested equal), chosen explicitly by the callers that
want speed: `gluon-lessons train`, lesson 6's timings, lesson 7's sweeps (`noise`), `benchmarks/`.
It keeps its own momentum state and needs no `Trainer`.
"""
import functools
import time

import numpy as onp
from mxnet import np, npx
from mxnet.gluon import nn

from . import loading, model, training

npx.set_np()

STEPS_PER_GRAPH = 50  # updates compiled into one graph (about 0.05 s to build one)
# Above this many numbers per batch (B x features) FullyConnected's own backward beats the fused graph's
# hand-written gradient per example (measured on CPU in lesson 6): `fused_suits` says which is faster.
FUSED_MAX_BATCH_NUMBERS = 250_000
# Graph calls MXNet may queue ahead of the finished ones. Its queue has no bound: unbounded, an epoch of
# 400,000 updates held 1.4 GB of pending work. 8 calls (400 updates) keep the engine as busy as more do.
MAX_GRAPHS_QUEUED = 8
SPLIT_MAX_NUMBERS = 2048  # per step: below this one split op is cheaper than a slice per step, above far dearer


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
    """The `Dense(1)` that `net` is (or holds alone): with a bias, no activation, float32, known input size
    and on one device; otherwise `ValueError`."""
    dense = net[0] if isinstance(net, (nn.Sequential, nn.HybridSequential)) and len(net) == 1 else net
    if not isinstance(dense, nn.Dense):
        raise ValueError("the fused path trains a net that is one Dense(1) layer, got %s" % type(net).__name__)
    weight = dense.weight
    if weight.shape[0] != 1 or dense.act is not None or dense.bias is None or 0 in weight.shape:
        raise ValueError("the fused path needs Dense(1) with a bias, no activation and a known input size")
    if len(weight.list_ctx()) != 1 or onp.dtype(weight.dtype) != onp.float32:
        raise ValueError("the fused path needs the net's float32 parameters on one device, got %s on %d"
                         % (onp.dtype(weight.dtype), len(weight.list_ctx())))
    return dense


def fused_suits(batch_size, num_features):
    """Whether the fused path is the faster one for batches of this shape (small batches: overhead dominates)."""
    return batch_size * num_features <= FUSED_MAX_BATCH_NUMBERS


class LinearUpdates:
    """SGD (heavy ball) or NAG on `Dense(1)` + `L2Loss`, `steps_per_graph` updates per compiled graph.

    Each `run` makes the updates of autograd + `Trainer.step(batch_size)` up to float32 rounding and writes
    the new weight and bias into the net. The momentum state is this object's own, zero at the start.
    """

    def __init__(self, net, batch_size, lr=0.03, momentum=0.0, optimizer="sgd", steps_per_graph=STEPS_PER_GRAPH):
        lr, momentum = training.check_hyperparameters(lr, momentum, 1, optimizer)
        self.batch_size = loading.check_batch_size(batch_size)
        self.steps_per_graph = loading.check_count(steps_per_graph, "steps_per_graph")
        self.dense = single_dense(net)
        self.ctx = self.dense.weight.list_ctx()[0]
        self.lr, self.momentum, self.nesterov = lr, momentum, optimizer == "nag"
        self.states = [np.zeros_like(p.data(self.ctx)) for p in (self.dense.weight, self.dense.bias)]
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
            if len(losses) > MAX_GRAPHS_QUEUED:  # MXNet queues work without bound (kB per update): wait for old
                losses[-MAX_GRAPHS_QUEUED].wait_to_read()
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


def fit_linear(net, batches, num_epochs, lr=0.03, momentum=0.0, optimizer="sgd", *, eval_data=None,
               max_steps=None, progress=None):
    """`training.fit` for `Dense(1)` + `L2Loss` on `loading.ShuffledBatches`, through `LinearUpdates`.

    The same updates as `fit` with `training.make_trainer(net, optimizer, lr, momentum)` (the momentum
    state starts at zero on each call), the same `History` (path "fused"), `DivergenceError` and progress.
    """
    num_epochs = loading.check_count(num_epochs, "num_epochs")
    max_steps = None if max_steps is None else loading.check_count(max_steps, "max_steps")
    if not isinstance(batches, loading.ShuffledBatches):
        raise TypeError("batches: the fused path takes a loading.ShuffledBatches, got %s" % type(batches).__name__)
    updates = LinearUpdates(net, batches.batch_size, lr, momentum, optimizer)
    if batches.features.ctx != updates.ctx:
        raise ValueError("batches live on %s but the net on %s; make them on one device" % (batches.features.ctx, updates.ctx))
    evaluate, zero_loss = training.full_data_loss(net, model.l2_loss(), eval_data, updates.ctx)
    history, global_step = training.History(path="fused", start_loss=evaluate(), zero_loss=zero_loss), 0
    with training.progress_bar(num_epochs, progress) as bar:
        for epoch in range(1, num_epochs + 1):
            started = time.perf_counter()
            X, y = batches.epoch_arrays()
            num_steps = len(batches) if max_steps is None else min(len(batches), max_steps - global_step)
            losses = updates.run(X, y, num_steps)
            del X, y  # this epoch's shuffled copy is freed before the next one is made
            global_step += num_steps
            npx.waitall()
            history.seconds_per_epoch.append(time.perf_counter() - started)
            training.record_epoch(history, epoch, losses.asnumpy(), evaluate(), updates.lr, bar)
            if global_step == max_steps:
                break
    return history
