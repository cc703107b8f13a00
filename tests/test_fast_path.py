"""The fused path (`fused.fit_linear`) makes the same updates as the plain loop `training.fit`.

Tolerance: both paths compute in float32, in another order. The graph folds 1/B into the learning
rate (lr/B · Σg against MXNet's lr · (Σg/B)), computes x·w + b with batch_dot instead of FullyConnected,
and writes NAG's update as two expressions where MXNet has one: each step may round differently by an
ulp, and stable SGD contracts such differences instead of adding them up. Measured over the settings
below (3 to 30 epochs): sgd weights at most 1 float32 ulp apart, nag at most 4. Asserted: within
ULPS = 16 ulps of the plain loop's weights. Batch losses are ½·mean(r²) of residuals r = x·w + b − y
whose rounding error is about ε·(|x||w| + |b| + |y|), a large relative error when r is tiny near the
optimum: they are held to rtol 1e-5 with atol 1e-6.
"""
import math
import re

import mxnet as mx
import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons import fused, loading, model, recording, training
from gluon_lessons.seeding import set_seed
from gluon_lessons.shell import train as shell_train

RTOL, ATOL = 1e-5, 1e-6
ULPS = 16


def assert_within_ulps(found, expected, ulps=ULPS):
    """Each float32 value of `found` within `ulps` units in the last place of `expected`'s."""
    expected = onp.asarray(expected, onp.float32)
    gap = onp.abs(onp.asarray(found, onp.float64) - expected) / onp.spacing(onp.abs(expected))
    assert gap.max() <= ulps, f"{gap.max():.0f} ulps apart (allowed {ulps}): {found} against {expected}"

SETTINGS = [
    dict(),  # the walkthrough: batch 10, lr 0.03, 3 epochs
    dict(lr=0.003, momentum=0.9),
    dict(lr=0.003, momentum=0.9, optimizer="nag"),
    dict(batch_size=7, lr=0.01, momentum=0.5),  # 1000 = 142 * 7 + 6: a partial last batch every epoch
    dict(batch_size=7, lr=0.01, momentum=0.5, optimizer="nag"),
    dict(batch_size=1, num_epochs=1, lr=0.01),
    dict(batch_size=1000, num_epochs=30, lr=0.5, momentum=0.5),  # full batch
    dict(num_epochs=2, max_steps=130, momentum=0.9, lr=0.003),  # stops inside the second epoch
]


def _ids(settings):
    return ",".join("%s=%s" % kv for kv in settings.items()) or "walkthrough"


def _params(result):
    return onp.append(result.weight, result.bias)


@pytest.mark.parametrize("settings", SETTINGS, ids=_ids)
def test_fused_path_equals_the_plain_loop(walkthrough, settings):
    fast = shell_train.train_linear_regression(walkthrough, ctx="cpu", path="fused", **settings)
    plain = training.train_linear_regression(walkthrough, ctx="cpu", loader="gluon", **settings)
    assert fast.history.path == "fused" and plain.history.path == "steps"
    assert_within_ulps(_params(fast), _params(plain))
    assert len(fast.history.step_loss) == len(plain.history.step_loss)
    onp.testing.assert_allclose(fast.history.step_loss, plain.history.step_loss, rtol=RTOL, atol=ATOL)
    onp.testing.assert_allclose(fast.history.epoch_loss, plain.history.epoch_loss, rtol=1e-4, atol=ATOL)
    assert fast.history.start_loss == plain.history.start_loss


@pytest.mark.parametrize("graph", ["table", "steps"])
@pytest.mark.parametrize("settings", SETTINGS[:5], ids=_ids)
def test_steps_written_out_equal_the_plain_loop_too(walkthrough, settings, graph, monkeypatch):
    """With 2 features the graph composes its steps as matrix products (`_Scan`); with that turned off it
    writes them out one by one, on rows [x, 1, y] for small batches (`_Table`) or plainly for large ones
    (`_Steps`): each stays within ULPS."""
    monkeypatch.setattr(fused, "SCAN_MAX_FEATURES", 0)
    if graph == "steps":
        monkeypatch.setattr(fused, "TABLE_MAX_NUMBERS", 0)
    chosen = []
    monkeypatch.setattr(fused, "_graph_kind", lambda *args, kind=fused._graph_kind, **kw: chosen.append(
        kind(*args, **kw)) or chosen[-1])
    fast = shell_train.train_linear_regression(walkthrough, ctx="cpu", path="fused", **settings)
    plain = training.train_linear_regression(walkthrough, ctx="cpu", loader="gluon", **settings)
    assert set(chosen) == {graph}
    assert_within_ulps(_params(fast), _params(plain))
    onp.testing.assert_allclose(fast.history.step_loss, plain.history.step_loss, rtol=RTOL, atol=ATOL)


def test_the_ulps_bound_tells_a_different_run(walkthrough):
    """The bound is tight enough to see another shuffle: the same run with another seed lands elsewhere."""
    fast = shell_train.train_linear_regression(walkthrough, ctx="cpu", path="fused", seed=0)
    other = training.train_linear_regression(walkthrough, ctx="cpu", seed=1)
    with pytest.raises(AssertionError, match="ulps apart"):
        assert_within_ulps(_params(fast), _params(other))


def test_fused_and_plain_loop_on_the_same_fast_batches(walkthrough):
    fast = shell_train.train_linear_regression(walkthrough, ctx="cpu", momentum=0.9, lr=0.003, path="fused")
    steps = training.train_linear_regression(walkthrough, ctx="cpu", momentum=0.9, lr=0.003)
    assert (fast.history.path, steps.history.path) == ("fused", "steps")
    assert_within_ulps(_params(fast), _params(steps))


@pytest.mark.parametrize("optimizer", ["sgd", "nag"])
def test_the_fused_momentum_state_is_the_trainers_velocity(walkthrough, optimizer):
    """`LinearUpdates` keeps its own state; after an epoch it holds what the Trainer holds after `fit`."""
    runs = []
    for use_fit in (True, False):
        set_seed(3)
        net = model.linear_regression(mx.cpu(), num_inputs=2, hybrid=True)
        set_seed(4)
        batches = loading.ShuffledBatches(walkthrough.features, walkthrough.labels, 10)
        if use_fit:
            trainer = training.make_trainer(net, optimizer, 0.003, 0.9)
            training.fit(net, batches, trainer, 1)
            states = [recording.optimizer_state(trainer, p) for p in recording.dense_parameters(net)]
        else:
            updates = fused.LinearUpdates(net, 10, 0.003, 0.9, optimizer)
            updates.run(*batches.epoch_arrays())
            states = updates.states
        runs.append(([s.asnumpy().copy() for s in states], onp.append(*model.extract_weights(net))))
    (fit_states, fit_params), (own_states, own_params) = runs
    for fit_state, own_state in zip(fit_states, own_states):
        assert onp.abs(fit_state).max() > 0
        onp.testing.assert_allclose(own_state, fit_state, rtol=1e-4, atol=1e-7)
    onp.testing.assert_allclose(own_params, fit_params, rtol=RTOL, atol=ATOL)


def test_what_the_learner_edits_in_fit_is_what_runs(walkthrough, monkeypatch):
    """Lesson 4 asks to change `trainer.step(batch_size)` to `trainer.step(1)` in `fit`: the plain path
    must follow such an edit (here made by wrapping Trainer.step), the fused path, which has no Trainer, not."""
    before = {path: shell_train.train_linear_regression(walkthrough, num_epochs=1, path=path, lr=0.003)
              for path in ("steps", "fused")}
    gluon_before = training.train_linear_regression(walkthrough, num_epochs=1, loader="gluon", lr=0.003)
    original = mx.gluon.Trainer.step
    monkeypatch.setattr(mx.gluon.Trainer, "step", lambda self, batch_size, **kw: original(self, 1, **kw))
    after = {path: shell_train.train_linear_regression(walkthrough, num_epochs=1, path=path, lr=0.003)
             for path in ("steps", "fused")}
    gluon_after = training.train_linear_regression(walkthrough, num_epochs=1, loader="gluon", lr=0.003)
    # step(1) makes each update 10 times larger: the weights land somewhere else (here, nearer the truth).
    for one, other in ((before["steps"], after["steps"]), (gluon_before, gluon_after)):
        assert onp.abs(_params(one) - _params(other)).max() > 1e-2
    assert onp.array_equal(_params(before["fused"]), _params(after["fused"]))


def test_the_path_is_chosen_explicitly_and_checked(walkthrough):
    with pytest.raises(ValueError, match="path must be"):
        shell_train.train_linear_regression(walkthrough, path="auto")
    for settings in (dict(loader="gluon"), dict(ctx="cpu:0,cpu:1")):
        with pytest.raises(ValueError, match="path='fused' needs"):
            shell_train.train_linear_regression(walkthrough, path="fused", **settings)
    net = model.linear_regression(mx.cpu(), 2, hybrid=True)
    with pytest.raises(TypeError, match="ShuffledBatches"):
        fused.fit_linear(net, loading.data_loader(walkthrough.features, walkthrough.labels, 10), 1)
    far = loading.ShuffledBatches(walkthrough.features, walkthrough.labels, 10, ctx=mx.cpu(1))
    with pytest.raises(ValueError, match="one device"):
        fused.fit_linear(net, far, 1)


def test_both_paths_stop_a_diverging_run_alike(walkthrough):
    steps = []
    for path in ("steps", "fused"):
        with pytest.raises(training.DivergenceError, match=r"diverged at epoch 1, step (\d+) .*smaller learning rate"
                           ) as error:
            shell_train.train_linear_regression(walkthrough, lr=5.0, path=path)
        steps.append(int(re.search(r"step (\d+)", str(error.value)).group(1)))
    # The plain loop sums a batch's losses before dividing by B, the fused graph averages: in float32 the
    # sum overflows to inf up to one step before the mean does.
    assert abs(steps[0] - steps[1]) <= 1


def test_big_batches_of_many_features_suit_the_plain_loop_and_agree():
    wide = house_data.synthetic_house_prices(600, true_w=onp.linspace(-1, 1, 500), noise=0.1)
    assert not fused.fused_suits(600, 500) and fused.fused_suits(10, 500)
    steps = training.train_linear_regression(wide, batch_size=600, num_epochs=1, ctx="cpu", lr=0.01)
    fast = shell_train.train_linear_regression(wide, batch_size=600, num_epochs=1, ctx="cpu", lr=0.01, path="fused")
    assert fast.history.path == "fused"
    onp.testing.assert_allclose(_params(fast), _params(steps), rtol=1e-4, atol=1e-6)


def test_linear_updates_refuse_what_they_cannot_do(walkthrough):
    net = model.linear_regression(mx.cpu(), 2, hybrid=True)
    with pytest.raises(ValueError, match=r"num_steps .*must be an integer in \[1, 100\], got 101"):
        fused.LinearUpdates(net, 10).run(walkthrough.features, walkthrough.labels, 101)
    with pytest.raises(ValueError, match="lrs must hold 5"):
        fused.LinearUpdates(net, 10).run(walkthrough.features, walkthrough.labels, 5, lrs=[0.1] * 4)
    two_layers = mx.gluon.nn.HybridSequential()
    two_layers.add(mx.gluon.nn.Dense(3, in_units=2), mx.gluon.nn.Dense(1, in_units=3))
    with pytest.raises(ValueError, match="one Dense"):
        fused.LinearUpdates(two_layers, 10)
    with pytest.raises(ValueError, match="activation"):
        fused.LinearUpdates(mx.gluon.nn.Dense(1, in_units=2, activation="relu"), 10)
    spread = model.linear_regression([mx.cpu(0), mx.cpu(1)], 2, hybrid=True)
    with pytest.raises(ValueError, match="one device"):
        fused.LinearUpdates(spread, 10)


def test_a_learning_rate_per_step_and_the_recorded_path(walkthrough):
    """`lrs` and `record`: each recorded (w, b) is one plain SGD step from the previous, in float64."""
    features, labels = walkthrough.features[:60], walkthrough.labels[:60]
    net = model.linear_regression(mx.cpu(), 2, hybrid=True)
    start = onp.append(*model.extract_weights(net)).astype(onp.float64)
    lrs = onp.linspace(0.01, 0.1, 6)
    losses, path = fused.LinearUpdates(net, 10).run(features, labels, 6, lrs=lrs, record=True)
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


def test_without_eval_data_the_guard_counts_predicting_zero_as_fit_does(walkthrough):
    """Both paths floor the guard's start at the loss of predicting 0 on the first 10 batches."""
    zero = []
    for path in ("steps", "fused"):
        set_seed(5)
        net = model.linear_regression(mx.cpu(), num_inputs=2, hybrid=True)
        batches = loading.ShuffledBatches(walkthrough.features, walkthrough.labels, 10)
        if path == "steps":
            history = training.fit(net, batches, training.make_trainer(net, "sgd", 0.03), 1, progress=False)
        else:
            history = fused.fit_linear(net, batches, 1, 0.03, progress=False)
        zero.append(history.batch_zero_loss)
    set_seed(5)
    first = onp.random.permutation(1000)[:100]  # the first epoch's first 10 batches of 10
    expected = 0.5 * onp.mean(walkthrough.labels.ravel()[first].astype(onp.float64) ** 2)
    onp.testing.assert_allclose(zero, [expected, expected], rtol=1e-6)


def test_the_examples_check_compares_every_number(walkthrough, monkeypatch):
    """The full-data losses come from the batches' device copy only when eval_data are its examples:
    the same numbers in float32 or float64 are, one number changed anywhere (here the last) is not."""
    features, labels = walkthrough.features, walkthrough.labels
    batches = loading.ShuffledBatches(features, labels, 10)
    for block_bytes in (80, 2**20):  # 10 rows a block, and all rows in one
        assert fused._holds_the_examples(batches, (features, labels), block_bytes)
        assert fused._holds_the_examples(batches, (features.astype(onp.float64), labels), block_bytes)
        for changed in (features.copy(), labels.copy()):
            changed.reshape(-1)[-1] += 1.0
            data = (changed, labels) if changed.shape == features.shape else (features, changed)
            assert not fused._holds_the_examples(batches, data, block_bytes)
    assert not fused._holds_the_examples(batches, (features[:-1], labels[:-1]))


def test_eval_data_other_than_the_batches_are_evaluated_as_given(walkthrough):
    """With a label changed in eval_data only, the epoch losses are those of eval_data, not the batches'."""
    changed = walkthrough.labels.copy()
    changed[-1] += 100.0
    set_seed(2)
    net = model.linear_regression(mx.cpu(), num_inputs=2, hybrid=True)
    batches = loading.ShuffledBatches(walkthrough.features, walkthrough.labels, 10)
    history = fused.fit_linear(net, batches, 2, 0.03, eval_data=(walkthrough.features, changed),
                               progress=False)
    given, _ = training.full_data_loss(net, model.l2_loss(), (walkthrough.features, changed), mx.cpu())
    batches_own, _ = training.full_data_loss(net, model.l2_loss(),
                                             (walkthrough.features, walkthrough.labels), mx.cpu())
    assert history.epoch_loss[-1] == pytest.approx(given(), rel=1e-6)
    assert abs(history.epoch_loss[-1] - batches_own()) > 1.0  # 100² / 2 / 1000 = 5 apart


@pytest.mark.parametrize("settings", [dict(num_epochs=3, momentum=0.9, lr=0.003),
                                      dict(num_epochs=3, max_steps=130, momentum=0.9, lr=0.003),
                                      dict(num_epochs=3, lr=5.0)], ids=["3 epochs", "max_steps", "diverges"])
def test_orders_drawn_an_epoch_ahead_are_fits_and_leave_numpy_where_fit_does(walkthrough, settings,
                                                                             monkeypatch):
    """Drawn ahead (as for large data, here forced), the orders are still `fit`'s: the same weights,
    and NumPy's generator ends where `fit` leaves it, also when max_steps or divergence stop the run."""
    monkeypatch.setattr(fused, "DRAW_AHEAD_MIN", 0)
    results, next_draws = {}, {}
    for path in ("steps", "fused"):
        try:
            results[path] = shell_train.train_linear_regression(walkthrough, ctx="cpu", path=path,
                                                                **settings)
        except training.DivergenceError:
            results[path] = None
        next_draws[path] = onp.random.random()
    assert next_draws["steps"] == next_draws["fused"]
    if settings["lr"] < 1:
        assert_within_ulps(_params(results["fused"]), _params(results["steps"]))
    else:
        assert results == {"steps": None, "fused": None}
    monkeypatch.setattr(fused, "DRAW_AHEAD_MIN", 10**9)  # the flip: drawn when the epoch starts
    set_seed(0)
    shell_train.train_linear_regression(walkthrough, ctx="cpu", path="fused", num_epochs=1)
    once = onp.random.random()
    set_seed(0)
    onp.random.permutation(1000)
    assert once == onp.random.random()
