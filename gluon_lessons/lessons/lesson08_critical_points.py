# %% [markdown]
# # Lesson 8 — Critical points: gradient, Hessian, saddle escape
#
# What you will see: the lecture's smallest network, ŷ = w₁·w₂·x, built in Gluon; its gradient and
# Hessian at the origin computed through MXNet (central differences of autograd gradients) and
# checked against the analytic [[0, −2], [−2, 0]]; the eigenvector of the negative eigenvalue as a
# way down; several critical points classified by their eigenvalues, one of them degenerate. Then a
# small tanh network trained by full-batch gradient descent from many starts: where each run stops,
# how small its gradient really is, the full Hessian there and the lecture's "minimum ratio". Last,
# a saddle of that network, and what gets gradient descent out of it: a step along the
# negative-curvature eigenvector, mini-batch noise, momentum — each measured.
#
# Run it: `gluon-lessons run critical-points`, `python -m gluon_lessons.lessons.lesson08_critical_points`,
# or as a notebook: `gluon-lessons notebook 8` (then open it in Jupyter or VS Code).

# %%
import math

import numpy as onp
from mxnet import gluon, init, np, npx
from mxnet.gluon import nn

from gluon_lessons import hessian, loading, model, plots, recording, training
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0               # one seed for random, numpy and mx.random
zero_tol = 1e-6        # eigenvalues with |λ| <= zero_tol count as zero (these float64 Hessians are good to ~1e-10)
critical_tol = 1e-9    # a point whose gradient norm ‖∇L‖ is below this counts as a critical point
gd_tol = 1e-3          # full-batch gradient descent stops once ‖∇L‖ is below this (then Newton takes over)
escape_step = 1.0      # length of the step along the lecture's negative-curvature eigenvector
num_examples = 100     # examples in the small network's synthetic data set
input_dim = 2          # features per example
teacher_units = 4      # hidden units of the tanh network that made the labels
hidden_units = 3       # hidden units of the tanh network we train (the student)
label_noise = 0.1      # standard deviation of the noise added to the labels
num_starts = 12        # random starting points for full-batch gradient descent
init_scale = 1.0       # standard deviation of the random starting weights
lr = 0.6               # learning rate of full-batch gradient descent
max_steps = 5000       # most full-batch steps per start
check_every = 250      # steps between two looks at the gradient norm
escape_steps = 300     # updates each escape run gets
escape_lr = 0.1        # learning rate of the escape runs
momentum = 0.9         # momentum of the heavy-ball escape run
batch_size = 10        # examples per mini-batch in the noisy escape run
escape_drop = 0.1      # a run has escaped once its loss is this fraction below the saddle's
saddle_offset = 1e-8   # how far from the saddle the escape runs start (0: exactly at it)
out_dir = None         # None: figures inline in a notebook; the command line saves them (lesson_output/critical-points)
QUICK = dict(num_starts=3, max_steps=1000, escape_steps=150)  # what --quick (and the tests) change

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    for name, value in [("zero_tol", zero_tol), ("critical_tol", critical_tol), ("gd_tol", gd_tol),
                        ("escape_step", escape_step), ("init_scale", init_scale)]:
        runner.require(name, value, value > 0, "a number > 0")
    for name, value in [("label_noise", label_noise), ("saddle_offset", saddle_offset)]:
        runner.require(name, value, value >= 0, "a number >= 0")
    runner.require("escape_drop", escape_drop, 0 < escape_drop < 1, "a number between 0 and 1")
    for name, value, least in [("num_examples", num_examples, 2), ("input_dim", input_dim, 1),
                               ("teacher_units", teacher_units, 1), ("hidden_units", hidden_units, 1),
                               ("num_starts", num_starts, 1), ("check_every", check_every, 1),
                               ("max_steps", max_steps, 1), ("escape_steps", escape_steps, 1)]:
        runner.require(name, value, value >= least, "an integer >= %d" % least)
    training.check_hyperparameters(lr, momentum)
    runner.require("escape_lr", escape_lr, escape_lr > 0, "a number > 0")
    runner.require("batch_size", batch_size, 1 <= batch_size < num_examples, "an integer in 1..num_examples − 1")
    student_size = (input_dim + 2) * hidden_units + 1  # weights and biases; the Hessian is student_size² float64
    runner.check_memory(8 * (4 * student_size ** 2 + 100 * num_examples * (input_dim + teacher_units + hidden_units)),
                        "num_examples=%d, input_dim=%d, teacher_units=%d and hidden_units=%d (%d parameters)"
                        % (num_examples, input_dim, teacher_units, hidden_units, student_size))
set_seed(seed)

# %% [markdown]
# ## 1. The lecture's network
# One neuron feeding another, no bias, no activation: ŷ = w₂·(w₁·x). With the single example
# x = 1, y = 1 and the squared error, the loss is L(w₁, w₂) = (1 − w₁w₂)². In Gluon that is two
# `Dense(1, use_bias=False)` layers; `L2Loss` computes ½(ŷ − y)², so `weight=2` makes it the
# lecture's (ŷ − y)². `hessian.BlockLoss` turns the block and its data into a function of one
# vector θ = (w₁, w₂). We work in float64: the Hessian's small eigenvalues are what we want to read.

# %%
lecture_net = nn.HybridSequential()
lecture_net.add(nn.Dense(1, use_bias=False, in_units=1),  # x -> w1·x
                nn.Dense(1, use_bias=False, in_units=1))  # -> w2·w1·x
lecture_net.initialize()
lecture_net.cast("float64")
squared_error = gluon.loss.L2Loss(weight=2.0)  # (ŷ − y)²
lecture = hessian.BlockLoss(lecture_net, squared_error, onp.ones((1, 1)), onp.ones(1))
origin = onp.zeros(2)
print("parameters:", [p.name for p in lecture.params])
print("L(0, 0) = %g, gradient there (autograd) = %s" % (lecture.value(origin), lecture.gradient(origin)))

# %% [markdown]
# The error surface, drawn the brute-force way (the lecture's first method): the loss at every
# point of a grid. The loss is cheap to write down here, so the grid uses the formula, and we
# check the formula against the network at a few random points first.

# %%
probe = onp.random.default_rng(seed).uniform(-2, 2, size=(5, 2))
formula_gap = max(abs(lecture.value(p) - (1 - p[0] * p[1]) ** 2) for p in probe)
print("largest |network − (1 − w1·w2)²| at 5 random points: %.1e" % formula_gap)
grid = onp.linspace(-2.5, 2.5, 201)
W1, W2 = onp.meshgrid(grid, grid)
surface = (1 - W1 * W2) ** 2

# %% [markdown]
# ## 2. Gradient and Hessian at the origin
# The gradient is zero at the origin, so it is a critical point. Which kind? The second-order
# Taylor expansion L(θ) ≈ L(θ′) + ½(θ − θ′)ᵀH(θ − θ′) says: the eigenvalues of the Hessian H decide.
# MXNet 1.9.1 cannot differentiate its gradient a second time, so `BlockLoss.hessian` moves each
# parameter by ±h, asks autograd for the gradient at both points, and divides the difference by 2h.
# The analytic Hessian of (1 − w₁w₂)² is [[2w₂², 4w₁w₂ − 2], [4w₁w₂ − 2, 2w₁²]], [[0, −2], [−2, 0]] at the origin.

# %%
def analytic_hessian(w1, w2):
    return onp.array([[2 * w2 ** 2, 4 * w1 * w2 - 2], [4 * w1 * w2 - 2, 2 * w1 ** 2]])


hessian_at_origin = lecture.hessian(origin)
hessian_error = float(onp.max(onp.abs(hessian_at_origin - analytic_hessian(0, 0))))
print("H at the origin (MXNet, central differences):\n", hessian_at_origin)
print("largest |numerical − analytic| = %.1e" % hessian_error)
origin_report = hessian.examine(hessian_at_origin, zero_tol)
eigenvalues = origin_report.eigenvalues
print("eigenvalues %s -> %s (|λ| <= %g counts as zero)" % (eigenvalues, origin_report.kind, zero_tol))

# %% [markdown]
# ## 3. The way down from a saddle
# At a saddle the gradient is zero, so gradient descent does not move; the Hessian still shows a
# way down. For an eigenvector u of H with eigenvalue λ, L(θ′ + u) ≈ L(θ′) + ½λ‖u‖²: a negative λ
# means lower loss along u. Here λ = −2 and u = ±[1, 1]/√2. A step of length s along u lands on
# w₁ = w₂ = s/√2 = t, where the loss is exactly (1 − t²)², below 1 for 0 < |t| < √2.

# %%
escape_direction = origin_report.escape_direction
print("eigenvector of λ = %.3g: %s" % (eigenvalues[0], escape_direction))
for length in sorted({0.5, 1.0, 1.5, 2.0, escape_step}):
    t = length / math.sqrt(2)
    print("step %.2f along u: L = %.4f   (1 − t²)² = %.4f" % (length, lecture.value(length * escape_direction),
                                                             (1 - t * t) ** 2))
loss_after_escape = lecture.value(escape_step * escape_direction)

# %% [markdown]
# ## 4. More critical points, and a degenerate one
# The gradient −2(1 − w₁w₂)·(w₂, w₁) vanishes at the origin and on the whole curve w₁w₂ = 1, where
# the loss is 0. We classify the origin, three points on the curve and one point that is not
# critical at all. "Degenerate" means a zero eigenvalue: the quadratic term is flat in that
# direction and the second-order test cannot tell what happens there.

# %%
candidates = {"origin": (0.0, 0.0), "(1, 1)": (1.0, 1.0), "(2, 1/2)": (2.0, 0.5), "(−1, −1)": (-1.0, -1.0),
              "(0.5, 0.5)": (0.5, 0.5)}
critical_points = {}
for label, point in candidates.items():
    gradient_norm = float(onp.linalg.norm(lecture.gradient(point)))
    report = hessian.examine(lecture.hessian(point), zero_tol)
    kind = report.kind if gradient_norm < critical_tol else "not critical"
    critical_points[label] = dict(point=point, loss=lecture.value(point), gradient_norm=gradient_norm,
                                  eigenvalues=report.eigenvalues, kind=kind)
    print("%-10s L = %.3f  ‖∇L‖ = %.1e  eigenvalues %-22s %s"
          % (label, critical_points[label]["loss"], gradient_norm, onp.round(report.eigenvalues, 6), kind))

# %% [markdown]
# At (1, 1) the zero eigenvalue's eigenvector is ±[1, −1]/√2, the tangent of the curve w₁w₂ = 1.
# Along it the loss grows only like s⁴/4 (fourth order, invisible to H), along the other
# eigenvector like ½·4·s². Both are ≥ 0 = L(1, 1): these degenerate points are minima, just not
# strict ones — you can slide along the curve without any change in loss to second order.

# %%
valley_report = hessian.examine(lecture.hessian((1.0, 1.0)), zero_tol)
flat, steep = valley_report.eigenvectors[:, 0], valley_report.eigenvectors[:, 1]
for s in (0.1, 0.3):
    print("s = %.1f: along the flat eigenvector L = %.2e (s⁴/4 = %.2e), along the steep one L = %.2e (2s² = %.2e)"
          % (s, lecture.value(onp.ones(2) + s * flat), s ** 4 / 4, lecture.value(onp.ones(2) + s * steep), 2 * s * s))
marks = [(label, p["point"], p["kind"]) for label, p in critical_points.items()]
surface_figure = plots.error_surface(W1, W2, surface, marks, out_dir, "error_surface",
                                     arrows=[("u (λ = −2)", (0.0, 0.0), tuple(escape_step * escape_direction))],
                                     title="L(w₁, w₂) = (1 − w₁w₂)²: a saddle and a valley of minima")

# %% [markdown]
# ## 5. The minimum ratio of a small network
# The lecture trains a network many times until the gradient is tiny and asks, at each end point,
# what share of the Hessian's eigenvalues is positive — the *minimum ratio* (1 at a strict local
# minimum). It reports at most about 60%: most points where training got stuck were saddles.
#
# Our version: a synthetic regression task made by a "teacher" tanh network with `teacher_units`
# hidden units, plus label noise; a smaller "student" (`input_dim` → `hidden_units` tanh → 1, in
# float64) trained by full-batch gradient descent from `num_starts` random starts.

# %%
rng = onp.random.default_rng(seed)
X = rng.standard_normal((num_examples, input_dim))
teacher_W, teacher_v = 1.5 * rng.standard_normal((teacher_units, input_dim)), rng.standard_normal(teacher_units)
y = onp.tanh(X @ teacher_W.T) @ teacher_v + label_noise * rng.standard_normal(num_examples)


def student():
    """input_dim -> hidden_units (tanh) -> 1, random normal weights of std init_scale, in float64."""
    net = nn.HybridSequential()
    net.add(nn.Dense(hidden_units, activation="tanh", in_units=input_dim), nn.Dense(1, in_units=hidden_units))
    net.initialize(init.Normal(init_scale))
    net.cast("float64")
    return net


num_parameters = hessian.BlockLoss(student(), model.l2_loss(), X, y).size
print("%d examples, %d features; the student has %d parameters; label variance %.3f"
      % (num_examples, input_dim, num_parameters, y.var()))

# %% [markdown]
# Gradient descent slows to a crawl near a critical point: the step is `lr` times a gradient that
# is itself shrinking, and along the flattest directions (eigenvalues ~1e-3 here) it shrinks by only
# a factor 1 − `lr`·λ per step. So each run takes full-batch steps (`training.fit`, `check_every` at a
# time) until ‖∇L‖ < `gd_tol`, and then Newton's method (`hessian.find_critical_point`, steps
# −H⁻¹∇L) finishes the job: it homes in on the nearby critical point whatever its kind — which is
# why nobody trains with it. That is also its danger here: it can climb to a saddle that gradient
# descent had already passed. Gradient descent only goes down, so a critical point *above* the loss
# where descent stopped cannot be where it was stalling: such a point is reported, and left out of
# the minimum ratios.

# %%
def descend(net):
    """Full-batch gradient descent with `training.fit`, `check_every` steps at a time, until ‖∇L‖ < gd_tol."""
    net_loss = hessian.BlockLoss(net, model.l2_loss(), X, y)
    trainer = training.make_trainer(net, "sgd", lr)
    steps, gradient_norm = 0, float(onp.linalg.norm(net_loss.gradient()))
    while steps < max_steps and gradient_norm >= gd_tol:
        chunk = min(check_every, max_steps - steps)
        training.fit(net, recording.full_batches(X, y, chunk), trainer, 1, progress=False)
        steps += chunk
        gradient_norm = float(onp.linalg.norm(net_loss.gradient()))
    return net_loss, steps, gradient_norm


runs = []
for start in range(num_starts):
    net_loss, steps, gd_gradient_norm = descend(student())
    runs_gd_loss = net_loss.value()
    theta, norms = hessian.find_critical_point(net_loss, tol=zero_tol, grad_tol=critical_tol)
    report = hessian.examine(net_loss.hessian(theta), zero_tol)
    runs.append(dict(steps=steps, gd_loss=net_loss.value(), gd_gradient_norm=gd_gradient_norm,
                     newton_iterations=len(norms) - 1, moved=float(onp.linalg.norm(theta - net_loss.get())),
                     theta=theta, loss=net_loss.value(theta), gradient_norm=norms[-1],
                     critical=norms[-1] < critical_tol,
                     uphill=net_loss.value(theta) > runs_gd_loss + 1e-12 * max(1.0, runs_gd_loss),
                     eigenvalues=report.eigenvalues, counts=report.counts, minimum_ratio=report.minimum_ratio,
                     kind=report.kind))
    print("start %2d: GD %4d steps, loss %.5f, ‖∇L‖ %.0e | Newton %d its, moved %.2f: loss %.5f, ‖∇L‖ %.0e, "
          "eigenvalues −/0/+ %s, ratio %.2f, %s" % (start, steps, runs[-1]["gd_loss"], gd_gradient_norm,
                                                    len(norms) - 1, runs[-1]["moved"], runs[-1]["loss"], norms[-1],
                                                    report.counts, report.minimum_ratio,
                                                    "NOT critical" if not runs[-1]["critical"] else report.kind
                                                    + (" ABOVE where GD stopped" if runs[-1]["uphill"] else "")))

# %% [markdown]
# The picture the lecture draws: training loss against minimum ratio, one dot per end point.
# Filled dots are critical points (‖∇L‖ < `critical_tol`) no higher than where descent stopped;
# hollow ones are where Newton's method could not get the gradient that small, or climbed above.
# On the right, every eigenvalue of every end point (symmetric log scale: the band around 0 is
# |λ| < 1e-6).

# %%
ratio_figure = plots.minimum_ratio([r["minimum_ratio"] for r in runs], [r["loss"] for r in runs],
                                   [r["critical"] and not r["uphill"] for r in runs], [r["eigenvalues"] for r in runs],
                                   out_dir,
                                   "minimum_ratio", reference=0.6,
                                   title="%d starts, %d parameters, full-batch GD then Newton"
                                   % (num_starts, num_parameters))
critical_runs = [r for r in runs if r["critical"] and not r["uphill"]]  # where descent was stalling
print("%d of %d end points are critical (‖∇L‖ < %g) and no higher than where descent stopped; %d more are critical"
      " but above it; largest gradient norm left %.1e, largest Newton move %.2f"
      % (len(critical_runs), num_starts, critical_tol, sum(r["critical"] and r["uphill"] for r in runs),
         max(r["gradient_norm"] for r in runs), max(r["moved"] for r in runs)))
print("most negative eigenvalue at any end point: %.2e; eigenvalues counted as zero in all: %d"
      % (min(r["eigenvalues"][0] for r in runs), sum(r["counts"][1] for r in runs)))

# %% [markdown]
# ## 6. Escaping a saddle
# A saddle of this network that we can write down: all input weights 0, output weights 0, output
# bias ȳ (the mean label), and hidden biases b₁ ≠ 0. The network then predicts ȳ everywhere and
# every hidden unit outputs the constant tanh(b₁), which cannot correlate with y — so the gradient
# of the mean loss is zero. It is the network's version of the lecture's origin: input and output
# weights multiply, as w₁ and w₂ did. Its Hessian:

# %%
saddle_net = student()
saddle_net[0].weight.set_data(np.zeros((hidden_units, input_dim), dtype="float64"))
saddle_net[0].bias.set_data(np.array(onp.linspace(0.5, 1.5, hidden_units), dtype="float64"))
saddle_net[1].weight.set_data(np.zeros((1, hidden_units), dtype="float64"))
saddle_net[1].bias.set_data(np.array([y.mean()], dtype="float64"))
saddle_loss = hessian.BlockLoss(saddle_net, model.l2_loss(), X, y)
saddle = saddle_loss.get()
saddle_report = hessian.examine(saddle_loss.hessian(), zero_tol)
saddle_value, saddle_gradient = saddle_loss.value(), float(onp.linalg.norm(saddle_loss.gradient()))
print("loss %.4f (½·variance of y = %.4f), ‖∇L‖ = %.1e" % (saddle_value, y.var() / 2, saddle_gradient))
print("eigenvalues −/0/+ %s: %s; most negative %.3f" % (saddle_report.counts, saddle_report.kind,
                                                       saddle_report.eigenvalues[0]))

# %% [markdown]
# Four runs of `escape_steps` updates from the saddle (moved `saddle_offset` in a random direction):
# full-batch gradient descent; the same after one step of length `escape_step` along the eigenvector
# of the most negative eigenvalue; mini-batch SGD with batches of `batch_size`; and full-batch gradient
# descent with momentum. A run has escaped once the full-data loss is `escape_drop` below the saddle's.
# Mini-batch noise can help here because each example's own gradient is not zero at the saddle —
# the output weights' gradient is (ȳ − yᵢ)·tanh(b₁), zero only on average.

# %%
def escape_run(start, momentum=0.0, batch_size=None):
    """The full-data loss before each of `escape_steps` updates from `start`, and after the last."""
    set_seed(seed)
    net = student()
    net_loss = hessian.BlockLoss(net, model.l2_loss(), X, y)
    net_loss.set(start)
    trainer = training.make_trainer(net, "sgd", escape_lr, momentum)
    recorder = recording.Recorder(trainer, net_loss.params)  # parameters in BlockLoss's order
    if batch_size is None:
        batches, num_epochs = recording.full_batches(X, y, escape_steps), 1
    else:
        batches = loading.data_loader(X, y, batch_size)
        num_epochs = math.ceil(escape_steps / len(batches))
    training.fit(net, batches, trainer, num_epochs, max_steps=escape_steps, on_step=recorder, progress=False)
    return net_loss.values(recorder.parameters)


nudge = onp.random.default_rng(seed + 1).standard_normal(saddle.size)
start = saddle + saddle_offset * nudge / onp.linalg.norm(nudge)
escape_curves = {"gradient descent": escape_run(start),
                 "step along u, then GD": escape_run(start + escape_step * saddle_report.escape_direction),
                 "mini-batch SGD (B = %d)" % batch_size: escape_run(start, batch_size=batch_size),
                 "GD + momentum %g" % momentum: escape_run(start, momentum=momentum)}

# %%
threshold = (1 - escape_drop) * saddle_value
escape = {}
for name, losses in escape_curves.items():
    below = onp.flatnonzero(losses < threshold)
    escape[name] = dict(steps=int(below[0]) if below.size else None, final_loss=float(losses[-1]),
                        largest_change_in_first_half=float(onp.max(onp.abs(losses[:len(losses) // 2] - losses[0]))))
    print("%-26s %s; loss after %d updates %.4f" % (name, "escaped after %d updates" % escape[name]["steps"]
                                                     if below.size else "did not escape", escape_steps, losses[-1]))
escape_figure = plots.loss_curves(escape_curves, out_dir, "saddle_escape", xlabel="update (1: before the first)",
                                  ylabel="full-data loss",
                                  logy=False, title="From the saddle (loss %.3f), lr %g" % (saddle_value, escape_lr))

# %% [markdown]
# Why momentum gets out sooner, in numbers. Near the saddle the gradient along u is λ_min times the
# distance x along u, so gradient descent multiplies x by 1 + `escape_lr`·|λ_min| per update. With
# momentum β, x_{k+1} = x_k + β(x_k − x_{k−1}) + `escape_lr`·|λ_min|·x_k, whose growth per update is
# the larger root z of z² − (1 + β + `escape_lr`·|λ_min|)z + β = 0. Both start from the same tiny
# offset and must reach the same distance, so the ratio of their escape times should be about
# ln z / ln(1 + `escape_lr`·|λ_min|).

# %%
curvature = escape_lr * abs(saddle_report.eigenvalues[0])
gd_growth = 1 + curvature
momentum_growth = max(onp.roots([1.0, -(1 + momentum + curvature), momentum]).real)
predicted_speedup = math.log(momentum_growth) / math.log(gd_growth)
momentum_steps = escape["GD + momentum %g" % momentum]["steps"]
measured_speedup = (escape["gradient descent"]["steps"] / momentum_steps
                    if escape["gradient descent"]["steps"] and momentum_steps else None)
print("growth per update along u: gradient descent %.4f, momentum %g %.4f -> predicted speed-up %.2f, measured %s"
      % (gd_growth, momentum, momentum_growth, predicted_speedup,
         "%.2f" % measured_speedup if measured_speedup else "— (a run did not escape)"))

# %% [markdown]
# ## What we found

# %%
print("At the origin of ŷ = w₁w₂x the gradient is %s and MXNet's numerical Hessian %s the analytic "
      "[[0, −2], [−2, 0]] (largest gap %.0e): eigenvalues %.3g and %.3g, a %s."
      % ("zero" if not onp.any(lecture.gradient(origin)) else "NOT zero",
         "matches" if hessian_error < 1e-8 else "does NOT match", hessian_error, eigenvalues[0], eigenvalues[1],
         origin_report.kind))
if loss_after_escape < lecture.value(origin) - 1e-9:
    print("A step of %g along the eigenvector of the negative eigenvalue lowered the loss from %.3f to %.3f."
          % (escape_step, lecture.value(origin), loss_after_escape))
else:
    print("A step of %g along the negative-curvature eigenvector did NOT lower the loss (%.3f -> %.3f): "
          "the quadratic picture only holds for short steps (here below 2)."
          % (escape_step, lecture.value(origin), loss_after_escape))
degenerate = [label for label, p in critical_points.items() if p["kind"] == "degenerate"]
print("Degenerate critical points (a zero eigenvalue): %s." % (", ".join(degenerate) or "none"))

# %%
LECTURE_RATIO = 0.6
if not critical_runs and any(r["critical"] for r in runs):
    print("Minimum ratio: inconclusive — every critical point Newton's method found lies above the loss where "
          "gradient descent stopped, so none is where a run was stalling.")
elif not critical_runs:
    print("Minimum ratio: inconclusive — Newton's method brought no run's ‖∇L‖ below %g (smallest %.1e), so no "
          "end point is a critical point." % (critical_tol, min(r["gradient_norm"] for r in runs)))
else:
    ratios = [r["minimum_ratio"] for r in critical_runs]
    kinds = [r["kind"] for r in critical_runs]
    summary = ", ".join("%d %s" % (kinds.count(kind), kind) for kind in hessian.KINDS if kind in kinds)
    if max(ratios) <= LECTURE_RATIO + 0.05:
        print("As in the lecture, at every critical end point at most ~%.0f%% of the eigenvalues were positive "
              "(largest %.2f): %s." % (100 * LECTURE_RATIO, max(ratios), summary))
    else:
        print("Unlike the lecture's ≤ ~%.0f%%, the critical end points (%s) had minimum ratios from %.2f to %.2f."
              % (100 * LECTURE_RATIO, summary, min(ratios), max(ratios)))
    saddles = [r["loss"] for r in critical_runs if r["kind"] == "saddle"]
    minima = [r["loss"] for r in critical_runs if r["kind"] == "minimum"]
    if saddles and minima:
        print("The saddles sat at %s loss (mean %.4f) than the minima (%.4f)."
              % ("higher" if onp.mean(saddles) > onp.mean(minima) else "lower or equal", onp.mean(saddles),
                 onp.mean(minima)))
print("Gradient descent alone left ‖∇L‖ at %s after %s steps; Newton's method then reached %s."
      % (", ".join("%.0e" % r["gd_gradient_norm"] for r in runs), ", ".join(str(r["steps"]) for r in runs),
         ", ".join("%.0e" % r["gradient_norm"] for r in runs)))

# %%
print("From the network's saddle (‖∇L‖ = %.0e there; runs started %s):"
      % (saddle_gradient, "exactly at it" if saddle_offset == 0 else "%g away" % saddle_offset))
gd_steps = escape["gradient descent"]["steps"]
if gd_steps is None:
    print("- plain gradient descent stalled: %d updates later the loss was still within %.0f%% of the saddle's "
          "(largest change %.1e in the first half)." % (escape_steps, 100 * escape_drop,
                                                        escape["gradient descent"]["largest_change_in_first_half"]))
else:
    print("- plain gradient descent stayed near the saddle's loss for %d updates, then got out too." % gd_steps)
for name, e in list(escape.items())[1:]:
    if e["steps"] is not None and (gd_steps is None or e["steps"] < gd_steps):
        print("- %s got out after %d updates, sooner than plain gradient descent." % (name, e["steps"]))
    elif e["steps"] is not None:
        print("- %s got out after %d updates, NOT sooner than plain gradient descent." % (name, e["steps"]))
    else:
        print("- %s did NOT get out within %d updates." % (name, escape_steps))

if measured_speedup is not None:
    agrees = abs(measured_speedup / predicted_speedup - 1) < 0.2
    print("Momentum's head start %s the linear prediction: %.2f times faster measured, %.2f predicted."
          % ("matches" if agrees else "does NOT match (within 20%)", measured_speedup, predicted_speedup))

# %%
findings = {
    "seed": seed, "zero_tol": zero_tol, "critical_tol": critical_tol, "gd_tol": gd_tol, "escape_step": escape_step,
    "hessian_at_origin": hessian_at_origin, "hessian_error": hessian_error, "eigenvalues": eigenvalues,
    "escape_direction": escape_direction, "loss_after_escape": loss_after_escape, "critical_points": critical_points,
    "network": dict(features=X, labels=y, hidden_units=hidden_units, num_parameters=num_parameters, lr=lr,
                    max_steps=max_steps, runs=runs),
    "saddle": dict(theta=saddle, loss=saddle_value, gradient_norm=saddle_gradient,
                   eigenvalues=saddle_report.eigenvalues, kind=saddle_report.kind, offset=saddle_offset),
    "escape": escape, "predicted_speedup": predicted_speedup, "measured_speedup": measured_speedup,
    "escape_settings": dict(lr=escape_lr, momentum=momentum, batch_size=batch_size, steps=escape_steps,
                            drop=escape_drop),
    "figures": [surface_figure, ratio_figure, escape_figure],
}

# %% [markdown]
# ## Exercises
# 1. Set `hidden_units = 8` (`--set hidden_units=8`). What happens to the number of eigenvalues
#    counted as zero, and why might a bigger network have more flat directions?
# 2. Raise `gd_tol` to `1e-1`: gradient descent now stops much earlier and Newton's method does more
#    of the work. How do the kinds of critical points found change, and how far does Newton move?
# 3. Run the escape with `saddle_offset = 1e-4`, then with `momentum = 0.5`. Does the predicted
#    speed-up of momentum still match? Which of the four runs would you trust at an *exact* saddle
#    (`saddle_offset = 0`), and why does mini-batch noise not need an offset at all?
# 4. In section 3, try `escape_step = 2.5`. Why does the "way down" now go up?
