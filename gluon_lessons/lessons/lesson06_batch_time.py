# %% [markdown]
# # Lesson 6 — Batch size and time: seconds per update and per epoch
#
# What you will see: the lecture's table — batch sizes 1 to 60000 on a data set the size of MNIST,
# 60000 examples of 784 numbers — measured on this machine, for the course's compiled fast path and
# for the walkthrough's autograd + `Trainer.step`: how long one update takes and how long one epoch
# takes. Every timing is repeated and its spread shown, so "this epoch is the fastest" is said only
# when it lies outside that spread. An epoch is split into its shuffle and its updates; a fit of
# "time per update = fixed cost + cost per example × B" tells where the flat region ends; and whole
# epochs are timed to test the ones extrapolated from part of an epoch.
#
# Run it: `gluon-lessons run batch-time`, `python -m gluon_lessons.lessons.lesson06_batch_time`, or as a
# notebook: `gluon-lessons notebook 6` (then open it in Jupyter or VS Code).

# %%
import math

import numpy as onp
from mxnet import npx

from gluon_lessons import data as house_data
from gluon_lessons import devices, fused, loading, model, plots, timing, training
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random: the data and the shuffles
num_examples = 60000       # listings, as many as MNIST's training images
num_features = 784         # 28 × 28 floor-plan pixels per listing
batch_sizes = (1, 10, 100, 1000, 10000, 60000)  # the lecture's table, increasing
ctx = "auto"               # the one device timed: auto (GPU 0 if MXNet sees one, else CPU), cpu, gpu, gpu:N
check_epoch = True         # also time whole epochs at check_batch_size, against the extrapolated ones
check_batch_size = 10      # one of batch_sizes
lr = 1e-4                  # learning rate; small enough that B = 1 stays finite (lr·|x|² ≈ 0.08 < 2): we only time
timed_updates = 1000       # at most this many fused updates per timing; an epoch beyond is extrapolated
timed_gluon_updates = 200  # the same for the slower autograd + Trainer.step path
repeats = 5                # timings per batch size, after one warm-up: medians and ranges over these
big_batch_repeats = 3      # repeats for batches of 10000 and more, where one update is already long
out_dir = None             # None: figures show inline in a notebook; the command line saves them (lesson_output/batch-time)
QUICK = dict(num_examples=6000, num_features=196, batch_sizes=(1, 10, 100, 1000, 6000), timed_updates=200,
             timed_gluon_updates=50, repeats=3, check_epoch=False)  # what --quick (and the tests) change

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    runner.require("num_examples", num_examples, num_examples >= 2, "an integer >= 2")
    runner.require("num_features", num_features, num_features >= 1, "an integer >= 1")
    runner.require("batch_sizes", batch_sizes, len(batch_sizes) >= 2 and list(batch_sizes) == sorted(set(batch_sizes))
                   and 1 <= batch_sizes[0] and batch_sizes[-1] <= num_examples,
                   "at least two increasing batch sizes from 1 to num_examples (%d)" % num_examples)
    contexts = devices.parse_ctx(ctx)
    runner.require("ctx", ctx, len(contexts) == 1, "one device (this lesson times one)")
    runner.require("check_batch_size", check_batch_size, check_batch_size in batch_sizes or not check_epoch,
                   "one of batch_sizes %s (or check_epoch=False)" % (batch_sizes,))
    training.check_hyperparameters(lr)
    for name, value, least in [("timed_updates", timed_updates, 1), ("timed_gluon_updates", timed_gluon_updates, 1),
                               ("repeats", repeats, 2), ("big_batch_repeats", big_batch_repeats, 2)]:
        runner.require(name, value, value >= least, "an integer >= %d (a spread needs two repeats)" % least
                       if least == 2 else "an integer >= 1")
    house_data.check_room_to_train(num_examples, num_features)
device = devices.ctx_names(contexts)[0]
set_seed(seed)
print("seed %d; %d examples × %d features on %s; batch sizes %s; %d repeats (%d from batch 10000)"
      % (seed, num_examples, num_features, device, list(batch_sizes), repeats, big_batch_repeats))

# %% [markdown]
# ## 1. The data
# The lecture times MNIST: 60000 images of 28×28 = 784 pixels. We keep the house-price story and give
# every listing a 28×28 floor-plan raster of standardized pixels, so one example costs 784
# multiply-adds forward and as many backward, as a one-layer model of MNIST would. The weights do
# not matter for timing; the shape does: every epoch reads all of these numbers once.

# %%
def listings(num_examples, num_features, seed):
    """Listings with `num_features` standard-normal pixels and a price, drawn directly in float32
    (`data.synthetic_house_prices` draws float64 first: seconds for 47 million numbers)."""
    rng = onp.random.default_rng(seed)
    true_w = rng.normal(0.0, 1.0 / math.sqrt(num_features), num_features).astype(onp.float32)
    features = rng.standard_normal((num_examples, num_features), dtype=onp.float32)
    labels = features @ true_w + onp.float32(4.2) + rng.standard_normal(num_examples, dtype=onp.float32) * 0.1
    names = house_data.feature_names(num_features)
    return house_data.HouseData(features, labels, names, tuple(true_w.tolist()), 4.2, 0.1, seed)


house = listings(num_examples, num_features, seed)
print("features %s float32 (%.0f MB), prices %s" % (house.features.shape, house.features.nbytes / 1e6,
                                                     house.labels.shape))
print("first listing: pixels %s ..., price %.3f" % (onp.round(house.features[0, :4], 3), house.labels[0]))

# %% [markdown]
# ## 2. How we time, and the shuffle
# MXNet runs asynchronously: a call returns before the work is done. So every clock read comes after
# `npx.waitall()`; each timing runs once untimed first (that run compiles graphs and allocates
# memory), then `repeats` times; we keep the median and show the range. The first thing timed is
# the shuffle: gathering one permuted copy of the data on the device, which every epoch pays once,
# whatever its batch size.

# %%
net = model.linear_regression(contexts[0], num_inputs=num_features, hybrid=True)
batches = loading.ShuffledBatches(house.features, house.labels, 1, ctx=contexts[0])  # the data on the device
shuffle_seconds, shuffle_times = timing.median_seconds(batches.epoch_arrays, repeats)
print("shuffling one epoch (%d × %d numbers in a new order): median %.3g s, range %.3g–%.3g s over %d repeats"
      % (num_examples, num_features, shuffle_seconds, min(shuffle_times), max(shuffle_times), repeats))

# %% [markdown]
# ## 3. Seconds per update and per epoch
# Two ways to update are timed:
#
# - the fast path: `fused.LinearUpdates`, 50 updates per compiled graph, gradients written out;
# - autograd + `Trainer.step`, one update at a time, as the walkthrough writes it (hybridized).
#
# For each batch size, each repeat deals a newly shuffled epoch (timed: the shuffle), then runs on it
# up to `timed_updates` fused updates and up to `timed_gluon_updates` Gluon steps (each timed). That
# repeat's epoch is its shuffle plus its updates scaled to ⌈N/B⌉ updates; where fewer were timed the
# epoch is extrapolated, marked `*`. The fused graph writes the gradient by hand with a general matrix
# product, while FullyConnected's own backward (what autograd runs) is a tuned kernel, cheaper per
# example: so the course's default path (`fused.fused_suits`) fuses small batches and steps through
# autograd once a batch holds more than `fused.FUSED_MAX_BATCH_NUMBERS` numbers.

# %%
def gluon_steps(batch_size, num_updates):
    """`num_updates` autograd + `Trainer.step` updates of `net` as a function of the epoch's arrays (X, y)."""
    step_loss_of = training.WithLoss(net, model.l2_loss())
    step_loss_of.hybridize(static_alloc=True, static_shape=True)
    trainer = training.make_trainer(net, "sgd", lr)
    return lambda X, y: timing.gluon_steps(step_loss_of, trainer, X, y, batch_size, num_updates)


def time_batch_size(batch_size):
    """One row of the table: both paths at `batch_size`, every repeat on a newly shuffled epoch."""
    per_epoch = loading.num_batches(num_examples, batch_size)
    timed = {"fused": min(per_epoch, timed_updates), "gluon": min(per_epoch, timed_gluon_updates)}
    fused_updates = fused.LinearUpdates(net, batch_size, lr=lr)
    runs = {"fused": lambda X, y: fused_updates.run(X, y, timed["fused"]), "gluon": gluon_steps(batch_size, timed["gluon"])}
    times = timing.epoch_part_seconds(batches.epoch_arrays, runs, big_batch_repeats if batch_size >= 10000 else repeats)
    row = dict(batch_size=batch_size, updates_per_epoch=per_epoch, repeats=len(times["shuffle"]),
               shuffle_seconds=float(onp.median(times["shuffle"])),
               default="fused" if fused.fused_suits(batch_size, num_features) else "gluon")
    for path in runs:
        row[path] = timing.epoch_seconds(times["shuffle"], times[path], timed[path], per_epoch)
    row["default_path"] = row[row["default"]]
    return row


rows = [time_batch_size(batch_size) for batch_size in batch_sizes]
print("%d batch sizes timed, %d repeats each after a warm-up" % (len(rows), rows[0]["repeats"]))

# %%
print("  %7s %8s  %12s %12s  %12s %12s   %s" % ("batch", "updates", "fused", "Gluon step", "fused", "Gluon step",
                                               "default"))
print("  %7s %8s  %25s  %25s" % ("", "", "seconds per update", "seconds per epoch"))
for r in rows:
    per_update = ["%12.3g" % r[path]["seconds_per_update"] for path in ("fused", "gluon")]
    per_epoch = ["%11.3g%s" % (r[path]["seconds_per_epoch"], "*" if r[path]["extrapolated"] else " ")
                 for path in ("fused", "gluon")]
    print("  %7d %8d  %s %s  %s %s   %s" % (r["batch_size"], r["updates_per_epoch"], *per_update, *per_epoch, r["default"]))
print("  (* extrapolated from %d fused / %d Gluon updates; medians over the repeats)" % (timed_updates, timed_gluon_updates))


def default_path_sentence(rows):
    """Whether the default path's rule picked the faster path at every batch size, beyond the spread."""
    slower = [r["batch_size"] for r in rows
              if r["default_path"]["seconds_per_update_spread"][0]
              > r["gluon" if r["default"] == "fused" else "fused"]["seconds_per_update_spread"][1]]
    if not slower:
        return "The default path was never slower per update than the other beyond the spread of the repeats."
    return ("At batch %s the default path was slower per update than the other, beyond the spread: the rule"
            " fused.fused_suits does not fit this machine there." % ", ".join(map(str, slower)))

print(default_path_sentence(rows))

# %% [markdown]
# ## 4. Where an epoch's time goes: the shuffle and the updates
# An epoch is one shuffle and ⌈N/B⌉ updates. The shuffle does not depend on B; the updates get fewer
# as B grows. So at big batches the shuffle can be most of an epoch, and no batch size can make an
# epoch cheaper than the shuffle. Split on the default path, median of each part:

# %%
def shuffle_share(row):
    """The shuffle's share of the row's epoch on the default path (medians)."""
    return row["shuffle_seconds"] / row["default_path"]["seconds_per_epoch"]


print("  %7s  %10s  %10s  %10s  %8s" % ("batch", "epoch s", "shuffle s", "updates s", "shuffle"))
for r in rows:
    print("  %7d  %10.3g  %10.3g  %10.3g  %7.0f%%" % (r["batch_size"], r["default_path"]["seconds_per_epoch"],
                                                    r["shuffle_seconds"], r["default_path"]["update_seconds_per_epoch"],
                                                    100 * shuffle_share(r)))


def shuffle_sentence(row):
    """How much of the largest batch's epoch is the shuffle."""
    share, epoch = shuffle_share(row), row["default_path"]["seconds_per_epoch"]
    if share > 0.5:
        return ("At batch %d most of an epoch is the shuffle: %.3g s of %.3g s (%.0f%%); the updates are the"
                " rest, so a bigger batch cannot save much more." % (row["batch_size"], row["shuffle_seconds"], epoch, 100 * share))
    return ("At batch %d the updates take most of an epoch; the shuffle is %.3g s of %.3g s (%.0f%%)."
            % (row["batch_size"], row["shuffle_seconds"], epoch, 100 * share))

print(shuffle_sentence(rows[-1]))

# %% [markdown]
# ## 5. The spread: which epoch is fastest?
# Other programs share the machine, so a timing moves from repeat to repeat, and the lowest median
# can move from one batch size to another between two runs. We call one epoch faster than another
# only when its slowest repeat beats the other's fastest. The bars in the figure span the repeats.

# %%
def spread_sentence(fastest, tied, spreads, sizes):
    """The verdict on the fastest epoch, claiming only what lies outside the spread of the repeats."""
    if len(tied) == 1:
        return ("The fastest epoch is at batch %d: its slowest repeat (%.3g s) beat the fastest repeat of every"
                " other batch size." % (fastest, spreads[sizes.index(fastest)][1]))
    return ("The epochs at batch sizes %s are equally fast within the spread of their repeats; that the lowest"
            " median fell at batch %d this time is not a finding." % (", ".join(map(str, tied)), fastest))


def fastest_within_spread(sizes, medians, spreads):
    """The batch size with the lowest median, and every batch size whose fastest repeat is at most the
    slowest repeat of that one: the batch sizes the repeats cannot tell apart from the fastest."""
    best = int(onp.argmin(medians))
    return sizes[best], [size for size, (low, _) in zip(sizes, spreads) if low <= spreads[best][1]]


epoch_medians = [r["default_path"]["seconds_per_epoch"] for r in rows]
epoch_spreads = [r["default_path"]["seconds_per_epoch_spread"] for r in rows]
fastest, tied = fastest_within_spread(list(batch_sizes), epoch_medians, epoch_spreads)
for size, median, (low, high) in zip(batch_sizes, epoch_medians, epoch_spreads):
    print("  batch %6d: epoch %.3g s, repeats %.3g–%.3g s%s" % (size, median, low, high,
          "   lowest median" if size == fastest else "   overlaps it" if size in tied else ""))
figure = plots.batch_time(rows, out_dir, "batch_time", device=device)
print(spread_sentence(fastest, tied, epoch_spreads, list(batch_sizes)))

# %% [markdown]
# ## 6. Fixed cost and cost per example
# If an update costs a fixed time (Python, the engine, launching the graph) plus a time per example,
# t(B) = overhead + per_example · B. While per_example · B is small next to the overhead, t is flat:
# a bigger batch is almost free. The flat region ends near B = overhead / per_example, the knee. An
# epoch takes ⌈N/B⌉ · t(B): it falls like 1/B while t is flat and stops falling after the knee.
# The lecture's table comes from a GPU, where a batch's examples run in parallel on thousands of
# cores, so per_example is tiny and the flat region is parallelism. On a CPU with a few cores the
# flat region is mostly the fixed overhead: the slower the per-update path, the longer that region.

# %%
def where_flat_ends(fit, sizes):
    """Where the flat region of one path ends, against the batch sizes timed."""
    if not (fit["overhead"] > 0 and fit["per_example"] > 0):
        return "undetermined (the fit found no positive fixed cost and cost per example)"
    if fit["knee"] > sizes[-1]:
        return "beyond the largest batch timed (B ≈ %.0f): t(B) stayed flat throughout" % fit["knee"]
    if fit["knee"] < sizes[0]:
        return "before the smallest batch timed (B ≈ %.2g): no flat region" % fit["knee"]
    return "near B ≈ %.0f" % fit["knee"]


fits = {}
for path, label in (("fused", "fused updates"), ("gluon", "autograd + Trainer.step")):
    overhead, per_example = timing.overhead_and_slope(batch_sizes, [r[path]["seconds_per_update"] for r in rows])
    fits[path] = dict(overhead=overhead, per_example=per_example, knee=timing.knee(overhead, per_example))
    print("  %-24s overhead %9.3g s   per example %9.3g s   flat region ends %s"
          % (label, overhead, per_example, where_flat_ends(fits[path], batch_sizes)))


# %%
def flat_region_sentence(device, fits):
    """What the flat region is made of, chosen by the device actually used and by the fitted costs."""
    slower = max(fits, key=lambda path: fits[path]["overhead"])
    longer = max(fits, key=lambda path: fits[path]["knee"])
    names = {"fused": "the fused path", "gluon": "the Gluon step"}
    if not all(fit["overhead"] > 0 and fit["per_example"] > 0 for fit in fits.values()):
        return "What the flat region is made of stays undetermined: a fit found no positive fixed cost and cost per example."
    if not device.startswith("cpu"):
        return ("On %s a batch's examples run in parallel on many cores, so the flat region there is"
                " parallelism as well as overhead; its knees: fused B ≈ %.0f, Gluon step B ≈ %.0f."
                % (device, fits["fused"]["knee"], fits["gluon"]["knee"]))
    if slower == longer:
        return ("On this CPU the flat region is overhead, not parallelism: %s, with the larger fixed cost"
                " (%.2g s against %.2g s), has the longer one." % (names[slower], fits[slower]["overhead"],
                                                                   min(f["overhead"] for f in fits.values())))
    return ("On this CPU %s has the larger fixed cost but not the longer flat region: its cost per example is"
            " larger too (%.2g s against %.2g s)." % (names[slower], fits[slower]["per_example"],
                                                       fits[longer]["per_example"]))


print(flat_region_sentence(device, fits))

# %% [markdown]
# ## 7. Is the extrapolation honest?
# The starred epochs multiply the time of some updates by the updates in an epoch. A part of an
# epoch reads only the rows those updates use; a whole epoch streams every row through memory. Here
# whole epochs at `check_batch_size` are timed on the fused path, with the same warm-up and repeats.

# %%
def time_whole_epochs(batch_size):
    """Whole fused epochs at `batch_size`, each after its own shuffle: `timing.epoch_seconds` of them."""
    per_epoch = loading.num_batches(num_examples, batch_size)
    updates = fused.LinearUpdates(net, batch_size, lr=lr)
    times = timing.epoch_part_seconds(batches.epoch_arrays, {"fused": lambda X, y: updates.run(X, y)}, repeats)
    return timing.epoch_seconds(times["shuffle"], times["fused"], per_epoch, per_epoch)


whole = guessed = None
if check_epoch:
    whole, guessed = time_whole_epochs(check_batch_size), rows[batch_sizes.index(check_batch_size)]["fused"]
    print("batch %d, fused: whole epochs %.3g s (repeats %.3g–%.3g s); %s %.3g s (repeats %.3g–%.3g s)"
          % (check_batch_size, whole["seconds_per_epoch"], *whole["seconds_per_epoch_spread"],
             "extrapolated from %d updates" % guessed["timed_updates"] if guessed["extrapolated"] else "timed whole before",
             guessed["seconds_per_epoch"], *guessed["seconds_per_epoch_spread"]))
else:
    print("not checked (check_epoch=False)")


# %%
def extrapolation_sentence(batch_size, whole, guessed):
    """Whether whole epochs agree with the extrapolated one, and what that means for the starred numbers."""
    if whole is None:
        return "The extrapolated epochs were not checked against whole ones (check_epoch=False)."
    if not guessed["extrapolated"]:
        return "The epoch at batch %d was already timed whole: nothing extrapolated to check there." % batch_size
    ratio = whole["seconds_per_epoch"] / guessed["seconds_per_epoch"]
    (low, high), (g_low, g_high) = whole["seconds_per_epoch_spread"], guessed["seconds_per_epoch_spread"]
    if low <= g_high and g_low <= high:
        return ("Whole epochs at batch %d (%.3g s) and the extrapolated one (%.3g s) agree within the spread of"
                " their repeats (ratio %.2f): the starred epochs can be read as measured, to about that spread."
                % (batch_size, whole["seconds_per_epoch"], guessed["seconds_per_epoch"], ratio))
    side = "low" if ratio > 1 else "high"
    return ("Whole epochs at batch %d took %.3g s against %.3g s extrapolated, %.2f times as long, outside the"
            " spread of both: the starred epochs run %s by about %.0f%% here; read them as %s bounds."
            % (batch_size, whole["seconds_per_epoch"], guessed["seconds_per_epoch"], ratio, side,
               100 * abs(ratio - 1), "lower" if side == "low" else "upper"))


print(extrapolation_sentence(check_batch_size, whole, guessed))

# %% [markdown]
# ## What we found
# Each sentence below that compares or judges is chosen by this run's numbers; each was printed under the measurement it judges.

# %%
first, last = rows[0]["default_path"], rows[-1]["default_path"]
print("On %s, with the default path, one update takes %.3g s at batch %d and %.3g s at batch %d: %.0f times the"
      " examples for %.3g times the time. An epoch takes %.3g s%s at batch %d and %.3g s at batch %d."
      % (device, first["seconds_per_update"], batch_sizes[0], last["seconds_per_update"], batch_sizes[-1],
         batch_sizes[-1] / batch_sizes[0], last["seconds_per_update"] / first["seconds_per_update"],
         first["seconds_per_epoch"], " (extrapolated)" if first["extrapolated"] else "", batch_sizes[0],
         last["seconds_per_epoch"], batch_sizes[-1]))
print(spread_sentence(fastest, tied, epoch_spreads, list(batch_sizes)))
print(shuffle_sentence(rows[-1]))
print(extrapolation_sentence(check_batch_size, whole, guessed))
print("Each update has a fixed cost and a cost per example; the flat region ends %s for the fused path and %s for"
      " the Gluon step." % (where_flat_ends(fits["fused"], batch_sizes), where_flat_ends(fits["gluon"], batch_sizes)))
print(flat_region_sentence(device, fits))
print(default_path_sentence(rows))

# %%
default = [r["default_path"] for r in rows]
epoch_check = None if whole is None else dict(
    batch_size=check_batch_size, measured=whole["seconds_per_epoch"], measured_spread=whole["seconds_per_epoch_spread"],
    extrapolated=guessed["seconds_per_epoch"], extrapolated_spread=guessed["seconds_per_epoch_spread"],
    timed_updates=guessed["timed_updates"], was_extrapolated=guessed["extrapolated"],
    time_ratio=whole["seconds_per_epoch"] / guessed["seconds_per_epoch"])
findings = {
    "seed": seed, "num_examples": num_examples, "num_features": num_features, "device": device, "lr": lr,
    "batch_sizes": list(batch_sizes), "updates_per_epoch": [r["updates_per_epoch"] for r in rows],
    "repeats_per_batch_size": [r["repeats"] for r in rows], "check_epoch": check_epoch,
    "seconds_per_update": [p["seconds_per_update"] for p in default],
    "seconds_per_update_spread": [p["seconds_per_update_spread"] for p in default],
    "seconds_per_epoch": [p["seconds_per_epoch"] for p in default],
    "seconds_per_epoch_spread": [p["seconds_per_epoch_spread"] for p in default],
    "update_seconds_per_epoch": [p["update_seconds_per_epoch"] for p in default],
    "extrapolated": [p["extrapolated"] for p in default], "timed_updates": [p["timed_updates"] for p in default],
    "default_path": [r["default"] for r in rows],
    **{"%s_%s" % (path, key): [r[path][key] for r in rows] for path in ("fused", "gluon")
       for key in ("seconds_per_update", "seconds_per_epoch", "seconds_per_epoch_spread", "timed_updates")},
    "shuffle_seconds": shuffle_seconds, "shuffle_seconds_spread": (min(shuffle_times), max(shuffle_times)),
    "shuffle_seconds_per_batch_size": [r["shuffle_seconds"] for r in rows],
    "shuffle_share_of_epoch_time": [shuffle_share(r) for r in rows],
    "fits": fits, "fastest_epoch_batch_size": fastest, "batch_sizes_tied_on_epoch_time": tied,
    "epoch_check": epoch_check, "figures": [figure],
}

# %% [markdown]
# ## Exercises
# 1. Run on a GPU (`--set ctx=gpu`, with `mxnet-cu117` installed) and compare the knee with this CPU's.
#    Which term of t(B) changed? Which sentence of "What we found" changed?
# 2. Set `MXNET_ENGINE_TYPE=NaiveEngine` before starting Python and run again: which term shrinks?
# 3. Halve `num_features` (`--set num_features=392`). What happens to per_example, to the knee, and to
#    the shuffle's share of a big-batch epoch?
# 4. Run twice and compare the lowest-median batch size and the tied ones. Then raise `repeats`: does
#    the set of tied batch sizes shrink, or only the spread?
# 5. Lesson 7 asks how many *updates* each batch size needs to reach a target loss. Multiply its answer
#    by this lesson's seconds per update: which batch size gets there soonest on this machine?
