"""Mini-batches: every example once per epoch, a new order each epoch, a defined last batch."""
import math

import numpy as onp
import pytest

from gluon_lessons import loading
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
    with pytest.raises(ValueError, match="batch size"):
        loading.ShuffledBatches(X, y, batch_size)
    with pytest.raises(ValueError, match="batch size"):
        loading.data_loader(X, y, batch_size)


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
