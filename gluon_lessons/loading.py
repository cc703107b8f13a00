"""Mini-batches: Gluon's `DataLoader(shuffle=True)` as in the walkthrough, and a fast in-memory twin.

Lesson 2 (`gluon_lessons.lessons.lesson02_batches`) builds both and checks they mean the same.
"""

import math

import numpy as onp
from mxnet import gluon, np, npx

from . import checks, devices

npx.set_np()

LAST_BATCH = ("keep", "discard")


def check_count(value, name, minimum=1):
    """`value` as an int if it is an integer >= `minimum` (`checks.integer`), else ValueError naming it."""
    return checks.integer(name, value, minimum)


def check_batch_size(batch_size):
    return checks.integer("batch_size: the batch size", batch_size, 1)


def num_batches(num_examples, batch_size, last_batch="keep"):
    """Updates per epoch: ceil(n / B) when the last partial batch is kept, floor(n / B) when discarded."""
    checks.choice("last_batch", last_batch, LAST_BATCH)
    num_examples = checks.integer("num_examples", num_examples, 0)
    batch_size = check_batch_size(batch_size)
    return (
        math.ceil(num_examples / batch_size) if last_batch == "keep" else num_examples // batch_size
    )


def _numbers(values, name):
    """`values` as a NumPy array of numbers, or `TypeError` naming them."""
    values = values.asnumpy() if hasattr(values, "asnumpy") else onp.asarray(values)
    if values.dtype.kind not in "biuf":
        raise TypeError("%s must be numbers, got an array of %s" % (name, values.dtype))
    return values


def _check_finite(values, name):
    bad = onp.argwhere(~onp.isfinite(values))
    if len(bad):
        raise ValueError(
            "%s hold %d NaN or infinite value(s), the first at %s; remove or fill them before training"
            % (
                name,
                len(bad),
                "row %d" % bad[0][0] + ("" if values.ndim == 1 else ", column %d" % bad[0][1]),
            )
        )


def check_examples(features, labels, batch_size, last_batch="keep"):
    """Raise `ValueError` unless the data are a finite table with one label per row that gives at least one
    batch; return the batch size."""
    features, labels = _numbers(features, "features"), _numbers(labels, "labels")
    if features.ndim != 2 or features.shape[1] == 0:
        raise ValueError(
            "features must be a table of examples x features with at least one feature column, "
            "got shape %s" % (features.shape,)
        )
    if len(features) != len(labels) or labels.size != len(labels):
        raise ValueError(
            "features have %d rows but labels %d (one label per row)" % (len(features), labels.size)
        )
    if len(features) == 0:
        raise ValueError("no examples to batch")
    _check_finite(features, "features")
    _check_finite(labels.reshape(-1), "labels")
    if num_batches(len(features), batch_size, last_batch) == 0:
        raise ValueError(
            "batch size %d exceeds the %d examples and last_batch='discard' leaves no batch"
            % (batch_size, len(features))
        )
    return int(batch_size)


def one_device(ctx):
    """`ctx` (None, a context, or text such as 'cpu' or 'gpu:0') as one MXNet context, or None."""
    if ctx is None:
        return None
    contexts = devices.parse_ctx(ctx)
    if len(contexts) != 1:
        raise ValueError(
            "ctx: the batches live on one device, got %s" % ", ".join(devices.ctx_names(contexts))
        )
    return contexts[0]


def data_loader(features, labels, batch_size, shuffle=True, last_batch="keep"):
    """The walkthrough's iterator: `ArrayDataset` + `DataLoader`; shuffles with NumPy's global RNG.

    d2l's `load_array` (and `DataModule.get_tensorloader`) builds the same pair (lesson 2).
    """
    check_examples(features, labels, batch_size, last_batch)
    dataset = gluon.data.ArrayDataset(np.array(features), np.array(labels))
    return gluon.data.DataLoader(dataset, batch_size, shuffle=shuffle, last_batch=last_batch)


class ShuffledBatches:
    """Same meaning as `data_loader`: each epoch visits every example once, in a new order.

    The data are copied to `ctx` once; each epoch gathers one shuffled copy on the device and
    cuts batches from it as views, instead of fetching and stacking examples one by one.
    """

    def __init__(self, features, labels, batch_size, shuffle=True, last_batch="keep", ctx=None):
        self.batch_size = check_examples(features, labels, batch_size, last_batch)
        self.num_examples = len(features)
        self.shuffle = shuffle
        self.last_batch = last_batch
        ctx = one_device(ctx)
        self.features = np.array(features, dtype="float32", ctx=ctx)
        self.labels = np.array(labels, dtype="float32", ctx=ctx)

    def __len__(self):
        return num_batches(self.num_examples, self.batch_size, self.last_batch)

    def epoch_arrays(self):
        """One epoch's data in its visiting order (a new shuffle each call); batch i is rows i*B to (i+1)*B."""
        X, y = self.features, self.labels
        if self.shuffle:
            order = np.array(onp.random.permutation(self.num_examples), dtype="int32", ctx=X.ctx)
            X, y = np.take(X, order, axis=0), np.take(y, order, axis=0)
        return X, y

    def __iter__(self):
        X, y = self.epoch_arrays()
        for i in range(len(self)):
            start = i * self.batch_size
            yield X[start : start + self.batch_size], y[start : start + self.batch_size]
