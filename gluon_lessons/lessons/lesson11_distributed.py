# %% [markdown]
# # Lesson 11 — Data parallel and distributed training: several devices, and a parameter server
#
# What you will see: one global batch split over several devices with `split_and_load`, the
# `Trainer` summing their gradients, and the weights of one device coming out to float32
# rounding; why more devices mean a larger global batch and a larger learning rate, and where
# that stops; then MXNet's parameter server (a scheduler, a server and worker processes started by
# MXNet's own launcher), each worker training on its own shard of the house prices and every
# worker ending with the weights one process gets on the same global batches; what a worker
# epoch costs against one process, timed in interleaved repeats; and `dist_async`, where a fast
# worker does not wait for a slow one.
#
# Run it: `gluon-lessons run distributed` (about 7.5 s here, most of it two workers and a
# server importing MXNet in each of two launches; `--quick`, one launch, in about 4), or as a
# notebook: `gluon-lessons notebook 11`.

# %%
import textwrap

import mxnet as mx
import numpy as onp
from mxnet import autograd, gluon, np, npx

from gluon_lessons import checks, devices, landscape, loading, model, parameter_server, plots
from gluon_lessons import data as house_data
from gluon_lessons import training
from gluon_lessons.seeding import set_seed
from gluon_lessons.shell import launcher, worker

npx.set_np()

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random
batch_size = 24            # global batch: examples per update, all devices or workers together
lr = 0.1                   # learning rate of the global batch
num_epochs = 6             # passes over the data (sections 2, 5, 6); after the first, each is timed
device_counts = (1, 2, 3)  # sections 1-2: CPU contexts each batch is split over (gpu(i) with GPUs)
scaling_epochs = 2         # section 3: passes over the data of each run
num_workers = 2            # sections 4-7: worker processes of the parameter server
num_servers = 1            # sections 4-7: server processes holding the weights
start_processes = True     # False: sections 1-3 only, no process is started
compare_async = True       # section 7: launch once more, with one slow worker
slow_kvstore = "dist_async"  # section 7's store: dist_async, or dist_sync to see the waiting
slow_worker_ms = 20.0      # section 7: worker 1 sleeps this long after each of its steps
slow_epochs = 1            # section 7: passes over the data
timeout_seconds = 120.0    # every launch is stopped after this long, whatever happens
out_dir = None             # None: figures show inline in a notebook; the command line saves them
QUICK = dict(device_counts=(1, 2), compare_async=False, num_epochs=4)  # one launch, 3 timed epochs

# %%
seed = checks.integer("seed", seed, 0, 2**31 - 1)
batch_size = checks.integer("batch_size", batch_size, 1, 1000)
lr = checks.positive("lr", lr, high=1.0)  # below 2/λ_max ≈ 1.89: stable; section 3 scales it
num_epochs = checks.integer("num_epochs", num_epochs, 4, 20)  # 3 timed repeats at least
device_counts = checks.integers("device_counts", device_counts, 1, 8, max_length=4)
scaling_epochs = checks.integer("scaling_epochs", scaling_epochs, 1, 20)
num_workers = checks.integer("num_workers", num_workers, 1, 4)
num_servers = checks.integer("num_servers", num_servers, 1, 2)
start_processes = checks.flag("start_processes", start_processes)
compare_async = checks.flag("compare_async", compare_async)
slow_kvstore = checks.choice("slow_kvstore", slow_kvstore, parameter_server.KVSTORES)
slow_worker_ms = checks.number("slow_worker_ms", slow_worker_ms, 0.0, 200.0)
slow_epochs = checks.integer("slow_epochs", slow_epochs, 1, 10)
timeout_seconds = checks.positive("timeout_seconds", timeout_seconds, high=600.0)
house = house_data.walkthrough_data()  # 1000 examples, w = [2, -3.4], b = 4.2 (lesson 1)
parameter_server.check_sharding(house.num_examples, num_workers, batch_size)
launcher.check_launch(num_workers, num_servers, timeout=timeout_seconds)  # memory for the processes
device_counts = sorted(set(device_counts) | {1})  # one device is what the others are compared with
print(f"seed {seed}, global batch {batch_size}, lr {lr:g}, {num_epochs} epochs, devices "
      f"{device_counts}, {num_workers} workers and {num_servers} server(s)")

# %% [markdown]
# ## 1. One batch, several devices
# `gluon.utils.split_and_load(X, ctx_list)` cuts a batch along its first axis into one part per
# device and copies each part there. Every device keeps a copy of the parameters, runs the
# forward and backward pass of its part, and holds the gradient of its part's loss sum.
# `trainer.step(batch_size)` adds the copies' gradients (through its kvstore, `'device'` here),
# divides by the global batch size and updates every copy alike: the mean gradient of the whole
# batch, computed in pieces. We check the pieces against the gradient worked out by hand in
# float64, X̃ᵀ(X̃w̃ − y) summed over the batch (lesson 3).

# %%
contexts = [mx.cpu(i) for i in range(max(device_counts))]
X, y = np.array(house.features[:batch_size]), np.array(house.labels[:batch_size])
set_seed(seed)
net = model.linear_regression(contexts, num_inputs=house.num_features)
loss = gluon.loss.L2Loss()
X_parts = gluon.utils.split_and_load(X, contexts, even_split=False)
y_parts = gluon.utils.split_and_load(y, contexts, even_split=False)
used = [c for c, X_part in zip(contexts, X_parts) if len(X_part)]  # a small batch leaves some empty
X_parts, y_parts = X_parts[:len(used)], y_parts[:len(used)]
with autograd.record():
    losses = [loss(net(X_part), y_part) for X_part, y_part in zip(X_parts, y_parts)]
for part_loss in losses:
    part_loss.backward()
parts = [onp.append(net[0].weight.grad(c).asnumpy(), net[0].bias.grad(c).asnumpy()) for c in used]
start = onp.append(*model.extract_weights(net))
by_hand = landscape.gradient(house.features[:batch_size], house.labels[:batch_size], start)
by_hand = by_hand * batch_size
for c, X_part, part in zip(used, X_parts, parts):
    print(f"{c}: rows {len(X_part)}, gradient of its loss sum (w1, w2, b) {onp.round(part, 4)}")
split_gap = float(onp.max(onp.abs(sum(parts) - by_hand)))
relative = split_gap / max(1.0, abs(by_hand).max())  # float32 sums: a few ulp, ~1e-7 each
verdicts = {"split_gradients": "add up" if relative < 1e-5 else "do not add up"}
print(f"sum over the devices {onp.round(sum(parts), 4)}")
print(f"by hand, float64        {onp.round(by_hand, 4)}   (largest difference {split_gap:.1e}: "
      f"they {verdicts['split_gradients']})")

# %% [markdown]
# ## 2. Training on several devices, timed in interleaved repeats
# The same seed, the same global batches of `batch_size` (those the workers of section 5 will use
# together, so that one device here is the one process they are compared with), the same
# learning rate; only the number of devices each batch is split over changes. The sums are the
# same sums added in another order, so the weights may differ by float32 rounding and nothing
# more. Timing: every device count trains epoch e before any trains epoch e + 1, so a slow moment
# of the machine hits them alike; the first epoch (MXNet builds its graphs) is not counted. We
# report the median and the range of the other epochs, and call two timings different only when
# their ranges do not overlap.

# %%
SAME = 1e-5  # float32 sums in another order move weights of size ~4 by a few ulp (~1e-6)


def say(templates, verdict, **values):
    """The sentence for `verdict`, filled with `values`, wrapped at 100 characters."""
    print(textwrap.fill(templates[verdict].format(**values), 100))


def max_gap(a, b):
    """Largest absolute difference between two weight vectors (w_1, ..., w_d, b)."""
    return float(onp.max(onp.abs(onp.asarray(a, onp.float64) - onp.asarray(b, onp.float64))))


def compare(seconds, reference):
    """'faster', 'slower' or 'indistinguishable': whether the two ranges (min to max) overlap."""
    if max(seconds) < min(reference):
        return "faster"
    return "slower" if min(seconds) > max(reference) else "indistinguishable"


def spread(seconds):
    return f"{onp.median(seconds):.4f} s ({min(seconds):.4f}-{max(seconds):.4f})"


def global_batches(epoch):
    return parameter_server.global_batches(house.num_examples, num_workers, batch_size, seed, epoch)


def start_training(num_devices):
    """A hybridized `Dense(1)` from `seed` on `num_devices` CPU contexts, its trainer, batches."""
    ctx = [mx.cpu(i) for i in range(num_devices)]
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=house.num_features, hybrid=True)
    net.hybridize(static_alloc=True, static_shape=True)
    batches = parameter_server.EpochBatches(house.features, house.labels, global_batches, ctx[0])
    return net, training.make_trainer(net, "sgd", lr), batches, ctx


# %%
runs = {count: start_training(count) for count in device_counts}
device_seconds = {count: [] for count in device_counts}
for epoch in range(num_epochs):  # interleaved: one epoch of each device count in turn
    for count, (net, trainer, batches, ctx) in runs.items():
        history = training.fit(net, batches, trainer, 1, ctx=ctx, hybridize=False)
        device_seconds[count].append(history.seconds_per_epoch[0])
device_seconds = {count: seconds[1:] for count, seconds in device_seconds.items()}  # warm-up out
device_weights = {count: onp.append(*model.extract_weights(runs[count][0])) for count in runs}
device_gaps = {count: max_gap(device_weights[count], device_weights[1]) for count in runs}
verdicts["devices_weights"] = "same" if max(device_gaps.values()) < SAME else "differ"
for count in device_counts:
    print(f"{count} device(s): w {onp.round(device_weights[count], 5)}, "
          f"{device_gaps[count]:.0e} from 1 device; epoch {spread(device_seconds[count])}")
print(f"the weights: the {verdicts['devices_weights']} up to float32 rounding")
for count in device_counts[1:]:
    verdicts[f"speed_{count}_devices"] = compare(device_seconds[count], device_seconds[1])
    print(f"an epoch on {count} devices against 1: {verdicts[f'speed_{count}_devices']}")

# %% [markdown]
# ## 3. Global batch = per-device batch × devices, and the learning rate
# Above, the global batch stayed at `batch_size` and the devices shared it. In practice each
# device is given a fixed batch it can hold, so k devices make a k times larger global batch and
# k times fewer updates per epoch. Lesson 7's linear scaling rule multiplies the learning rate by
# k to move as far per epoch, but only while k·lr stays under the stability limit of lesson 5:
# plain gradient descent on this loss converges only for lr < 2/λ_max, λ_max the largest
# eigenvalue of its Hessian X̃ᵀX̃/n. We train three ways for `scaling_epochs` passes and measure
# how far each ends from least squares.

# %%
ols = onp.append(*model.least_squares(house.features, house.labels))
lambda_max = float(landscape.eigenvalues(landscape.hessian(house.features))[-1])
stability_limit = 2 / lambda_max
most = max(device_counts)


def train_scaled(num_devices, global_batch, run_lr):
    """Distance from least squares after `scaling_epochs` (inf if it diverged), and updates."""
    ctx = [mx.cpu(i) for i in range(num_devices)]
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=house.num_features, hybrid=True)
    batches = loading.ShuffledBatches(house.features, house.labels, global_batch, ctx=ctx[0])
    try:
        history = training.fit(net, batches, training.make_trainer(net, "sgd", run_lr),
                               scaling_epochs, ctx=ctx)
    except training.DivergenceError:
        return float("inf"), None
    weights = onp.append(*model.extract_weights(net))
    return float(onp.linalg.norm(weights - ols)), len(history.step_loss)


# %%
plans = {"base": (1, batch_size, lr), "unscaled": (most, most * batch_size, lr),
         "scaled": (most, most * batch_size, most * lr)}
scaling = {name: train_scaled(*plan) for name, plan in plans.items()}
for name, (count, global_batch, run_lr) in plans.items():
    distance, updates = scaling[name]
    print(f"{name:>8}: {count} device(s), batch {global_batch}, lr {run_lr:g}: {updates} updates, "
          f"distance to least squares {distance:.1e}")
base, unscaled, scaled = (scaling[name][0] for name in plans)
floor = 3 * base + 1e-3  # the batch noise's floor (~1e-3) varies ~2x from run to run
verdicts["unscaled"] = "lags" if unscaled > floor else "keeps up"
if scaled == float("inf"):
    verdicts["lr_scaling"] = "diverged"
else:
    verdicts["lr_scaling"] = "recovers" if scaled <= floor else "does not recover"
predicted = most * lr < stability_limit
verdicts["stability_limit"] = "agrees" if predicted == (scaled < float("inf")) else "disagrees"
print(f"λ_max = {lambda_max:.3f}, so lr must stay below 2/λ_max = {stability_limit:.3f}; "
      f"the scaled lr is {most * lr:g}")
print(f"unscaled: {verdicts['unscaled']}; scaled: {verdicts['lr_scaling']}; the limit "
      f"{verdicts['stability_limit']} with what happened")

# %% [markdown]
# ## 4. The parameter server: a scheduler, servers and workers
# Across processes (and machines) there is no shared memory to sum gradients in. MXNet's
# `kvstore='dist_sync'` uses a parameter server (ps-lite): **server** processes hold the weights
# and run the optimizer; each **worker** computes the gradient of its part of the global batch,
# pushes it, and pulls the new weights; a **scheduler** introduces them to each other. Each
# process learns its part from environment variables: `DMLC_ROLE` (worker, server or scheduler),
# `DMLC_PS_ROOT_URI` and `DMLC_PS_ROOT_PORT` (where the scheduler listens), `DMLC_NUM_WORKER`,
# `DMLC_NUM_SERVER`. MXNet's wheel ships the launcher that sets them: `mxnet/tools/launch.py`
# over the `dmlc_tracker` package (local processes, ssh, mpi, sge, yarn). The course's
# `launcher.launch` (and `gluon-lessons launch`) starts it with one fix for Python ≥ 3.9, keeps a
# local run on 127.0.0.1, limits its time, and stops every process it started, whatever happens.
# Every role runs the same command: with `DMLC_ROLE=server`, `import mxnet` itself serves until
# the job ends. The scheduler runs no Python code of MXNet's, so the course's worker program runs
# it through MXNet's C library alone and spares that process MXNet's import.

# %%
train_arguments = ["--batch-size", str(batch_size), "--lr", str(lr), "--epochs", str(num_epochs),
                   "--seed", str(seed)]
print(f"MXNet's launcher:\n  {launcher.launch_script()}")
print(f"the same run from a shell:\n  gluon-lessons launch --workers {num_workers} --servers "
      f"{num_servers} -- train {' '.join(train_arguments)}")
print(f"each of the {num_workers} workers trains on {house.num_examples // num_workers} of the "
      f"{house.num_examples} examples, {batch_size // num_workers} per step")

# %% [markdown]
# ## 5. Workers, one global batch
# Worker r trains on rows r·n/N to (r+1)·n/N only (no worker sees another's examples), shuffled
# anew each epoch, `batch_size/N` rows per step. The servers add the N gradients of a step, and
# the optimizer on the servers divides by the global batch: `rescale_grad = 1/N` with each
# worker's `trainer.step(batch_size/N)`. So each update is the mean gradient over a global batch
# of `batch_size` rows: the update one process makes when it trains on the union of the workers'
# k-th batches at step k, as one device did in section 2. (The launcher numbers the processes as
# it starts them, "worker 0", "worker 1"; ps-lite numbers the workers by the order they register,
# the rank, which is what picks the shard.)

# %%
if start_processes:
    sync_results, sync_launch = worker.launch_training(
        num_workers, num_servers, "dist_sync", batch_size, lr, num_epochs=num_epochs, seed=seed,
        timeout=timeout_seconds, time_one_process=True)
    for result in sync_results:
        rows = f"{result['shard'][0]}-{result['shard'][1] - 1}"
        print(f"{result['label']}, rank {result['rank']}, rows {rows}: "
              f"w {onp.round(result['weight'], 6)}, b {result['bias']:.6f}")
    worker_weights = [onp.append(result["weight"], result["bias"]) for result in sync_results]
    worker_gap = max(max_gap(weights, worker_weights[0]) for weights in worker_weights)
    dist_gap = max_gap(worker_weights[0], device_weights[1])
    sync_distance = float(onp.linalg.norm(worker_weights[0] - ols))
    verdicts["workers_identical"] = "identical" if worker_gap == 0 else "differ"
    verdicts["workers_vs_one_process"] = "same" if dist_gap < SAME else "differ"
    print(f"one device (section 2): w {onp.round(device_weights[1], 6)}")
    print(f"between workers {worker_gap:.1e} ({verdicts['workers_identical']}); "
          f"workers against one process {dist_gap:.1e} ({verdicts['workers_vs_one_process']})")
else:
    print("start_processes=False: no processes started")

# %% [markdown]
# ## 6. Where the time goes
# Each worker notes when mxnet was imported, when it had joined the others (the kvstore is made)
# and when it finished training; the launch notes when it started and when every process had
# exited. Inside the launch, after each distributed epoch, the workers wait for each other and
# worker 0 trains one epoch of the same global batches alone, on its own copy of the weights; then
# the next distributed epoch starts. So the worker epochs and the one-process epochs are timed in
# interleaved repeats, on a machine in the same state (the other processes idle).

# %%
if start_processes:
    phases = {"dist_sync": parameter_server.launch_phases(sync_results, sync_launch)}
    first = sync_results[0]
    worker_seconds = first["seconds_per_epoch"][1:]  # the first epoch builds graphs: not counted
    one_process_seconds = first["one_process_seconds_per_epoch"][1:]
    verdicts["workers_speed"] = compare(worker_seconds, one_process_seconds)
    phase = phases["dist_sync"]
    print(f"start-up {phase['startup']:.2f} s (mxnet imported by {phase['imported']:.2f} s), "
          f"training {phase['training']:.2f} s, shutdown {phase['shutdown']:.2f} s")
    print(f"an epoch: {num_workers} workers {spread(worker_seconds)}, "
          f"one process {spread(one_process_seconds)}")
    print(f"the workers against one process: {verdicts['workers_speed']}")

# %% [markdown]
# ## 7. A slow worker: `dist_async` does not wait
# With `kvstore='dist_async'` the servers apply each worker's gradient as soon as it arrives,
# instead of waiting for all N. Nobody waits for the slowest worker; in exchange a worker's
# gradient may be computed on weights the others have already moved, and the workers pull at
# different moments. To see it, worker 1 sleeps `slow_worker_ms` after each of its steps. With
# `dist_sync` every step of worker 0 would wait for worker 1's push, so both would finish
# together; with `dist_async` worker 0 finishes in a fraction of worker 1's time. (Set
# `slow_kvstore = "dist_sync"` to watch the waiting.)

# %%
slow_results = None
if start_processes and compare_async and num_workers >= 2:
    slow_results, slow_launch = worker.launch_training(
        num_workers, num_servers, slow_kvstore, batch_size, lr, num_epochs=slow_epochs, seed=seed,
        timeout=timeout_seconds, slow_rank=1, slow_ms=slow_worker_ms)
    phases[f"{slow_kvstore}, worker 1 slow"] = parameter_server.launch_phases(slow_results,
                                                                              slow_launch)
    training_seconds = {r["rank"]: sum(r["seconds_per_epoch"]) for r in slow_results}
    fast_share = training_seconds[0] / training_seconds[1]
    verdicts["slow_worker"] = "no waiting" if fast_share < 0.5 else "waits"
    slow_weights = [onp.append(r["weight"], r["bias"]) for r in slow_results]
    slow_gap = max(max_gap(weights, slow_weights[0]) for weights in slow_weights)
    slow_distance = max(float(onp.linalg.norm(weights - ols)) for weights in slow_weights)
    for r in slow_results:
        print(f"{r['label']}, rank {r['rank']}: training {training_seconds[r['rank']]:.2f} s, "
              f"w {onp.round(r['weight'], 6)}, b {r['bias']:.6f}")
    print(f"worker 0 trained for {fast_share:.0%} of worker 1's time: {verdicts['slow_worker']}")
    print(f"the workers ended {slow_gap:.1e} apart, at most {slow_distance:.1e} from least squares")
else:
    print("compare_async=False, start_processes=False or one worker: section 7 not run")

# %% [markdown]
# The figure: seconds per epoch on 1, 2, ... devices in this process (median and range of the
# timed epochs); inside the launch, a worker epoch against an epoch of one process; and where
# each launch's wall time went.

# %%
launch_timings = None
if start_processes:
    launch_timings = {f"{num_workers} workers": worker_seconds, "one process": one_process_seconds}
figure = plots.parallel_times(device_seconds, launch_timings, phases if start_processes else {},
                              out_dir, "parallel_times")
findings = {
    "seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs,
    "num_servers": num_servers, "devices": devices.ctx_names(contexts),
    "device_counts": device_counts, "split_gradient_gap": split_gap,
    "device_weights": device_weights, "device_gaps": device_gaps,
    "seconds_per_epoch_devices": device_seconds, "lambda_max": lambda_max,
    "stability_limit": stability_limit, "scaling": scaling, "ols": ols,
    "true_weight": list(house.true_w), "true_bias": house.true_b,
    "workers": num_workers * start_processes, "verdicts": verdicts, "figures": [figure],
}
if start_processes:
    findings.update(worker_results=sync_results, worker_gap=worker_gap, dist_gap=dist_gap,
                    launch_seconds=phases, worker_seconds_per_epoch=worker_seconds,
                    one_process_seconds_per_epoch=one_process_seconds)
if slow_results is not None:
    findings.update(slow_results=slow_results, slow_worker_gap=slow_gap,
                    slow_training_seconds=training_seconds)

# %% [markdown]
# ## What we found

# %%
SAY_SPLIT = {"add up": "The devices' gradients add up to the one worked out by hand ({gap:.0e}).",
             "do not add up": "The devices' gradients do NOT add up to the hand-computed one."}
SAY_DEVICES = {"same": "Splitting batches over {counts} devices left the weights of one device "
                       "unchanged up to float32 rounding ({gap:.0e}).",
               "differ": "Splitting batches over {counts} devices changed the weights ({gap:.0e})."}
SAY_SPEED = {"slower": "With {k} devices an epoch was slower than with one: {t} against {t1}.",
             "faster": "With {k} devices an epoch was faster than with one: {t} against {t1}.",
             "indistinguishable": "With {k} devices an epoch took {t} against {t1} with one: "
                                  "the ranges overlap, indistinguishable."}
say(SAY_SPLIT, verdicts["split_gradients"], gap=split_gap)
say(SAY_DEVICES, verdicts["devices_weights"], counts=" and ".join(map(str, device_counts[1:])),
    gap=max(device_gaps.values()))
for k in device_counts[1:]:
    say(SAY_SPEED, verdicts[f"speed_{k}_devices"], k=k, t=spread(device_seconds[k]),
        t1=spread(device_seconds[1]))

# %%
SAY_UNSCALED = {"lags": "With {k} devices and batch {b} at lr {lr:g}, training ended {d:.0e} from "
                        "least squares, one device {base:.0e}: {k} times fewer updates per epoch.",
                "keeps up": "With {k} devices and batch {b} at lr {lr:g}, training ended as close "
                            "to least squares as one device ({d:.0e} against {base:.0e})."}
SAY_SCALED = {"recovers": "Scaling lr by {k} to {slr:g} brought it back to {d:.0e}.",
              "does not recover": "Scaling lr by {k} to {slr:g} did NOT recover ({d:.0e}).",
              "diverged": "Scaling lr by {k} to {slr:g} diverged."}
SAY_LIMIT = {"agrees": "The stability limit 2/λ_max = {limit:.3f} foretold whether it would.",
             "disagrees": "The stability limit 2/λ_max = {limit:.3f} did NOT foretell it."}
say(SAY_UNSCALED, verdicts["unscaled"], k=most, b=most * batch_size, lr=lr, d=unscaled, base=base)
say(SAY_SCALED, verdicts["lr_scaling"], k=most, slr=most * lr, d=scaled)
say(SAY_LIMIT, verdicts["stability_limit"], limit=stability_limit)

# %%
SAY_WORKERS = {"identical": "The {n} workers ended with identical weights, bit for bit.",
               "differ": "The {n} workers ended with weights {gap:.0e} apart."}
SAY_ONE = {"same": "They are the weights of one process on the same global batches ({gap:.0e}).",
           "differ": "They are NOT the weights of one process on the same batches ({gap:.0e})."}
if start_processes:
    say(SAY_WORKERS, verdicts["workers_identical"], n=num_workers, gap=worker_gap)
    say(SAY_ONE, verdicts["workers_vs_one_process"], gap=dist_gap)

# %%
SAY_PACE = {"slower": "Inside the launch an epoch on {n} workers took {t}, one process {t1}: "
                      "slower, as every step waits for a round trip through the server.",
            "faster": "Inside the launch an epoch on {n} workers took {t}, one process {t1}: "
                      "faster, each worker computing 1/{n} of the gradient.",
            "indistinguishable": "Inside the launch an epoch on {n} workers took {t}, one process "
                                 "{t1}: the ranges overlap, indistinguishable."}
if start_processes:
    say(SAY_PACE, verdicts["workers_speed"], n=num_workers, t=spread(worker_seconds),
        t1=spread(one_process_seconds))
    print(textwrap.fill(f"Of the launch's {sync_launch.seconds:.1f} s, starting "
                        f"{num_workers + num_servers + 1} processes and importing MXNet in the "
                        f"{num_workers + num_servers} workers and servers took "
                        f"{phases['dist_sync']['startup']:.1f} s.", 100))

# %%
SAY_SLOW = {"no waiting": "With {store} and worker 1 slowed by {ms:g} ms a step, worker 0 trained "
                          "for {share:.0%} of worker 1's time: it did not wait.",
            "waits": "With {store} and worker 1 slowed by {ms:g} ms a step, worker 0 trained for "
                     "{share:.0%} of worker 1's time: it waited for the slow worker."}
if slow_results is not None:
    say(SAY_SLOW, verdicts["slow_worker"], store=slow_kvstore, ms=slow_worker_ms, share=fast_share)
    print(f"The workers ended {slow_gap:.0e} apart, each with the weights it pulled last.")

# %% [markdown]
# ## Exercises
# 1. Run `gluon-lessons launch --workers 2 -- train --epochs 3` in a terminal, and press Ctrl-C
#    while it starts. Check with `ps` that no worker, server or scheduler is left.
# 2. Set `device_counts = (1, 4)` and `batch_size = 4`: each device gets one row. Then
#    `batch_size = 2`: two devices get none. Do the weights still equal one device's?
# 3. Set `lr = 0.8` (`--set lr=0.8`). Which of the three runs of section 3 diverges, and does
#    2/λ_max say so in advance?
# 4. Set `num_workers = 3` and `batch_size = 20`. What does the lesson say, and why must the
#    global batch be a multiple of the workers here (and not of the devices in section 1)?
# 5. Set `slow_kvstore = "dist_sync"`. How long does worker 0 train now, and why?
# 6. With two machines that reach each other by ssh, write their names in a file `hosts` and run
#    `gluon-lessons launch --launcher ssh --hostfile hosts --workers 2 -- train`. The
#    scheduler's port (chosen by the tracker, from 9091 up) and the ports ps-lite picks must be
#    open between them.
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 11`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(11, number, answer)
