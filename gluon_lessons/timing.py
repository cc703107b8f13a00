"""Wall-clock timing of MXNet work: warm-up excluded, `npx.waitall()` at every clock read, medians.

Lesson 6 (`gluon_lessons.lessons.lesson06_batch_time`) times updates with it; so does `benchmarks/`.
"""
import math
import time

import numpy as onp
from mxnet import autograd, npx

from . import loading


def median_seconds(work, repeats=5, warmup=1):
    """Median and all wall times of `work()` over `repeats` calls, after `warmup` untimed calls."""
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise ValueError("repeats must be an integer >= 1, got %r" % (repeats,))
    for _ in range(warmup):
        work()
    npx.waitall()
    times = []
    for _ in range(repeats):
        npx.waitall()
        started = time.perf_counter()
        work()
        npx.waitall()  # MXNet runs asynchronously: stop the clock only when the work is done
        times.append(time.perf_counter() - started)
    return float(onp.median(times)), times


def gluon_steps(step_loss_of, trainer, X, y, batch_size, num_updates):
    """`num_updates` autograd + `Trainer.step` updates on consecutive batches of the rows (X, y)."""
    batch_size = loading.check_batch_size(batch_size)
    for i in range(num_updates):
        X_batch, y_batch = X[i * batch_size:(i + 1) * batch_size], y[i * batch_size:(i + 1) * batch_size]
        with autograd.record():
            l = step_loss_of(X_batch, y_batch)
        l.backward()
        trainer.step(len(X_batch))


def overhead_and_slope(batch_sizes, seconds):
    """Fit seconds = overhead + per_example * B by least squares on relative error; return both."""
    batch_sizes, seconds = onp.asarray(batch_sizes, float), onp.asarray(seconds, float)
    if batch_sizes.shape != seconds.shape or len(seconds) < 2 or not onp.all(seconds > 0):
        raise ValueError("need at least two positive times, one per batch size")
    design = onp.stack([onp.ones_like(batch_sizes), batch_sizes], axis=1) / seconds[:, None]
    overhead, per_example = onp.linalg.lstsq(design, onp.ones_like(seconds), rcond=None)[0]
    return float(overhead), float(per_example)


def knee(overhead, per_example):
    """The batch size at which compute equals the fixed cost of an update (inf if compute is free)."""
    return overhead / per_example if per_example > 0 else math.inf
