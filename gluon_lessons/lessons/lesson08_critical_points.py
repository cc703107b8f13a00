# %% [markdown]
# # Lesson 8 — Critical points: Hessian, saddles, the minimum ratio, and a way out
#
# What you will see: the lecture's smallest network, ŷ = w₁·w₂·x, built in Gluon; its gradient and
# Hessian at the origin computed through MXNet and checked against the analytic [[0, −2], [−2, 0]];
# the eigenvector of the negative eigenvalue as a way down; a valley of degenerate minima. Then the
# lecture's experiment: a tanh network of 81 parameters trained from many starts by full-batch
# gradient descent until ‖∇L‖ < 10⁻³, the full Hessian at each end point, and its minimum ratio
# (the share of positive eigenvalues) against the training loss, one point per run. The same for
# the smallest such network (13 parameters), where Newton's method looks for exact critical points
# near the end points. Last, a saddle of that network and what gets gradient descent out of it,
# and a ball that momentum carries past the critical point where plain descent stops.
#
# Run it: `gluon-lessons run critical-points` (about 6 s here; `--quick` in 4, a quarter of
# it importing MXNet and matplotlib), or as a notebook: `gluon-lessons notebook 8`.

# %%
import math
import textwrap

import numpy as onp
from mxnet import gluon, np, npx
from mxnet.gluon import nn

from gluon_lessons import checks, hessian, landscape, loading, model, plots, ranks, recording
from gluon_lessons import training
from gluon_lessons.seeding import set_seed

npx.set_np()


def say(sentence):
    """Print a sentence wrapped to the notebook's width."""
    print(textwrap.fill(sentence, width=100))


# %% tags=["parameters"]
seed = 0                # one seed for random, numpy and mx.random
zero_tol = 1e-6         # |λ| <= zero_tol counts as zero (these float64 Hessians are good to ~1e-9)
critical_tol = 1e-9     # ‖∇L‖ below this counts as an exact critical point (Newton's target)
gd_tol = 1e-3           # descent stops once ‖∇L‖ < gd_tol: the lecture's "small gradient"
escape_step = 1.0       # length of the step along the lecture's negative-curvature eigenvector
num_examples = 100      # examples in the synthetic regression data
input_dim = 2           # features per example
teacher_units = 4       # hidden units of the tanh network that made the labels
label_noise = 0.1       # standard deviation of the noise added to the labels
hidden_units = 20       # hidden units of section 5's network: (input_dim + 2)·20 + 1 = 81 weights
small_hidden_units = 3  # hidden units of the smallest network (sections 6-7): 13 parameters
num_starts = 12         # random starts (runs) of each network
init_scale = 1.0        # standard deviation of the starting weights (biases start at 0)
lr = 0.3                # learning rate of full-batch descent (2/λ_max ≈ 0.31 at the end points)
small_lr = 0.6          # the same for the smallest network, whose largest curvature is lower
max_steps = 3000        # most descent steps per run
newton_iterations = 8   # most Newton iterations per end point of the smallest network
escape_steps = 200      # updates each escape run gets
escape_lr = 0.1         # learning rate of the escape runs
momentum = 0.9          # momentum of the heavy-ball escape run
batch_size = 10         # examples per mini-batch in the noisy escape run
escape_drop = 0.1       # a run has escaped once its loss is this fraction below the saddle's
saddle_offset = 1e-8    # how far from the saddle the escape runs start (0: exactly at it)
tilt = 0.3              # the ball's loss w⁴/4 − w²/2 + tilt·w: a dip and a valley if tilt < 0.385
ball_momenta = (0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9)  # β of the balls rolled in section 8
out_dir = None          # None: figures inline in a notebook; the command line saves them
QUICK = dict(num_starts=4, hidden_units=8, max_steps=2000, escape_steps=150,
             ball_momenta=(0.0, 0.6, 0.9))  # what --quick (and the tests) change; --set always wins

# %%
seed = checks.integer("seed", seed, 0, 2**32 - 1)
zero_tol = checks.number("zero_tol", zero_tol, 1e-12, 1e-3)  # far below the saddles' |λ| ≈ 0.2-2
critical_tol = checks.number("critical_tol", critical_tol, 1e-14, 1e-4)
gd_tol = checks.number("gd_tol", gd_tol, 1e-6, 1.0)
escape_step = checks.positive("escape_step", escape_step, high=10.0)
num_examples = checks.integer("num_examples", num_examples, 10, 2000)
input_dim = checks.integer("input_dim", input_dim, 1, 5)
teacher_units = checks.integer("teacher_units", teacher_units, 1, 50)
label_noise = checks.number("label_noise", label_noise, 0.0, 10.0)
hidden_units = checks.integer("hidden_units", hidden_units, 1, 40)  # at most 281 parameters
small_hidden_units = checks.integer("small_hidden_units", small_hidden_units, 1, hidden_units)
num_starts = checks.integer("num_starts", num_starts, 1, 48)
init_scale = checks.number("init_scale", init_scale, 0.01, 10.0)
lr = checks.number("lr", lr, 1e-3, 2.0)
small_lr = checks.number("small_lr", small_lr, 1e-3, 2.0)
max_steps = checks.integer("max_steps", max_steps, 1, 30_000)
newton_iterations = checks.integer("newton_iterations", newton_iterations, 0, 20)
escape_steps = checks.integer("escape_steps", escape_steps, 10, 5000)
escape_lr = checks.number("escape_lr", escape_lr, 1e-4, 1.0)  # lower: no run leaves the saddle
momentum = checks.fraction("momentum", momentum)
batch_size = checks.integer("batch_size", batch_size, 1, num_examples - 1)
escape_drop = checks.number("escape_drop", escape_drop, 0.0, 1.0, low_open=True, high_open=True)
saddle_offset = checks.number("saddle_offset", saddle_offset, 0.0, 1.0)
tilt = checks.number("tilt", tilt, 0.0, 2 / 27 ** 0.5, low_open=True, high_open=True)  # a dip
ball_momenta = checks.numbers("ball_momenta", ball_momenta, 0.0, 1.0, high_open=True, max_length=10)
set_seed(seed)
say(f"seed {seed}; {num_examples} examples, {num_starts} starts, networks of {hidden_units} and "
    f"{small_hidden_units} hidden units; descent until ‖∇L‖ < {gd_tol:g} (at most {max_steps} "
    f"steps); zero_tol {zero_tol:g}")

# %% [markdown]
# ## 1. The lecture's network
# One neuron feeding another, no bias, no activation: ŷ = w₂·(w₁·x). With the single example
# x = 1, y = 1 and the squared error, the loss is L(w₁, w₂) = (1 − w₁w₂)². In Gluon that is two
# `Dense(1, use_bias=False)` layers; `L2Loss` computes ½(ŷ − y)², so `weight=2` makes it the
# lecture's (ŷ − y)². `hessian.BlockLoss` turns the block and its data into a function of one
# vector θ = (w₁, w₂). We work in float64: the Hessian's small eigenvalues are what we want to read.

# %%
findings = {"seed": seed, "zero_tol": zero_tol, "critical_tol": critical_tol, "gd_tol": gd_tol,
            "verdicts": {}, "figures": []}
verdicts = findings["verdicts"]
lecture_net = nn.HybridSequential()
lecture_net.add(nn.Dense(1, use_bias=False, in_units=1),  # x -> w1·x
                nn.Dense(1, use_bias=False, in_units=1))  # -> w2·w1·x
lecture_net.initialize()
lecture_net.cast("float64")
squared_error = gluon.loss.L2Loss(weight=2.0)  # (ŷ − y)²
lecture = hessian.BlockLoss(lecture_net, squared_error, onp.ones((1, 1)), onp.ones(1))
origin = onp.zeros(2)
gradient_at_origin = lecture.gradient(origin)
print("θ = (w1, w2): the weights of the first and the second Dense layer, one number each")
print(f"L(0, 0) = {lecture.value(origin):g}, gradient there (autograd) = {gradient_at_origin}")

# %% [markdown]
# The error surface, drawn the brute-force way (the lecture's first method): the loss at every
# point of a grid. The loss is cheap to write down here, so the grid uses the formula, and we
# check the formula against the network at a few random points first.

# %%
probe = onp.random.default_rng(seed).uniform(-2, 2, size=(5, 2))
formula_gap = max(abs(lecture.value(p) - (1 - p[0] * p[1]) ** 2) for p in probe)
print(f"largest |network − (1 − w1·w2)²| at 5 random points: {formula_gap:.1e}")
grid = onp.linspace(-2.5, 2.5, 201)
W1, W2 = onp.meshgrid(grid, grid)
surface = (1 - W1 * W2) ** 2

# %% [markdown]
# ## 2. Gradient and Hessian at the origin
# The gradient is zero at the origin, so it is a critical point. Which kind? The second-order
# Taylor expansion L(θ) ≈ L(θ′) + ½(θ − θ′)ᵀH(θ − θ′) says: the eigenvalues of the Hessian H decide.
# MXNet 1.9.1 cannot differentiate its gradient a second time, so `BlockLoss.hessian` moves each
# parameter by ±h, asks autograd for the gradient at both points, and divides the difference by
# 2h. The analytic Hessian of (1 − w₁w₂)² is [[2w₂², 4w₁w₂ − 2], [4w₁w₂ − 2, 2w₁²]]: [[0, −2],
# [−2, 0]] at the origin.

# %%
def analytic_hessian(w1, w2):
    return onp.array([[2 * w2 ** 2, 4 * w1 * w2 - 2], [4 * w1 * w2 - 2, 2 * w1 ** 2]])


hessian_at_origin = lecture.hessian(origin)
hessian_error = float(onp.max(onp.abs(hessian_at_origin - analytic_hessian(0, 0))))
origin_report = hessian.examine(hessian_at_origin, zero_tol)
eigenvalues = origin_report.eigenvalues
print("H at the origin (MXNet, central differences):\n", hessian_at_origin)
verdicts["origin_hessian"] = "agrees" if hessian_error < 1e-8 else "does not agree"
verdicts["origin_kind"] = origin_report.kind
SAY_ORIGIN = {"agrees": "MXNet's Hessian agrees with the analytic one (largest gap {gap:.0e}); "
                        "eigenvalues {low:.3g} and {high:.3g}: a {kind}.",
              "does not agree": "MXNet's Hessian differs from the analytic one by {gap:.0e}; "
                                "eigenvalues {low:.3g} and {high:.3g}: a {kind}."}
say(SAY_ORIGIN[verdicts["origin_hessian"]].format(gap=hessian_error, low=eigenvalues[0],
                                                   high=eigenvalues[-1], kind=origin_report.kind))

# %% [markdown]
# ## 3. The way down from a saddle
# At a saddle the gradient is zero, so gradient descent does not move; the Hessian still shows a
# way down. For an eigenvector u of H with eigenvalue λ, L(θ′ + u) ≈ L(θ′) + ½λ‖u‖²: a negative λ
# means lower loss along u. Here λ = −2 and u = ±[1, 1]/√2. A step of length s along u lands on
# w₁ = w₂ = s/√2 = t, where the loss is exactly (1 − t²)², below 1 for 0 < |t| < √2.

# %%
escape_direction = origin_report.escape_direction  # zero_tol <= 1e-3 keeps λ = −2 negative
print(f"eigenvector of λ = {eigenvalues[0]:.3g}: {escape_direction}")
for length in sorted({0.5, 1.0, 1.5, 2.0, escape_step}):
    t = length / math.sqrt(2)
    print(f"step {length:.2f} along u: L = {lecture.value(length * escape_direction):.4f}"
          f"   (1 − t²)² = {(1 - t * t) ** 2:.4f}")
loss_after_escape = lecture.value(escape_step * escape_direction)
verdicts["step_along_u"] = "lowers the loss" if loss_after_escape < 1 - 1e-9 else "does not"
SAY_STEP = {"lowers the loss": "A step of {s:g} along u lowers the loss from 1 to {after:.3f}.",
            "does not": "A step of {s:g} along u does not lower the loss (1 -> {after:.3f}): the "
                        "quadratic picture holds only for short steps (here below 2)."}
say(SAY_STEP[verdicts["step_along_u"]].format(s=escape_step, after=loss_after_escape))

# %% [markdown]
# ## 4. More critical points, and a degenerate one
# The gradient −2(1 − w₁w₂)·(w₂, w₁) vanishes at the origin and on the whole curve w₁w₂ = 1, where
# the loss is 0. We classify the origin, three points on the curve and one point that is not
# critical at all. "Degenerate" means a zero eigenvalue: the quadratic term is flat in that
# direction and the second-order test cannot tell what happens there.

# %%
candidates = {"origin": (0.0, 0.0), "(1, 1)": (1.0, 1.0), "(2, 1/2)": (2.0, 0.5),
              "(−1, −1)": (-1.0, -1.0), "(0.5, 0.5)": (0.5, 0.5)}
critical_points = {}
for label, point in candidates.items():
    gradient_norm = float(onp.linalg.norm(lecture.gradient(point)))
    report = hessian.examine(lecture.hessian(point), zero_tol)
    kind = report.kind if gradient_norm < critical_tol else "not critical"
    critical_points[label] = dict(point=point, loss=lecture.value(point), kind=kind,
                                  gradient_norm=gradient_norm, eigenvalues=report.eigenvalues)
    print(f"{label:<10} L = {lecture.value(point):.3f}  ‖∇L‖ = {gradient_norm:.1e}  eigenvalues "
          f"{onp.round(report.eigenvalues, 6)!s:<22} {kind}")
findings["lecture_network"] = dict(hessian_at_origin=hessian_at_origin, eigenvalues=eigenvalues,
                                   hessian_error=hessian_error, escape_direction=escape_direction,
                                   escape_step=escape_step, loss_after_escape=loss_after_escape,
                                   critical_points=critical_points)

# %% [markdown]
# At (1, 1) the zero eigenvalue's eigenvector is ±[1, −1]/√2, the tangent of the curve w₁w₂ = 1.
# Along it the loss grows only like s⁴/4 (fourth order, invisible to H), along the other
# eigenvector like ½·4·s². Both are ≥ 0 = L(1, 1): these degenerate points are minima, just not
# strict ones — you can slide along the curve without any change in loss to second order.

# %%
valley_report = hessian.examine(lecture.hessian((1.0, 1.0)), zero_tol)
flat, steep = valley_report.eigenvectors[:, 0], valley_report.eigenvectors[:, 1]
for s in (0.1, 0.3):
    print(f"s = {s:.1f}: along the flat eigenvector L = {lecture.value(1 + s * flat):.2e} "
          f"(s⁴/4 = {s ** 4 / 4:.2e}),")
    print(f"         along the steep one L = {lecture.value(1 + s * steep):.2e} "
          f"(2s² = {2 * s * s:.2e})")
on_valley = [label for label in ("(1, 1)", "(2, 1/2)", "(−1, −1)")]
degenerate = sum(critical_points[label]["kind"] == "degenerate" for label in on_valley)
verdicts["valley_points"] = "degenerate" if degenerate == len(on_valley) else "not all degenerate"
print(f"{degenerate} of the {len(on_valley)} points on w₁w₂ = 1 are degenerate.")
marks = [(label, p["point"], p["kind"]) for label, p in critical_points.items()]
findings["figures"].append(plots.error_surface(
    W1, W2, surface, marks, out_dir, "error_surface",
    arrows=[("u (λ = −2)", (0.0, 0.0), tuple(escape_step * escape_direction))],
    title="L(w₁, w₂) = (1 − w₁w₂)²: a saddle and a valley of minima"))

# %% [markdown]
# ## 5. The lecture's experiment: the minimum ratio where training stops
# The lecture trains a network many times until the gradient is tiny and asks, at each end point,
# what share of the Hessian's eigenvalues is positive — the *minimum ratio* (1 at a strict local
# minimum). In its picture no end point gets above about 0.6: even the best ones have some 40% of
# directions with a way down. Its homework takes the points with ‖∇L‖ < 10⁻³ and calls a ratio
# above 0.5 "local-minimum-like".
#
# Our version: regression data made by a "teacher" tanh network with `teacher_units` hidden units,
# plus label noise; a "student" input_dim → `hidden_units` tanh → 1 (tanh is smooth, so the
# finite-difference Hessians hold everywhere; across ReLU kinks they would not).

# %%
rng = onp.random.default_rng(seed)
X = rng.standard_normal((num_examples, input_dim))
teacher_W = 1.5 * rng.standard_normal((teacher_units, input_dim))
teacher_v = rng.standard_normal(teacher_units)
y = onp.tanh(X @ teacher_W.T) @ teacher_v + label_noise * rng.standard_normal(num_examples)


def student(units):
    """One network input_dim -> units (tanh) -> 1 in float64, the Gluon way."""
    net = nn.HybridSequential()
    net.add(nn.Dense(units, activation="tanh", in_units=input_dim), nn.Dense(1, in_units=units))
    net.initialize()
    net.cast("float64")
    return net


print(f"{num_examples} examples, {input_dim} features; label variance {y.var():.3f}, "
      f"of which noise {label_noise ** 2:.3f}")

# %% [markdown]
# Training `num_starts` networks one after another would spend most of the time in MXNet's
# per-call overhead. `hessian.TanhNetworks` holds them side by side: row k of its one parameter
# `theta` is network k's w1 (row by row), b1, w2 and b2 — the order of the Gluon network above —
# and column k of its output is network k's prediction. No parameter is shared, so a step of
# gradient descent on the sum of the runs' losses is one step of every run. First a check that a
# row gives what `student` gives with the same weights.

# %%
def starting_points(size, units):
    """One starting θ per run: weights N(0, init_scale²), biases 0 (as Gluon's Dense has them)."""
    points = init_scale * rng.standard_normal((num_starts, size))
    points[:, units * input_dim:units * (input_dim + 1)] = 0.0  # b1
    points[:, -1] = 0.0  # b2
    return points


def side_by_side(units):
    networks = hessian.TanhNetworks(num_starts, input_dim, units)
    networks.initialize()
    networks.cast("float64")
    runs = hessian.RunsLoss(networks, X, y)
    runs.set(starting_points(networks.size, units))
    return networks, runs


networks, runs = side_by_side(hidden_units)
one = hessian.BlockLoss(student(hidden_units), model.l2_loss(), X, y)
first_row = runs.get().reshape(num_starts, -1)[0]
same = abs(one.value(first_row) - runs.run_values()[0])
say(f"{num_starts} networks of {networks.size} parameters (per network: "
    + ", ".join(f"{name} {value.shape}" for name, value in networks.named(first_row).items())
    + f"); run 0 and the Gluon network differ by {same:.1e} in loss")

# %% [markdown]
# Each run takes full-batch gradient-descent steps until its ‖∇L‖ is below `gd_tol`; we keep
# where it first got there, looking every 50 steps. A run still above it after `max_steps` is "not
# reached" and left out of the verdicts. `training.fit` with `Trainer('sgd')` would take each step
# as a forward pass, a backward pass and an update, about 1 ms apiece: seconds for a few thousand.
# `hessian.FullBatchDescent` makes the same updates 50 at a time in one compiled graph, with the
# gradient written out by hand (autograd cannot run inside a graph); the tests check it against
# `training.fit`.

# %%
CHECK_EVERY = 50  # steps between two looks at each run's ‖∇L‖


def descend(runs, rate):
    """Full-batch descent of all runs at once: (end points, steps each run took or None)."""
    descent = hessian.FullBatchDescent(runs.net, X, y, rate)
    theta = runs.get().reshape(num_starts, -1)
    ends, steps, taken = theta.copy(), [None] * num_starts, 0
    bar = training.progress_bar(max_steps, desc="descent", unit="step")  # on a terminal only
    while taken < max_steps and None in steps:
        chunk = min(CHECK_EVERY, max_steps - taken)
        theta, gradients, _ = descent(theta, chunk)
        if not onp.all(onp.isfinite(theta)):
            print(f"descent diverged after about {taken + chunk} steps at lr {rate:g}: the runs "
                  f"not yet below gd_tol are left out")
            break
        taken += chunk
        bar.update(chunk)
        norms = onp.linalg.norm(gradients, axis=1)
        for run in range(num_starts):
            if steps[run] is None:
                ends[run] = theta[run]  # the latest point; final once the gradient is small
                steps[run] = taken if norms[run] < gd_tol else None
    bar.close()
    return ends, steps


ends, steps = descend(runs, lr)
say(f"{sum(s is not None for s in steps)} of {num_starts} runs reached ‖∇L‖ < {gd_tol:g}; steps: "
    + ", ".join(str(s or "not reached") for s in steps))

# %% [markdown]
# At each end point: the full Hessian (`RunsLoss.run_hessians`: a pair of gradients per parameter
# gives that column, section 2's central differences; the moved copies of every run sit side by
# side, so a few gradient passes give them all), its eigenvalues, the minimum ratio and the
# number of negative eigenvalues. These are points where the gradient is *small*, not proven
# critical points. How far could a critical point be? If the quadratic model held, the
# pseudo-inverse Newton step −H⁺∇L (eigenvalues with |λ| <= zero_tol left out) would land on one:
# its length is that estimate.

# %%
def examine_end_points(runs, ends, steps):
    """Per end point: loss, ‖∇L‖, eigenvalues, minimum ratio, counts, the Newton step's length."""
    gradients, matrices = runs.run_gradients(ends), runs.run_hessians(ends)
    reports = [hessian.examine(matrix, zero_tol) for matrix in matrices]
    return dict(training_losses=runs.run_values(ends),
                gradient_norms=onp.linalg.norm(gradients, axis=1),
                minimum_ratios=onp.array([r.minimum_ratio for r in reports]),
                negative_counts=onp.array([r.counts[0] for r in reports]),
                zero_counts=onp.array([r.counts[1] for r in reports]),
                most_negative=onp.array([r.eigenvalues[0] for r in reports]),
                newton_lengths=onp.array([onp.linalg.norm(r.newton_step(g))
                                          for r, g in zip(reports, gradients)]),
                eigenvalues=[r.eigenvalues for r in reports], ends=ends,
                reached=onp.array([s is not None for s in steps]), steps=steps)


def show_end_points(points):
    print("run  steps  training loss  ‖∇L‖     ratio  negative  zero  smallest λ  Newton step")
    for run in range(len(points["steps"])):
        print(f"{run:3d}  {points['steps'][run] or 'not reached':>5}  "
              f"{points['training_losses'][run]:13.5f}  {points['gradient_norms'][run]:.1e}  "
              f"{points['minimum_ratios'][run]:5.2f}  {points['negative_counts'][run]:8d}  "
              f"{points['zero_counts'][run]:4d}  {points['most_negative'][run]:10.1e}  "
              f"{points['newton_lengths'][run]:11.2f}")


network = examine_end_points(runs, ends, steps)
network["num_parameters"] = networks.size
show_end_points(network)

# %% [markdown]
# Three questions for these points, each answered by a verdict. Does every end point have a way
# down (a negative eigenvalue), as the lecture says? Are the ratios as low as the lecture's, at most
# about 0.6? And does the ratio go with the loss — a Spearman rank correlation over all points,
# its p-value from Student's t as scipy.stats.spearmanr computes it (below 0.05 counts)?

# %%
LECTURE_RATIO = 0.6  # the lecture's largest minimum ratio


def span(values):
    """'a to b' for the smallest and largest of `values`, 'none' if there are none."""
    return f"{min(values):.2f} to {max(values):.2f}" if len(values) else "none"


def judge_ratios(points):
    """Verdicts on the reached end points: ways down, ratios against the lecture's, trend."""
    reached = points["reached"]
    ratios, losses = points["minimum_ratios"][reached], points["training_losses"][reached]
    negative = int(onp.sum(points["negative_counts"][reached] > 0))
    rho, p_value = math.nan, math.nan
    if len(ratios) >= 4 and onp.ptp(ratios) > 0 and onp.ptp(losses) > 0:
        rho, p_value = ranks.spearman(losses, ratios)  # scipy.stats.spearmanr's
    points.update(reached_count=int(reached.sum()), with_negative=negative, rank_correlation=rho,
                  p_value=p_value, ratio_span=span(ratios))
    if not reached.any():
        return dict.fromkeys(("ways_down", "ratio_range", "loss_and_ratio"), "not measured")
    share = negative / reached.sum()
    ways_down = "every point" if share == 1 else "most points" if share > 0.5 else "some points"
    ways_down = "no point" if share == 0 else ways_down
    ratio_range = "as in the lecture" if ratios.max() <= LECTURE_RATIO else "above the lecture's"
    loss_and_ratio = "no clear trend"
    if math.isnan(p_value):
        loss_and_ratio = "not measured"
    elif p_value < 0.05:
        loss_and_ratio = "lower ratio at higher loss" if rho < 0 else "higher ratio at higher loss"
    return dict(ways_down=ways_down, ratio_range=ratio_range, loss_and_ratio=loss_and_ratio)


# %%
def ratio_sentence(points, judged):
    """The verdicts on one network's end points, in words."""
    if judged["ways_down"] == "not measured":
        return (f"{points['num_parameters']} parameters: no run reached ‖∇L‖ < {gd_tol:g} within "
                f"{max_steps} steps, so there is nothing to judge.")
    return (f"{points['num_parameters']} parameters: of {points['reached_count']} end points with "
            f"‖∇L‖ < {gd_tol:g}, {points['with_negative']} have a negative eigenvalue "
            f"({judged['ways_down']}); minimum ratios {points['ratio_span']} "
            f"({judged['ratio_range']}, at most ~{LECTURE_RATIO}); loss against ratio: Spearman "
            f"ρ = {points['rank_correlation']:.2f}, p = {points['p_value']:.2g} "
            f"({judged['loss_and_ratio']}).")


network_verdicts = judge_ratios(network)
verdicts.update(network_verdicts)
say(ratio_sentence(network, network_verdicts))
reached = network["reached"]
say(f"These are small-gradient points, not proven critical points: "
    f"{network['zero_counts'][reached].sum()} eigenvalues in all count as zero, the most negative "
    f"is {network['most_negative'][reached].min(initial=0):.1e}, and the pseudo-inverse Newton "
    f"step, where the quadratic model puts a critical point, is "
    f"{span(network['newton_lengths'][reached])} long.")

# %% [markdown]
# The lecture's picture: training loss against minimum ratio, one point per run (hollow: the run
# did not reach ‖∇L‖ < `gd_tol`). On the right, every eigenvalue of every end point on a
# symmetric log scale (the band around 0 is |λ| < `zero_tol`).

# %%
findings["figures"].append(plots.minimum_ratio(
    {f"{networks.size} parameters": network}, out_dir, "minimum_ratio", reference=LECTURE_RATIO,
    spectra=network["eigenvalues"], linthresh=zero_tol,
    title=f"{num_starts} starts, full-batch descent until ‖∇L‖ < {gd_tol:g}"))

# %% [markdown]
# ## 6. The smallest network, and exact critical points
# The same experiment with `small_hidden_units` hidden units (13 parameters at the defaults). Few
# parameters leave few directions, and the lecture's picture may not appear: we compare the two
# networks' ratios with a Mann-Whitney test (p below 0.05 counts).

# %%
small_networks, small_runs = side_by_side(small_hidden_units)
small_ends, small_steps = descend(small_runs, small_lr)
small = examine_end_points(small_runs, small_ends, small_steps)
small["num_parameters"] = small_networks.size
show_end_points(small)
small_verdicts = judge_ratios(small)
verdicts.update({f"small_network_{name}": value for name, value in small_verdicts.items()})
say(ratio_sentence(small, small_verdicts))
big_ratios = network["minimum_ratios"][reached]
small_ratios = small["minimum_ratios"][small["reached"]]
if len(big_ratios) and len(small_ratios) and onp.ptp(onp.append(big_ratios, small_ratios)) > 0:
    size_p = ranks.mann_whitney(big_ratios, small_ratios)[1]  # scipy.stats.mannwhitneyu's
    lower = onp.median(big_ratios) < onp.median(small_ratios)
    verdicts["ratio_and_size"] = ("no clear difference" if size_p >= 0.05 else
                                  "lower in the bigger network" if lower else
                                  "higher in the bigger network")
else:
    size_p, verdicts["ratio_and_size"] = math.nan, "not measured"
say(f"Minimum ratios: {span(big_ratios)} with {networks.size} parameters, {span(small_ratios)} "
    f"with {small_networks.size}; Mann-Whitney p = {size_p:.2g}: {verdicts['ratio_and_size']}.")
findings["figures"].append(plots.minimum_ratio(
    {f"{networks.size} parameters": network, f"{small_networks.size} parameters": small}, out_dir,
    "minimum_ratio_by_size", reference=LECTURE_RATIO, title="Minimum ratio and network size"))

# %% [markdown]
# Is there an exact critical point near each end point, and of which kind? Newton's method
# (`hessian.newton`, steps −H⁺∇L, halved until ‖∇L‖ falls) heads for the nearby critical point
# of any kind, all runs at once. We give it `newton_iterations` and stop a run when an iteration
# lowers its ‖∇L‖ by less than 1%. How far it moved says how near the critical point was.

# %%
STALL = 0.99  # an iteration leaving ‖∇L‖ above 99% of what it was ends that run's search
newton_ends, newton_norms = hessian.newton(small_runs.run_gradients, small_runs.run_hessians,
                                           small["ends"], tol=zero_tol, grad_tol=critical_tol,
                                           max_iterations=newton_iterations, min_progress=STALL)
moved = onp.linalg.norm(newton_ends - small["ends"], axis=1)
found = onp.array([norms[-1] < critical_tol for norms in newton_norms]) & small["reached"]
exact_kinds = [hessian.examine(m, zero_tol).kind for m in small_runs.run_hessians(newton_ends)]
end_kinds = [hessian.classify(values, zero_tol) for values in small["eigenvalues"]]
print("run  iterations  ‖∇L‖ before  after    moved  kind at the end point  at Newton's point")
for run, norms in enumerate(newton_norms):
    there = exact_kinds[run] if norms[-1] < critical_tol else "not critical"
    print(f"{run:3d}  {len(norms) - 1:10d}  {norms[0]:11.0e}  {norms[-1]:7.0e}  {moved[run]:5.3f}  "
          f"{end_kinds[run]:<21}  {there}")
agree = sum(exact_kinds[run] == end_kinds[run] for run in onp.flatnonzero(found))
share = found.sum() / max(1, small["reached"].sum())
verdicts["exact_critical_points"] = ("found for most" if share > 0.5 else
                                     "found for some" if share > 0 else "found for none")
verdicts["kinds_agree"] = ("not measured" if not found.any() else "agree" if agree == found.sum()
                           else "differ for some")
newton_sentence = (
    f"Newton reached ‖∇L‖ < {critical_tol:g} from {found.sum()} of {small['reached'].sum()} end "
    f"points of the smallest network ({verdicts['exact_critical_points']}), moving "
    f"{span(moved[found])} from where descent stopped; the kinds there and at the end points "
    f"{verdicts['kinds_agree']} ({agree} of {found.sum()} the same).")
say(newton_sentence)
small.update(newton_ends=newton_ends, newton_iterations=[len(norms) - 1 for norms in newton_norms],
             newton_moved=moved,
             newton_gradient_norms=[norms[-1] for norms in newton_norms], newton_found=found,
             newton_kinds=exact_kinds, end_kinds=end_kinds)

# %% [markdown]
# ## 7. Escaping a saddle
# A saddle of the smallest network that we can write down: all input weights 0, output weights 0,
# output bias ȳ (the mean label), and hidden biases b₁ ≠ 0. The network then predicts ȳ everywhere
# and every hidden unit outputs the constant tanh(b₁), which cannot correlate with y — so the
# gradient of the mean loss is zero. It is the network's version of the lecture's origin: input
# and output weights multiply, as w₁ and w₂ did. Its Hessian:

# %%
saddle_net = student(small_hidden_units)
saddle_net[0].weight.set_data(np.zeros((small_hidden_units, input_dim), dtype="float64"))
saddle_net[0].bias.set_data(np.array(onp.linspace(0.5, 1.5, small_hidden_units), dtype="float64"))
saddle_net[1].weight.set_data(np.zeros((1, small_hidden_units), dtype="float64"))
saddle_net[1].bias.set_data(np.array([y.mean()], dtype="float64"))
saddle_loss = hessian.BlockLoss(saddle_net, model.l2_loss(), X, y)
saddle = saddle_loss.get()
saddle_report = hessian.examine(saddle_loss.hessian(), zero_tol)
saddle_value, saddle_gradient = saddle_loss.value(), float(onp.linalg.norm(saddle_loss.gradient()))
print(f"loss {saddle_value:.4f} (½·variance of y = {y.var() / 2:.4f}), "
      f"‖∇L‖ = {saddle_gradient:.1e}")
print(f"eigenvalues −/0/+ {saddle_report.counts}: {saddle_report.kind}; most negative "
      f"{saddle_report.eigenvalues[0]:.3f}")

# %% [markdown]
# Four runs of `escape_steps` updates from the saddle (moved `saddle_offset` in a random
# direction): full-batch gradient descent; the same after one step of length `escape_step` along
# the eigenvector of the most negative eigenvalue; mini-batch SGD with batches of `batch_size`;
# and full-batch gradient descent with momentum. A run has escaped once the full-data loss is
# `escape_drop` below the saddle's. Mini-batch noise can help here because each example's own
# gradient is not zero at the saddle — the output weights' gradient is (ȳ − yᵢ)·tanh(b₁), zero
# only on average. The three full-batch runs go side by side through section 5's
# `hessian.FullBatchDescent`, with momentum β the Trainer's heavy ball (v ← βv − η∇L, θ ← θ + v);
# the mini-batch run goes through `training.fit` and a `DataLoader`.

# %%
def path_losses(path):
    """The full-data loss at every row of a recorded path at once: one network per row, side by
    side (`hessian.TanhNetworks` again), one forward pass instead of one per row."""
    networks = hessian.TanhNetworks(len(path), input_dim, small_hidden_units)
    networks.initialize()
    networks.cast("float64")
    return hessian.RunsLoss(networks, X, y).run_values(path)


# %%
def full_batch_escapes(starts, momenta):
    """Full-batch descent from each row of `starts`, side by side, each with its momentum: the
    full-data loss before each of `escape_steps` updates and after, one column per run."""
    networks = hessian.TanhNetworks(len(starts), input_dim, small_hidden_units)
    networks.initialize()
    networks.cast("float64")
    descent = hessian.FullBatchDescent(networks, X, y, escape_lr, momentum=momenta)
    theta, losses, taken = onp.array(starts), [], 0
    while taken < escape_steps:
        chunk = min(CHECK_EVERY, escape_steps - taken)
        theta, _, chunk_losses = descent(theta, chunk)
        losses.append(chunk_losses[:-1])  # the loss after a chunk opens the next one
        taken += chunk
    return onp.concatenate(losses + [chunk_losses[-1:]])


# %%
def minibatch_escape(from_theta):
    """Mini-batch SGD from `from_theta`: the full-data loss before each of `escape_steps` updates,
    and after."""
    set_seed(seed)
    net = student(small_hidden_units)
    net_loss = hessian.BlockLoss(net, model.l2_loss(), X, y)
    net_loss.set(from_theta)
    trainer = training.make_trainer(net, "sgd", escape_lr)
    recorder = recording.Recorder(trainer, net_loss.params)  # parameters in BlockLoss's order
    batches = loading.data_loader(X, y, batch_size)
    training.fit(net, batches, trainer, math.ceil(escape_steps / len(batches)),
                 max_steps=escape_steps, on_step=recorder, progress=False)
    return path_losses(recorder.parameters)


nudge = onp.random.default_rng(seed + 1).standard_normal(saddle.size)
near_saddle = saddle + saddle_offset * nudge / onp.linalg.norm(nudge)
way_down = saddle_report.escape_direction  # None if no eigenvalue is below −zero_tol
step_down = 0.0 if way_down is None else escape_step * way_down
NAMES = ("gradient descent", "step along u, then GD", f"mini-batch SGD (B = {batch_size})",
         f"GD + momentum {momentum:g}")
ESCAPE_VERDICTS = dict(zip(NAMES[1:], ("escape_step_along_u", "escape_minibatch",
                                       "escape_momentum")))
full_batch = full_batch_escapes([near_saddle, near_saddle + step_down, near_saddle],
                                momenta=(0.0, 0.0, momentum))
escape_curves = {NAMES[0]: full_batch[:, 0], NAMES[1]: full_batch[:, 1],
                 NAMES[2]: minibatch_escape(near_saddle), NAMES[3]: full_batch[:, 2]}

# %%
threshold = (1 - escape_drop) * saddle_value
escape = {}
for name, losses in escape_curves.items():
    below = onp.flatnonzero(losses < threshold)
    early = losses[:len(losses) // 2] - losses[0]
    escape[name] = dict(steps=int(below[0]) if below.size else None, final_loss=float(losses[-1]),
                        largest_early_change=float(onp.max(onp.abs(early))))
gd_steps = escape[NAMES[0]]["steps"]
verdicts["plain_descent_at_saddle"] = "stalled" if gd_steps is None else "escaped"
for name, key in ESCAPE_VERDICTS.items():
    steps_out = escape[name]["steps"]
    sooner = gd_steps is None or (steps_out is not None and steps_out < gd_steps)
    verdicts[key] = ("did not escape" if steps_out is None else
                     "escaped sooner" if sooner else "escaped, not sooner")
for name, key in zip(NAMES, ("plain_descent_at_saddle", *ESCAPE_VERDICTS.values())):
    print(f"{name:<26} {verdicts[key]:<15} (update {escape[name]['steps']}); loss after "
          f"{escape_steps} updates {escape[name]['final_loss']:.4f}")
escape_sentence = (f"From the network's saddle: plain descent "
                   f"{verdicts['plain_descent_at_saddle']}; "
                   + "; ".join(f"{name} {verdicts[key]}" for name, key in ESCAPE_VERDICTS.items())
                   + ".")
findings["figures"].append(plots.loss_curves(
    escape_curves, out_dir, "saddle_escape", xlabel="update (1: before the first)",
    ylabel="full-data loss", logy=False, margins=plots.SINGLE_PANEL_MARGINS,
    title=f"From the saddle (loss {saddle_value:.3f}), lr {escape_lr:g}"))

# %% [markdown]
# Why momentum gets out sooner, in numbers. Near the saddle the gradient along u is λ_min times
# the distance x along u, so gradient descent multiplies x by 1 + `escape_lr`·|λ_min| per update.
# With momentum β, x_{k+1} = x_k + β(x_k − x_{k−1}) + `escape_lr`·|λ_min|·x_k, whose growth per
# update is the larger root z of z² − (1 + β + `escape_lr`·|λ_min|)z + β = 0. Both start from the
# same tiny offset and must reach the same distance, so the ratio of their escape times should be
# about ln z / ln(1 + `escape_lr`·|λ_min|).

# %%
curvature = escape_lr * max(0.0, -saddle_report.eigenvalues[0])
momentum_growth = max(onp.roots([1.0, -(1 + momentum + curvature), momentum]).real)
predicted_speedup = math.log(momentum_growth) / math.log1p(curvature) if curvature > 0 else math.nan
momentum_steps = escape[NAMES[3]]["steps"]
measured_speedup = gd_steps / momentum_steps if gd_steps and momentum_steps else math.nan
verdicts["momentum_speedup"] = (
    "not measured" if math.isnan(measured_speedup * predicted_speedup) else
    "agrees" if abs(measured_speedup / predicted_speedup - 1) < 0.2 else "does not agree")
SAY_SPEEDUP = {"agrees": "Momentum got out {measured:.2f} times sooner; the linear prediction "
                         "says {predicted:.2f} (within 20%).",
               "does not agree": "Momentum got out {measured:.2f} times sooner; the linear "
                                 "prediction says {predicted:.2f} (more than 20% apart).",
               "not measured": "Momentum's head start is predicted to be {predicted:.2f} times; "
                               "not measured, since a run did not get out."}
say(SAY_SPEEDUP[verdicts["momentum_speedup"]].format(measured=measured_speedup,
                                                     predicted=predicted_speedup))
findings["escape"] = dict(saddle=saddle, saddle_loss=saddle_value,
                          saddle_gradient_norm=saddle_gradient,
                          saddle_eigenvalues=saddle_report.eigenvalues,
                          saddle_kind=saddle_report.kind,
                          runs=escape, predicted_speedup=predicted_speedup,
                          measured_speedup=measured_speedup, lr=escape_lr, momentum=momentum,
                          batch_size=batch_size, steps=escape_steps, drop=escape_drop,
                          offset=saddle_offset)

# %% [markdown]
# ## 8. A ball with momentum rolls past a critical point
# The lecture's picture: plain gradient descent stops wherever the gradient is zero; momentum
# keeps the speed it had and may roll on. A one-parameter loss, L(w) = w⁴/4 − w²/2 + tilt·w: at
# the default tilt 0.3 it has a shallow dip near w ≈ 0.79 and a deeper valley near w ≈ −1.13,
# separated by a low ridge at w ≈ 0.34 (the gradient is zero at all three). A
# `landscape.PositionLoss` makes the parameter itself the thing being trained, so the same
# `Trainer` and loop move it; each ball starts at w = 2 with η = 0.1, one per β.

# %%
ridge_points = landscape.critical_points_of_double_well(tilt)  # deep valley, ridge, shallow dip
ball_start, ball_lr, ball_steps = 2.0, 0.1, 150
balls = {}
for beta in ball_momenta:
    recorder = recording.record_position(lambda w: landscape.tilted_double_well(w, tilt),
                                         [ball_start], ball_lr, beta, num_steps=ball_steps)
    path = recorder.parameters[:, 0]
    crossed = bool(onp.any(path < ridge_points[1]))
    ends_in = "dip" if path[-1] > ridge_points[1] else "valley"
    balls[beta] = dict(path=path, final=float(path[-1]), ends_in=ends_in, crossed_ridge=crossed,
                       final_slope=float(landscape.tilted_double_well_slope(path[-1], tilt)),
                       story="stops in the dip" if not crossed else "rolls into the valley"
                       if ends_in == "valley" else "crosses the ridge and rolls back into the dip")
say(f"L(w) = w⁴/4 − w²/2 + {tilt:.2g}·w: deep valley at w = {ridge_points[0]:.3f}, ridge at "
    f"{ridge_points[1]:.3f}, shallow dip at {ridge_points[2]:.3f}; start {ball_start}, "
    f"η = {ball_lr}")
for beta, ball in balls.items():
    print(f"β = {beta:<4g} ends at w = {ball['final']:+.3f} (slope {ball['final_slope']:.1e}): "
          f"{ball['story']}")

# %% [markdown]
# The verdict: does plain descent (the smallest β tried) stop in the dip while some β > 0 carries
# the ball over the ridge? And the picture: each ball's path on the loss, over time, and where it
# ends for every β.

# %%
slowest = balls[min(balls)]
rolled = [beta for beta, ball in balls.items() if ball["ends_in"] == "valley"]
verdicts["momentum_past_dip"] = ("inconclusive" if slowest["crossed_ridge"] else
                                 "carried past" if rolled else "not carried past")
SAY_BALL = {"carried past": "Plain descent (β = {low:g}) stops in the shallow dip; momentum β = "
                            "{rolled} carries the ball over the ridge into the deeper valley.",
            "not carried past": "No β tried carries the ball past the shallow dip.",
            "inconclusive": "Even β = {low:g} rolls over the ridge: momentum's part is unclear."}
ball_sentence = SAY_BALL[verdicts["momentum_past_dip"]].format(low=min(balls),
                                                              rolled=", ".join(map(str, rolled)))
say(ball_sentence)
line = onp.linspace(-2.0, 2.1, 400)
shown = [beta for beta in (0.0, 0.6, 0.9) if beta in balls] or list(balls)[:3]
findings["figures"].append(plots.ball_on_curve(
    line, landscape.tilted_double_well(line, tilt), {f"β = {b:g}": balls[b]["path"] for b in shown},
    out_dir, "momentum_ball",
    finals=("momentum β", list(balls), [ball["final"] for ball in balls.values()]),
    marks={"shallow dip": ridge_points[2], "ridge": ridge_points[1],
           "deep valley": ridge_points[0]},
    title="Where each ball comes to rest, by momentum"))
findings["ball"] = dict(
    tilt=tilt, critical_points=ridge_points, rolled_through=rolled,
    final_position={str(beta): ball["final"] for beta, ball in balls.items()},
    stayed=[beta for beta, ball in balls.items() if not ball["crossed_ridge"]],
    overshot_back=[beta for beta, ball in balls.items()
                   if ball["crossed_ridge"] and ball["ends_in"] == "dip"])

# %% [markdown]
# ## What we found
# The lecture's network, its saddle and its valley:

# %%
say(SAY_ORIGIN[verdicts["origin_hessian"]].format(gap=hessian_error, low=eigenvalues[0],
                                                   high=eigenvalues[-1], kind=origin_report.kind))
say(SAY_STEP[verdicts["step_along_u"]].format(s=escape_step, after=loss_after_escape))
print(f"Points on the valley w₁w₂ = 1: {verdicts['valley_points']}.")

# %% [markdown]
# The minimum ratio, by the lecture's method, at two network sizes:

# %%
say(ratio_sentence(network, network_verdicts))
say(ratio_sentence(small, small_verdicts))
print(f"Minimum ratio and network size: {verdicts['ratio_and_size']}.")
say(newton_sentence)

# %% [markdown]
# Leaving a critical point: the network's saddle and the ball.

# %%
say(escape_sentence)
say(SAY_SPEEDUP[verdicts["momentum_speedup"]].format(measured=measured_speedup,
                                                     predicted=predicted_speedup))
say(ball_sentence)

# %%
findings.update(
    num_parameters=networks.size, features=X, labels=y, hidden_units=hidden_units,
    small_hidden_units=small_hidden_units,
    minimum_ratios=network["minimum_ratios"], gradient_norms=network["gradient_norms"],
    training_losses=network["training_losses"], negative_counts=network["negative_counts"],
    network=network, small_network=small)

# %% [markdown]
# ## Exercises
# 1. Set `hidden_units = 8` (`--set hidden_units=8`, 33 parameters). How many negative eigenvalues
#    and how many counted as zero do the end points have now, and where do the ratios fall between
#    the 13- and the 81-parameter networks?
# 2. Lower `gd_tol` to `1e-4` (and raise `max_steps`): descent runs longer. Do the negative
#    eigenvalues disappear, or do they stay — and what does the Newton step's length do?
# 3. Run the escape with `saddle_offset = 1e-4`, then with `momentum = 0.5`. Does the predicted
#    speed-up of momentum still match? Which of the four runs would you trust at an *exact* saddle
#    (`saddle_offset = 0`), and why does mini-batch noise not need an offset at all?
# 4. In section 3, try `escape_step = 2.5`. Why does the "way down" now go up?
# 5. The ball of section 8: try `--set tilt=0.2` (a deeper dip). Which β still roll through?
#
# **Exercises with a self-check.** The cell below prints two more exercises. Write your answer to
# each into `answers` and run the cell again: it says "correct" with its evidence, or "not yet"
# with a hint. Worked solutions: `gluon-lessons solution 8`.

# %%
from gluon_lessons import exercises

answers = {1: None, 2: None}  # your answers, by exercise number
for number, answer in answers.items():
    exercises.check(8, number, answer)
