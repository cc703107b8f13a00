"""Lesson 3's hand-written SGD and momentum against Gluon's `Trainer('sgd')`, update by update.

The oracle is the walkthrough's own Gluon code, written out here (not `training.fit`): a
`Dense(1)`, `L2Loss`, `Trainer('sgd', {'learning_rate', 'momentum'})`, `trainer.step(len(X))`.
Both start from the same weights and see the same batches, including a last partial batch of 8.

Tolerance: 1e-5 relative to the largest weight. Both sides compute the same float32 numbers
in a different order (Gluon's fused kernel forms lr * (grad * (1/B)), the scratch code
(lr * grad) / B), which costs about one ulp (1.2e-7 relative) per update; gradient descent
and momentum at these settings are contractions, so such rounding does not grow (measured:
below 2e-7 over 40 updates). A real difference — a missing 1/B, the other momentum
convention, a gradient off by a factor — moves the weights by 1e-2 or more in one update.
"""
import numpy as onp
import pytest
from mxnet import autograd, gluon, init, np, npx
from mxnet.gluon import nn

from gluon_lessons.lessons import lesson03_scratch as scratch
from gluon_lessons.seeding import set_seed

npx.set_np()

TOLERANCE = 1e-5  # relative to max |weight|; see the module docstring
# The batch loss near the end is ~3.5e-3, a mean of squared residuals of ~0.08 each; a weight
# gap of 1e-5 relative (~3e-5) shifts each residual by up to ~1e-4, so up to a few 1e-4 of
# the loss (measured: 1.3e-5). A wrong update changes the loss by far more than 1e-4.
LOSS_TOLERANCE = 1e-4  # relative
LR, BATCH_SIZE, NUM_STEPS = 0.03, 32, 40  # 1000 examples: 31 batches of 32, one of 8, then epoch 2


def fixed_batches(data, batch_size, num_steps, seed=3):
    """Batches cut from fresh NumPy permutations, one per epoch, as MXNet arrays."""
    rng, batches = onp.random.default_rng(seed), []
    while len(batches) < num_steps:
        order = rng.permutation(data.num_examples)
        for start in range(0, data.num_examples, batch_size):
            rows = order[start:start + batch_size]
            batches.append((np.array(data.features[rows]), np.array(data.labels[rows])))
    return batches[:num_steps]


def gluon_model(momentum, seed=0):
    set_seed(seed)  # the starting weights must not depend on which tests ran before
    net = nn.Sequential()
    net.add(nn.Dense(1, in_units=2))
    net.initialize(init.Normal(sigma=0.01))
    trainer = gluon.Trainer(net.collect_params(), "sgd", {"learning_rate": LR, "momentum": momentum})
    return net, trainer


def gluon_weights(net):
    return onp.append(net[0].weight.data().asnumpy().ravel(), net[0].bias.data().asnumpy())


def relative_gap(a, b):
    return onp.max(onp.abs(onp.asarray(a, onp.float64) - b)) / onp.max(onp.abs(b))


@pytest.fixture(scope="module")
def batches(walkthrough):
    found = fixed_batches(walkthrough, BATCH_SIZE, NUM_STEPS)
    assert sorted({len(X) for X, _ in found}) == [8, 32]  # the partial batch is among them
    return found


@pytest.mark.parametrize("momentum", [0.0, 0.9])
def test_scratch_and_gluon_agree_after_every_update(batches, momentum):
    net, trainer = gluon_model(momentum)
    loss = gluon.loss.L2Loss()
    params = scratch.params_from(net[0].weight.data().asnumpy().T, net[0].bias.data().asnumpy())
    velocities = [np.zeros_like(p) for p in params]
    start = gluon_weights(net)
    for step, (X, y) in enumerate(batches, start=1):
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(len(X))
        scratch_loss = scratch.scratch_step(params, velocities, X, y, LR, momentum)
        assert float(scratch_loss) == pytest.approx(float(l.mean()), rel=LOSS_TOLERANCE)  # same point before the update
        gap = relative_gap(scratch.flat_weights(params), gluon_weights(net))
        assert gap < TOLERANCE, "step %d: relative gap %.2e" % (step, gap)
    assert relative_gap(start, gluon_weights(net)) > 0.5  # the weights did travel: from ~0 to near the truth


def test_train_scratch_over_given_batches_matches_gluon(batches):
    net, trainer = gluon_model(0.9)
    loss = gluon.loss.L2Loss()
    params = scratch.params_from(net[0].weight.data().asnumpy().T, net[0].bias.data().asnumpy())
    seen = []
    scratch.train_scratch(onp.zeros((4, 2)), onp.zeros(4), momentum=0.9, num_epochs=1, params=params,
                          batches=batches, on_step=lambda p: seen.append(scratch.flat_weights(p)))
    for X, y in batches:
        with autograd.record():
            l = loss(net(X), y)
        l.backward()
        trainer.step(len(X))
    assert len(seen) == NUM_STEPS
    assert relative_gap(seen[-1], gluon_weights(net)) < TOLERANCE


def test_the_comparison_would_catch_a_wrong_update(batches):
    """One update with a wrong 1/B, or with a damped momentum, lands far outside the tolerance."""
    X, y = batches[0]
    for wrong in ("batch size", "damped momentum"):
        net, trainer = gluon_model(0.9)
        params = scratch.params_from(net[0].weight.data().asnumpy().T, net[0].bias.data().asnumpy())
        with autograd.record():
            l = gluon.loss.L2Loss()(net(X), y)
        l.backward()
        trainer.step(len(X))
        with autograd.record():
            scratch_l = scratch.squared_loss(scratch.linreg(X, *params), y)
        scratch_l.backward()
        if wrong == "batch size":
            scratch.sgd_step(params, [np.zeros_like(p) for p in params], LR, 0.9, 2 * len(X))
        else:  # v = λv + (1 − λ)g; w -= lr v: an average of gradients, not MXNet's sum
            for p in params:
                p -= LR * (1 - 0.9) * p.grad / len(X)
        assert relative_gap(scratch.flat_weights(params), gluon_weights(net)) > 100 * TOLERANCE


def test_velocity_is_minus_lr_times_the_discounted_sum_of_past_gradients(batches):
    """v_k = −η Σᵢ λ^(k−1−i) gᵢ, the lecture's "momentum is a weighted sum of all previous gradients"."""
    momentum, params = 0.9, scratch.params_from([[0.0], [0.0]], [0.0])
    velocities = [np.zeros_like(p) for p in params]
    gradients, travelled = [], onp.zeros(3)
    for X, y in batches[:10]:
        with autograd.record():
            l = scratch.squared_loss(scratch.linreg(X, *params), y)
        l.backward()
        gradients.append(onp.concatenate([p.grad.asnumpy().ravel() for p in params]) / len(X))
        scratch.sgd_step(params, velocities, LR, momentum, len(X))
        travelled += scratch.flat_weights(velocities)
    k = len(gradients)
    expected = -LR * sum(momentum ** (k - 1 - i) * g for i, g in enumerate(gradients))
    onp.testing.assert_allclose(scratch.flat_weights(velocities), expected, rtol=1e-5, atol=1e-7)
    # and w, started at 0, is the sum of all velocities so far
    onp.testing.assert_allclose(scratch.flat_weights(params), travelled, rtol=1e-5, atol=1e-7)
    assert onp.abs(travelled).max() > 0.1


def test_scratch_inputs_are_validated():
    with pytest.raises(ValueError, match="num_inputs"):
        scratch.init_params(0)
    with pytest.raises(ValueError, match="momentum"):
        scratch.train_scratch(onp.zeros((4, 2)), onp.zeros(4), momentum=1.0)
    with pytest.raises(ValueError, match="learning rate"):
        scratch.train_scratch(onp.zeros((4, 2)), onp.zeros(4), lr=-0.1)
