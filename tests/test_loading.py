"""Mini-batches: every example once per epoch, a new order each epoch, a defined last batch."""
import math
import re

import mxnet as mx
import numpy as onp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gluon_lessons import devices, loading
from gluon_lessons.seeding import set_seed

PAIRS = [(1, 1), (7, 1), (7, 3), (10, 10), (10, 11), (1000, 10), (1001, 10), (999, 32), (64, 64), (65, 64)]


def _indexed(n):
    """Features and labels that name their example: row i is (i, -i), label i."""
    index = onp.arange(n, dtype=onp.float32)
    return onp.stack([index, -index], axis=1), index


def _epochs(batches, count):
    return [[batch[1].asnumpy().astype(int) for batch in batches] for _ in range(count)]


def _make(kind, n, batch_size, last_batch="keep"):
    X, y = _indexed(n)
    if kind == "gluon":
        return loading.data_loader(X, y, batch_size, last_batch=last_batch)
    return loading.ShuffledBatches(X, y, batch_size, last_batch=last_batch)


@pytest.mark.parametrize("kind", ["gluon", "fast"])
@pytest.mark.parametrize("n, batch_size", PAIRS)
def test_each_example_once_per_epoch_and_a_new_order(kind, n, batch_size):
    set_seed(0)
    batches = _make(kind, n, batch_size)
    epochs = _epochs(batches, 3)
    assert len(batches) == math.ceil(n / batch_size) == loading.num_batches(n, batch_size)
    for epoch in epochs:
        assert sorted(onp.concatenate(epoch).tolist()) == list(range(n))
        assert [len(b) for b in epoch[:-1]] == [batch_size] * (len(epoch) - 1)
        assert len(epoch[-1]) == n - (len(epoch) - 1) * batch_size
    orders = [onp.concatenate(epoch) for epoch in epochs]
    if n >= 7:  # 7! = 5040 orders: two equal shuffles are possible only for tiny n
        assert not onp.array_equal(orders[0], orders[1]) and not onp.array_equal(orders[1], orders[2])


@pytest.mark.parametrize("kind", ["gluon", "fast"])
@pytest.mark.parametrize("n, batch_size", [(7, 3), (1001, 10), (65, 64), (64, 64)])
def test_discard_drops_only_the_partial_batch(kind, n, batch_size):
    set_seed(1)
    batches = _make(kind, n, batch_size, last_batch="discard")
    epoch = _epochs(batches, 1)[0]
    assert len(epoch) == n // batch_size == len(batches)
    seen = onp.concatenate(epoch)
    assert all(len(b) == batch_size for b in epoch) and len(set(seen.tolist())) == len(seen)


@pytest.mark.parametrize("n, batch_size", [(1000, 10), (37, 5)])
def test_fast_batches_follow_the_data_loader_order_for_the_same_seed(n, batch_size):
    set_seed(3)
    plain = _epochs(_make("gluon", n, batch_size), 2)
    set_seed(3)
    fast = _epochs(_make("fast", n, batch_size), 2)
    for a, b in zip(plain, fast):
        assert all(onp.array_equal(x, y) for x, y in zip(a, b))


def test_features_stay_with_their_labels():
    set_seed(0)
    for X, y in _make("fast", 50, 7):
        onp.testing.assert_array_equal(X.asnumpy()[:, 0], y.asnumpy())
        onp.testing.assert_array_equal(X.asnumpy()[:, 1], -y.asnumpy())


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, True, "10"])
def test_bad_batch_sizes_are_refused(batch_size):
    X, y = _indexed(10)
    message = "batch_size: the batch size must be an integer >= 1, got %r" % (batch_size,)
    with pytest.raises(ValueError, match=re.escape(message)):
        loading.ShuffledBatches(X, y, batch_size)
    with pytest.raises(ValueError, match=re.escape(message)):
        loading.data_loader(X, y, batch_size)


def test_numpy_integers_are_batch_sizes():
    X, y = _indexed(10)
    assert len(loading.ShuffledBatches(X, y, onp.int64(3))) == 4 == loading.num_batches(onp.int32(10), onp.int64(3))


@pytest.mark.parametrize("make", [loading.ShuffledBatches, loading.data_loader])
def test_other_bad_input(make):
    X, y = _indexed(10)
    with pytest.raises(ValueError, match="rows"):
        make(X, y[:5], 2)
    with pytest.raises(ValueError, match="leaves no batch"):
        make(X, y, 11, last_batch="discard")
    with pytest.raises(ValueError, match="no examples"):
        make(X[:0], y[:0], 2)
    with pytest.raises(ValueError, match="last_batch"):
        loading.num_batches(10, 2, last_batch="rollover")


@pytest.mark.parametrize("make", [loading.ShuffledBatches, loading.data_loader])
@pytest.mark.parametrize("bad", [onp.nan, onp.inf, -onp.inf])
def test_nan_or_infinite_values_are_named(make, bad):
    X, y = _indexed(10)
    X[7, 1] = bad
    with pytest.raises(ValueError, match=r"features hold 1 NaN or infinite value\(s\), the first at row 7, column 1"):
        make(X, y, 2)
    X, y = _indexed(10)
    y[3] = bad
    with pytest.raises(ValueError, match=r"labels hold 1 NaN or infinite value\(s\), the first at row 3"):
        make(X, y, 2)


@pytest.mark.parametrize("make", [loading.ShuffledBatches, loading.data_loader])
def test_tables_without_features_or_of_text_are_refused(make):
    with pytest.raises(ValueError, match="at least one feature column, got shape \\(10, 0\\)"):
        make(onp.zeros((10, 0)), onp.zeros(10), 2)
    with pytest.raises(ValueError, match="table of examples x features"):
        make(onp.zeros(10), onp.zeros(10), 2)
    with pytest.raises(TypeError, match="features must be numbers"):
        make(onp.array([["1", "2"]] * 4), onp.zeros(4), 2)


@pytest.mark.parametrize("num_examples", [-5, 2.5, None])
def test_num_batches_refuses_impossible_counts(num_examples):
    with pytest.raises(ValueError, match="num_examples must be an integer >= 0"):
        loading.num_batches(num_examples, 2)
    assert loading.num_batches(0, 2) == 0


def test_the_device_may_be_named_in_text():
    X, y = _indexed(10)
    assert loading.ShuffledBatches(X, y, 2, ctx="cpu").features.ctx == mx.cpu(0)
    assert loading.ShuffledBatches(X, y, 2, ctx="cpu:1").features.ctx == mx.cpu(1)
    with pytest.raises(ValueError, match="ctx: the batches live on one device"):
        loading.ShuffledBatches(X, y, 2, ctx="cpu:0,cpu:1")
    with pytest.raises(ValueError, match="unknown device"):
        loading.ShuffledBatches(X, y, 2, ctx="tpu")
    # A GPU that MXNet does not see is refused with the way to get one, before any array is made.
    with pytest.raises(devices.DeviceError, match="gpu:%d requested" % devices.num_gpus()):
        loading.ShuffledBatches(X, y, 2, ctx="gpu:%d" % devices.num_gpus())


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 120), batch_size=st.integers(1, 130), last_batch=st.sampled_from(loading.LAST_BATCH),
       seed=st.integers(0, 2 ** 31))
def test_any_shape_visits_each_kept_example_once(n, batch_size, last_batch, seed):
    """Property: for any n and B, an epoch has num_batches(n, B) batches of B rows (the last may be short
    only when kept), no row twice, and every row when the partial batch is kept."""
    X, y = _indexed(n)
    if last_batch == "discard" and batch_size > n:
        with pytest.raises(ValueError, match="leaves no batch"):
            loading.ShuffledBatches(X, y, batch_size, last_batch=last_batch)
        return
    set_seed(seed)
    epoch = _epochs(loading.ShuffledBatches(X, y, batch_size, last_batch=last_batch), 1)[0]
    sizes = [len(b) for b in epoch]
    assert len(epoch) == loading.num_batches(n, batch_size, last_batch)
    assert all(size == batch_size for size in sizes[:-1]) and 0 < sizes[-1] <= batch_size
    seen = onp.concatenate(epoch).tolist()
    assert len(set(seen)) == len(seen)
    assert sorted(seen) == list(range(n)) if last_batch == "keep" else len(seen) == (n // batch_size) * batch_size
