"""Lesson 6 — Batch size and time: seconds per update and per epoch.

What you will see: the lecture's table (batch sizes 1 to 60000 on a data set the size of MNIST)
measured on this machine: how long one update takes and how long one epoch takes; a fit of
"time per update = fixed cost + cost per example × B" that tells where the flat region ends;
and why that flat region is wide on a GPU and narrow on a CPU.

Run it:  gluon-lessons run batch-time        (or: python -m gluon_lessons.lessons.lesson06_batch_time)
"""
# %% [markdown]
# ## Setup
# The lecture times MNIST: 60000 training images of 28×28 = 784 pixels. We keep the house-price
# story and give every listing a 28×28 floor-plan raster, 784 numbers, so one example costs
# 784 multiply-adds forward and as many backward, as a one-layer model of MNIST would.
# Settings, with units:
# %%
import math

import numpy as onp

from gluon_lessons import data as house_data
from gluon_lessons import devices, fused, loading, model, plots, timing, training
from gluon_lessons.lessons._common import heading, lesson_main, output_dir
from gluon_lessons.seeding import set_seed

SLUG = "batch-time"
NUM_EXAMPLES = 60000  # listings, as many as MNIST's training images
NUM_FEATURES = 784  # 28 x 28 floor-plan pixels per listing
BATCH_SIZES = (1, 10, 100, 1000, 10000, 60000)  # the lecture's table
LR = 1e-4  # small enough that B = 1 stays finite (lr * |x|^2 ~ 0.08 < 2); we only time here
TIMED_UPDATES = 1000  # at most this many updates per timing of the fused path; an epoch beyond is extrapolated
TIMED_GLUON_UPDATES = 200  # the same for the slower autograd + Trainer.step path
REPEATS = 5  # timings per batch size; the median is reported
BIG_BATCH_REPEATS = 3  # for batches of 10000 and more, where one update is already long


# %% [markdown]
# ## The data
# Price = floor plan · w + b + noise, with standardized pixels. The weights do not matter for
# timing; the shape does: 60000 × 784 float32 numbers are 188 MB, which every epoch reads once.
# %%
def listings(num_examples=NUM_EXAMPLES, num_features=NUM_FEATURES, seed=0):
    """House listings with `num_features` standard-normal floor-plan pixels and a price.

    Drawn directly in float32: `data.synthetic_house_prices` draws float64 first, which for 47
    million numbers takes seconds this lesson would rather spend timing.
    """
    rng = onp.random.default_rng(seed)
    true_w = rng.normal(0.0, 1.0 / math.sqrt(num_features), num_features).astype(onp.float32)
    features = rng.standard_normal((num_examples, num_features), dtype=onp.float32)
    labels = features @ true_w + onp.float32(4.2) + rng.standard_normal(num_examples, dtype=onp.float32) * 0.1
    names = house_data.feature_names(num_features)
    return house_data.HouseData(features, labels, names, tuple(true_w.tolist()), 4.2, 0.1, seed)


# %% [markdown]
# ## How we time
# MXNet runs asynchronously: a call returns before the work is done. So every clock read comes
# after `npx.waitall()`; each timing is repeated and the median kept; the first run (which
# compiles graphs and allocates memory) is not counted. Two ways to update are timed:
#
# - the course's default path: `fused.LinearUpdates`, many updates per compiled graph;
# - autograd + `Trainer.step`, one update at a time, as the walkthrough writes it (hybridized).
#
# An epoch of small batches holds thousands of updates; we time at most `TIMED_UPDATES` of them
# and multiply by the updates per epoch (said so in the table). The shuffle — gathering one
# permuted copy of the data — is timed on its own and added to every epoch.
# %%
def time_shuffle(batches, repeats=REPEATS):
    """Seconds to draw one epoch's shuffled copy of the data."""
    return timing.median_seconds(batches.epoch_arrays, repeats)[0]


def time_fused(net, X, y, batch_size, num_updates, repeats):
    """Median seconds for `num_updates` fused updates on the rows (X, y)."""
    updates = fused.LinearUpdates(net, batch_size, lr=LR)
    return timing.median_seconds(lambda: updates.run(X, y, num_updates), repeats)[0]


def time_gluon(net, X, y, batch_size, num_updates, repeats):
    """Median seconds for `num_updates` autograd + `Trainer.step` updates on the rows (X, y)."""
    step_loss_of = training.WithLoss(net, model.l2_loss())
    step_loss_of.hybridize(static_alloc=True, static_shape=True)
    trainer = training.make_trainer(net, "sgd", LR)
    return timing.median_seconds(
        lambda: timing.gluon_steps(step_loss_of, trainer, X, y, batch_size, num_updates), repeats)[0]


def measure(house, batch_sizes, ctx, timed_updates=TIMED_UPDATES, timed_gluon_updates=TIMED_GLUON_UPDATES,
            repeats=REPEATS):
    """Seconds per update and per epoch for each batch size, both paths; see `How we time`."""
    net = model.linear_regression(ctx, num_inputs=house.num_features, hybrid=True)
    batches = loading.ShuffledBatches(house.features, house.labels, 1, ctx=ctx)
    X, y = batches.epoch_arrays()
    shuffle = time_shuffle(batches)
    rows = []
    for batch_size in batch_sizes:
        per_epoch = loading.num_batches(house.num_examples, batch_size)
        reps = BIG_BATCH_REPEATS if batch_size >= 10000 else repeats
        row = dict(batch_size=batch_size, updates_per_epoch=per_epoch,
                   default="fused" if fused.fused_suits(batch_size, house.num_features) else "gluon")
        for path, timer, cap in (("fused", time_fused, timed_updates), ("gluon", time_gluon, timed_gluon_updates)):
            timed = min(per_epoch, cap)
            seconds = timer(net, X, y, batch_size, timed, reps)
            # A whole epoch's updates include the last, partial batch; a part of one holds full batches only.
            row[path] = dict(timed_updates=timed, extrapolated=timed < per_epoch,
                             seconds_per_update=seconds / timed,
                             seconds_per_epoch=shuffle + seconds * per_epoch / timed)
        row["default_path"] = row[row["default"]]
        rows.append(row)
    return rows, shuffle


# %% [markdown]
# ## Fixed cost and cost per example
# If an update costs a fixed time (Python, the engine, launching the graph) plus a time per
# example, t(B) = overhead + per_example · B. While B · per_example is small next to the
# overhead, t is flat: a bigger batch is almost free. The flat region ends near
# B = overhead / per_example, the knee. An epoch takes ⌈N/B⌉ · t(B): it falls like 1/B while t is
# flat, and stops falling after the knee, where an epoch costs N · per_example whatever B is.
# %%
def fit_paths(rows):
    """(overhead seconds, seconds per example, knee batch size) for each path."""
    fits = {}
    for path in ("fused", "gluon"):
        overhead, per_example = timing.overhead_and_slope(
            [r["batch_size"] for r in rows], [r[path]["seconds_per_update"] for r in rows])
        fits[path] = dict(overhead=overhead, per_example=per_example, knee=timing.knee(overhead, per_example))
    return fits


def print_table(rows, num_examples):
    print("  %7s %8s  %12s %12s  %12s %12s   %s" % ("batch", "updates", "fused", "Gluon step", "fused",
                                                   "Gluon step", "default"))
    print("  %7s %8s  %25s  %25s" % ("", "", "seconds per update", "seconds per epoch"))
    for r in rows:
        per_update = ["%12.3g" % r[path]["seconds_per_update"] for path in ("fused", "gluon")]
        per_epoch = ["%11.3g%s" % (r[path]["seconds_per_epoch"], "*" if r[path]["extrapolated"] else " ")
                     for path in ("fused", "gluon")]
        print("  %7d %8d  %s %s  %s %s   %s" % (r["batch_size"], r["updates_per_epoch"], *per_update, *per_epoch,
                                             r["default"]))
    print("  (* extrapolated from the timed updates; an epoch is %d examples plus one shuffle)" % num_examples)


# %% [markdown]
# ## Which path is the default
# The fused graph writes the gradient out by hand with a general matrix product; FullyConnected's
# own backward pass (what autograd runs) is a tuned kernel and costs less per example. So `fit`
# fuses small batches, where the fixed cost dominates, and steps through autograd + `Trainer.step`
# once a batch holds more than `fused.FUSED_MAX_BATCH_NUMBERS` numbers (column "default").
#
# ## CPU and GPU
# The lecture's table comes from a GPU. There a batch's examples are spread over thousands of
# cores, so per_example is tiny and t(B) stays flat up to batches of thousands: the flat region
# is parallelism. On a CPU with a few cores, per_example is larger and the flat region is only
# the fixed overhead: the slower the framework's per-update path, the *longer* that region. The
# same code runs on a GPU with `--ctx`-style `ctx="gpu"` when MXNet sees one (`mxnet-cu117`).
# %%
def run(out_dir=None, seed=0, quick=False, num_examples=NUM_EXAMPLES, num_features=NUM_FEATURES,
        batch_sizes=BATCH_SIZES, ctx="auto", check_epoch=True):
    """Time updates and epochs for each batch size; return the findings."""
    set_seed(seed)
    out = output_dir(SLUG, out_dir)
    contexts = devices.parse_ctx(ctx)
    if len(contexts) != 1:
        raise ValueError("lesson 6 times one device, got %s" % ", ".join(devices.ctx_names(contexts)))
    if quick:
        num_examples, num_features, batch_sizes = 6000, 196, (1, 10, 100, 1000, 6000)
    batch_sizes = tuple(loading.check_batch_size(b) for b in batch_sizes)
    if max(batch_sizes) > num_examples:
        raise ValueError("batch sizes must not exceed the %d examples, got %d" % (num_examples, max(batch_sizes)))
    house = listings(num_examples, num_features, seed)
    device = devices.ctx_names(contexts)[0]

    heading("Time per update and per epoch: %d examples × %d features on %s" % (num_examples, num_features, device))
    rows, shuffle = measure(house, batch_sizes, contexts[0], timed_updates=200 if quick else TIMED_UPDATES,
                            timed_gluon_updates=50 if quick else TIMED_GLUON_UPDATES, repeats=3 if quick else REPEATS)
    print_table(rows, num_examples)
    print("  shuffling one epoch (a permuted copy of the data) takes %.3g s, included in every epoch" % shuffle)

    heading("Fixed cost and cost per example: t(B) = overhead + per_example × B")
    fits = fit_paths(rows)
    for path, label in (("fused", "fused updates"), ("gluon", "autograd + Trainer.step")):
        f = fits[path]
        print("  %-24s overhead %8.3g s   per example %8.3g s   knee B ≈ %.0f" % (label, f["overhead"], f["per_example"], f["knee"]))

    check = None
    if check_epoch and not quick and 10 in batch_sizes:
        heading("Is the extrapolation honest? One whole epoch at batch size 10, timed")
        batches = loading.ShuffledBatches(house.features, house.labels, 10, ctx=contexts[0])
        net = model.linear_regression(contexts[0], num_inputs=num_features, hybrid=True)
        updates = fused.LinearUpdates(net, 10, lr=LR)  # its graphs were compiled while timing batch 10
        measured = timing.median_seconds(lambda: updates.run(*batches.epoch_arrays()), repeats=2, warmup=0)[0]
        row = rows[batch_sizes.index(10)]["fused"]
        check = dict(measured=measured, extrapolated=row["seconds_per_epoch"], timed_updates=row["timed_updates"])
        print("  measured %.3g s; extrapolated from %d updates plus a shuffle: %.3g s"
              % (measured, row["timed_updates"], row["seconds_per_epoch"]))

    figure = plots.batch_time(rows, out, "batch_time", device=device)
    print("\nFigure: %s" % figure)

    default = [r["default_path"] for r in rows]
    first, last = default[0], default[-1]
    fastest = rows[int(onp.argmin([p["seconds_per_epoch"] for p in default]))]["batch_size"]
    heading("What we found")
    print("  On %s, with the default path, one update takes %.3g s at batch %d and %.3g s at batch %d:"
          % (device, first["seconds_per_update"], batch_sizes[0], last["seconds_per_update"], batch_sizes[-1]))
    print("  %.0f times the examples for %.0f times the time. An epoch takes %.3g s at batch %d and %.3g s at"
          % (batch_sizes[-1] / batch_sizes[0], last["seconds_per_update"] / first["seconds_per_update"],
             first["seconds_per_epoch"], batch_sizes[0], last["seconds_per_epoch"]))
    print("  batch %d; the fastest epoch is at batch %d. Each update has a fixed cost (fused %.2g s, Gluon step"
          % (batch_sizes[-1], fastest, fits["fused"]["overhead"]))
    print("  %.2g s) and a cost per example; the flat region ends near B = overhead / per example (%.0f and %.0f)."
          % (fits["gluon"]["overhead"], fits["fused"]["knee"], fits["gluon"]["knee"]))
    print("  On a CPU that region is overhead, not parallelism: the slower path has the longer one.")
    return {
        "num_examples": num_examples, "num_features": num_features, "seed": seed, "device": device,
        "batch_sizes": list(batch_sizes), "updates_per_epoch": [r["updates_per_epoch"] for r in rows],
        "seconds_per_update": [p["seconds_per_update"] for p in default],
        "seconds_per_epoch": [p["seconds_per_epoch"] for p in default],
        "extrapolated": [p["extrapolated"] for p in default], "timed_updates": [p["timed_updates"] for p in default],
        "default_path": [r["default"] for r in rows],
        "fused_seconds_per_update": [r["fused"]["seconds_per_update"] for r in rows],
        "fused_seconds_per_epoch": [r["fused"]["seconds_per_epoch"] for r in rows],
        "gluon_seconds_per_update": [r["gluon"]["seconds_per_update"] for r in rows],
        "gluon_seconds_per_epoch": [r["gluon"]["seconds_per_epoch"] for r in rows],
        "shuffle_seconds": shuffle, "fits": fits, "fastest_epoch_batch_size": fastest,
        "epoch_check": check, "figures": [figure],
    }


# %% [markdown]
# ## Exercises
# 1. Run on a GPU (`--set ctx=gpu`) and compare the knee with this CPU's. Which term of t(B) changed?
# 2. Set `MXNET_ENGINE_TYPE=NaiveEngine` before starting Python and run again: which term shrinks?
# 3. Halve `num_features` (`--set num_features=392`). What happens to per_example, and to the knee?
# 4. Lesson 7 asks how many *updates* each batch size needs. Multiply its answer by this lesson's
#    seconds per update: which batch size reaches the target loss soonest on this machine?
# %%
def main(argv=None):
    return lesson_main(run, __doc__.splitlines()[0], argv)


if __name__ == "__main__":
    main()
