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

RPROP_DEFAULTS = dict(initial_step=0.01, eta_plus=1.2, eta_minus=0.5, step_min=1e-6, step_max=50.0)


def _positive_number(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float, onp.floating, onp.integer)):
        raise TypeError("%s must be a number, got %r" % (name, value))
    if not (math.isfinite(value) and value > 0):
        raise ValueError("%s must be a finite number > 0, got %r" % (name, value))
    return float(value)


@mx.optimizer.register
class Rprop(mx.optimizer.Optimizer):
    """Resilient backpropagation: each weight moves by its own step against the *sign* of its gradient.

    Per element: the step grows by `eta_plus` while the gradient keeps its sign, shrinks by `eta_minus`
    when it flips, and stays within [`step_min`, `step_max`]; after a flip the gradient counts as 0 for
    one step (no move, and the next step neither grows nor shrinks). Steps start at `initial_step`
    (times the parameter's `lr_mult`), which is also what `learning_rate` reports; there is no other
    learning rate. `wd` adds `wd * weight` to the gradient before its sign is taken.
    State per weight: (sign of the last gradient used, 0 after a flip; step sizes), on the weight's device.
    """

    def __init__(self, initial_step=RPROP_DEFAULTS["initial_step"], eta_plus=RPROP_DEFAULTS["eta_plus"],
                 eta_minus=RPROP_DEFAULTS["eta_minus"], step_min=RPROP_DEFAULTS["step_min"],
                 step_max=RPROP_DEFAULTS["step_max"], **kwargs):
        if "learning_rate" in kwargs or "lr_scheduler" in kwargs:
            raise ValueError("rprop has no learning rate or schedule: give initial_step (the first step size)")
        initial_step = _positive_number("initial_step", initial_step)
        self.eta_plus = _positive_number("eta_plus", eta_plus)
        self.eta_minus = _positive_number("eta_minus", eta_minus)
        self.step_min = _positive_number("step_min", step_min)
        self.step_max = _positive_number("step_max", step_max)
        if not self.eta_minus < 1 < self.eta_plus:
            raise ValueError("need 0 < eta_minus < 1 < eta_plus, got eta_minus=%r, eta_plus=%r" % (eta_minus, eta_plus))
        if not self.step_min <= initial_step <= self.step_max:
            raise ValueError("initial_step must lie in [step_min, step_max] = [%g, %g], got %r"
                             % (self.step_min, self.step_max, initial_step))
        super().__init__(learning_rate=initial_step, **kwargs)
        self._tables = {}

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


class StepSizeRecorder:
    """An `on_step` callback keeping `step_sizes` of `params` after every update, one flat row per update."""

    def __init__(self, trainer, params):
        self.trainer, self.params = trainer, list(params)
        self._rows = []

    def __call__(self, info):
        self._rows.append(onp.concatenate([step_sizes(self.trainer, p) for p in self.params]))

    @property
    def steps(self):
        return onp.array(self._rows)


@dataclasses.dataclass
class RecordedRun:
    """What `record_run` saw, one row per update; parameters are [w..., b], row 0 the start."""

    parameters: onp.ndarray  # (updates + 1, d + 1)
    gradients: onp.ndarray  # (updates, d + 1): the mean gradient of each update's batch (None if not recorded)
    step_sizes: onp.ndarray  # (updates, d + 1): `step_sizes` after each update
    batch_size: int
    diverged: bool
    message: str = None  # the DivergenceError's text when the run diverged


def record_run(features, labels, optimizer, optimizer_params, num_steps, batch_size=None, seed=0, ctx=None,
               gradients=False):
    """`Dense(1)` trained by `training.fit` with `gluon.Trainer(params, optimizer, optimizer_params)` for
    `num_steps` updates on full batches (`batch_size=None`, one update per epoch) or shuffled mini-batches,
    recording parameters, step sizes and, if asked, batch gradients after every update; a `DivergenceError`
    ends the run and is reported, not raised (lesson 10)."""
    from . import loading, model, recording, training  # not at the top: see the module's docstring
    from .seeding import set_seed

    if not isinstance(optimizer, str):
        raise TypeError("optimizer must be an optimizer's name such as 'rprop', got %r" % (optimizer,))
    num_steps = loading.check_count(num_steps, "num_steps")
    features = onp.asarray(features, dtype=onp.float32)
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=features.shape[1], hybrid=True)
    trainer = gluon.Trainer(net.collect_params(), optimizer, dict(optimizer_params))
    params = recording.dense_parameters(net)
    recorder, sizes = recording.Recorder(trainer, params, gradients=gradients), StepSizeRecorder(trainer, params)
    if batch_size is None:
        batches, num_epochs = recording.full_batches(features, labels, 1, "float32", ctx), num_steps
    else:
        batches = loading.ShuffledBatches(features, labels, batch_size, ctx=ctx)
        num_epochs = math.ceil(num_steps / len(batches))
    try:
        training.fit(net, batches, trainer, num_epochs, on_step=lambda info: (recorder(info), sizes(info)),
                     max_steps=num_steps, progress=False)
        diverged, message = False, None
    except training.DivergenceError as error:
        diverged, message = True, str(error)
    return RecordedRun(recorder.parameters, recorder.gradients if gradients else None, sizes.steps,
                       len(features) if batch_size is None else batch_size, diverged, message)
