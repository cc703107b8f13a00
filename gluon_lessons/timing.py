"""Wall-clock timing of MXNet work: warm-up excluded, `npx.waitall()` at every clock read, medians and ranges.

Lesson 6 (`gluon_lessons/lessons/lesson06_batch_time.py`) times updates and epochs with it.
"""
import math
import time

import numpy as onp
from mxnet import autograd, npx

from . import checks


def stopwatch(work):
    """(wall seconds, result) of `work()`; the clock starts and stops only after `npx.waitall()`."""
    npx.waitall()
    started = time.perf_counter()
    result = work()
    npx.waitall()  # MXNet runs asynchronously: stop the clock only when the work is done
    return time.perf_counter() - started, result


def median_seconds(work, repeats=5, warmup=1):
    """Median and all wall times of `work()` over `repeats` calls, after `warmup` untimed calls."""
    repeats = checks.integer("repeats", repeats, 1)
    for _ in range(warmup):
        work()
    times = [stopwatch(work)[0] for _ in range(repeats)]
    return float(onp.median(times)), times


def epoch_part_seconds(shuffle, updates, repeats=5, warmup=1):
    """Seconds of each part of an epoch, per repeat: `shuffle()` deals the epoch's arrays (X, y), then each
    `updates[name](X, y)` runs on them in turn. Returns {"shuffle": [...], name: [...]}; `warmup` rounds uncounted."""
    repeats = checks.integer("repeats", repeats, 1)
    for _ in range(warmup):
        X, y = shuffle()
        for run in updates.values():
            run(X, y)
        X = y = None
    times = {part: [] for part in ["shuffle", *updates]}
    for _ in range(repeats):
        X = y = None  # the last epoch's arrays go before the next are dealt: one shuffled copy at a time
        seconds, (X, y) = stopwatch(shuffle)
        times["shuffle"].append(seconds)
        for name, run in updates.items():
            times[name].append(stopwatch(lambda: run(X, y))[0])
    return times


def epoch_seconds(shuffle_seconds, update_seconds, timed_updates, updates_per_epoch):
    """An epoch from repeats of its shuffle and of `timed_updates` of its `updates_per_epoch` updates.

    Each repeat's epoch is its shuffle plus its updates scaled to a whole epoch (extrapolated when fewer
    were timed). Medians, and the range over the repeats as (lowest, highest).
    """
    shuffle_seconds, update_seconds = onp.asarray(shuffle_seconds, float), onp.asarray(update_seconds, float)
    if shuffle_seconds.shape != update_seconds.shape or update_seconds.ndim != 1 or not len(update_seconds):
        raise ValueError("need one shuffle time and one update time per repeat")
    timed_updates = checks.integer("timed_updates", timed_updates, 1)
    updates_per_epoch = checks.integer("updates_per_epoch", updates_per_epoch, timed_updates)
    per_update = update_seconds / timed_updates
    epochs = shuffle_seconds + per_update * updates_per_epoch
    return dict(timed_updates=timed_updates, extrapolated=timed_updates < updates_per_epoch,
                seconds_per_update=float(onp.median(per_update)),
                seconds_per_update_spread=(float(per_update.min()), float(per_update.max())),
                update_seconds_per_epoch=float(onp.median(per_update)) * updates_per_epoch,
                shuffle_seconds=float(onp.median(shuffle_seconds)),
                seconds_per_epoch=float(onp.median(epochs)),
                seconds_per_epoch_spread=(float(epochs.min()), float(epochs.max())))


def gluon_steps(step_loss_of, trainer, X, y, batch_size, num_updates):
    """`num_updates` autograd + `Trainer.step` updates on consecutive batches of the rows (X, y)."""
    batch_size = checks.integer("batch_size", batch_size, 1)
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
