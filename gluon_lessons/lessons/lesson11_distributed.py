# %% [markdown]
# # Lesson 11 — Data parallel and distributed training: several devices, and a parameter server on local processes
#
# What you will see: one global batch split over several devices with `split_and_load`, the
# `Trainer` summing their gradients, and the weights of one device coming out to float32 rounding;
# why more devices mean a larger global batch and a larger learning rate, and where that stops;
# then MXNet's parameter server — a scheduler, a server and worker processes started by MXNet's
# own launcher — with each worker training on its own shard of the house prices and every worker
# ending with the weights one process gets on the same global batches. Timed throughout, so you
# see what parallel hardware costs and gains for a model as small as ours on this machine.
#
# Run it: `gluon-lessons run distributed`, `python -m gluon_lessons.lessons.lesson11_distributed`,
# or as a notebook: `gluon-lessons notebook 11`.

# %%
import math
import os

import mxnet as mx
import numpy as onp
from mxnet import autograd, gluon, np, npx

from gluon_lessons import data as house_data
from gluon_lessons import devices, landscape, loading, model, plots, training
from gluon_lessons.shell import launcher as distributed
from gluon_lessons.shell import worker as dist_worker
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0                   # one seed for random, numpy and mx.random
batch_size = 24            # global batch: examples per update, all devices or workers together
lr = 0.1                   # learning rate of the global batch
num_epochs = 3             # passes over the data
device_counts = (1, 2, 3)  # CPU contexts each batch is split over in part 1 (with GPUs they would be gpu(i))
num_workers = 2            # worker processes of the parameter server in part 2
num_servers = 1            # server processes holding the weights
worker_counts = (1, 2, 3)  # worker counts timed for the figure; each is one launch of fresh processes
compare_async = True       # also train with kvstore='dist_async' and compare
start_processes = True     # False: part 1 only, no process is started
timeout_seconds = 120.0    # every launch is stopped after this long, whatever happens
out_dir = None             # None: figures show inline in a notebook; the command line saves them (lesson_output/distributed)
QUICK = dict(worker_counts=(2,), compare_async=False)  # one launch: starting processes is most of a quick run

# %%
house = house_data.walkthrough_data()  # 1000 examples, w = [2, -3.4], b = 4.2 (lesson 1)
with runner.checking_settings():  # a bad setting stops here with one line that names it
    training.check_hyperparameters(lr, 0.0, num_epochs)
    loading.check_batch_size(batch_size)
    for name, counts in (("device_counts", device_counts), ("worker_counts", worker_counts)):
        runner.require(name, counts, all(1 <= count <= 8 for count in counts), "whole numbers from 1 to 8")
    distributed.check_launch(num_workers, num_servers, timeout=timeout_seconds)
    launched_counts = sorted(set(worker_counts) | {num_workers}) if start_processes else []
    for count in launched_counts:
        dist_worker.check_sharding(house.num_examples, count, batch_size)
device_counts = sorted(set(device_counts) | {1})  # one device is what the others are compared with

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
Xs = gluon.utils.split_and_load(X, contexts, even_split=False)
ys = gluon.utils.split_and_load(y, contexts, even_split=False)
with autograd.record():
    losses = [loss(net(X_part), y_part) for X_part, y_part in zip(Xs, ys)]
for l in losses:
    l.backward()
parts = [onp.append(net[0].weight.grad(c).asnumpy(), net[0].bias.grad(c).asnumpy()) for c in contexts]
start = onp.append(*model.extract_weights(net))
by_hand = landscape.gradient(house.features[:batch_size], house.labels[:batch_size], start) * batch_size
for c, X_part, part in zip(contexts, Xs, parts):
    print("%s: rows %d, gradient of its loss sum (w1, w2, b) %s" % (c, len(X_part), onp.round(part, 4)))
split_gap = float(onp.max(onp.abs(sum(parts) - by_hand)))
print("sum over the devices %s\nby hand, float64        %s   (largest difference %.1e)"
      % (onp.round(sum(parts), 4), onp.round(by_hand, 4), split_gap))

# %% [markdown]
# ## 2. Training on 1, 2 and 3 devices
# The same seed, the same shuffled global batches of `batch_size`, the same learning rate; only
# the number of devices each batch is split over changes. The sums are the same sums, added in
# another order, so the weights may differ by float32 rounding and nothing more. The time per
# epoch tells what the split costs or gains here: the "devices" `cpu(0)`, `cpu(1)`, `cpu(2)`
# are the same two cores.

# %%
def max_gap(a, b):
    """Largest absolute difference between two weight vectors (w_1, ..., w_d, b)."""
    return float(onp.max(onp.abs(onp.asarray(a, onp.float64) - onp.asarray(b, onp.float64))))


def train_on(num_devices, global_batch=batch_size, rate=lr):
    """`Dense(1)` trained by `training.fit` from seed `seed`, each batch split over `num_devices` CPU contexts."""
    ctx = [mx.cpu(i) for i in range(num_devices)]
    set_seed(seed)
    net = model.linear_regression(ctx, num_inputs=house.num_features, hybrid=True)
    batches = loading.ShuffledBatches(house.features, house.labels, global_batch, ctx=ctx[0])
    history = training.fit(net, batches, training.make_trainer(net, "sgd", rate), num_epochs, ctx=ctx,
                           eval_data=(house.features, house.labels))
    return onp.append(*model.extract_weights(net)), history


device_runs = {k: train_on(k) for k in device_counts}
device_seconds = {k: history.median_seconds_per_epoch for k, (_, history) in device_runs.items()}
device_gaps = {k: max_gap(weights, device_runs[1][0]) for k, (weights, _) in device_runs.items()}
for k, (weights, history) in device_runs.items():
    print("%d device(s): w %s, b %.5f; differs from 1 device by %.1e; %.4f s per epoch"
          % (k, onp.round(weights[:-1], 5), weights[-1], device_gaps[k], device_seconds[k]))

# %% [markdown]
# ## 3. Global batch = per-device batch × devices, and the learning rate
# Above, the global batch stayed at `batch_size` and the devices shared it. In practice each device
# is given a fixed batch it can hold, so k devices make a k times larger global batch and k times
# fewer updates per epoch. Lesson 7's linear scaling rule multiplies the learning rate by k to
# move as far per epoch — but only while k·lr stays under the stability limit of lesson 5: plain
# gradient descent on this loss converges only for lr < 2/λ_max, λ_max the largest eigenvalue of
# its Hessian X̃ᵀX̃/n. We train three ways and measure how far each ends from least squares.

# %%
ols = onp.append(*model.least_squares(house.features, house.labels))
lambda_max = float(landscape.eigenvalues(landscape.hessian(house.features))[-1])
stability_limit = 2 / lambda_max
k = max(device_counts)
plans = {"1 device, batch %d, lr %g" % (batch_size, lr): (1, batch_size, lr),
         "%d devices, batch %d, lr %g" % (k, k * batch_size, lr): (k, k * batch_size, lr),
         "%d devices, batch %d, lr %g" % (k, k * batch_size, k * lr): (k, k * batch_size, k * lr)}
scaling = {}
for label, (count, global_batch, rate) in plans.items():
    try:
        weights, history = train_on(count, global_batch, rate)
        scaling[label] = {"distance": float(onp.linalg.norm(weights - ols)), "updates": len(history.step_loss)}
    except training.DivergenceError as error:
        scaling[label] = {"distance": math.inf, "updates": None, "diverged": str(error)}
    print("%-28s updates %-5s distance to least squares %s" % (label, scaling[label]["updates"],
          "diverged" if "diverged" in scaling[label] else "%.1e" % scaling[label]["distance"]))
print("λ_max = %.3f, so lr must stay below 2/λ_max = %.3f; the scaled lr is %g" % (lambda_max, stability_limit, k * lr))
base, unscaled, scaled = (scaling[label]["distance"] for label in plans)

# %% [markdown]
# ## 4. The parameter server: a scheduler, servers and workers
# Across processes (and machines) there is no shared memory to sum gradients in. MXNet's
# `kvstore='dist_sync'` uses a parameter server (ps-lite): **server** processes hold the weights
# and run the optimizer; each **worker** computes the gradient of its part of the global batch,
# pushes it, and pulls the new weights; a **scheduler** introduces them to each other. Each process
# learns its part from environment variables: `DMLC_ROLE` (worker, server or scheduler),
# `DMLC_PS_ROOT_URI` and `DMLC_PS_ROOT_PORT` (where the scheduler listens), `DMLC_NUM_WORKER`,
# `DMLC_NUM_SERVER`. MXNet's wheel ships the launcher that sets them: `mxnet/tools/launch.py`
# over the `dmlc_tracker` package (local processes, ssh, mpi, sge, yarn). `distributed.launch`
# (and `gluon-lessons launch`) starts it with one fix for Python ≥ 3.9, keeps a local run on
# 127.0.0.1, limits its time, and stops every process it started, whatever happens.

# %%
train_arguments = ["--batch-size", str(batch_size), "--lr", str(lr), "--epochs", str(num_epochs), "--seed", str(seed)]
print("MXNet's launcher:", distributed.launch_script())
print("the same run from a shell: gluon-lessons launch --workers %d --servers %d -- train %s"
      % (num_workers, num_servers, " ".join(train_arguments)))
print("what every process runs:", " ".join(distributed.train_command(train_arguments)))
print("each of the %d workers trains on %d of the %d examples, %d per step"
      % (num_workers, house.num_examples // num_workers, house.num_examples, batch_size // num_workers))

# %% [markdown]
# ## 5. Two workers, one global batch
# Worker r trains on rows r·n/N to (r+1)·n/N only (no worker sees another's examples), shuffled
# anew each epoch, `batch_size/N` rows per step. The servers add the N gradients of a step, and
# the optimizer on the servers divides by the global batch: `rescale_grad = 1/N` with each worker's
# `trainer.step(batch_size/N)`. So each update is the mean gradient over a global batch of
# `batch_size` rows — the same update one process makes when it trains on the union of the
# workers' k-th batches at step k. We launch the workers, then train that one process to compare.
# (The launcher numbers the processes as it starts them, "worker 0", "worker 1"; ps-lite numbers the
# workers by the order they register, the rank, which is what picks the shard.)

# %%
if start_processes:
    sync_results, sync_launch = dist_worker.launch_training(
        num_workers, num_servers, "dist_sync", batch_size, lr, num_epochs=num_epochs, seed=seed,
        timeout=timeout_seconds)
    for result in sync_results:
        print("%s, rank %d, rows %d-%d: w %s, b %.6f" % (result["label"], result["rank"], result["shard"][0],
              result["shard"][1] - 1, onp.round(result["weight"], 6), result["bias"]))
    worker_weights = [onp.append(r["weight"], r["bias"]) for r in sync_results]
    worker_gap = max(max_gap(weights, worker_weights[0]) for weights in worker_weights)
    one_w, one_b, one_history = dist_worker.train_one_process(house, num_workers, batch_size, lr,
                                                              num_epochs=num_epochs, seed=seed)
    dist_gap = max_gap(worker_weights[0], onp.append(one_w, one_b))
    sync_distance = float(onp.linalg.norm(worker_weights[0] - ols))
    print("one process, same global batches: w %s, b %.6f" % (onp.round(one_w, 6), one_b))
    print("largest difference between workers %.1e, workers vs one process %.1e, |w̃ − least squares| %.1e"
          % (worker_gap, dist_gap, sync_distance))
else:
    print("start_processes=False: no processes started")

# %% [markdown]
# ## 6. Where the time goes
# Each worker notes when mxnet was imported, when it had joined the others (the kvstore is made),
# and when it finished training; the launch notes when it started and when every process had
# exited. We launch once more for each count in `worker_counts`, and compare the seconds per
# epoch with part 2's devices in one process.

# %%
phases = {}
if start_processes:
    phases[num_workers] = dist_worker.launch_phases(sync_results, sync_launch)
    for count in launched_counts:
        if count not in phases:
            phases[count] = dist_worker.launch_phases(*dist_worker.launch_training(
                count, num_servers, "dist_sync", batch_size, lr, num_epochs=num_epochs, seed=seed,
                timeout=timeout_seconds))
    for count, phase in sorted(phases.items()):
        print("%d worker(s): start-up %.2f s (mxnet imported by %.2f s), training %.2f s, shutdown %.2f s; "
              "%.4f s per epoch" % (count, phase["startup"], phase["imported"], phase["training"],
                                    phase["shutdown"], phase["epoch"]))
# The workers' yardstick: one process on one device, training on their global batches (section 5)
one_process_seconds = one_history.median_seconds_per_epoch if start_processes else device_seconds[1]
print("one process, one device, the same global batches: %.4f s per epoch" % one_process_seconds)
figure = plots.parallel_times(device_seconds, phases, one_process_seconds, out_dir, "parallel_times")

# %% [markdown]
# ## 7. `dist_async`: no waiting
# With `kvstore='dist_async'` the servers apply each worker's gradient as soon as it arrives,
# instead of waiting for all N. Nobody waits for the slowest worker; in exchange a worker's
# gradient may be computed on weights that others have already moved, and the workers pull at
# different moments. We run the same training that way.

# %%
async_results = None
if start_processes and compare_async:
    async_results, async_launch = dist_worker.launch_training(
        num_workers, num_servers, "dist_async", batch_size, lr, num_epochs=num_epochs, seed=seed,
        timeout=timeout_seconds)
    async_weights = [onp.append(r["weight"], r["bias"]) for r in async_results]
    async_gap = max(max_gap(weights, async_weights[0]) for weights in async_weights)
    async_distance = max(float(onp.linalg.norm(weights - ols)) for weights in async_weights)
    for result in async_results:
        print("%s, rank %d: w %s, b %.6f" % (result["label"], result["rank"], onp.round(result["weight"], 6),
                                             result["bias"]))
    print("largest difference between workers %.1e; farthest from least squares %.1e (dist_sync: %.1e)"
          % (async_gap, async_distance, sync_distance))
    phases_async = dist_worker.launch_phases(async_results, async_launch)
    print("%.4f s per epoch (dist_sync %.4f s)" % (phases_async["epoch"], phases[num_workers]["epoch"]))
else:
    print("compare_async=False (or start_processes=False): dist_async not run")

# %% [markdown]
# ## What we found

# %%
SAME = 1e-5  # float32 sums in another order move weights of size ~4 by a few ulp (~1e-6); SGD's own jitter is ~1e-3


def speed(seconds, reference):
    """How a time compares with a reference, 10% either way counting as the same: "... than" / "... as"."""
    ratio = seconds / reference
    return ("%.2f times slower than" % ratio if ratio > 1.1 else "%.2f times faster than" % (1 / ratio) if ratio < 0.9
            else "as fast (within 10%) as")


most_gap = max(device_gaps.values())
print("Splitting each batch over %s CPU devices %s (largest difference %.0e); the devices' gradients %s the "
      "hand-computed one (%.0e apart)." % (" and ".join(map(str, device_counts[1:])) or "no other",
      "left the weights of one device unchanged up to float32 rounding" if most_gap < SAME
      else "changed the weights by more than float32 rounding", most_gap,
      "add up to" if split_gap < 1e-4 else "do NOT add up to", split_gap))  # 1e-4: a few float32 ulp of ~70
for count in device_counts[1:]:
    print("With %d devices an epoch was %s with one." % (count, speed(device_seconds[count], device_seconds[1])))
if any(device_seconds[count] > 1.1 * device_seconds[1] for count in device_counts[1:]):
    print("For a model this small, splitting a batch, copying the parts and summing the gradients costs more "
          "than sharing the arithmetic saves; the devices here are also the same cores.")

# %%
scaled_lr = k * lr
if math.isinf(scaled):
    print("Scaling lr by %d to %g diverged; 2/λ_max = %.3f %s." % (k, scaled_lr, stability_limit,
          "predicted it" if scaled_lr > stability_limit else "did not predict it (the batches' noise did it)"))
elif scaled <= 3 * base + 1e-4:  # both at the batch noise's floor (~1e-3), which varies ~2x from run to run
    print("With %d devices and batch %d, lr %g ended %.0e from least squares against 1 device's %.0e; scaling lr to "
          "%g (below 2/λ_max = %.3f) brought it back to %.0e." % (k, k * batch_size, lr, unscaled, base, scaled_lr,
                                                                stability_limit, scaled))
else:
    print("Scaling lr to %g with %d devices did not recover 1 device's result (%.0e against %.0e)."
          % (scaled_lr, k, scaled, base))
if not math.isinf(scaled) and scaled_lr > stability_limit:
    print("Note: %g is above 2/λ_max = %.3f, yet the run did not blow up within %d epochs." % (scaled_lr, stability_limit, num_epochs))

# %%
if start_processes:
    print("The %d workers ended with %s, and %s one process on the same global batches (%.0e)."
          % (num_workers, "identical weights, bit for bit" if worker_gap == 0 else
             "weights %.0e apart" % worker_gap, "the weights of" if dist_gap < SAME else "NOT the weights of", dist_gap))
    print("They are %.0e from least squares and %.0e from the true weights."
          % (sync_distance, max_gap(worker_weights[0], onp.append(house.true_w, house.true_b))))
    phase, alone = phases[num_workers], num_epochs * one_process_seconds
    print("An epoch on %d workers was %s one process on one device (%.3f s against %.3f s)."
          % (num_workers, speed(phase["epoch"], one_process_seconds), phase["epoch"], one_process_seconds))
    if phase["epoch"] > 1.1 * one_process_seconds:
        print("Every step waits for a round trip through the server, and the %d processes share %d cores: a model "
              "this small has no work worth spreading." % (num_workers + num_servers + 1, os.cpu_count()))
    elif phase["epoch"] < 0.9 * one_process_seconds:
        print("Here the server processes, not the workers, run the optimizer's update, and each worker computes "
              "half the gradient of a step.")
    total = phase["startup"] + phase["training"] + phase["shutdown"]
    print("All told the launch took %.1f s, %s one process needs to train (%.2f s): starting %d processes and "
          "importing mxnet in each took %.1f s, stopping them %.1f s." % (total, "%.0f times what" % (total / alone)
          if total > alone else "less than", alone, num_workers + num_servers + 1, phase["startup"], phase["shutdown"]))
if async_results is not None:
    # one run each, both at the batch noise's floor, which varies ~2x from run to run (as in section 5's rule)
    closer = ("about as close to least squares as" if max(async_distance, sync_distance) < 3 * min(
        async_distance, sync_distance) else "closer to least squares than" if async_distance < sync_distance
        else "farther from least squares than")
    print("dist_async (one run): the workers ended %s, %s dist_sync (%.0e against %.0e), and an epoch was %s "
          "dist_sync's." % ("with identical weights" if async_gap == 0 else
                            "%.0e apart (each pulled the weights at its own moment)" % async_gap,
                            closer, async_distance, sync_distance,
                            speed(phases_async["epoch"], phases[num_workers]["epoch"])))

# %%
findings = {
    "seed": seed, "batch_size": batch_size, "lr": lr, "num_epochs": num_epochs, "num_servers": num_servers,
    "devices": devices.ctx_names(contexts), "device_counts": device_counts, "split_gradient_gap": split_gap,
    "device_weights": {count: weights for count, (weights, _) in device_runs.items()}, "device_gaps": device_gaps,
    "seconds_per_epoch_devices": device_seconds, "lambda_max": lambda_max, "stability_limit": stability_limit,
    "scaling": scaling, "true_weight": list(house.true_w), "true_bias": house.true_b,
    "ols_weight": ols[:-1], "ols_bias": float(ols[-1]), "workers": num_workers if start_processes else 0,
    "weights_per_worker": [r["weight"] for r in sync_results] if start_processes else [],
    "biases_per_worker": [r["bias"] for r in sync_results] if start_processes else [],
    "ranks": [r["rank"] for r in sync_results] if start_processes else [],
    "shards": [r["shard"] for r in sync_results] if start_processes else [],
    "one_process_weight": one_w if start_processes else None, "one_process_bias": one_b if start_processes else None,
    "worker_gap": worker_gap if start_processes else None, "dist_gap": dist_gap if start_processes else None,
    "launch_seconds": phases, "one_process_seconds_per_epoch": one_process_seconds,
    "async_weights_per_worker": [r["weight"] + [r["bias"]] for r in async_results] if async_results else None,
    "async_worker_gap": async_gap if async_results else None,
    "async_seconds_per_epoch": phases_async["epoch"] if async_results else None,
    "figures": [figure],
}

# %% [markdown]
# ## Exercises
# 1. Run `gluon-lessons launch --workers 2 -- train --epochs 3` in a terminal, and press Ctrl-C while it
#    starts. Check with `ps` that no worker, server or scheduler is left.
# 2. Set `device_counts = (1, 4)` and `batch_size = 4`: each device gets one row. Then `batch_size = 2`:
#    two devices get none. Do the weights still equal one device's?
# 3. Set `lr = 0.8` (`--set lr=0.8`). Which of the three runs of section 3 diverges, and does 2/λ_max
#    say so in advance?
# 4. Set `num_workers = 3` and `batch_size = 20`. What does the lesson say, and why must the global
#    batch be a multiple of the workers here (and not of the devices in part 1)?
# 5. With two machines that reach each other by ssh, write their names in a file `hosts` and run
#    `gluon-lessons launch --launcher ssh --hostfile hosts --workers 2 -- train`. The scheduler's port
#    (chosen by the tracker, from 9091 up) and the ports ps-lite picks must be open between them.
