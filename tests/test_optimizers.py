"""Rprop as an MXNet optimizer: its rule against a NumPy reference, devices, and recovered weights on raw units."""
import math
import pickle

import mxnet as mx
import numpy as onp
import pytest
from mxnet import autograd, gluon, np, npx

from gluon_lessons import data as house_data
from gluon_lessons import landscape, loading, model, optimizers, recording, training
from gluon_lessons.seeding import set_seed

npx.set_np()

# Gradients chosen to exercise every branch: same sign (grow), flip (shrink, count as 0), the step after a
# flip, a zero gradient, and enough repeats to reach step_max and step_min.
GRADIENTS = onp.array([
    [1.0, -2.0, 0.0, 3.0],
    [2.0, -1.0, 1.0, -3.0],
    [0.5, 4.0, 1.0, -3.0],
    [-1.0, 4.0, 1.0, 3.0],
    [-1.0, -1.0, 1.0, 3.0],
    [-1.0, -1.0, -1.0, -3.0],
    [-1.0, -1.0, 1.0, 3.0],
    [-1.0, -1.0, -1.0, -3.0],
    [-1.0, 1.0, 1.0, 3.0],
    [-1.0, -1.0, 1.0, -3.0],
    [-1.0, 1.0, 1.0, 3.0],
    [-1.0, -1.0, 1.0, -3.0],
])
SETTINGS = dict(initial_step=0.1, eta_plus=1.2, eta_minus=0.5, step_min=0.02, step_max=0.2)


def reference_rprop(gradients, start, initial_step, eta_plus, eta_minus, step_min, step_max):
    """Rprop written out element by element, as the rule reads in words; the weights after each update."""
    weights, steps, previous = list(start), [initial_step] * len(start), [0.0] * len(start)
    after = []
    for gradient in gradients:
        for i, g in enumerate(gradient):
            if previous[i] * g > 0:
                steps[i] = min(steps[i] * eta_plus, step_max)
            elif previous[i] * g < 0:
                steps[i] = max(steps[i] * eta_minus, step_min)
                g = 0.0  # the flipped gradient counts as zero for this step
            if g > 0:
                weights[i] -= steps[i]
            elif g < 0:
                weights[i] += steps[i]
            previous[i] = g
        after.append(list(weights))
    return onp.array(after)


def drive(gradients, contexts, optimizer_params, start=None, **trainer_args):
    """Feed `gradients` one by one to a Trainer('rprop') through autograd (loss = sum(g * w), split over
    `contexts`); the weights on every device after each step, shape (steps, devices, size)."""
    size = gradients.shape[1]
    param = gluon.Parameter("w", shape=(size,), dtype="float64")
    param.initialize(mx.init.Constant(0.0), ctx=contexts)
    if start is not None:
        param.set_data(np.array(start, dtype="float64"))
    trainer = gluon.Trainer([param], "rprop", optimizer_params, **trainer_args)
    after = []
    for gradient in gradients:
        with autograd.record():
            losses = [(param.data(c) * np.array(gradient, dtype="float64", ctx=c)).sum() / len(contexts)
                      for c in contexts]
        for l in losses:
            l.backward()
        trainer.step(1)
        after.append([param.data(c).asnumpy() for c in contexts])
    return onp.array(after), trainer


def test_registered_under_its_name():
    assert isinstance(mx.optimizer.create("rprop"), optimizers.Rprop)
    assert isinstance(mx.optimizer.create("Rprop", initial_step=0.5), optimizers.Rprop)


def test_first_updates_by_hand():
    # Worked by hand, initial step 0.1. Element 0: +1, +1 (grow to 0.12), -1 (flip: shrink to 0.06, no move),
    # +3 (after a flip: keep 0.06). Element 1: -1, +1 (flip: 0.05, no move), +1 (keep 0.05), +1 (grow: 0.06).
    # Element 2: 0 (no move), 2 (0.1), 2 (0.12), 2 (0.144).
    gradients = onp.array([[1.0, -1.0, 0.0], [1.0, 1.0, 2.0], [-1.0, 1.0, 2.0], [3.0, 1.0, 2.0]])
    expected = onp.array([[-0.1, 0.1, 0.0], [-0.22, 0.1, -0.1], [-0.22, 0.05, -0.22], [-0.28, -0.01, -0.364]])
    after, _ = drive(gradients, [mx.cpu(0)], {"initial_step": 0.1})
    onp.testing.assert_allclose(after[:, 0], expected, atol=1e-12)  # float64: only rounding differs


def test_rule_matches_numpy_reference_including_the_bounds():
    start = [0.5, -0.5, 0.0, 1.0]
    after, trainer = drive(GRADIENTS, [mx.cpu(0)], SETTINGS, start=start)
    expected = reference_rprop(GRADIENTS, start, **SETTINGS)
    onp.testing.assert_allclose(after[:, 0], expected, atol=1e-12)
    steps = optimizers.step_sizes(trainer, trainer._params[0])
    assert steps.max() == pytest.approx(SETTINGS["step_max"])  # element 0 kept its sign long enough to hit the cap
    assert steps.min() == pytest.approx(SETTINGS["step_min"])  # element 3 flipped every other step down to the floor


def test_rescaled_gradient_and_weight_decay_use_the_sign_of_the_total():
    # wd adds wd * w to the gradient: at w = 1 a gradient of -0.5 with wd = 1 totals +0.5, so w moves down.
    optimizer = mx.optimizer.create("rprop", initial_step=0.1, wd=1.0, rescale_grad=0.5)
    weight = mx.nd.array([1.0, 1.0])
    state = optimizer.create_state(0, weight)
    optimizer.update(0, weight, mx.nd.array([-1.0, -4.0]), state)  # rescaled: -0.5 and -2; plus wd * w = +1
    onp.testing.assert_allclose(weight.asnumpy(), [0.9, 1.1], atol=1e-6)


@pytest.mark.parametrize("update_on_kvstore", [None, False])
def test_two_devices_update_alike(update_on_kvstore):
    # Each device holds half the loss, so the summed gradient equals the one-device gradient; the
    # Trainer updates on the kvstore (one state) or on each device (a state per device): same weights.
    contexts = [mx.cpu(0), mx.cpu(1)]
    start = [0.5, -0.5, 0.0, 1.0]
    after, trainer = drive(GRADIENTS, contexts, SETTINGS, start=start, update_on_kvstore=update_on_kvstore)
    expected = reference_rprop(GRADIENTS, start, **SETTINGS)
    for device in range(2):
        onp.testing.assert_allclose(after[:, device], expected, atol=1e-12)
    if update_on_kvstore is False:
        for device, ctx in enumerate(contexts):
            previous, step = trainer._updaters[device].states[0]
            assert previous.context == ctx and step.context == ctx  # state lives beside its weight


@pytest.mark.parametrize("settings, word", [
    (dict(eta_minus=1.0), "eta_minus"),
    (dict(eta_plus=0.9), "eta_plus"),
    (dict(initial_step=100.0), "initial_step"),
    (dict(learning_rate=100.0), "learning_rate"),
    (dict(step_min=-1.0), "step_min"),
    (dict(step_min=1e-320), "step_min"),  # float32 holds no positive number below 1.2e-38 but 0
    (dict(step_max=float("inf")), "step_max"),
    (dict(step_max=1e39), "step_max"),
    (dict(step_min=0.5, step_max=0.1), "step_max"),
    (dict(initial_step=0.1, learning_rate=0.2), "initial_step and learning_rate"),
    (dict(lr_scheduler=mx.lr_scheduler.FactorScheduler(10)), "lr_scheduler"),
    (dict(initial_step="0.1"), "initial_step"),
    (dict(learning_rate=True), "learning_rate"),
])
def test_bad_settings_are_refused(settings, word):
    with pytest.raises(ValueError, match=word):
        mx.optimizer.create("rprop", **settings)


def test_learning_rate_is_the_first_step_by_either_name():
    # MXNet's name (learning_rate), the explicit one (initial_step), or both when they agree: the same
    # rule, checked against the NumPy reference; the Trainer reports the number as its learning rate.
    start = [0.5, -0.5, 0.0, 1.0]
    expected = reference_rprop(GRADIENTS, start, **SETTINGS)
    other = {key: value for key, value in SETTINGS.items() if key != "initial_step"}
    for first in ({"learning_rate": 0.1}, {"initial_step": 0.1}, {"initial_step": 0.1, "learning_rate": 0.1}):
        after, trainer = drive(GRADIENTS, [mx.cpu(0)], dict(other, **first), start=start)
        onp.testing.assert_allclose(after[:, 0], expected, atol=1e-12)
        assert trainer.learning_rate == 0.1
    assert mx.optimizer.create("rprop").learning_rate == optimizers.RPROP_DEFAULTS["initial_step"]


def test_set_learning_rate_sets_the_first_step_of_weights_not_yet_updated():
    # As PyTorch's Rprop: the learning rate is where each weight's step starts; once a weight has been
    # updated its step is its own. First step 0.05 after set_learning_rate, then 0.05 * 1.2.
    param = gluon.Parameter("w", shape=(1,), dtype="float64")
    param.initialize(mx.init.Constant(0.0), ctx=mx.cpu(0))
    trainer = gluon.Trainer([param], "rprop", {"learning_rate": 0.01})
    trainer.set_learning_rate(0.05)
    assert trainer.learning_rate == 0.05

    def step():
        with autograd.record():
            loss = (param.data() * np.array([1.0], dtype="float64")).sum()
        loss.backward()
        trainer.step(1)
        return float(param.data().asnumpy()[0])

    assert step() == pytest.approx(-0.05, abs=1e-12)
    trainer.set_learning_rate(1.0)  # the weight's step (now 0.05) is adapted from here on, not reset
    assert step() == pytest.approx(-0.05 - 0.06, abs=1e-12)
    with pytest.raises(ValueError, match="learning_rate"):
        trainer.set_learning_rate(1e-320)
    with pytest.raises(ValueError, match="step_min, step_max"):
        trainer.set_learning_rate(100.0)


@pytest.fixture(scope="module")
def raw():
    data = house_data.raw_house_prices(1000)
    return data, landscape.optimum(data.features, data.labels)


def train(data, optimizer, params, batch_size=None, num_steps=300, seed=0):
    """`training.fit` with `gluon.Trainer(params, optimizer, ...)`: full batches (one per epoch) or shuffled
    mini-batches; the parameters [w_area, w_age, b] at the end."""
    set_seed(seed)
    net = model.linear_regression(num_inputs=data.num_features, hybrid=True)
    trainer = gluon.Trainer(net.collect_params(), optimizer, params)
    if batch_size is None:
        batches, num_epochs = recording.full_batches(data.features, data.labels, 1, "float32"), num_steps
    else:
        batches = loading.ShuffledBatches(data.features, data.labels, batch_size)
        num_epochs = math.ceil(num_steps / len(batches))
    training.fit(net, batches, trainer, num_epochs, max_steps=num_steps, progress=False)
    weight, bias = model.extract_weights(net)
    return onp.append(weight, bias)


def test_full_batch_rprop_recovers_least_squares_on_raw_units(raw):
    # Gradients for area, age and bias differ ~100-fold here; Rprop looks at signs only. 0.01 is the
    # issue's tolerance; float32 data and weights leave about 1e-3 (measured ~3e-4 after 300 steps).
    data, optimum = raw
    params = train(data, "rprop", {"initial_step": 0.1}, num_steps=300)
    assert onp.abs(params - optimum).max() < 0.01


def test_mini_batch_rmsprop_recovers_least_squares_on_raw_units(raw):
    # MXNet's own rmsprop, batches of 200, learning rate 0.3 falling to 0 along a cosine (a fixed rate leaves
    # the weights jittering by about the rate). The bias creeps along the area-bias valley that uncentered
    # features make, so this takes thousands of steps; simulated over 6 seeds the error stayed below 0.021.
    data, optimum = raw
    num_steps = 8000
    schedule = mx.lr_scheduler.CosineScheduler(num_steps, 0.3, final_lr=0.0)
    params = train(data, "rmsprop", {"learning_rate": 0.3, "lr_scheduler": schedule}, 200, num_steps)
    assert onp.abs(params - optimum).max() < 0.05


def test_sgd_too_fast_on_raw_units_is_a_divergence(raw):
    # Gradient descent on a quadratic diverges above lr = 2 / λ_max of the Hessian X̃ᵀX̃/n (here λ_max ~ 2.5e4);
    # at 1.2 times that the error grows 1.4-fold per step, inf in float32 within 300 steps.
    data, _ = raw
    lam_max = landscape.eigenvalues(landscape.hessian(data.features))[-1]
    with pytest.raises(training.DivergenceError):
        train(data, "sgd", {"learning_rate": 1.2 * 2 / lam_max}, num_steps=300)
    stable = train(data, "sgd", {"learning_rate": 0.9 * 2 / lam_max}, num_steps=300)
    assert onp.all(onp.isfinite(stable))


def test_step_sizes_of_rmsprop_are_its_effective_learning_rates():
    # MXNet's rmsprop: n = (1 - γ) g² + γ n, w -= lr g / sqrt(n + ε). After one update from n = 0 with γ = 0.9,
    # n = 0.1 g², so the effective rate is lr / sqrt(0.1 g² + ε) and the move is lr g / sqrt(0.1 g² + ε).
    # float32: MXNet 1.9.1's rmsprop makes its state float32 whatever the weight's type.
    param = gluon.Parameter("w", shape=(3,))
    param.initialize(mx.init.Constant(1.0), ctx=mx.cpu(0))
    trainer = gluon.Trainer([param], "rmsprop", {"learning_rate": 0.01, "gamma1": 0.9})
    gradient = onp.array([1000.0, 1.0, 0.001])
    with autograd.record():
        loss = (param.data() * np.array(gradient, dtype="float32")).sum()
    loss.backward()
    trainer.step(1)
    expected_rates = 0.01 / onp.sqrt(0.1 * gradient ** 2 + 1e-8)
    onp.testing.assert_allclose(optimizers.step_sizes(trainer, param), expected_rates, rtol=1e-5)  # float32 state
    onp.testing.assert_allclose(1.0 - param.data().asnumpy(), expected_rates * gradient, rtol=1e-5)


def test_lr_mult_scales_the_first_step_and_the_optimizer_pickles():
    # The kvstore of a distributed run pickles the optimizer; its device tables are rebuilt after loading.
    gradients = onp.array([[1.0, -1.0], [1.0, -1.0]])
    param = gluon.Parameter("w", shape=(2,), dtype="float64", lr_mult=10.0)
    param.initialize(mx.init.Constant(0.0), ctx=mx.cpu(0))
    trainer = gluon.Trainer([param], "rprop", {"initial_step": 0.1})
    for gradient in gradients:
        with autograd.record():
            loss = (param.data() * np.array(gradient, dtype="float64")).sum()
        loss.backward()
        trainer.step(1)
    onp.testing.assert_allclose(param.data().asnumpy(), [-2.2, 2.2], atol=1e-12)  # 10 × 0.1, then × 1.2
    copy = pickle.loads(pickle.dumps(trainer.optimizer))
    assert isinstance(copy, optimizers.Rprop) and copy.eta_plus == 1.2 and copy._tables == {}


def test_record_run_records_only_the_updates_asked_for(raw):
    # The same seeded run recorded at every update and at three: the rows asked for are the same rows,
    # the end is the same, and a run recorded nowhere still reports where it ended.
    data, _ = raw
    every = optimizers.record_run(data.features, data.labels, "rprop", {"learning_rate": 0.1}, 40)
    some = optimizers.record_run(data.features, data.labels, "rprop", {"learning_rate": 0.1}, 40,
                                 record_at=[1, 20, 40])
    none = optimizers.record_run(data.features, data.labels, "rprop", {"learning_rate": 0.1}, 40, record_at=())
    assert list(every.updates) == list(range(1, 41)) and list(some.updates) == [1, 20, 40]
    onp.testing.assert_array_equal(some.parameters, every.parameters[[0, 1, 20, 40]])
    onp.testing.assert_array_equal(some.step_sizes, every.step_sizes[[0, 19, 39]])
    for run in (every, some, none):
        onp.testing.assert_array_equal(run.final, every.parameters[-1])
        assert run.num_updates == 40 and not run.diverged
    assert len(none.updates) == 0 and none.parameters.shape == (1, 3)
