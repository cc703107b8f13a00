"""Mini-batches: Gluon's `DataLoader(shuffle=True)` as in the walkthrough, and a fast in-memory twin.

Lesson 2 (`gluon_lessons.lessons.lesson02_batches`) builds both and checks they mean the same.
"""
import math

import numpy as onp
from mxnet import gluon, np, npx

npx.set_np()

LAST_BATCH = ("keep", "discard")


def check_batch_size(batch_size):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, onp.integer)) or batch_size < 1:
        raise ValueError("batch size must be an integer >= 1, got %r" % (batch_size,))
    return int(batch_size)


def num_batches(num_examples, batch_size, last_batch="keep"):
    """Updates per epoch: ceil(n / B) when the last partial batch is kept, floor(n / B) when discarded."""
    if last_batch not in LAST_BATCH:
        raise ValueError("last_batch must be one of %s, got %r" % (LAST_BATCH, last_batch))
    batch_size = check_batch_size(batch_size)
    return math.ceil(num_examples / batch_size) if last_batch == "keep" else num_examples // batch_size


def check_examples(features, labels, batch_size, last_batch="keep"):
    """Raise `ValueError` unless the data give at least one batch; return the batch size."""
    if len(features) != len(labels):
        raise ValueError("features have %d rows but labels %d" % (len(features), len(labels)))
    if len(features) == 0:
        raise ValueError("no examples to batch")
    if num_batches(len(features), batch_size, last_batch) == 0:
        raise ValueError("batch size %d exceeds the %d examples and last_batch='discard' leaves no batch"
                         % (batch_size, len(features)))
    return int(batch_size)


def data_loader(features, labels, batch_size, shuffle=True, last_batch="keep"):
    """The walkthrough's iterator: `ArrayDataset` + `DataLoader`; shuffles with NumPy's global RNG."""
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
            yield X[start:start + self.batch_size], y[start:start + self.batch_size]
