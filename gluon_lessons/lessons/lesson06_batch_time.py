# %% [markdown]
# # Lesson 6 — Batch size and time: per update and per epoch
#
# What you will see: the lecture's table — batch sizes 1 to 60000 on a data set the size of
# MNIST, 60000 examples of 784 numbers — measured on this machine, for the course's compiled fast
# path and for the walkthrough's autograd + `Trainer.step`: how long one update takes and how long
# one epoch takes. Every timing is repeated and its spread shown, so "this epoch is the fastest"
# is said only when it lies outside that spread. An epoch is split into its shuffle and its
# updates; a fit of "time per update = fixed cost + cost per example × B" tells where the flat
# region ends; and whole epochs are timed to test the ones extrapolated from part of an epoch.
#
# Run it: `gluon-lessons run batch-time` (about 11 s here, most of it spent shuffling 188 MB of
# data before every timed epoch; the last cell says where the time went; `--quick` in 2), or as
# a notebook: `gluon-lessons notebook 6`.

# %%
import math
import time

import numpy as onp
from mxnet import npx

from gluon_lessons import checks, devices, fused, loading, model, plots, timing, training
from gluon_lessons import data as house_data
from gluon_lessons.seeding import set_seed

npx.set_np()
started = time.perf_counter()

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random: the data and the shuffles
num_examples = 60000       # examples, as many as MNIST's training images
num_features = 784         # numbers per example, as MNIST's 28 × 28 pixels
batch_sizes = (1, 10, 100, 1000, 10000, 60000)  # the lecture's table, increasing
ctx = "auto"               # the device timed: auto (GPU 0 if MXNet sees one, else CPU), cpu, gpu:N
check_epoch = True         # also time whole epochs at check_batch_size, against extrapolated ones
check_batch_size = 10      # one of batch_sizes
lr = 1e-4                  # learning rate; small enough that B = 1 stays finite: we only time
timed_updates = 500        # at most this many fused updates per timing; beyond: extrapolated
timed_gluon_updates = 100  # the same for the slower autograd + Trainer.step path
repeats = 3                # timings per batch size, after a warm-up: medians and ranges of these
big_batch_repeats = 2      # repeats for batches of 10000 and more, where one update is already long
out_dir = None             # None: figures show inline in a notebook; the command line saves them
QUICK = dict(num_examples=6000, num_features=196, batch_sizes=(1, 10, 100, 1000, 6000),
             timed_updates=200, timed_gluon_updates=50, check_epoch=False)  # --set always wins

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
num_examples = checks.integer("num_examples", num_examples, 2, 100_000)
num_features = checks.integer("num_features", num_features, 1, 1024)
batch_sizes = checks.integers("batch_sizes", batch_sizes, 1, num_examples, 2, max_length=10)
if list(batch_sizes) != sorted(set(batch_sizes)):
    raise ValueError(f"batch_sizes must be increasing, got {batch_sizes}")
contexts = devices.parse_ctx(ctx)
if len(contexts) != 1:
    raise ValueError(f"ctx must be one device (this lesson times one), got {ctx!r}")
check_epoch = checks.flag("check_epoch", check_epoch)
if check_epoch and check_batch_size not in batch_sizes:
    raise ValueError(f"check_batch_size must be one of batch_sizes {batch_sizes} (or"
                     f" check_epoch=False), got {check_batch_size!r}")
lr = checks.positive("lr", lr, high=1e-3)
timed_updates = checks.integer("timed_updates", timed_updates, 1, 10_000)
timed_gluon_updates = checks.integer("timed_gluon_updates", timed_gluon_updates, 1, 2_000)
repeats = checks.integer("repeats", repeats, 2, 20)  # a spread needs two
big_batch_repeats = checks.integer("big_batch_repeats", big_batch_repeats, 2, 20)
device = devices.ctx_names(contexts)[0]
set_seed(seed)
print(f"seed {seed}; {num_examples} examples × {num_features} features on {device};"
      f" batch sizes {list(batch_sizes)};\n{repeats} repeats ({big_batch_repeats} from batch"
      " 10000)")
findings = {"seed": seed, "num_examples": num_examples, "num_features": num_features,
            "device": device, "lr": lr, "batch_sizes": list(batch_sizes),
            "check_epoch": check_epoch, "verdicts": {},
            "lesson_seconds": {"checking the settings": time.perf_counter() - started}}
verdicts, spent = findings["verdicts"], findings["lesson_seconds"]

# %% [markdown]
# ## 1. The data
# The lecture times MNIST: 60000 images of 28×28 = 784 pixels. We keep its shape, not its
# pictures: 60000 examples of 784 standard-normal numbers, each with a label from a linear model
# plus noise, as the house prices were made from area and age. So one example costs 784
# multiply-adds forward and as many backward, as a one-layer model of MNIST would. The weights do
# not matter for timing; the shape does: every epoch reads all of these numbers once.

# %%
def mnist_sized_data(num_examples, num_features, seed):
    """`num_features` standard-normal numbers per example and a linear label, drawn directly in
    float32 (`data.synthetic_house_prices` draws float64 first: seconds for 47 million numbers)."""
    rng = onp.random.default_rng(seed)
    true_w = rng.normal(0.0, 1.0 / math.sqrt(num_features), num_features).astype(onp.float32)
    features = rng.standard_normal((num_examples, num_features), dtype=onp.float32)
    noise = rng.standard_normal(num_examples, dtype=onp.float32) * 0.1
    labels = features @ true_w + onp.float32(4.2) + noise
    names = tuple(f"x{j}" for j in range(1, num_features + 1))
    return house_data.HouseData(features, labels, names, tuple(true_w.tolist()), 4.2, 0.1, seed)


mark = time.perf_counter()
data = mnist_sized_data(num_examples, num_features, seed)
print(f"features {data.features.shape} float32 ({data.features.nbytes / 1e6:.0f} MB),"
      f" labels {data.labels.shape}")
print(f"first example: {onp.round(data.features[0, :4], 3)} ..., label {data.labels[0]:.3f}")
spent["making the data"] = time.perf_counter() - mark

# %% [markdown]
# ## 2. How we time, and the shuffle
# MXNet runs asynchronously: a call returns before the work is done. So every clock read comes
# after `npx.waitall()`; each timing runs once untimed first (that run compiles graphs and
# allocates memory), then `repeats` times; we keep the median and show the range. The first thing
# timed is the shuffle: gathering one permuted copy of the data on the device, which every epoch
# pays once, whatever its batch size.

# %%
mark = time.perf_counter()
net = model.linear_regression(contexts[0], num_inputs=num_features)
batches = loading.ShuffledBatches(data.features, data.labels, 1, ctx=contexts[0])  # on the device
data = None  # the device holds the examples now: the NumPy copy goes (188 MB at the defaults)
shuffle_seconds, shuffle_times = timing.median_seconds(batches.epoch_arrays, repeats)
print(f"shuffling one epoch ({num_examples} × {num_features} numbers in a new order):\n"
      f"  median {shuffle_seconds:.3g} s,"
      f" range {min(shuffle_times):.3g}–{max(shuffle_times):.3g} s")
findings.update(shuffle_seconds=shuffle_seconds,
                shuffle_seconds_spread=(min(shuffle_times), max(shuffle_times)))
spent["timing the shuffle"] = time.perf_counter() - mark

# %% [markdown]
# ## 3. Seconds per update and per epoch
# Two ways to update are timed:
#
# - the fast path: `fused.LinearUpdates`, 50 updates per compiled graph, gradients written out;
# - autograd + `Trainer.step`, one update at a time, as the walkthrough writes it (hybridized).
#
# For each batch size, each repeat deals a newly shuffled epoch (timed: the shuffle), then runs on
# it up to `timed_updates` fused updates and up to `timed_gluon_updates` Gluon steps (each timed).
# That repeat's epoch is its shuffle plus its updates scaled to ⌈N/B⌉ updates; where fewer were
# timed the epoch is extrapolated, marked `*`. The fused graph writes the gradient by hand with a
# general matrix product, while FullyConnected's own backward (what autograd runs) is a tuned
# kernel, cheaper per example: so the course's default path (`fused.fused_suits`) fuses small
# batches and steps through autograd once a batch holds more than
# `fused.FUSED_MAX_BATCH_NUMBERS` numbers.

# %%
def gluon_steps(batch_size, num_updates):
    """`num_updates` autograd + `Trainer.step` updates of `net` as a function of the epoch's
    arrays (X, y)."""
    step_loss_of = training.WithLoss(net, model.l2_loss())
    step_loss_of.hybridize(static_alloc=True, static_shape=True)
    trainer = training.make_trainer(net, "sgd", lr)
    return lambda X, y: timing.gluon_steps(step_loss_of, trainer, X, y, batch_size, num_updates)


def time_batch_size(batch_size):
    """One row of the table: both paths at `batch_size`, every repeat on a newly shuffled epoch."""
    per_epoch = loading.num_batches(num_examples, batch_size)
    timed = {"fused": min(per_epoch, timed_updates), "gluon": min(per_epoch, timed_gluon_updates)}
    fused_updates = fused.LinearUpdates(net, batch_size, lr=lr)
    runs = {"fused": lambda X, y: fused_updates.run(X, y, timed["fused"]),
            "gluon": gluon_steps(batch_size, timed["gluon"])}
    times = timing.epoch_part_seconds(batches.epoch_arrays, runs,
                                      big_batch_repeats if batch_size >= 10000 else repeats)
    row = dict(batch_size=batch_size, updates_per_epoch=per_epoch, repeats=len(times["shuffle"]),
               shuffle_seconds=float(onp.median(times["shuffle"])),
               default="fused" if fused.fused_suits(batch_size, num_features) else "gluon")
    for path in runs:
        row[path] = timing.epoch_seconds(times["shuffle"], times[path], timed[path], per_epoch)
    row["default_path"] = row[row["default"]]
    return row


# %%
mark = time.perf_counter()
rows = []
with training.progress_bar(len(batch_sizes), desc="timing", unit="batch size") as bar:
    for batch_size in batch_sizes:
        rows.append(time_batch_size(batch_size))
        bar.update()
spent["timing the table"] = time.perf_counter() - mark
print(f"{len(rows)} batch sizes timed, {rows[0]['repeats']} repeats each after a warm-up")

# %%
print(f"  {'':7} {'':8}  {'seconds per update':>25}  {'seconds per epoch':>25}")
print(f"  {'batch':>7} {'updates':>8}  {'fused':>12} {'Gluon step':>12}  {'fused':>12}"
      f" {'Gluon step':>12}   default")
for r in rows:
    per_update = " ".join(f"{r[path]['seconds_per_update']:12.3g}" for path in ("fused", "gluon"))
    stars = {path: "*" if r[path]["extrapolated"] else " " for path in ("fused", "gluon")}
    per_epoch = " ".join(f"{r[path]['seconds_per_epoch']:11.3g}{stars[path]}"
                         for path in ("fused", "gluon"))
    print(f"  {r['batch_size']:7d} {r['updates_per_epoch']:8d}  {per_update}  {per_epoch}"
          f"   {r['default']}")
print(f"  (* extrapolated from {timed_updates} fused / {timed_gluon_updates} Gluon updates;"
      " medians over the repeats)")


def slower_default(rows):
    """The batch sizes where the default path was slower per update than the other, beyond the
    spread of the repeats."""
    other = {"fused": "gluon", "gluon": "fused"}
    return [r["batch_size"] for r in rows if r["default_path"]["seconds_per_update_spread"][0]
            > r[other[r["default"]]]["seconds_per_update_spread"][1]]


findings["default_slower_at"] = slower_default(rows)
verdicts["default_path"] = "slower somewhere" if findings["default_slower_at"] else "never slower"
SAY_DEFAULT = {
    "never slower": "The default path was never slower per update than the other beyond the"
                    " spread of the repeats.",
    "slower somewhere": "At batch {default_slower_at} the default path was slower per update"
                        " than the other,\n  beyond the spread: fused.fused_suits does not fit"
                        " this machine there.",
}
print(SAY_DEFAULT[verdicts["default_path"]].format(**findings))

# %% [markdown]
# ## 4. Where an epoch's time goes: the shuffle and the updates
# An epoch is one shuffle and ⌈N/B⌉ updates. The shuffle does not depend on B; the updates get
# fewer as B grows. So at big batches the shuffle can be most of an epoch, and no batch size can
# make an epoch cheaper than the shuffle. Split on the default path, median of each part:

# %%
def shuffle_share(row):
    """The shuffle's share of the row's epoch on the default path (medians)."""
    return row["shuffle_seconds"] / row["default_path"]["seconds_per_epoch"]


def shuffle_verdict(row):
    """Which part takes most of the row's epoch."""
    return "shuffle dominates" if shuffle_share(row) > 0.5 else "updates dominate"


print(f"  {'batch':>7}  {'epoch s':>10}  {'shuffle s':>10}  {'updates s':>10}  {'shuffle':>8}")
for r in rows:
    print(f"  {r['batch_size']:7d}  {r['default_path']['seconds_per_epoch']:10.3g}"
          f"  {r['shuffle_seconds']:10.3g}  {r['default_path']['update_seconds_per_epoch']:10.3g}"
          f"  {shuffle_share(r):8.0%}")
findings.update(largest_batch=rows[-1]["batch_size"], largest_share=shuffle_share(rows[-1]),
                largest_shuffle=rows[-1]["shuffle_seconds"],
                largest_epoch=rows[-1]["default_path"]["seconds_per_epoch"])
verdicts["largest_batch_epoch"] = shuffle_verdict(rows[-1])
SAY_SHARE = {
    "shuffle dominates": "At batch {largest_batch} most of an epoch is the shuffle:"
                         " {largest_shuffle:.3g} s of {largest_epoch:.3g} s ({largest_share:.0%});"
                         "\n  a bigger batch cannot save much more.",
    "updates dominate": "At batch {largest_batch} the updates take most of an epoch; the shuffle"
                        " is {largest_shuffle:.3g} s of {largest_epoch:.3g} s"
                        " ({largest_share:.0%}).",
}
print(SAY_SHARE[verdicts["largest_batch_epoch"]].format(**findings))

# %% [markdown]
# ## 5. The spread: which epoch is fastest?
# Other programs share the machine, so a timing moves from repeat to repeat, and the lowest median
# can move from one batch size to another between two runs. We call one epoch faster than another
# only when its slowest repeat beats the other's fastest. The bars in the figure span the repeats.

# %%
def fastest_within_spread(sizes, medians, spreads):
    """The batch size with the lowest median, and every batch size whose fastest repeat is at most
    the slowest repeat of that one: the batch sizes the repeats cannot tell apart from the
    fastest."""
    best = int(onp.argmin(medians))
    return sizes[best], [size for size, (low, _) in zip(sizes, spreads) if low <= spreads[best][1]]


epoch_medians = [r["default_path"]["seconds_per_epoch"] for r in rows]
epoch_spreads = [r["default_path"]["seconds_per_epoch_spread"] for r in rows]
fastest, tied = fastest_within_spread(list(batch_sizes), epoch_medians, epoch_spreads)
for size, median, (low, high) in zip(batch_sizes, epoch_medians, epoch_spreads):
    note = "   overlaps it" if size in tied else ""
    note = "   lowest median" if size == fastest else note
    print(f"  batch {size:6d}: epoch {median:.3g} s, repeats {low:.3g}–{high:.3g} s{note}")
findings.update(fastest_epoch_batch_size=fastest, batch_sizes_tied_on_epoch_time=tied,
                fastest_slowest_repeat=epoch_spreads[batch_sizes.index(fastest)][1])
verdicts["fastest_epoch"] = "clear" if len(tied) == 1 else "tied"
SAY_FASTEST = {
    "clear": "The fastest epoch is at batch {fastest_epoch_batch_size}: its slowest repeat"
             " ({fastest_slowest_repeat:.3g} s) beat\n  the fastest repeat of every other batch"
             " size.",
    "tied": "The epochs at batch sizes {batch_sizes_tied_on_epoch_time} are equally fast within"
            " the spread of their repeats;\n  that the lowest median fell at batch"
            " {fastest_epoch_batch_size} this time is not a finding.",
}
print(SAY_FASTEST[verdicts["fastest_epoch"]].format(**findings))
mark = time.perf_counter()
findings["figures"] = [plots.batch_time(rows, out_dir, "batch_time", device=device)]
spent["drawing the figure"] = time.perf_counter() - mark

# %% [markdown]
# ## 6. Fixed cost and cost per example
# If an update costs a fixed time (Python, the engine, launching the graph) plus a time per
# example, t(B) = overhead + per_example · B. While per_example · B is small next to the overhead,
# t is flat: a bigger batch is almost free. The flat region ends near B = overhead / per_example,
# the knee. An epoch takes ⌈N/B⌉ · t(B): it falls like 1/B while t is flat and stops falling
# after the knee. The lecture's table comes from a GPU, where a batch's examples run in parallel
# on thousands of cores, so per_example is tiny and the flat region is parallelism. On a CPU with
# a few cores the flat region is mostly the fixed overhead: the slower the per-update path, the
# longer that region.

# %%
def where_flat_ends(fit, sizes):
    """Where the flat region of one path ends, against the batch sizes timed."""
    if not (fit["overhead"] > 0 and fit["per_example"] > 0):
        return "undetermined"
    if fit["knee"] > sizes[-1]:
        return "beyond the largest batch"
    return "before the smallest batch" if fit["knee"] < sizes[0] else "inside the range"


fits = {}
for path, label in (("fused", "fused updates"), ("gluon", "autograd + Trainer.step")):
    seconds = [r[path]["seconds_per_update"] for r in rows]
    overhead, per_example = timing.overhead_and_slope(batch_sizes, seconds)
    fits[path] = dict(overhead=overhead, per_example=per_example,
                      knee=timing.knee(overhead, per_example))
    verdicts[f"flat_region_{path}"] = where_flat_ends(fits[path], batch_sizes)
    print(f"  {label:24} overhead {overhead:9.3g} s, per example {per_example:9.3g} s:"
          f" knee B ≈ {fits[path]['knee']:.3g};\n  {'':24} flat region ends:"
          f" {verdicts[f'flat_region_{path}']}")
findings["fits"] = fits


# %%
def flat_region_cause(device, fits):
    """What the flat region is made of, chosen by the device used and by the fitted costs."""
    if not all(fit["overhead"] > 0 and fit["per_example"] > 0 for fit in fits.values()):
        return "undetermined"
    if not device.startswith("cpu"):
        return "parallelism and overhead"
    costlier = max(fits, key=lambda path: fits[path]["overhead"])
    longer = max(fits, key=lambda path: fits[path]["knee"])
    return "overhead" if costlier == longer else "overhead and cost per example"


# %%
NAMES = {"fused": "the fused path", "gluon": "the Gluon step"}
costlier = max(fits, key=lambda path: fits[path]["overhead"])
findings.update(costlier_path=NAMES[costlier], costlier_overhead=fits[costlier]["overhead"],
                other_overhead=min(fit["overhead"] for fit in fits.values()),
                costlier_per_example=fits[costlier]["per_example"],
                other_per_example=min(fit["per_example"] for fit in fits.values()),
                fused_knee=fits["fused"]["knee"], gluon_knee=fits["gluon"]["knee"])
verdicts["flat_region_cause"] = flat_region_cause(device, fits)
SAY_CAUSE = {
    "overhead": "On this CPU the flat region is overhead, not parallelism: {costlier_path}, with"
                " the larger\n  fixed cost ({costlier_overhead:.2g} s against"
                " {other_overhead:.2g} s), has the longer one.",
    "overhead and cost per example": "On this CPU {costlier_path} has the larger fixed cost but"
                                     " not the longer flat region:\n  its cost per example is"
                                     " larger too ({costlier_per_example:.2g} s).",
    "parallelism and overhead": "On {device} a batch's examples run in parallel on many cores,"
                                " so the flat region is\n  parallelism as well as overhead; knees:"
                                " fused B ≈ {fused_knee:.0f}, Gluon step B ≈ {gluon_knee:.0f}.",
    "undetermined": "What the flat region is made of stays undetermined: a fit found no positive"
                    " fixed cost\n  and cost per example.",
}
print(SAY_CAUSE[verdicts["flat_region_cause"]].format(**findings))

# %% [markdown]
# ## 7. Is the extrapolation honest?
# The starred epochs multiply the time of some updates by the updates in an epoch. A part of an
# epoch reads only the rows those updates use; a whole epoch streams every row through memory.
# Here whole epochs at `check_batch_size` are timed on the fused path, with the same warm-up and
# repeats. They agree with the extrapolated one when their ranges overlap.

# %%
def time_whole_epochs(batch_size):
    """Whole fused epochs at `batch_size`, each after its own shuffle: `timing.epoch_seconds`."""
    per_epoch = loading.num_batches(num_examples, batch_size)
    updates = fused.LinearUpdates(net, batch_size, lr=lr)
    times = timing.epoch_part_seconds(batches.epoch_arrays,
                                      {"fused": lambda X, y: updates.run(X, y)}, repeats)
    return timing.epoch_seconds(times["shuffle"], times["fused"], per_epoch, per_epoch)


def extrapolation_verdict(whole, guessed):
    """Whether whole epochs agree with the extrapolated one (their ranges overlap)."""
    if whole is None:
        return "not checked"
    if not guessed["extrapolated"]:
        return "timed whole"
    low, high = whole["seconds_per_epoch_spread"]
    g_low, g_high = guessed["seconds_per_epoch_spread"]
    if low <= g_high and g_low <= high:
        return "agrees"
    return "runs low" if whole["seconds_per_epoch"] > guessed["seconds_per_epoch"] else "runs high"


mark = time.perf_counter()
whole = guessed = None
if check_epoch:
    whole = time_whole_epochs(check_batch_size)
    guessed = rows[batch_sizes.index(check_batch_size)]["fused"]
    print(f"batch {check_batch_size}, fused: whole epochs {whole['seconds_per_epoch']:.3g} s"
          f" (repeats {whole['seconds_per_epoch_spread'][0]:.3g}–"
          f"{whole['seconds_per_epoch_spread'][1]:.3g} s); from {guessed['timed_updates']} updates"
          f" {guessed['seconds_per_epoch']:.3g} s")
spent["timing whole epochs"] = time.perf_counter() - mark

# %%
verdicts["extrapolation"] = extrapolation_verdict(whole, guessed)
findings["epoch_check"] = None
if whole is not None:
    findings["epoch_check"] = dict(
        batch_size=check_batch_size, measured=whole["seconds_per_epoch"],
        measured_spread=whole["seconds_per_epoch_spread"],
        extrapolated=guessed["seconds_per_epoch"],
        extrapolated_spread=guessed["seconds_per_epoch_spread"],
        timed_updates=guessed["timed_updates"], was_extrapolated=guessed["extrapolated"],
        time_ratio=whole["seconds_per_epoch"] / guessed["seconds_per_epoch"])
check = dict(findings["epoch_check"] or {}, check_batch_size=check_batch_size)
SAY_EXTRAPOLATION = {
    "not checked": "The extrapolated epochs were not checked against whole ones"
                   " (check_epoch=False).",
    "timed whole": "The epoch at batch {check_batch_size} was already timed whole: nothing"
                   " extrapolated to check.",
    "agrees": "Whole epochs at batch {check_batch_size} agree with the extrapolated one within the"
              " spread (ratio {time_ratio:.2f}):\n  the starred epochs can be read as measured.",
    "runs low": "Whole epochs at batch {check_batch_size} took {time_ratio:.2f} times the"
                " extrapolated one, beyond the spread:\n  read the starred epochs as lower bounds.",
    "runs high": "Whole epochs at batch {check_batch_size} took {time_ratio:.2f} times the"
                 " extrapolated one, beyond the spread:\n  read the starred epochs as upper"
                 " bounds.",
}
print(SAY_EXTRAPOLATION[verdicts["extrapolation"]].format(**check))

# %% [markdown]
# ## What we found
# Each sentence is chosen by this run's numbers; each was printed under the measurement it judges.

# %%
first, last = rows[0]["default_path"], rows[-1]["default_path"]
print(f"On {device}, with the default path, one update takes {first['seconds_per_update']:.3g} s"
      f" at batch {batch_sizes[0]}\n  and {last['seconds_per_update']:.3g} s at batch"
      f" {batch_sizes[-1]}; an epoch {first['seconds_per_epoch']:.3g} s and"
      f" {last['seconds_per_epoch']:.3g} s.")
print(SAY_FASTEST[verdicts["fastest_epoch"]].format(**findings))
print(SAY_SHARE[verdicts["largest_batch_epoch"]].format(**findings))
print(SAY_EXTRAPOLATION[verdicts["extrapolation"]].format(**check))
print(f"Flat region ends: fused path {verdicts['flat_region_fused']}, Gluon step"
      f" {verdicts['flat_region_gluon']}.")
print(SAY_CAUSE[verdicts["flat_region_cause"]].format(**findings))
print(SAY_DEFAULT[verdicts["default_path"]].format(**findings))

# %% [markdown]
# ## Where this run's time went
# Importing MXNet takes a few seconds before any of this. Then the timings: every timed epoch
# (one warm-up and the repeats, for every batch size and for the whole-epoch check) first gathers
# a shuffled copy of all the data, 188 MB at the defaults, which is most of the table's time.

# %%
spent["total, after the imports"] = time.perf_counter() - started
for part, seconds in spent.items():
    print(f"  {part:22} {seconds:6.1f} s")

# %%
default = [r["default_path"] for r in rows]
findings.update({key: [path[key] for path in default] for key in (
    "seconds_per_update", "seconds_per_update_spread", "seconds_per_epoch",
    "seconds_per_epoch_spread", "update_seconds_per_epoch", "extrapolated", "timed_updates")})
findings.update({f"{path}_{key}": [r[path][key] for r in rows] for path in ("fused", "gluon")
                 for key in ("seconds_per_update", "seconds_per_epoch", "seconds_per_epoch_spread",
                             "timed_updates")})
findings.update(updates_per_epoch=[r["updates_per_epoch"] for r in rows],
                repeats_per_batch_size=[r["repeats"] for r in rows],
                default_path=[r["default"] for r in rows],
                shuffle_seconds_per_batch_size=[r["shuffle_seconds"] for r in rows],
                shuffle_share_of_epoch_time=[shuffle_share(r) for r in rows])

# %% [markdown]
# ## Exercises
# 1. Run on a GPU (`--set ctx=gpu`, with `mxnet-cu117` installed) and compare the knee with this
#    CPU's. Which term of t(B) changed? Which sentence of "What we found" changed?
# 2. Set `MXNET_ENGINE_TYPE=NaiveEngine` before starting Python and run again: which term shrinks?
# 3. Halve `num_features` (`--set num_features=392`). What happens to per_example, to the knee,
#    and to the shuffle's share of a big-batch epoch?
# 4. Run twice and compare the lowest-median batch size and the tied ones. Then raise `repeats`:
#    does the set of tied batch sizes shrink, or only the spread?
# 5. Lesson 7 asks how many *updates* each batch size needs to reach a target loss. Multiply its
#    answer by this lesson's seconds per update: which batch size gets there soonest here?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 6`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(6, number, answer)
