"""Every figure of the course, by name; lessons ask for them and get back the PNG's path."""
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402


def save(fig, out_dir, name):
    """Write `fig` as `out_dir/name.png`, close it and return the path."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (name + ".png")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def house_scatter(data, out_dir, name="house_prices"):
    """Price against each feature (lesson 1)."""
    fig, axes = plt.subplots(1, data.num_features, figsize=(4 * data.num_features, 3.5), squeeze=False)
    for j, ax in enumerate(axes[0]):
        ax.scatter(data.features[:, j], data.labels, s=4, alpha=0.5)
        ax.set_xlabel(data.feature_names[j])
        ax.set_ylabel("price")
    fig.suptitle("%s features, %d examples" % (data.form, data.num_examples))
    return save(fig, out_dir, name)


def loss_curves(curves, out_dir, name, xlabel="epoch", ylabel="mean L2 loss", logy=True, title=None):
    """One line per label in `curves` (label -> sequence of losses)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, values in curves.items():
        values = onp.asarray(values, dtype=float)
        ax.plot(onp.arange(1, len(values) + 1), values, label=label)
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend()
    return save(fig, out_dir, name)


def batch_membership(assignments, row_labels, out_dir, name="batch_membership", title=None):
    """Which batch holds each example, one row per epoch or loader; -1 marks "not seen" (lesson 2)."""
    assignments = onp.ma.masked_less(onp.asarray(assignments), 0)
    count = int(assignments.max()) + 1
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(row_labels) + 1.4))
    if count <= 10:
        cmap = matplotlib.colors.ListedColormap(plt.get_cmap("tab10").colors[:count])
    else:
        cmap = plt.get_cmap("viridis", count).copy()
    cmap.set_bad("white")
    image = ax.imshow(assignments, aspect="auto", cmap=cmap, vmin=-0.5, vmax=count - 0.5, interpolation="nearest")
    for boundary in range(1, len(row_labels)):
        ax.axhline(boundary - 0.5, color="white", linewidth=3)
    ax.set_yticks(range(len(row_labels)))
    ax.set_yticklabels(row_labels)
    ax.set_xlabel("example (row of the data); white = not in any batch")
    colorbar = fig.colorbar(image, ax=ax, ticks=range(count))
    colorbar.ax.set_yticklabels([str(k + 1) for k in range(count)])
    colorbar.set_label("batch")
    if title:
        ax.set_title(title)
    return save(fig, out_dir, name)
