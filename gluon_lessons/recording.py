"""Watch a training run step by step: parameters, mean gradients and the optimizer's momentum.

Lesson 5 (`gluon_lessons.lessons.lesson05_momentum`) passes a `Recorder` as `training.fit(on_step=...)`.
"""
import math

import numpy as onp
from mxnet import gluon, np, npx
from mxnet.gluon import nn

from . import checks, landscape, loading, model, training
from .seeding import set_seed

npx.set_np()


def dense_parameters(net):
    """`net[0].weight` then `net[0].bias`: the order of w̃ = [w, b] in the Hessian X̃ᵀX̃/n."""
    return [net[0].weight, net[0].bias]


def flat_values(arrays):
    """Arrays (MXNet or NumPy) flattened and joined into one float64 NumPy vector."""
    return onp.concatenate([onp.asarray(a.asnumpy() if hasattr(a, "asnumpy") else a, dtype=onp.float64).ravel()
                            for a in arrays])


def optimizer_state(trainer, param, device=0):
    """MXNet's optimizer state for `param` (`sgd` with momentum: the velocity v), None before the first step
    or without momentum. Gluon keeps it per device, under the parameter's index in the trainer."""
    if trainer._update_on_kvstore:
        raise ValueError("this trainer updates on a kvstore, which keeps the optimizer state out of reach")
    if param.name not in trainer._param2idx:
        raise ValueError("parameter %s is not trained by this trainer" % param.name)
    if not 0 <= device < len(trainer._updaters):
        raise ValueError("device index %d out of range: the trainer has %d device(s)" % (device, len(trainer._updaters)))
    return trainer._updaters[device].states.get(trainer._param2idx[param.name])


# Rows kept on the device before they are read into NumPy together: reading each step's values at once
# (`asnumpy`) waits for MXNet to finish that step, and the waiting was most of a recorded run's time.
READ_EVERY = 256


class DeviceRows:
    """A table of flat rows appended as MXNet arrays and read into NumPy float64 `READ_EVERY` rows at a time
    (so that MXNet never waits for the caller, and never queues without bound). One op per row."""

    def __init__(self):
        self._read, self._pending = [], []

    def append(self, arrays):
        """A row: the arrays (MXNet, on one device, of one dtype) flattened and joined, copied now, read later."""
        arrays = [a if isinstance(a, np.ndarray) else a.as_np_ndarray() for a in arrays]
        self._pending.append(np.concatenate(arrays, axis=None))
        if len(self._pending) >= READ_EVERY:
            self._flush()

    def _flush(self):
        if self._pending:
            self._read.append(np.stack(self._pending).asnumpy().astype(onp.float64))
            self._pending = []

    def table(self):
        """All rows so far as a (rows, width) float64 NumPy array."""
        self._flush()
        return onp.concatenate(self._read) if self._read else onp.zeros((0, 0))


class Recorder:
    """An `on_step` callback copying parameters, mean gradients and optimizer states after every update.

    Rows are flat float64 vectors in the order of `params` (default: the trainer's). `parameters[k]` is the
    value after k updates (row 0: the start); `gradients[k]` (summed gradient / batch size) and `states[k]`
    belong to update k + 1. Each step's values are copied on the device as one row and read together
    (`DeviceRows`): reading them at every step made MXNet wait for each step to finish. `losses=False`
    leaves out each batch's mean loss, two MXNet calls a step.
    """

    def __init__(self, trainer, params=None, parameters=True, gradients=False, states=False, losses=True):
        self.trainer = trainer
        self.params = list(trainer._params) if params is None else list(params)
        if gradients and any(len(p.list_ctx()) > 1 for p in self.params):
            raise ValueError("gradients are recorded on one device only; train on a single device")
        self.names = [p.name for p in self.params]
        self.recorded = {"parameters": parameters, "gradients": gradients, "states": states}
        self.with_losses = losses
        self._start = flat_values(self._arrays("parameters")) if parameters else None
        self._rows, self._batch_sizes, self._widths = DeviceRows(), [], None

    def _arrays(self, what):
        if what == "parameters":
            return [p.data(p.list_ctx()[0]) for p in self.params]
        if what == "gradients":
            return [p.grad(p.list_ctx()[0]) for p in self.params]  # summed: divided by the batch size when read
        states = [optimizer_state(self.trainer, p) for p in self.params]
        if any(s is None for s in states):
            raise ValueError("the optimizer keeps no state for these parameters (momentum 0?)")
        return states

    def __call__(self, info):
        parts = {what: self._arrays(what) for what, wanted in self.recorded.items() if wanted}
        if self._widths is None:
            self._widths = {what: sum(a.size for a in arrays) for what, arrays in parts.items()}
        row = [a for arrays in parts.values() for a in arrays]
        if self.with_losses:
            dtype = self.params[0].dtype
            row.append(info.loss if info.loss.dtype == dtype else info.loss.astype(dtype))
        self._rows.append(row)
        self._batch_sizes.append(info.batch_size)

    def _column(self, what):
        if not self.recorded.get(what, self.with_losses):
            raise ValueError("this Recorder was made with %s=False" % what)
        table = self._rows.table()
        if not len(table):
            return onp.zeros((0, 0)) if what != "losses" else onp.zeros(0)
        begin = 0
        for name, width in self._widths.items():
            if name == what:
                return table[:, begin:begin + width]
            begin += width
        return table[:, -1]  # the loss

    @property
    def parameters(self):
        after = self._column("parameters")
        return onp.vstack([self._start[None], after]) if len(self) else self._start[None]

    @property
    def gradients(self):
        return self._column("gradients") / onp.asarray(self._batch_sizes, dtype=onp.float64).reshape(-1, 1)

    @property
    def states(self):
        return self._column("states")

    @property
    def losses(self):
        """Mean loss of each batch before its update."""
        return self._column("losses")

    def __len__(self):
        """Updates recorded so far."""
        return len(self._batch_sizes)


def full_batches(features, labels, num_steps, dtype="float64", ctx=None):
    """The whole data set as one batch, `num_steps` times: `training.fit` then runs full-batch gradient descent."""
    num_steps = checks.integer("num_steps", num_steps, 1)
    if len(features) != len(labels) or len(features) == 0:
        raise ValueError("need as many labels as feature rows (> 0), got %d and %d" % (len(features), len(labels)))
    X = np.array(onp.asarray(features), dtype=dtype, ctx=ctx)
    y = np.array(onp.ravel(labels), dtype=dtype, ctx=ctx)
    return [(X, y)] * int(num_steps)


class IndependentBatches:
    """`num_steps` batches, each `batch_size` distinct examples drawn afresh with NumPy's global RNG (lesson 5).

    These are the independent draws the mini-batch noise formulas of `convergence` assume. A shuffled epoch
    (`loading.ShuffledBatches`, `DataLoader`) deals every example once instead, so its batches share none.
    """

    def __init__(self, features, labels, batch_size, num_steps, ctx=None):
        features, labels = onp.asarray(features), onp.ravel(labels)
        loading.check_examples(features, labels, batch_size, "keep")
        self.num_steps = checks.integer("num_steps", num_steps, 1)
        self.batch_size = batch_size
        rows = onp.concatenate([onp.random.choice(len(features), batch_size, replace=False) for _ in range(num_steps)])
        self.features = np.array(features[rows], dtype="float32", ctx=ctx)
        self.labels = np.array(labels[rows], dtype="float32", ctx=ctx)

    def __len__(self):
        return self.num_steps

    def __iter__(self):
        for start in range(0, self.num_steps * self.batch_size, self.batch_size):
            yield self.features[start:start + self.batch_size], self.labels[start:start + self.batch_size]


def record_linear_regression(features, labels, lr, momentum=0.0, optimizer="sgd", num_steps=100, batch_size=None,
                             dtype="float64", seed=0, gradients=False, states=False, ctx=None, start=None,
                             independent=False, expect_growth=False, losses=True):
    """Train `Dense(1)` for `num_steps` updates with `training.fit`, a `Recorder` watching each one (lesson 5).

    `batch_size=None`: full-batch gradient descent, parameters and data in `dtype`. A number: float32
    mini-batches, shuffled epochs (`loading.ShuffledBatches`) or, with `independent`, `IndependentBatches`.
    `start` = [w..., b] replaces the random initial weights. `expect_growth`: a run past a stability limit is
    recorded to its end instead of being stopped by `fit`'s divergence guard (full batch: one epoch).
    `losses=False`: the `Recorder` keeps no batch losses.
    """
    if batch_size is not None and dtype != "float32":
        raise ValueError("mini-batches are float32; pass dtype='float32' with a batch size")
    set_seed(seed)
    features = onp.asarray(features)
    net = model.linear_regression(ctx, num_inputs=features.shape[1], hybrid=True)
    if dtype != "float32":
        net.cast(dtype)
    if start is not None:
        start = onp.asarray(start, onp.float64).ravel()
        if start.shape != (features.shape[1] + 1,):
            raise ValueError("start must hold %d weights and a bias, got %d numbers" % (features.shape[1], start.size))
        net[0].weight.set_data(np.array(start[None, :-1], dtype=dtype, ctx=ctx))
        net[0].bias.set_data(np.array(start[-1:], dtype=dtype, ctx=ctx))
    trainer = training.make_trainer(net, optimizer, lr, momentum)
    recorder = Recorder(trainer, dense_parameters(net), gradients=gradients, states=states, losses=losses)
    if batch_size is None:
        batches, num_epochs = full_batches(features, labels, num_steps, dtype, ctx), 1
    elif independent:
        batches, num_epochs = IndependentBatches(features, labels, batch_size, num_steps, ctx), 1
    else:
        batches = loading.ShuffledBatches(features, labels, batch_size, ctx=ctx)
        num_epochs = math.ceil(num_steps / len(batches))
    _fit_recorded(net, batches, trainer, num_epochs, recorder, num_steps, expect_growth)
    return recorder


def _fit_recorded(net, batches, trainer, num_epochs, recorder, num_steps, expect_growth, **fit_options):
    """`training.fit` for at most `num_steps` updates, each seen by `recorder`; with `expect_growth`, a
    run past a stability limit that was recorded to its last step is not an error."""
    try:
        training.fit(net, batches, trainer, num_epochs, on_step=recorder, max_steps=num_steps,
                     progress=False, **fit_options)
    except training.DivergenceError:
        if not (expect_growth and len(recorder) == num_steps):
            raise


def nag_iterates(recorder, momentum):
    """The points Nesterov's method visits, w_k = ŵ_k − β v_k (lesson 5): MXNet's `nag` keeps as the parameter
    the look-ahead ŵ_k = w_k + β v_k and as its state the velocity v_k (zero before the first step).
    With β = 0 the two coincide (and MXNet keeps no state)."""
    if momentum == 0:
        return recorder.parameters
    stored, velocity = recorder.parameters, recorder.states
    return stored - momentum * onp.vstack([onp.zeros((1, stored.shape[1])), velocity])


def iterates(features, labels, lr, momentum=0.0, optimizer="sgd", num_steps=100, seed=0, expect_growth=False):
    """θ_0 .. θ_num_steps of full-batch float64 training (lesson 5); for `nag` the iterate, not the look-ahead."""
    recorder = record_linear_regression(features, labels, lr, momentum, optimizer, num_steps=num_steps, seed=seed,
                                        states=optimizer == "nag" and momentum > 0, expect_growth=expect_growth,
                                        losses=False)
    return nag_iterates(recorder, momentum) if optimizer == "nag" else recorder.parameters


class DenseRuns(nn.HybridBlock):
    """`num_runs` `Dense(1)` layers side by side on the same inputs; column k of the output is run k's
    prediction (lesson 5 trains a run just inside and one just outside a stability limit at once)."""

    def __init__(self, num_runs, num_inputs):
        super().__init__()
        self.runs = nn.HybridSequential()
        for _ in range(num_runs):
            self.runs.add(nn.Dense(1, in_units=num_inputs))

    def hybrid_forward(self, F, X):
        return F.np.concatenate([dense(X) for dense in self.runs], axis=1)  # (examples, runs)


class RunsL2Loss(gluon.loss.Loss):
    """Per example, `L2Loss` of each run's prediction summed over the runs: run k's gradient is its own."""

    def __init__(self):
        super().__init__(weight=None, batch_axis=0)

    def hybrid_forward(self, F, predictions, y):
        return (0.5 * (predictions - y.reshape(-1, 1)) ** 2).sum(axis=1)


def iterates_side_by_side(features, labels, lrs, momentum=0.0, optimizer="sgd", num_steps=100, seed=0,
                          expect_growth=False):
    """`iterates` for several learning rates at once, one path per lr (lesson 5): the runs start from the
    weights `iterates` starts from, are `DenseRuns` trained by one `Trainer` with lr = lrs[0] and each run's
    `lr_mult` = lr/lrs[0], and share nothing else, so each moves as it would alone (to float rounding)."""
    lrs = [checks.positive("lr", lr) for lr in lrs]
    features = onp.asarray(features, dtype=onp.float64)
    set_seed(seed)
    start = model.linear_regression(num_inputs=features.shape[1], hybrid=True)[0]  # where `iterates` starts
    net = DenseRuns(len(lrs), features.shape[1])
    net.initialize()
    net.cast("float64")
    for dense, lr in zip(net.runs, lrs):
        dense.weight.set_data(start.weight.data().astype("float64"))
        dense.bias.set_data(start.bias.data().astype("float64"))
        dense.weight.lr_mult = dense.bias.lr_mult = lr / lrs[0]
    trainer = training.make_trainer(net, optimizer, lrs[0], momentum)
    params = [p for dense in net.runs for p in dense_parameters([dense])]
    recorder = Recorder(trainer, params, states=optimizer == "nag" and momentum > 0, losses=False)
    _fit_recorded(net, full_batches(features, labels, num_steps), trainer, 1, recorder, num_steps,
                  expect_growth, loss=RunsL2Loss())
    table = nag_iterates(recorder, momentum) if optimizer == "nag" else recorder.parameters
    return onp.split(table, len(lrs), axis=1)


def record_position(loss_of, start, lr, momentum=0.0, optimizer="sgd", num_steps=100, dtype="float64", ctx=None):
    """Let a `landscape.PositionLoss` roll downhill for `num_steps` updates, recording each position (lesson 5)."""
    net = landscape.PositionLoss(loss_of, start, dtype)
    net.initialize(ctx=ctx)
    trainer = training.make_trainer(net, optimizer, lr, momentum)
    recorder = Recorder(trainer)
    training.fit(net, landscape.position_batches(num_steps, dtype, ctx), trainer, 1,
                 loss=landscape.position_loss_value, on_step=recorder, progress=False)
    return recorder
