"""Every figure of the course, by name; lessons ask for them and get back the PNG's path (or None).

In a notebook each figure shows inline under its cell; `out_dir` also writes it as `out_dir/NAME.png`
(the command line always gives one, default lesson_output/<slug>).
"""
import io
import os
import re
import sys
from pathlib import Path

import matplotlib

if "ipykernel" not in sys.modules and not os.environ.get("MPLBACKEND"):
    matplotlib.use("Agg")  # outside a notebook: files only, no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as onp  # noqa: E402

from . import files  # noqa: E402


def showing_inline():
    """True when figures appear under notebook cells (matplotlib's inline backend)."""
    return "inline" in matplotlib.get_backend()


def inline_png():
    """Show inline figures as PNG. Importing d2l (and each of its plots) switches them to SVG, which
    JupyterLab does not show in a notebook it does not trust, such as one executed elsewhere."""
    from matplotlib_inline.backend_inline import set_matplotlib_formats
    set_matplotlib_formats("png")


announce_saved = False  # the lesson runner turns this on while a lesson runs from the command line


def save(fig, out_dir, name, rect=None, margins=None):
    """Show `fig` inline in a notebook, write `out_dir/name.png` when `out_dir` is given; close it; the path or None.
    `rect` = (left, bottom, right, top), in figure fractions, is the area the panels are laid out in. `margins`
    (`subplots_adjust`'s) places them by hand instead: matplotlib's tight layout measures every label first,
    about as long as drawing the figure (0.1-0.2 s here)."""
    unicode_log_labels(fig)
    if margins is None:
        fig.tight_layout(rect=rect)
    else:
        fig.subplots_adjust(**margins)
    path = None
    if out_dir is not None:
        path = Path(out_dir) / (name + ".png")
        png = io.BytesIO()
        fig.savefig(png, format="png", dpi=100)
        files.write_atomically(path, png.getvalue())  # whole or nothing; a link there is replaced
        if announce_saved and not showing_inline():  # a lesson run: name it where it was drawn
            print(f"  [figure {path.name} saved]")
    if showing_inline():
        from IPython.display import display
        inline_png()
        display(fig)
    plt.close(fig)
    return path


SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
MATHTEXT_LABEL = re.compile(r"\$\\mathdefault\{(.*)\}\$")


def unicode_label(label):
    """A label matplotlib's log formatter wrote for its mathtext (`$\\mathdefault{10^{-2}}$`,
    `$\\mathdefault{2\\times10^{-1}}$`) in plain Unicode text, "10⁻²", "2×10⁻¹"; any other label
    as it is."""
    match = MATHTEXT_LABEL.fullmatch(label)
    if match is None:
        return label
    text = match.group(1).replace(r"\times", "×")
    text = re.sub(r"\^\{(-?\d+)\}", lambda power: power.group(1).translate(SUPERSCRIPT), text)
    return label if re.search(r"[\\{}^$]", text) else text.replace("-", "−")


class UnicodeLogFormatter(matplotlib.ticker.LogFormatterSciNotation):
    """matplotlib's labels of a log axis, the same numbers on the same ticks, as Unicode text."""

    def __call__(self, x, pos=None):
        return unicode_label(super().__call__(x, pos))


def unicode_log_labels(fig):
    """The log axes of `fig` label their ticks in Unicode (10⁻²) rather than matplotlib's mathtext
    ($10^{-2}$), which looks the same: mathtext's parser costs 0.06-0.2 s the first time a process
    draws with it (measured), more than many of the lessons' figures take to draw."""
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for formatter in (axis.get_major_formatter(), axis.get_minor_formatter()):
                if type(formatter) is matplotlib.ticker.LogFormatterSciNotation:
                    formatter.__class__ = UnicodeLogFormatter  # same settings, other text


def inches(fig, left, right, bottom, top, wspace=None):
    """`save`'s margins for `fig` given in inches from each edge (the room its labels need, the same
    whatever the figure's width), as fractions of the figure; `wspace` as matplotlib's, a fraction of
    a panel's width."""
    width, height = fig.get_size_inches()
    margins = dict(left=left / width, right=1 - right / width, bottom=bottom / height, top=1 - top / height)
    return margins if wspace is None else dict(margins, wspace=wspace)


def wide_log_axes_without_minor_ticks(fig):
    """Log axes of `fig` spanning more than two decades lose their minor ticks, which carry no label there
    (matplotlib labels minor ticks only within a decade) and cost 0.1-0.5 s a figure to lay out."""
    for ax in fig.axes:
        for axis, scale, limits in ((ax.xaxis, ax.get_xscale(), ax.get_xlim()),
                                    (ax.yaxis, ax.get_yscale(), ax.get_ylim())):
            low, high = sorted(limits)
            if scale == "log" and low > 0 and high > 100 * low:
                axis.set_minor_locator(matplotlib.ticker.NullLocator())


def house_scatter(data, out_dir, name="house_prices", price_label="price", title=None):
    """Price against each feature (lesson 1); `price_label` names the price and its unit."""
    fig, axes = plt.subplots(1, data.num_features, figsize=(4 * data.num_features, 3.5), squeeze=False)
    for j, ax in enumerate(axes[0]):
        ax.scatter(data.features[:, j], data.labels, s=4, alpha=0.5)
        ax.set_xlabel(data.feature_names[j])
        ax.set_ylabel(price_label)
    fig.suptitle(title or f"{data.form} features, {data.num_examples} examples")
    return save(fig, out_dir, name)


def loss_curves(curves, out_dir, name, xlabel="epoch", ylabel="mean L2 loss", logy=True, title=None, margins=None):
    """One line per label in `curves` (label -> sequence of losses); `margins` as in `save`."""
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
    wide_log_axes_without_minor_ticks(fig)
    if margins is None:  # room for log tick labels such as 10⁻¹⁰ and a two-part y label
        margins = dict(left=0.16, right=0.97, bottom=0.155, top=0.9 if title else 0.965)
    return save(fig, out_dir, name, margins=margins)


SINGLE_PANEL_MARGINS = dict(left=0.14, right=0.97, bottom=0.13, top=0.92)  # a 5.5 × 3.8 figure with a title


def progress_board(board, out_dir, name, title=None):
    """The curves a d2l `ProgressBoard` recorded (its `data`: label -> points with x and y) (lesson 4)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    for label, points in board.data.items():
        ax.plot([p.x for p in points], [p.y for p in points], label=label)
    ax.set_yscale("log")
    ax.set_xlabel(board.xlabel or board.x)
    ax.set_ylabel(board.ylabel or "loss")
    if title:
        ax.set_title(title)
    ax.legend()
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name, margins=SINGLE_PANEL_MARGINS)


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


def momentum_memory(weights, out_dir, name="momentum_memory", title=None):
    """β^t, the weight of the gradient from t steps back, for each momentum β, with 1/(1−β) marked (lesson 5)."""
    fig, ax = plt.subplots(figsize=(6, 3.8))
    for index, (momentum, values) in enumerate(weights.items()):
        color = "C%d" % index
        memory = 1.0 / (1.0 - momentum)
        ax.plot(onp.arange(len(values)), values, color=color, label="β = %g: remembers ~%.0f steps" % (momentum, memory))
        if memory < len(values):
            ax.axvline(memory, color=color, linestyle=":", linewidth=1)
    ax.set_xlabel("steps back, t")
    ax.set_ylabel("weight β^t of that gradient")
    ax.set_title(title or "Momentum's memory (dotted: 1/(1−β) steps)")
    ax.legend()
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name, margins=dict(left=0.11, right=0.975, bottom=0.155, top=0.9))


def contour_paths(grid_x, grid_y, values, paths, out_dir, name, xlabel, ylabel, optimum=None, title=None):
    """Paths (label -> (steps, 2) positions) drawn over contour lines of `values` on a grid (lesson 5)."""
    fig, ax = plt.subplots(figsize=(6.4, 5))
    values = onp.asarray(values, dtype=float)
    positive = values[values > 0]
    levels = onp.geomspace(positive.min() * 10, values.max(), 12) if positive.size else 12
    ax.contour(grid_x, grid_y, values, levels=levels, colors="0.6", linewidths=0.7)
    for index, (label, path) in enumerate(paths.items()):
        path = onp.asarray(path)
        ax.plot(path[:, 0], path[:, 1], "-o", color="C%d" % index, markersize=2.5, linewidth=2.2 - 0.5 * index,
                zorder=10 - index, label=label)  # earlier paths on top and thicker, so overlaps stay visible
    if optimum is not None:
        ax.plot(*optimum, "k*", markersize=12, label="least squares")
    first = onp.asarray(next(iter(paths.values())))[0]
    ax.plot(*first, "ks", markersize=6, label="start")
    ax.set_xlim(grid_x.min(), grid_x.max())
    ax.set_ylim(grid_y.min(), grid_y.max())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(loc="best", fontsize=8)
    margins = dict(left=0.12, right=0.975, bottom=0.115, top=0.925 if title else 0.97)  # see `save`
    return save(fig, out_dir, name, margins=margins)


def rate_curves(curves, out_dir, name, theory=None, xlabel="step k", ylabel="‖w_k − w*‖ / ‖w_0 − w*‖", title=None):
    """Relative errors on a log scale; `theory` (label -> (rate, step)) adds a dashed rate^k line through that step (lesson 5)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for index, (label, errors) in enumerate(curves.items()):
        errors = onp.asarray(errors, dtype=float)
        relative = errors / errors[0]
        color = "C%d" % index
        ax.plot(onp.arange(len(relative)), relative, color=color, label=label)
        if theory and label in theory:
            rate, step = theory[label]
            steps = onp.arange(step, len(relative))
            ax.plot(steps, relative[step] * rate ** (steps - step), "--", color="k", linewidth=0.9)
    if theory:
        ax.plot([], [], "--", color="k", linewidth=0.9, label="theory: rate^k")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    wide_log_axes_without_minor_ticks(fig)
    margins = dict(left=0.135, right=0.975, bottom=0.14, top=0.91 if title else 0.965)  # see `save`
    return save(fig, out_dir, name, margins=margins)


def ball_on_curve(grid, values, paths, out_dir, name, finals=None, marks=None, title=None):
    """A 1-D loss with each path's positions on it, position against step, and optionally the final position
    against a swept setting, `finals` = (xlabel, settings, positions); `marks` (label -> w) are dotted levels (lesson 5)."""
    panels = 3 if finals is not None else 2
    fig, axes = plt.subplots(1, panels, figsize=(5.0 * panels, 3.8))
    start = onp.ravel(next(iter(paths.values())))[0]
    axes[0].plot(grid, values, color="0.3")
    for index, (label, path) in enumerate(paths.items()):
        path = onp.ravel(path)
        color = "C%d" % index
        axes[0].plot(path, onp.interp(path, grid, values), ".", color=color, markersize=3, alpha=0.5)
        axes[0].plot(path[-1], onp.interp(path[-1], grid, values), "o", color=color, markersize=max(13 - 3 * index, 4),
                     zorder=3 + index, label=label)  # shrinking dots: balls ending in one place all show
        axes[1].plot(onp.arange(len(path)), path, color=color, label=label)
    axes[0].plot(start, onp.interp(start, grid, values), "ks", label="start")
    axes[0].set_xlabel("w")
    axes[0].set_ylabel("loss L(w)")
    axes[0].set_title("where each ball ends (big dot)")
    axes[0].legend(fontsize=8)
    axes[1].set_xlabel("step")
    axes[1].set_ylabel("w")
    axes[1].set_title("position over time")
    if finals is not None:
        xlabel, settings, positions = finals
        axes[2].plot(settings, positions, "o", color="0.2", markersize=8)
        axes[2].set_xlabel(xlabel)
        axes[2].set_ylabel("final w")
        axes[2].set_title("where it ends, by momentum")
    for ax in axes[1:]:
        for label, level in (marks or {}).items():
            ax.axhline(level, color="0.6", linestyle=":", linewidth=1)
            ax.annotate(label, (1.02, level), xycoords=("axes fraction", "data"), ha="left", va="center",
                        fontsize=8, color="0.4", annotation_clip=False)  # outside, right of the panel
    if title:
        fig.suptitle(title)
    right = 0.93 if marks else 0.98  # room for the marks' labels, right of the last panel
    return save(fig, out_dir, name, margins=dict(left=0.05, right=right, bottom=0.13, top=0.83 if title else 0.9,
                                                 wspace=0.45 if marks else 0.25))


def minibatch_panels(panels, out_dir, name="minibatch", ylabel="L(θ_k) − L*"):
    """Panels, two to a row (title -> dict(curves, theory, smooth, vline, hline)), log y: measured curves (label ->
    values; `smooth` > 1 draws each step faintly and a moving average over that many steps), dashed theory (label
    -> values), a dotted vertical `vline` = (step, label) and horizontal `hline` = (level, label) (lesson 7).
    A curve's label keeps its colour in every panel, and one legend under the panels names them all."""
    columns = min(len(panels), 2)
    rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(5.2 * columns, 3.6 * rows + 0.5), squeeze=False)
    for ax in axes.ravel()[len(panels):]:
        ax.set_visible(False)
    legend, extras, colors, theory_line = {}, {}, {}, None  # legend: label -> handle, as first drawn
    for ax, (title, panel) in zip(axes.ravel(), panels.items()):
        smooth = panel.get("smooth", 1)
        for label, values in panel["curves"].items():
            values, color = onp.asarray(values, dtype=float), colors.setdefault(label, "C%d" % len(colors))
            if smooth > 1:
                ax.plot(onp.arange(len(values)), values, color=color, alpha=0.25, linewidth=0.6)
                values = onp.convolve(values, onp.ones(smooth) / smooth, mode="valid")
                legend[label] = ax.plot(onp.arange(smooth - 1, smooth - 1 + len(values)), values, color=color)[0]
            else:
                legend[label] = ax.plot(onp.arange(len(values)), values, color=color)[0]
            if label in panel.get("theory", {}):
                theory = panel["theory"][label]
                theory_line = ax.plot(onp.arange(len(theory)), theory, "--", color="k", linewidth=0.9)[0]
        for key, draw in (("vline", ax.axvline), ("hline", ax.axhline)):
            if panel.get(key):
                extras[panel[key][1]] = draw(panel[key][0], color="0.4", linestyle=":", linewidth=1.2)
        ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel(ylabel)
        ax.set_title(title + ("\n(faint: each step; solid: mean of %d steps)" % smooth if smooth > 1 else ""),
                     fontsize=9)
    if theory_line is not None:
        legend["theory: E[L] − L*"] = theory_line
    legend.update(extras)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=len(legend), fontsize=8,
               frameon=False)
    wide_log_axes_without_minor_ticks(fig)
    height = fig.get_figheight()  # inches: 1.1 below the panels (the legend's 0.5 and the axis labels)
    margins = dict(left=0.075, right=0.986, bottom=1.1 / height, top=1 - 0.5 / height, wspace=0.19,
                   hspace=0.36)
    return save(fig, out_dir, name, margins=margins)


def batch_time(rows, out_dir, name="batch_time", device="cpu(0)"):
    """Seconds per update and per epoch against batch size for each update path, the default path shaded; bars span
    the repeats, hollow markers are extrapolated epochs, the dashed line is the shuffle alone (lesson 6)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    batch_sizes = [r["batch_size"] for r in rows]
    for ax, key in zip(axes, ("seconds_per_update", "seconds_per_epoch")):
        ax.plot(batch_sizes, [r["default_path"][key] for r in rows], "-", color="0.8", lw=7, label="default path")
        for path, label in (("fused", "fused updates"), ("gluon", "autograd + Trainer.step")):
            values = onp.array([r[path][key] for r in rows])
            low, high = onp.array([r[path][key + "_spread"] for r in rows]).T
            line = ax.errorbar(batch_sizes, values, yerr=[values - low, high - values], fmt="o-", capsize=3,
                               label=label)[0]
            if key == "seconds_per_epoch":  # hollow markers: extrapolated from part of an epoch
                for i, r in enumerate(rows):
                    if r[path]["extrapolated"]:
                        ax.plot(batch_sizes[i], values[i], "o", mfc="white", color=line.get_color())
    axes[1].plot(batch_sizes, [r["shuffle_seconds"] for r in rows], "--", color="0.3", label="the shuffle alone")
    axes[1].plot([], [], "o", mfc="white", color="0.3", label="extrapolated")
    for ax, title in zip(axes, ("time per update", "time per epoch")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("batch size B")
        ax.set_ylabel("seconds")
        ax.set_title("%s on %s" % (title, device))
        ax.grid(True, which="major", alpha=0.3)
    axes[1].legend(fontsize=8)
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name)


def gradient_clouds(clouds, full_gradient, out_dir, name="gradient_clouds", title=None):
    """Mini-batch gradients for each batch size around the full gradient G, seen along G and across it (lesson 7)."""
    full_gradient = onp.asarray(full_gradient, float)
    along = full_gradient / onp.linalg.norm(full_gradient)
    widest = clouds[min(clouds)] - onp.outer(clouds[min(clouds)] @ along, along)
    across = onp.linalg.svd(widest, full_matrices=False)[2][0]  # widest spread orthogonal to G
    across -= (across @ along) * along
    across /= onp.linalg.norm(across)
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    for batch_size, grads in sorted(clouds.items()):
        ax.scatter(grads @ along, grads @ across, s=6, alpha=0.4, label="B = %d" % batch_size)
    ax.annotate("", xy=(full_gradient @ along, 0), xytext=(0, 0), arrowprops=dict(arrowstyle="->", color="black", lw=2))
    ax.scatter([full_gradient @ along], [0], color="black", s=25, zorder=5, label="full-data gradient G")
    ax.scatter([0], [0], marker="+", color="0.3", s=60)
    spread = onp.percentile(onp.abs(onp.concatenate([onp.stack([g @ along, g @ across], 1) for g in clouds.values()])), 97)
    reach = max(spread, 1.5 * onp.linalg.norm(full_gradient))
    ax.set_xlim(-reach, reach)  # the farthest single-example gradients would hide the rest
    ax.set_ylim(-reach, reach)
    ax.set_aspect("equal")
    ax.set_xlabel("component along G")
    ax.set_ylabel("component across G (widest spread)")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8, markerscale=2)
    wide_log_axes_without_minor_ticks(fig)
    margins = dict(left=0.05, right=0.975, bottom=0.13, top=0.915 if title else 0.965)  # see `save`
    return save(fig, out_dir, name, margins=margins)


def variance_vs_batch(batch_sizes, measured, standard_error, trace_sigma, out_dir, name="gradient_variance"):
    """Measured E|g_B − G|² with error bars against tr(Σ)/B, log-log (lesson 7)."""
    fig, ax = plt.subplots(figsize=(5.5, 3.8))
    batch_sizes = onp.asarray(batch_sizes, float)
    ax.errorbar(batch_sizes, measured, yerr=2 * onp.asarray(standard_error), fmt="o", capsize=3,
                label="measured (MXNet autograd), ±2 s.e.")
    grid = onp.geomspace(batch_sizes.min(), batch_sizes.max(), 50)
    ax.plot(grid, trace_sigma / grid, "-", color="0.4", label="tr(Σ)/B from per-example gradients")
    _log_axes(ax, "batch size B", "E|g_B − G|²")
    ax.legend(fontsize=8)
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name, margins=dict(left=0.145, right=0.975, bottom=0.165, top=0.96))


def _log_axes(ax, xlabel, ylabel):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)


def _median_and_range(per_repeat):
    """Median, and its distance to the smallest and largest finite repeat (inf when most never reached)."""
    values = onp.sort(onp.asarray(per_repeat, float))
    finite = values[onp.isfinite(values)]
    median = onp.median(values)
    if not onp.isfinite(median):
        return median, 0.0, 0.0
    return median, median - finite.min(), finite.max() - median


def steps_to_target(tuned, s_min, b_crit, scaled, out_dir, name="steps_to_target"):
    """Steps and examples to a target loss against batch size: tuned lr and linear scaling, each the median and range
    over repeats ({B: [steps per repeat]}), and the fit S_min (1 + B_crit/B) (lesson 7)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    sizes = onp.asarray(sorted(tuned), float)
    grid = onp.geomspace(min(sizes.min(), min(scaled)), max(sizes.max(), max(scaled)), 100)
    for ax, per in zip(axes, ("steps", "examples")):
        for runs, label, marker in ((tuned, "tuned learning rate", "o"), (scaled, "lr ∝ B (linear scaling)", "s")):
            b = onp.asarray(sorted(runs), float)
            rows = onp.array([_median_and_range(runs[key]) for key in sorted(runs)])
            ok = onp.isfinite(rows[:, 0])
            factor = b[ok] if per == "examples" else 1.0
            ax.errorbar(b[ok], rows[ok, 0] * factor, yerr=rows[ok, 1:].T * factor, fmt=marker, capsize=3,
                        mfc="none" if marker == "s" else None, label=label + ", median and range")
            for never in b[~ok]:
                ax.axvline(never, color="tab:red", alpha=0.3, lw=3)
        fit = s_min * (1 + b_crit / grid) * (grid if per == "examples" else 1.0)
        ax.plot(grid, fit, "-", color="0.4", label="S_min (1 + B_crit/B), B_crit = %.0f" % b_crit)
        ax.axvline(b_crit, color="0.6", ls=":")
        _log_axes(ax, "batch size B", "%s to the target" % per)
    axes[1].plot([], [], color="tab:red", alpha=0.3, lw=3, label="never reached the target")
    axes[1].legend(fontsize=7, loc="upper left")
    wide_log_axes_without_minor_ticks(fig)
    margins = dict(left=0.07, right=0.985, bottom=0.165, top=0.96, wspace=0.17)  # see `save`
    return save(fig, out_dir, name, margins=margins)


def lr_search(tried, descent_lrs, descent_steps, largest_stable_lr, out_dir, name="lr_search"):
    """Steps to the target against the learning rate: the grid search per batch size ({B: {lr: steps}}) and
    full-batch gradient descent, with 1/λ_max and the stability limit 2/λ_max marked (lesson 7)."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    descent_steps = onp.asarray(descent_steps, float)
    ok = onp.isfinite(descent_steps)
    ax.plot(onp.asarray(descent_lrs)[ok], descent_steps[ok], "-", color="0.3", lw=1, label="full-batch descent (NumPy)")
    for batch_size, steps in sorted(tried.items()):
        pairs = sorted((lr, s) for lr, s in steps.items() if onp.isfinite(s))
        if pairs:
            ax.plot(*zip(*pairs), "o-", ms=4, label="B = %d (search)" % batch_size)
    for lr, text in ((largest_stable_lr / 2, "1/λ_max"), (largest_stable_lr, "2/λ_max")):
        ax.axvline(lr, color="tab:red" if text == "2/λ_max" else "0.6", ls="--")
        ax.text(lr, 0.99, " %s " % text, transform=ax.get_xaxis_transform(), va="top", fontsize=8,
                ha="right" if text == "1/λ_max" else "left")
    _log_axes(ax, "learning rate", "steps to the target")
    ax.legend(fontsize=7)
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name, margins=dict(left=0.11, right=0.93, bottom=0.16, top=0.96))


CRITICAL_POINT_MARKS = {"minimum": ("o", "tab:green"), "maximum": ("^", "tab:orange"), "saddle": ("X", "tab:red"),
                        "degenerate": ("s", "tab:purple"), "not critical": (".", "0.3")}


def error_surface(grid_x, grid_y, values, points, out_dir, name="error_surface", arrows=(), xlabel="w₁",
                  ylabel="w₂", title=None):
    """Contours of a loss over two parameters (square-root spaced, so low ground shows), the lowest level dashed;
    `points` are (label, (x, y), kind) marked by kind, `arrows` are (label, (x, y), (dx, dy)) (lesson 8)."""
    fig, ax = plt.subplots(figsize=(6.4, 5.2))
    values = onp.asarray(values, dtype=float)
    low, high = values.min(), onp.quantile(values, 0.8)
    levels = low + (high - low) * onp.linspace(0, 1, 21) ** 2
    filled = ax.contourf(grid_x, grid_y, values, levels=levels, cmap="viridis", extend="max")
    ax.contour(grid_x, grid_y, values, levels=levels[1:2], colors="white", linestyles="--", linewidths=0.8)
    fig.colorbar(filled, ax=ax, label="loss")
    for label, (x, y), kind in points:
        marker, color = CRITICAL_POINT_MARKS.get(kind, ("*", "k"))
        ax.plot(x, y, marker, color=color, markersize=11, markeredgecolor="white", label="%s: %s" % (label, kind))
    for label, (x, y), (dx, dy) in arrows:
        ax.annotate("", (x + dx, y + dy), (x, y), arrowprops=dict(arrowstyle="->", color="white", lw=2))
        ax.annotate(label, (x + dx, y + dy), color="white", fontsize=9, xytext=(4, 4), textcoords="offset points")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or "Error surface with its critical points")
    ax.legend(fontsize=7, loc="lower left")
    return save(fig, out_dir, name, margins=dict(left=0.1, right=0.97, bottom=0.1, top=0.93))


def minimum_ratio(groups, out_dir, name="minimum_ratio", reference=None, spectra=None, linthresh=1e-6,
                  title=None):
    """Training loss against the minimum ratio, one point per run; `groups` maps a label to a dict with
    `minimum_ratios`, `training_losses` and `reached` (hollow: the gradient never got small). With
    `spectra`, a second panel shows each run's eigenvalues on a symmetric log scale (linear within
    `linthresh`); `reference` draws the lecture's largest ratio (lesson 8)."""
    fig, axes = plt.subplots(1, 2 if spectra is not None else 1, figsize=(11 if spectra is not None else 6, 4),
                             squeeze=False)
    ax = axes[0, 0]
    for index, (label, group) in enumerate(groups.items()):
        ratios, losses = onp.asarray(group["minimum_ratios"], float), onp.asarray(group["training_losses"], float)
        reached = onp.asarray(group["reached"], bool)
        ax.plot(ratios[reached], losses[reached], "o", color="C%d" % index, label=label)
        if (~reached).any():
            ax.plot(ratios[~reached], losses[~reached], "o", mfc="none", color="C%d" % index,
                    label=label + ": ‖∇L‖ not small")
    if reference is not None:
        ax.axvline(reference, color="0.5", ls=":", label="the lecture's largest ratio, ~%g" % reference)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("minimum ratio (share of positive eigenvalues)")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    if spectra is not None:
        ax = axes[0, 1]
        reached = onp.asarray(next(iter(groups.values()))["reached"], bool)
        for index, values in enumerate(spectra):
            values = onp.asarray(values, float)
            ax.plot(onp.full(values.shape, index), values, "_", markersize=14, color="C0" if reached[index] else "C1")
        ax.axhline(0, color="0.5", lw=0.8)
        ax.set_xticks(range(0, len(spectra), max(1, len(spectra) // 12)))
        ax.set_yscale("symlog", linthresh=linthresh)
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(_power_of_ten))
        ax.set_xlabel("run")
        ax.set_ylabel("Hessian eigenvalues")
    fig.suptitle(title or "Where full-batch gradient descent stopped")
    margins = dict(left=0.08, right=0.98, bottom=0.12, top=0.88, wspace=0.22) if spectra is not None else dict(
        left=0.17, right=0.97, bottom=0.12, top=0.88)
    return save(fig, out_dir, name, margins=margins)


SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _power_of_ten(value, position=None):
    """A tick label ±10ⁿ in plain text: matplotlib's own, 10 to a power in mathtext, costs about 20 ms a label to
    typeset the first time, a quarter of a second for a symmetric log axis."""
    if value == 0:
        return "0"
    exponent = onp.log10(abs(value))
    if abs(exponent - round(exponent)) > 1e-9:
        return "%g" % value
    return ("−" if value < 0 else "") + "10" + str(int(round(exponent))).translate(SUPERSCRIPTS)


def _plain_log_y(ax):
    """A log y axis labelled with plain numbers at 1, 2 and 5 times powers of ten only (labels on every minor
    tick overlapped); the other minor ticks stay unlabelled."""
    ax.set_yscale("log")
    ax.yaxis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.yaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%.3g"))
    ax.yaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def interpolation(alphas, losses, accuracies, out_dir, name="sharp_flat_line", ends=("small batch", "large batch"),
                  title=None):
    """Loss (log scale, left) and accuracy (right) on the line θ(α) = (1 − α)θ₀ + αθ₁; `losses` and `accuracies`
    map a label (e.g. "train") to one value per α; α = 0 and 1 are the two `ends` (lesson 9, Keskar's figure)."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    right = ax.twinx()
    for index, label in enumerate(losses):
        ax.plot(alphas, losses[label], "-", color=f"C{index}", label=f"{label} loss")
        right.plot(alphas, accuracies[label], "--", color=f"C{index}", label=f"{label} accuracy")
    for alpha, end in zip((0, 1), ends):
        ax.axvline(alpha, color="0.6", lw=0.8)
        ax.annotate(end, (alpha, 1), xycoords=("data", "axes fraction"), xytext=(3, -12), textcoords="offset points",
                    fontsize=8, color="0.3")
    _plain_log_y(ax)
    ax.set_xlabel("α")
    ax.set_ylabel("cross-entropy (solid)")
    right.set_ylabel("accuracy (dashed)")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], fontsize=8, loc="center left")
    ax.set_title(title or "The loss on the line from one minimum to the other")
    return save(fig, out_dir, name, margins=dict(left=0.125, right=0.875, bottom=0.135, top=0.91))


def equal_epochs(batch_sizes, train_accuracy, validation_accuracy, out_dir, name="equal_epochs", title=None):
    """Training and validation accuracy against the batch size after the same number of epochs: each seed a
    small dot, the mean a line (lesson 9, the lecture's figure); `*_accuracy` map a batch size to per-seed
    values. The batch sizes label the log x axis themselves."""
    fig, ax = plt.subplots(figsize=(6.4, 4))
    for index, (label, accuracy) in enumerate((("training", train_accuracy),
                                                ("validation", validation_accuracy))):
        means = [onp.mean(accuracy[b]) for b in batch_sizes]
        ax.plot(batch_sizes, means, "-o", color=f"C{index}", label=f"{label} (mean over seeds)")
        for b in batch_sizes:
            ax.plot([b] * len(accuracy[b]), accuracy[b], ".", color=f"C{index}", alpha=0.4)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(matplotlib.ticker.FixedLocator(sorted(set(batch_sizes))))
    ax.xaxis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%d"))
    ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
    ax.set_xlabel("batch size (examples per update)")
    ax.set_ylabel("accuracy")
    ax.legend(fontsize=8)
    ax.set_title(title or "The same number of epochs for every batch size")
    return save(fig, out_dir, name, margins=dict(left=0.115, right=0.975, bottom=0.135, top=0.91))


def paired_runs(measures, out_dir, name="small_vs_large", groups=("small batch", "large batch"), title=None):
    """One panel per measure (label -> (values of group 0, values of group 1), one per seed); a seed's two runs
    are joined by a line, the mean ± sd drawn beside each group (lesson 9)."""
    fig, axes = plt.subplots(1, len(measures), figsize=(2.7 * len(measures), 3.6), squeeze=False)
    for ax, (label, (first, second)) in zip(axes[0], measures.items()):
        first, second = onp.asarray(first, float), onp.asarray(second, float)
        for a, b in zip(first, second):
            ax.plot([0, 1], [a, b], "-o", color="0.55", markersize=4, lw=0.8)
        for x, values in ((0, first), (1, second)):
            ax.errorbar(x + 0.15, values.mean(), yerr=values.std(ddof=1) if len(values) > 1 else 0,
                        fmt="s", color="C%d" % x, capsize=4)
        ax.set_xticks([0, 1])
        ax.set_xticklabels(groups, fontsize=8)
        ax.set_xlim(-0.3, 1.45)
        ax.set_title(label, fontsize=9)
    fig.suptitle(title or "Each seed's two runs (grey), mean ± sd (squares)")
    margins = dict(left=0.05, right=0.99, bottom=0.1, top=0.81, wspace=0.4)  # set by hand: see `save`
    return save(fig, out_dir, name, margins=margins)


def step_size_panels(panels, weight_names, out_dir, name="step_sizes"):
    """Per-weight step sizes against the update, log-log, one panel per run; title -> (update numbers,
    (updates, weights) array of step sizes) (lesson 10)."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.6), squeeze=False)
    for ax, (title, (updates, steps)) in zip(axes[0], panels.items()):
        steps = onp.asarray(steps, dtype=float)
        steps = onp.where(steps > 0, steps, onp.nan)  # a schedule's last lr of 0: no point on a log axis
        for j, weight in enumerate(weight_names):
            ax.plot(onp.asarray(updates), steps[:, j], label=weight)
        ax.set_xscale("log")
        if onp.isfinite(steps).any():  # a run of one update at lr 0 has nothing to show
            ax.set_yscale("log")
            ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # minor ticks: 1.4 s a figure
        ax.set_xlabel("update")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8)
    axes[0][0].set_ylabel("step size")
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name, margins=inches(fig, left=0.8, right=0.15, bottom=0.6, top=0.36, wspace=0.17))


def excess_loss_curves(curves, out_dir, name="loss_curves", diverged=(), title=None):
    """Loss above least squares against passes over the data, log-log; label -> (epochs, excess losses);
    the runs named in `diverged` end in an x where they were stopped (lesson 10)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for index, (label, (epochs, excess)) in enumerate(curves.items()):
        epochs, excess = onp.asarray(epochs, dtype=float), onp.asarray(excess, dtype=float)
        finite = onp.isfinite(excess)
        color = "C%d" % index
        ax.plot(epochs[finite], onp.maximum(excess[finite], 1e-12), color=color, label=label)
        if label in diverged and finite.any():
            last = onp.flatnonzero(finite)[-1]
            ax.plot(epochs[last], max(excess[last], 1e-12), "x", color=color, markersize=9)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.yaxis.set_minor_locator(matplotlib.ticker.NullLocator())  # ~20 decades: slow, unread
    ax.set_xlabel("passes over the data (epochs)")
    ax.set_ylabel("mean L2 loss − least squares' loss")
    if title:
        ax.set_title(title)
    ax.legend(fontsize=8)
    wide_log_axes_without_minor_ticks(fig)
    return save(fig, out_dir, name, margins=inches(fig, left=0.85, right=0.15, bottom=0.6, top=0.39 if title else 0.17))


def parallel_times(device_seconds, launch_seconds, launch_phases, out_dir, name="parallel_times"):
    """Lesson 11's timings, one titled panel each: seconds per epoch against the devices of one process
    (`device_seconds`: devices -> timed epochs; median, bars to the range); inside a launch, a worker
    epoch against an epoch of one process (`launch_seconds`: label -> timed epochs, or None); where each
    launch's wall time went (`launch_phases`: label -> `startup`, `training`, `shutdown` seconds)."""
    panels = 1 + (launch_seconds is not None) + bool(launch_phases)
    fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 3.8), squeeze=False)
    axes = list(axes[0])

    def median_and_range(ax, positions, series):
        medians = onp.array([onp.median(s) for s in series])
        low = medians - onp.array([min(s) for s in series])
        high = onp.array([max(s) for s in series]) - medians
        ax.errorbar(positions, medians, yerr=[low, high], fmt="o", capsize=4)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("seconds per epoch")

    left = axes.pop(0)
    counts = sorted(device_seconds)
    median_and_range(left, counts, [device_seconds[k] for k in counts])
    left.set_xticks(counts)
    left.set_xlabel("CPU devices sharing each global batch")
    left.set_title("One process: median and range of the timed epochs", fontsize=9)
    if launch_seconds is not None:
        middle = axes.pop(0)
        labels = list(launch_seconds)
        median_and_range(middle, range(len(labels)), [launch_seconds[label] for label in labels])
        middle.set_xticks(range(len(labels)))
        middle.set_xticklabels(labels)
        middle.set_xlim(-0.5, len(labels) - 0.5)
        middle.set_title("Inside the launch, interleaved epochs", fontsize=9)
    if launch_phases:
        right = axes.pop(0)
        labels = list(launch_phases)
        bottom = onp.zeros(len(labels))
        for part, label in (("startup", "start-up"), ("training", "training"), ("shutdown", "shutdown")):
            values = onp.array([launch_phases[launch][part] for launch in labels], dtype=float)
            right.bar(range(len(labels)), values, bottom=bottom, label=label)
            bottom += values
        right.set_xticks(range(len(labels)))
        right.set_xticklabels(labels, fontsize=8)
        right.set_ylabel("wall seconds of one launch")
        right.set_title("Where each launch's time went", fontsize=9)
        right.legend(fontsize=8)
    return save(fig, out_dir, name, margins=inches(fig, left=1.0, right=0.15, bottom=0.6, top=0.36, wspace=0.27))


def direction_losses(alphas, curves, out_dir, name="random_directions", title=None):
    """For each label, the loss along several random directions (thin) and their mean (thick) against the step α
    (lesson 9: the width of each minimum in typical directions)."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for index, (label, rows) in enumerate(curves.items()):
        rows = onp.atleast_2d(onp.asarray(rows, dtype=float))
        for row in rows:
            ax.plot(alphas, row, color=f"C{index}", lw=0.7, alpha=0.4)
        ax.plot(alphas, rows.mean(axis=0), color=f"C{index}", lw=2.2, label=f"{label} (mean of {len(rows)})")
    _plain_log_y(ax)
    ax.set_xlabel("step α along a filter-normalised random direction")
    ax.set_ylabel("training cross-entropy")
    ax.set_title(title or "The loss around each minimum in random directions")
    ax.legend(fontsize=8)
    return save(fig, out_dir, name, margins=dict(left=0.13, right=0.975, bottom=0.135, top=0.91))
