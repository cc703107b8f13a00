"""Rprop as an MXNet optimizer (registered as `rprop`), the per-weight step sizes of adaptive optimizers,
and training runs that record them.

Lesson 10 (`gluon_lessons.lessons.lesson10_adaptive`) trains with `gluon.Trainer(params, 'rprop', {...})`.
Importing this module (`from gluon_lessons import optimizers`) registers `rprop` with MXNet, so it imports
only MXNet and NumPy at the top (the course's training modules switch on MXNet's NumPy interface when
imported) and the rest where used.
"""
import dataclasses
import math

import mxnet as mx
import numpy as onp
from mxnet import gluon

from . import checks

RPROP_DEFAULTS = dict(initial_step=0.01, eta_plus=1.2, eta_minus=0.5, step_min=1e-6, step_max=50.0)


def _first_step(initial_step, learning_rate):
    """The first step size, given as `initial_step`, as `learning_rate`, or as both when they agree."""
    if initial_step is None and learning_rate is None:
        return RPROP_DEFAULTS["initial_step"]
    if initial_step is None:
        return checks.positive("learning_rate", learning_rate)
    initial_step = checks.positive("initial_step", initial_step)
    if learning_rate is not None and checks.positive("learning_rate", learning_rate) != initial_step:
        raise ValueError(f"initial_step and learning_rate both name rprop's first step size: give one, "
                         f"or the same number twice, got {initial_step!r} and {learning_rate!r}")
    return initial_step


@mx.optimizer.register
class Rprop(mx.optimizer.Optimizer):
    """iRprop− (Igel & Hüsken 2000): each weight moves by its own step against the *sign* of its gradient.

    Per element: the step grows by `eta_plus` while the gradient keeps its sign, shrinks by `eta_minus`
    when it flips, and stays within [`step_min`, `step_max`]; after a flip the gradient counts as 0 for
    one step (no move, and the next step neither grows nor shrinks), and the last move is not undone.
    PyTorch's `torch.optim.Rprop` is the same rule. Riedmiller & Braun's original Rprop (1993) also
    takes the last move back after a flip ("weight backtracking").

    Steps start at `initial_step` (times the parameter's `lr_mult`). `learning_rate`, the name every
    MXNet optimizer takes (PyTorch's Rprop calls it `lr`), is the same number: give either, or both when
    they agree. So `gluon.Trainer(params, 'rprop', {'learning_rate': 0.01})`, `trainer.learning_rate`
    and `trainer.set_learning_rate(...)` work; as in PyTorch, a new learning rate is the first step of
    weights not yet updated (a step, once adapted, is the weight's own). There is no schedule.
    `wd` adds `wd * weight` to the gradient before its sign is taken.
    State per weight: (sign of the last gradient used, 0 after a flip; step sizes), on the weight's device.
    """

    def __init__(self, initial_step=None, eta_plus=RPROP_DEFAULTS["eta_plus"],
                 eta_minus=RPROP_DEFAULTS["eta_minus"], step_min=RPROP_DEFAULTS["step_min"],
                 step_max=RPROP_DEFAULTS["step_max"], learning_rate=None, **kwargs):
        if kwargs.get("lr_scheduler") is not None:
            raise ValueError("rprop takes no lr_scheduler: its steps adapt by themselves, and "
                             "learning_rate (initial_step) is only the first step size")
        initial_step = _first_step(initial_step, learning_rate)
        self.eta_plus = checks.number("eta_plus", eta_plus, 1.0, low_open=True)
        self.eta_minus = checks.number("eta_minus", eta_minus, 0.0, 1.0, low_open=True, high_open=True)
        self.step_min = checks.positive("step_min", step_min)
        self.step_max = checks.number("step_max", step_max, self.step_min)
        self._check_first_step(initial_step)
        super().__init__(learning_rate=initial_step, **kwargs)
        self._tables = {}

    def _check_first_step(self, first):
        if not self.step_min <= first <= self.step_max:
            raise ValueError(f"initial_step (learning_rate) must lie in [step_min, step_max] = "
                             f"[{self.step_min:g}, {self.step_max:g}], got {first!r}")

    def set_learning_rate(self, lr):
        """The first step of weights not updated yet (`Trainer.set_learning_rate` calls this)."""
        lr = checks.positive("learning_rate", lr)
        self._check_first_step(lr)
        super().set_learning_rate(lr)

    def create_state(self, index, weight):
        previous_sign = mx.nd.zeros(weight.shape, ctx=weight.context, dtype=weight.dtype)
        first = min(max(self._get_lr(index), self.step_min), self.step_max)
        return previous_sign, mx.nd.full(weight.shape, first, ctx=weight.context, dtype=weight.dtype)

    def _factors(self, context, dtype):
        """[eta_minus, 1, eta_plus] on `context`: the step's factor for agreement -1, 0, +1 (made once)."""
        key = (context, onp.dtype(dtype).name)
        if key not in self._tables:
            self._tables[key] = mx.nd.array([self.eta_minus, 1.0, self.eta_plus], ctx=context, dtype=dtype)
        return self._tables[key]

    def update(self, index, weight, grad, state):
        self._update_count(index)
        wd = self._get_wd(index)
        if self.clip_gradient is not None or wd:  # otherwise rescale_grad > 0 cannot change a sign: skip the work
            grad = grad * self.rescale_grad
            if self.clip_gradient is not None:
                grad = mx.nd.clip(grad, -self.clip_gradient, self.clip_gradient)
            grad = grad + wd * weight
        previous_sign, step = state
        sign = mx.nd.sign(grad)
        agreement = sign * previous_sign  # +1 same sign as last time, -1 flipped, 0 after a flip or at the start
        factor = mx.nd.take(self._factors(weight.context, weight.dtype), agreement + 1)
        mx.nd.clip(step * factor, self.step_min, self.step_max, out=step)
        mx.nd.elemwise_mul(sign, agreement >= 0, out=previous_sign)  # a flipped gradient counts as 0, once
        weight -= previous_sign * step

    def __getstate__(self):  # the cached tables live on devices; the kvstore may pickle the optimizer
        state = super().__getstate__()
        state["_tables"] = {}
        return state


def step_sizes(trainer, param, device=0):
    """The per-element step scale the trainer's optimizer now applies to `param`, as a flat NumPy vector.

    rprop: its step Δ (the size of the next move); rmsprop: the effective learning rate lr / sqrt(n + ε)
    that multiplies the gradient; sgd/nag: lr everywhere. None before the first update.
    """
    from . import recording  # not at the top: see the module's docstring

    optimizer = trainer.optimizer
    lr = optimizer.learning_rate * param.lr_mult
    if isinstance(optimizer, Rprop):
        state = recording.optimizer_state(trainer, param, device)
        return None if state is None else state[1].asnumpy().ravel().astype(onp.float64)
    if isinstance(optimizer, mx.optimizer.RMSProp):
        if optimizer.centered:
            raise ValueError("step_sizes reads plain rmsprop's state; centered=True keeps a different one")
        state = recording.optimizer_state(trainer, param, device)
        if state is None:
            return None
        n = state[0].asnumpy().ravel().astype(onp.float64)
        return lr / onp.sqrt(n + optimizer.epsilon)
    if type(optimizer) in (mx.optimizer.SGD, mx.optimizer.NAG):
        return onp.full(param.shape, lr, dtype=onp.float64).ravel()
    raise ValueError("step_sizes knows rprop, rmsprop, sgd and nag, not %s" % type(optimizer).__name__)


class RunRecorder:
    """An `on_step` callback copying, after the updates numbered in `record_at` (all when None), the
    parameters, `step_sizes` and, if asked, the batch's mean gradient: flat rows in the order of `params`.

    Reading values from the device waits for MXNet to finish the update, so recording fewer updates is
    faster: a few hundred rows draw a figure as well as thousands.
    """

    def __init__(self, trainer, params, record_at=None, gradients=False):
        self.trainer, self.params = trainer, list(params)
        self.record_at = None if record_at is None else set(int(update) for update in record_at)
        self.updates, self.parameters, self.step_sizes = [], [], []
        self.gradients = [] if gradients else None
        self.num_updates = 0

    def __call__(self, info):
        self.num_updates = info.global_step
        if self.record_at is not None and info.global_step not in self.record_at:
            return
        self.updates.append(info.global_step)
        self.parameters.append(_flat(p.data() for p in self.params))
        self.step_sizes.append(onp.concatenate([step_sizes(self.trainer, p) for p in self.params]))
        if self.gradients is not None:
            self.gradients.append(_flat(p.grad() for p in self.params) / info.batch_size)


def _flat(arrays):
    return onp.concatenate([a.asnumpy().astype(onp.float64).ravel() for a in arrays])


@dataclasses.dataclass
class RecordedRun:
    """What `record_run` saw; parameters are [w..., b]. Row i of `step_sizes` (and `gradients`) belongs
    to update `updates[i]`, row i + 1 of `parameters` too (row 0: the start)."""

    updates: onp.ndarray  # (rows,) update numbers, 1-based
    parameters: onp.ndarray  # (rows + 1, d + 1)
    step_sizes: onp.ndarray  # (rows, d + 1): `step_sizes` after each recorded update
    gradients: onp.ndarray  # (rows, d + 1): the mean gradient of each recorded update's batch, or None
    final: onp.ndarray  # (d + 1,) where the run ended (where the guard stopped it, if it diverged)
    num_updates: int  # updates made (fewer than asked when the guard stopped it; None if not counted)
    batch_size: int
    diverged: bool
    message: str = None  # the DivergenceError's text when the run diverged


def record_run(features, labels, optimizer, optimizer_params, num_steps, batch_size=None, seed=0, ctx=None,
               gradients=False, record_at=None, progress=False):
    """`Dense(1)` trained by `training.fit` with `gluon.Trainer(params, optimizer, optimizer_params)` for
    `num_steps` updates on full batches (`batch_size=None`, one update per epoch) or shuffled mini-batches,
    recording parameters, step sizes and, if asked, batch gradients after the updates in `record_at`
    (every update when None; `()` records none). A `DivergenceError` ends the run and is reported, not
    raised (lesson 10). `progress` as in `training.progress_bar` (None: a bar on a terminal after 2 s)."""
    from . import loading, model, recording, training  # not at the top: see the module's docstring
    from .seeding import set_seed

    if not isinstance(optimizer, str):
        raise ValueError(f"optimizer must be an optimizer's name such as 'rprop', got {optimizer!r}")
    num_steps = checks.integer("num_steps", num_steps, 1)
    features = onp.asarray(features, dtype=onp.float32)
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=features.shape[1], hybrid=True)
    trainer = gluon.Trainer(net.collect_params(), optimizer, dict(optimizer_params))
    params = recording.dense_parameters(net)
    start = _flat(p.data() for p in params)
    recorder = RunRecorder(trainer, params, record_at, gradients)
    if batch_size is None:
        batches, num_epochs = recording.full_batches(features, labels, 1, "float32", ctx), num_steps
    else:
        batches = loading.ShuffledBatches(features, labels, batch_size, ctx=ctx)
        num_epochs = math.ceil(num_steps / len(batches))
    on_step = None if record_at is not None and not recorder.record_at else recorder  # () costs nothing
    try:
        training.fit(net, batches, trainer, num_epochs, on_step=on_step, max_steps=num_steps,
                     progress=progress)
        diverged, message = False, None
    except training.DivergenceError as error:
        diverged, message = True, str(error)
    width = len(start)
    if on_step is not None:
        num_updates = recorder.num_updates
    else:
        num_updates = None if diverged else num_steps
    return RecordedRun(onp.array(recorder.updates, dtype=int),
                       onp.vstack([start] + recorder.parameters),
                       onp.array(recorder.step_sizes).reshape(-1, width),
                       None if recorder.gradients is None else onp.array(recorder.gradients).reshape(-1, width),
                       _flat(p.data() for p in params), num_updates,
                       len(features) if batch_size is None else batch_size, diverged, message)
