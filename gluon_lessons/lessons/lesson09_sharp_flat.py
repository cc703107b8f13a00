# %% [markdown]
# # Lesson 9 — Sharp and flat minima: small batch against large batch on real data
#
# What you will see: the lecture's last claim about batch size, put to a test. A small MLP learns
# scikit-learn's handwritten digits twice from the same starting weights, once with a small batch and
# once with a large one, each trained down to the same training loss, for several seeds. We measure
# train and test accuracy, the generalization gap, and how sharp each minimum is — Keskar et al.'s
# ε-sharpness and the largest Hessian eigenvalue — and draw the loss along the straight line from one
# minimum to the other, as in Keskar et al.'s figure. Whatever the numbers say is what this lesson says.
#
# Run it: `gluon-lessons run sharp-flat`, `python -m gluon_lessons.lessons.lesson09_sharp_flat`,
# or as a notebook: `gluon-lessons notebook 9` (then open it in Jupyter or VS Code).

# %%
import numpy as onp
from mxnet import npx

from gluon_lessons import digits, hessian, loading, plots, sharpness, training
from gluon_lessons.lessons import runner
from gluon_lessons.seeding import set_seed

npx.set_np()
if __name__ == "__main__" and not runner.in_notebook():  # `python -m ...`: run these cells with the command line's settings
    raise SystemExit(runner.main(__spec__.name))

# %% tags=["parameters"]
seed = 0               # the first training seed; runs use seed, seed + 1, ... (initial weights and shuffles)
num_seeds = 3          # training seeds per batch size (at least 2, for a spread)
split_seed = 0         # the one fixed train/test split of the digits
test_fraction = 0.25   # share of the 1797 digits held out for testing
hidden_units = 32      # width of the MLP's hidden layer (ReLU)
small_batch = 32       # examples per update, the "small batch"
large_batch = 256      # examples per update, the "large batch" (about 19% of the training set)
lr = 0.05              # learning rate, the same for both batch sizes
momentum = 0.9         # heavy-ball momentum, the same for both
target_loss = 0.01     # each run trains until its mean training cross-entropy is below this
max_epochs = 600       # give up on reaching target_loss after this many epochs
epsilon = 1e-3         # Keskar's box half-width factor: |y_i| <= epsilon (|θ_i| + 1)
keskar_iterations = 5  # L-BFGS-B iterations per start when maximizing the loss in the box
power_iterations = 30  # Hessian-vector products (at most) for the top eigenvalue
num_directions = 4     # filter-normalised random directions per run
direction_step = 0.25  # the step α along them at which the rise of the loss is read
line_points = 21       # points on the line between the minima, α from -0.5 to 1.5; 4k + 1 puts α = 0, 0.5, 1 on it
out_dir = None         # None: figures show inline in a notebook; the command line saves them (lesson_output/sharp-flat)
QUICK = dict(num_seeds=2, target_loss=0.1, keskar_iterations=2, power_iterations=10, num_directions=2, line_points=9)

# %%
with runner.checking_settings():  # a bad setting stops here with one line that names it
    runner.require("num_seeds", num_seeds, num_seeds >= 2, "an integer >= 2 (a spread needs two runs)")
    runner.require("max_epochs", max_epochs, max_epochs >= 1, "an integer >= 1")
    runner.require("split_seed", split_seed, split_seed >= 0, "an integer >= 0")
    runner.require("hidden_units", hidden_units, hidden_units >= 1, "an integer >= 1")
    mlp_size = (digits.NUM_PIXELS + 1) * hidden_units + (hidden_units + 1) * digits.NUM_CLASSES
    runner.check_memory(4 * (100 * mlp_size + 8 * 1797 * hidden_units),  # copies of the weights, activations
                        "hidden_units=%d (%d parameters)" % (hidden_units, mlp_size))
    training.check_hyperparameters(lr, momentum, max_epochs)
    for name, value in (("small_batch", small_batch), ("large_batch", large_batch)):
        runner.require(name, value, value >= 1, "an integer >= 1")
    runner.require("target_loss", target_loss, target_loss > 0, "a number > 0")
    for name, value, least in (("keskar_iterations", keskar_iterations, 1), ("power_iterations", power_iterations, 2),
                               ("num_directions", num_directions, 1)):
        runner.require(name, value, value >= least, "an integer >= %d" % least)
    runner.require("direction_step", direction_step, direction_step > 0, "a number > 0")
    runner.require("line_points", line_points, line_points >= 5 and line_points % 4 == 1, "4k + 1 for some k >= 1")
    sharpness.box_half_widths(0.0, epsilon)  # epsilon > 0
    data = digits.load(test_fraction, split_seed)
    runner.require("large_batch", large_batch, large_batch <= data.num_train,
                   "at most the %d training examples" % data.num_train)
seeds = [seed + k for k in range(num_seeds)]
print("seeds %s; batches of %d and %d, %.1f%% and %.1f%% of the %d training examples"
      % (seeds, small_batch, large_batch, 100 * small_batch / data.num_train, 100 * large_batch / data.num_train,
         data.num_train))

# %% [markdown]
# ## 1. The digits
# Scikit-learn ships 1797 handwritten digits, 8×8 grey levels from 0 to 16, inside the package (no
# download). We scale them to [0, 1] and split them once, stratified by class, into a training and a
# test set. Here is the first training image, darker characters for darker pixels:

# %%
print("training %d, test %d examples of %d pixels; test classes: %s"
      % (data.num_train, data.num_test, data.train_features.shape[1],
         onp.bincount(data.test_labels.astype(int)).tolist()))
shades = " .:-=+*#%@"
image = data.train_features[0].reshape(8, 8)
print("label %d\n" % data.train_labels[0] + "\n".join("".join(shades[int(v * 9.99)] * 2 for v in row) for row in image))

# %% [markdown]
# ## 2. Two batch sizes, trained to the same training loss
# The network is 64 → `hidden_units` (ReLU) → 10 logits, trained with softmax cross-entropy by
# `training.fit`, with SGD at the same learning rate and momentum for both batch sizes. Each seed
# fixes the initial weights, so a seed's small-batch and large-batch runs start at the very same
# point. A run stops once its training loss is below `target_loss`: comparing minima at different
# training losses would compare how far training got, not where it went. At the same learning rate
# a large batch makes fewer updates per epoch, so it needs more epochs.

# %%
loss = digits.classification_loss()


def train(batch_size, run_seed):
    """The MLP from `run_seed`, trained epoch by epoch until its training loss is below target_loss."""
    set_seed(run_seed)
    net = digits.mlp(hidden_units)
    trainer = training.make_trainer(net, "sgd", lr, momentum)
    batches = loading.ShuffledBatches(data.train_features, data.train_labels, batch_size)
    for epoch in range(1, max_epochs + 1):
        training.fit(net, batches, trainer, 1, loss=loss, progress=False)
        if digits.evaluate(net, data.train_features, data.train_labels)[0] < target_loss:
            return net, epoch, epoch * len(batches), True
    return net, epoch, epoch * len(batches), False


runs = {}
for run_seed in seeds:
    for batch_size in (small_batch, large_batch):
        net, epochs, updates, reached = train(batch_size, run_seed)
        net.cast("float64")  # measure in float64: a loss rise of 1e-6 is below float32's rounding of the sums
        runs[batch_size, run_seed] = dict(net=net, epochs=epochs, updates=updates, reached=reached)
        print("seed %d, batch %4d: %4d epochs, %5d updates%s" % (run_seed, batch_size, epochs, updates,
                                                               "" if reached else ", did NOT reach target_loss"))
mean_updates = {b: onp.mean([runs[b, s]["updates"] for s in seeds]) for b in (small_batch, large_batch)}
print("The large batch took %.1f times the updates of the small one (%.0f against %.0f on average)."
      % (mean_updates[large_batch] / mean_updates[small_batch], mean_updates[large_batch], mean_updates[small_batch]))

# %% [markdown]
# ## 3. Accuracy and the generalization gap
# The generalization gap is train accuracy minus test accuracy (and test loss minus train loss).
# Mean ± standard deviation over the seeds:

# %%
for run in runs.values():
    run["train_loss"], run["train_accuracy"] = digits.evaluate(run["net"], data.train_features, data.train_labels)
    run["test_loss"], run["test_accuracy"] = digits.evaluate(run["net"], data.test_features, data.test_labels)
    run["gap"] = run["train_accuracy"] - run["test_accuracy"]
    run["loss_gap"] = run["test_loss"] - run["train_loss"]


def values(batch_size, key):
    return onp.array([runs[batch_size, s][key] for s in seeds])


def mean_sd(batch_size, key):
    v = values(batch_size, key)
    return "%.4f ± %.4f" % (v.mean(), v.std(ddof=1))


for key in ("train_loss", "train_accuracy", "test_accuracy", "gap", "test_loss", "loss_gap"):
    print("%-15s small batch %s   large batch %s" % (key, mean_sd(small_batch, key), mean_sd(large_batch, key)))

# %% [markdown]
# ## 4. How sharp is each minimum?
# Two measures of the training loss's shape at each end point θ:
#
# - **The largest Hessian eigenvalue** λ_max: the steepest curvature, by power iteration on
#   Hessian-vector products, stopped once λ changes by less than 0.1%. MXNet cannot differentiate
#   twice through these layers, so each product is a central difference of two autograd gradients
#   (`hessian.BlockLoss.hvp`).
# - **Keskar's ε-sharpness** φ = 100 · (max over the box f(θ + y) − f(θ)) / (1 + f(θ)), with the box
#   |y_i| ≤ ε(|θ_i| + 1). The maximum is searched with L-BFGS-B inside the box, started from the corner
#   the gradient points to and the two corners along ±(top eigenvector); a local search, so φ is a
#   lower bound. We also report how much of the rise is first order, ∇f(θ)·y: training stopped at a
#   small loss, not at an exact minimum, so part of the rise is slope rather than curvature.

# %%
for (batch_size, run_seed), run in runs.items():
    f = hessian.BlockLoss(run["net"], loss, data.train_features, data.train_labels)
    run["theta"] = f.get()
    run["top_eigenvalue"], top_vector = hessian.top_eigenvalue(f.hvp, f.size, num_iterations=power_iterations,
                                                               rtol=1e-3)
    found = sharpness.keskar_sharpness(f.value_and_gradient, run["theta"], epsilon,
                                       directions=[top_vector], max_iterations=keskar_iterations, random_starts=0)
    rise = found.f_max - found.f_x
    run["sharpness"], run["first_order_share"] = found.phi, found.first_order / rise if rise > 0 else onp.nan
    print("seed %d, batch %4d: λ_max %.3f, φ %.4f (first-order share of the rise %.0f%%)"
          % (run_seed, batch_size, run["top_eigenvalue"], found.phi, 100 * run["first_order_share"]))
for key in ("top_eigenvalue", "sharpness"):
    print("%-15s small batch %s   large batch %s" % (key, mean_sd(small_batch, key), mean_sd(large_batch, key)))

# %% [markdown]
# ## 5. Random directions, scaled filter by filter
# λ_max looks along one direction only, the steepest. How does the loss rise in *typical* directions?
# Li et al. (2018) draw a random direction and rescale each row of each weight matrix to the norm of
# that row of the weights (biases stay put), so that a step α moves every unit by the same share of its
# size, whatever the layer's scale. We read the mean rise at α = ±`direction_step` over
# `num_directions` directions for every run, and draw the first seed's curves.

# %%
alphas_around = onp.linspace(-2, 2, 9) * direction_step  # α = ±direction_step at indices 2 and 6
around = {}
for (batch_size, run_seed), run in runs.items():
    f = hessian.BlockLoss(run["net"], loss, data.train_features, data.train_labels)
    rows = sharpness.direction_losses(f.value, run["theta"], f.shapes, alphas_around, num_directions, seed=run_seed)
    run["direction_rise"] = rows[:, [2, 6]].mean() - rows[:, 4].mean()  # α = 0 is θ itself
    around["batch %d" % batch_size] = rows if run_seed == seeds[0] else around.get("batch %d" % batch_size)
    print("seed %d, batch %4d: mean rise at α = ±%g: %.4f"
          % (run_seed, batch_size, direction_step, run["direction_rise"]))
print("%-15s small batch %s   large batch %s"
      % ("direction_rise", mean_sd(small_batch, "direction_rise"), mean_sd(large_batch, "direction_rise")))
directions_figure = plots.direction_losses(alphas_around, around, out_dir, "random_directions")

# %% [markdown]
# All the measures side by side, each seed's two runs joined by a line:

# %%
measures = {"test accuracy": "test_accuracy", "accuracy gap": "gap", "λ_max": "top_eigenvalue",
            "Keskar φ (ε=%g)" % epsilon: "sharpness", "rise at α=±%g" % direction_step: "direction_rise"}
comparison = plots.paired_runs({label: (values(small_batch, key), values(large_batch, key))
                                for label, key in measures.items()}, out_dir, "small_vs_large",
                               groups=("batch %d" % small_batch, "batch %d" % large_batch))

# %% [markdown]
# ## 6. The loss on the line between the two minima
# Keskar et al. drew the loss along θ(α) = (1 − α)·θ_small + α·θ_large, α from −0.5 to 1.5, for one
# pair of runs. A sharp minimum shows as a narrow dip, a flat one as a wide basin; a bump between
# them means the two runs ended in different valleys. Here, the first seed's pair:

# %%
alphas = onp.linspace(-0.5, 1.5, line_points)
pair = runs[small_batch, seeds[0]], runs[large_batch, seeds[0]]
net = pair[0]["net"]  # borrowed to evaluate each θ(α), then given its own parameters back
on_line = hessian.BlockLoss(net, loss, data.train_features, data.train_labels)
curve = {"train": [], "test": []}
for theta in sharpness.line(pair[0]["theta"], pair[1]["theta"], alphas):
    on_line.set(theta)
    curve["train"].append(digits.evaluate(net, data.train_features, data.train_labels))
    curve["test"].append(digits.evaluate(net, data.test_features, data.test_labels))
on_line.set(pair[0]["theta"])
line_loss = {k: onp.array([c[0] for c in v]) for k, v in curve.items()}
line_accuracy = {k: onp.array([c[1] for c in v]) for k, v in curve.items()}
at = {a: int((line_points - 1) // 4 * (2 * a + 1)) for a in (0, 0.5, 1)}  # indices of α = 0, 0.5, 1
for a, i in at.items():
    print("α = %-3g train loss %.4f, test loss %.4f, test accuracy %.4f"
          % (a, line_loss["train"][i], line_loss["test"][i], line_accuracy["test"][i]))
line_figure = plots.interpolation(alphas, line_loss, line_accuracy, out_dir, "sharp_flat_line",
                                  ends=("batch %d" % small_batch, "batch %d" % large_batch))

# %% [markdown]
# ## What we found
# Each seed's two runs start from the same weights, so we compare them in pairs: the mean of
# (large − small) over the seeds, against its standard error. A difference counts only when a paired
# t-test would call it significant at the 5% level (|mean| > t₀.₉₇₅ · standard error, t with one
# degree of freedom fewer than seeds); otherwise the verdict is "inconclusive".

# %%
from scipy.stats import t as student_t


def verdict(key, what, more, less):
    """`more`, `less` or "inconclusive" for large − small of `key`, printed with its numbers."""
    d = values(large_batch, key) - values(small_batch, key)
    mean, se = d.mean(), d.std(ddof=1) / onp.sqrt(len(d))
    bar = student_t.ppf(0.975, len(d) - 1) * se
    if abs(mean) > bar and mean != 0:
        print("The large batch %s: %s %+.4f on average (standard error %.4f, %d seeds)."
              % (more if mean > 0 else less, what, mean, se, len(d)))
        return more if mean > 0 else less
    print("Inconclusive for %s: large minus small is %+.4f, within the seed spread (±%.4f)." % (what, mean, bar))
    return "inconclusive"


WORDS = {"top_eigenvalue": ("λ_max", "ended sharper", "ended flatter"),  # (what, larger, smaller)
         "sharpness": ("Keskar's φ", "ended sharper", "ended flatter"),
         "direction_rise": ("the rise along random directions", "ended sharper", "ended flatter"),
         "test_accuracy": ("test accuracy", "generalized better", "generalized worse"),
         "gap": ("the accuracy gap", "had the larger gap", "had the smaller gap")}
verdicts = {key: verdict(key, *words) for key, words in WORDS.items()}

# %%
AGAINST_LARGE = {"ended sharper", "generalized worse", "had the larger gap"}  # Keskar et al.'s expectation
FOR_LARGE = {"ended flatter", "generalized better", "had the smaller gap"}


def combine(*keys):
    """True if a measure went Keskar's way and none the other way, None if they clash, else False."""
    found = {verdicts[key] for key in keys}
    return None if found & AGAINST_LARGE and found & FOR_LARGE else bool(found & AGAINST_LARGE)


sharper = combine("top_eigenvalue", "sharpness", "direction_rise")
worse = combine("test_accuracy", "gap")
by = " and ".join(WORDS[key][0] for key in ("top_eigenvalue", "sharpness", "direction_rise")
                  if verdicts[key] == "ended sharper")
if sharper is None or worse is None:
    print("Keskar et al.'s picture was NOT clearly reproduced: the measures of %s point both ways (%s)."
          % (" and of ".join(w for w, v in (("sharpness", sharper), ("generalization", worse)) if v is None),
             "; ".join("%s: %s" % (WORDS[key][0], verdicts[key]) for key in WORDS)))
elif sharper and worse:
    print("Keskar et al.'s picture was reproduced here: the large batch found sharper minima (by %s) that"
          " generalize worse." % by)
elif sharper:
    print("Only half of Keskar et al.'s picture was reproduced: the large batch ended sharper (by %s), but it"
          " did NOT generalize measurably worse on this small problem." % by)
elif worse:
    print("The large batch generalized worse, but was NOT measurably sharper: sharpness does not explain it here.")
else:
    print("Keskar et al.'s picture was NOT reproduced on this small problem: the large batch was neither"
          " measurably sharper nor worse on the test set.")

# %%
share = onp.mean([run["first_order_share"] for run in runs.values()])
share_by_batch = {b: float(onp.mean(values(b, "first_order_share"))) for b in (small_batch, large_batch)}
shares = ", ".join("%.0f%% at batch %d" % (100 * share_by_batch[b], b) for b in share_by_batch)
if min(share_by_batch.values()) > 0.5:
    print("At ε = %g most of φ's rise is first order (∇f·y: %s): the runs stopped at a training loss below %g,"
          " not where the gradient vanishes, so φ measures the remaining slope more than the curvature, which"
          " λ_max alone sees." % (epsilon, shares, target_loss))
elif max(share_by_batch.values()) > 0.5:
    sloped = max(share_by_batch, key=share_by_batch.get)
    print("At ε = %g φ's rise is mostly first order (∇f·y) at batch %d but mostly curvature at the other (%s):"
          " φ compares the remaining slope of one with the curvature of the other, which is why φ and λ_max"
          " can disagree." % (epsilon, sloped, shares))
else:
    print("At ε = %g more than half of φ's rise is curvature at both batch sizes: the first-order part ∇f·y is %s."
          % (epsilon, shares))
ends_loss = max(line_loss["train"][at[0]], line_loss["train"][at[1]])
barrier = line_loss["train"][at[0.5]] - ends_loss
if barrier <= 0.01 * ends_loss:
    shape = "has no barrier: halfway it is within 1% of the higher end or lower, one basin holds both"
elif barrier < ends_loss:
    shape = "rises by %.0f%% halfway: a low ridge, the two minima are joined by low loss" % (100 * barrier / ends_loss)
else:
    shape = "more than doubles halfway: a barrier, the runs ended in different valleys"
print("On the line between seed %d's two minima the training loss %s (%.4f at α = 0.5, %.4f and %.4f at the ends)."
      % (seeds[0], shape, line_loss["train"][at[0.5]], line_loss["train"][at[0]], line_loss["train"][at[1]]))
if not all(run["reached"] for run in runs.values()):
    print("Caution: %d of %d runs stopped at max_epochs above target_loss, so not all minima compared are equally"
          " trained." % (sum(not run["reached"] for run in runs.values()), len(runs)))

# %%
findings = {
    "seed": seed, "seeds": seeds, "dataset": {"name": "scikit-learn digits", "num_train": data.num_train,
                                              "num_test": data.num_test, "split_seed": split_seed},
    "settings": {"num_seeds": num_seeds, "test_fraction": test_fraction, "max_epochs": max_epochs,
                 "line_points": line_points, "hidden_units": hidden_units, "lr": lr, "momentum": momentum,
                 "target_loss": target_loss,
                 "epsilon": epsilon, "keskar_iterations": keskar_iterations, "power_iterations": power_iterations,
                 "num_directions": num_directions, "direction_step": direction_step},
    "verdicts": verdicts, "first_order_share": share,
    "line": {"alpha": alphas, "loss": line_loss, "accuracy": line_accuracy,
             "ends": [pair[0]["theta"], pair[1]["theta"]]},  # the first seed's two θ, in hessian.BlockLoss order
    "figures": [comparison, directions_figure, line_figure],
}
for label, batch_size in (("small_batch", small_batch), ("large_batch", large_batch)):
    findings[label] = {"batch_size": batch_size}
    for key in ("reached", "epochs", "updates", "train_loss", "train_accuracy", "test_loss", "test_accuracy", "gap",
                "loss_gap", "sharpness", "first_order_share", "top_eigenvalue", "direction_rise"):
        findings[label][key] = values(batch_size, key)

# %% [markdown]
# ## Exercises
# 1. Set `large_batch=674` (half the training set) or `large_batch=1348` (all of it: full-batch
#    gradient descent with momentum). Does the large batch end sharper now, and does its test accuracy move?
# 2. Set `target_loss=0.001` so that every run goes further towards a point of zero gradient. Does the
#    first-order share of φ's rise fall, and do λ_max and φ then agree?
# 3. Set `epsilon=5e-3`. Why does the first-order share of the rise shrink as the box grows?
#    (Hint: the slope term grows like ε, the curvature term like ε².)
