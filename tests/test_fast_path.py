"""The fused fast path makes the same updates as autograd + Trainer.step, and falls back where it must.

Tolerance: both paths compute in float32. The fused graph writes the L2Loss gradient out by hand,
so its sums can be rounded in another order; over at most a few thousand updates of weights of
size ~4 the gap stays within rtol 1e-5 (about 100 float32 ulps). For plain SGD the two paths
were measured bit-identical; the tests ask only for the stated tolerance.
"""
import math

import mxnet as mx
import numpy as onp
import pytest
from mxnet import np

from gluon_lessons import data as house_data
from gluon_lessons import loading, model, recording, training
from gluon_lessons.seeding import set_seed

RTOL, ATOL = 1e-5, 1e-6

SETTINGS = [
    dict(),  # the walkthrough: batch 10, lr 0.03, 3 epochs
    dict(lr=0.003, momentum=0.9),
    dict(lr=0.003, momentum=0.9, optimizer="nag"),
    dict(batch_size=7, lr=0.01, momentum=0.5),  # 1000 = 142 * 7 + 6: a partial last batch every epoch
    dict(batch_size=1, num_epochs=1, lr=0.01),
    dict(batch_size=1000, num_epochs=30, lr=0.5, momentum=0.5),  # full batch
    dict(num_epochs=2, max_steps=130, momentum=0.9, lr=0.003),  # stops inside the second epoch
]


def _ids(settings):
    return ",".join("%s=%s" % kv for kv in settings.items()) or "walkthrough"


@pytest.mark.parametrize("settings", SETTINGS, ids=_ids)
def test_fused_path_equals_the_plain_dataloader_path(walkthrough, settings):
    fast = training.train_linear_regression(walkthrough, ctx="cpu", loader="fast", **settings)
    plain = training.train_linear_regression(walkthrough, ctx="cpu", loader="gluon", **settings)
    assert fast.history.path == "fused" and plain.history.path == "steps"
    onp.testing.assert_allclose(fast.weight, plain.weight, rtol=RTOL, atol=ATOL)
    assert fast.bias == pytest.approx(plain.bias, rel=RTOL, abs=ATOL)
    assert len(fast.history.step_loss) == len(plain.history.step_loss)
    onp.testing.assert_allclose(fast.history.step_loss, plain.history.step_loss, rtol=RTOL, atol=ATOL)
    onp.testing.assert_allclose(fast.history.epoch_loss, plain.history.epoch_loss, rtol=1e-4, atol=ATOL)


def test_fused_and_per_step_fast_loader_agree(walkthrough):
    fused = training.train_linear_regression(walkthrough, ctx="cpu", momentum=0.9, lr=0.003)
    steps = training.train_linear_regression(walkthrough, ctx="cpu", momentum=0.9, lr=0.003, fused=False)
    assert (fused.history.path, steps.history.path) == ("fused", "steps")
    onp.testing.assert_allclose(fused.weight, steps.weight, rtol=RTOL, atol=ATOL)


def _net_and_trainer(num_inputs, optimizer, lr, momentum):
    set_seed(3)
    net = model.linear_regression(mx.cpu(), num_inputs=num_inputs, hybrid=True)
    return net, training.make_trainer(net, optimizer, lr, momentum)


@pytest.mark.parametrize("optimizer", ["sgd", "nag"])
def test_the_trainer_keeps_the_same_momentum_state_and_can_continue(walkthrough, optimizer):
    """After a fused fit the Trainer's state is the velocity a per-step fit leaves; training goes on from it."""
    runs = {}
    for fused in (True, False):
        net, trainer = _net_and_trainer(2, optimizer, 0.003, 0.9)
        set_seed(4)
        batches = loading.ShuffledBatches(walkthrough.features, walkthrough.labels, 10)
        first = training.fit(net, batches, trainer, 1, fused=fused)
        states = [recording.optimizer_state(trainer, p).asnumpy().copy() for p in recording.dense_parameters(net)]
        second = training.fit(net, batches, trainer, 1, fused=fused)
        runs[fused] = (first.path, second.path, states, onp.append(*model.extract_weights(net)))
    assert runs[True][:2] == ("fused", "fused") and runs[False][:2] == ("steps", "steps")
    for fused_state, step_state in zip(runs[True][2], runs[False][2]):
        assert onp.abs(fused_state).max() > 0
        onp.testing.assert_allclose(fused_state, step_state, rtol=1e-4, atol=1e-7)
    onp.testing.assert_allclose(runs[True][3], runs[False][3], rtol=RTOL, atol=ATOL)


def test_on_step_and_several_devices_take_the_per_step_path(walkthrough):
    seen = []
    watched = training.train_linear_regression(walkthrough, ctx="cpu", on_step=lambda info: seen.append(info.step))
    assert watched.history.path == "steps" and "on_step" in watched.history.why_not_fused
    assert len(seen) == 300 and seen[:3] == [1, 2, 3]
    plain = training.train_linear_regression(walkthrough, ctx="cpu")
    onp.testing.assert_allclose(watched.weight, plain.weight, rtol=RTOL, atol=ATOL)
    spread = training.train_linear_regression(walkthrough, ctx="cpu:0,cpu:1")
    assert spread.history.path == "steps" and "several devices" in spread.history.why_not_fused
    onp.testing.assert_allclose(spread.weight, plain.weight, rtol=1e-4, atol=1e-5)


def test_big_batches_of_many_features_step_through_autograd():
    wide = house_data.synthetic_house_prices(600, true_w=onp.linspace(-1, 1, 500), noise=0.1)
    assert not training.fused_suits(600, 500) and training.fused_suits(10, 500)
    result = training.train_linear_regression(wide, batch_size=600, num_epochs=1, ctx="cpu", lr=0.01)
    assert result.history.path == "steps" and "big batches" in result.history.why_not_fused
    forced = training.train_linear_regression(wide, batch_size=600, num_epochs=1, ctx="cpu", lr=0.01, fused=True)
    assert forced.history.path == "fused"
    onp.testing.assert_allclose(forced.weight, result.weight, rtol=1e-4, atol=1e-6)


def test_fused_true_refuses_what_it_cannot_do_and_bad_values_are_refused(walkthrough):
    with pytest.raises(ValueError, match="fused=True is not possible here: on_step"):
        training.train_linear_regression(walkthrough, fused=True, on_step=lambda info: None)
    with pytest.raises(ValueError, match="fused must be"):
        training.train_linear_regression(walkthrough, fused="yes")
    net = model.linear_regression(mx.cpu(), 2, hybrid=True)
    with pytest.raises(ValueError, match="num_steps must be an integer in 1..100"):
        training.LinearUpdates(net, 10).run(walkthrough.features, walkthrough.labels, 101)
    with pytest.raises(ValueError, match="lrs must hold 5"):
        training.LinearUpdates(net, 10).run(walkthrough.features, walkthrough.labels, 5, lrs=[0.1] * 4)
    two_layers = mx.gluon.nn.HybridSequential()
    two_layers.add(mx.gluon.nn.Dense(3, in_units=2), mx.gluon.nn.Dense(1, in_units=3))
    with pytest.raises(ValueError, match="one Dense"):
        training.LinearUpdates(two_layers, 10)


def test_a_learning_rate_per_step_and_the_recorded_path(walkthrough):
    """`lrs` and `record`: each recorded (w, b) is one plain SGD step from the previous, in float64."""
    features, labels = walkthrough.features[:60], walkthrough.labels[:60]
    net = model.linear_regression(mx.cpu(), 2, hybrid=True)
    start = onp.append(*model.extract_weights(net)).astype(onp.float64)
    lrs = onp.linspace(0.01, 0.1, 6)
    losses, path = training.LinearUpdates(net, 10).run(features, labels, 6, lrs=lrs, record=True)
    path = path.asnumpy().astype(onp.float64)
    expected, previous = [], start
    X = onp.hstack([features.astype(onp.float64), onp.ones((60, 1))])
    for k in range(6):
        rows = slice(10 * k, 10 * k + 10)
        residual = X[rows] @ previous - labels[rows]
        expected.append(0.5 * onp.mean(residual ** 2))
        previous = previous - lrs[k] * X[rows].T @ residual / 10
        onp.testing.assert_allclose(path[k], previous, rtol=1e-5, atol=1e-6)
    onp.testing.assert_allclose(losses.asnumpy(), expected, rtol=1e-5)
    onp.testing.assert_allclose(onp.append(*model.extract_weights(net)), path[-1], rtol=1e-6)


def test_epoch_arrays_are_the_epoch_that_iteration_visits():
    X = onp.arange(40, dtype=onp.float32).reshape(20, 2)
    y = onp.arange(20, dtype=onp.float32)
    batches = loading.ShuffledBatches(X, y, 6)
    set_seed(1)
    shuffled = batches.epoch_arrays()[1].asnumpy()
    set_seed(1)
    visited = onp.concatenate([b[1].asnumpy() for b in batches])
    assert onp.array_equal(shuffled, visited) and sorted(visited.tolist()) == list(range(20))
    assert math.ceil(20 / 6) == len(batches) == loading.num_batches(20, 6)
