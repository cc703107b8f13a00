"""Figures placed with hand-set margins (`plots.save(..., margins=...)`) instead of matplotlib's tight
layout: every label must still lie inside the figure and no panel's labels may run into another's.

Truth: matplotlib's own measure of what it drew, `Figure.get_tightbbox` and `Axes.get_tightbbox` on the
renderer of the saved figure, against the figure's size; the data are chosen to give long tick labels
(five significant characters, an offset or a wide range) of the sizes the lessons produce.
"""
import matplotlib
import numpy as onp
import pytest

from gluon_lessons import plots

TOLERANCE = 1.0  # pixels: anti-aliasing may spill a pixel over a label's box


@pytest.fixture
def drawn(monkeypatch):
    """The figures `plots` saves, kept open instead of closed."""
    figures, close = [], matplotlib.pyplot.close
    monkeypatch.setattr(plots.plt, "close", figures.append)  # plots.plt is matplotlib.pyplot itself
    yield figures
    for fig in figures:
        close(fig)


def assert_inside_and_apart(fig):
    renderer = fig.canvas.get_renderer()
    width, height = fig.bbox.width, fig.bbox.height
    whole = fig.get_tightbbox(renderer).transformed(fig.dpi_scale_trans)  # inches -> pixels
    assert whole.x0 >= -TOLERANCE and whole.y0 >= -TOLERANCE, (whole, width, height)
    assert whole.x1 <= width + TOLERANCE and whole.y1 <= height + TOLERANCE, (whole, width, height)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    boxes = [ax.get_tightbbox(renderer) for ax in panels]
    for i, box in enumerate(boxes):
        for j in range(i + 1, len(boxes)):
            if panels[j].bbox.bounds == panels[i].bbox.bounds:  # a twin axis shares the panel
                continue
            assert not box.overlaps(boxes[j]), (i, j)


LOSSES = {"small": (0.0834, 0.1038), "large": (0.1227, 0.1255)}


@pytest.mark.parametrize("scale", [1.0, 0.1, 40.0])  # losses from 0.0005 to 8
def test_lesson9_figures_keep_their_labels_inside(drawn, tmp_path, scale):
    rng = onp.random.default_rng(0)
    alphas = onp.linspace(-0.5, 1.5, 21)
    bowl = scale * (0.005 + 0.2 * (alphas - 0.5) ** 2)
    plots.interpolation(alphas, {"train": bowl, "test": bowl * 1.5},
                        {"train": 1 - bowl / (50 * scale), "test": 0.9 - bowl / (45 * scale)}, tmp_path)
    plots.direction_losses(alphas, {"batch 16": [bowl, bowl * 1.1], "batch 256": [bowl * 2]}, tmp_path)
    sizes = [1, 4, 16, 64, 256, 1348]
    plots.equal_epochs(sizes, {b: [0.9125, 0.9175] for b in sizes}, {b: [0.85, 0.8625] for b in sizes},
                       tmp_path)
    measures = {label: (scale * rng.uniform(0.0125, 0.1875, 4), scale * rng.uniform(1.0, 1.875, 4))
                for label in ("test loss", "loss gap", "λ_max", "Keskar φ (ε=0.001)", "rise at α=±0.25")}
    plots.paired_runs(measures, tmp_path, groups=("batch 16", "batch 256"))
    assert len(drawn) == 4
    for fig in drawn:
        assert_inside_and_apart(fig)


@pytest.mark.parametrize("mathtext, text", [
    (r"$\mathdefault{10^{-2}}$", "10⁻²"),
    (r"$\mathdefault{10^{0}}$", "10⁰"),
    (r"$\mathdefault{10^{13}}$", "10¹³"),
    (r"$\mathdefault{2\times10^{-1}}$", "2×10⁻¹"),
    (r"$\mathdefault{-10^{3}}$", "−10³"),
    (r"$\mathdefault{10^{-0.50}}$", r"$\mathdefault{10^{-0.50}}$"),  # not a power it knows: as it was
    (r"$\alpha$", r"$\alpha$"),
    ("0.01", "0.01"),
    ("", ""),
])
def test_unicode_label_writes_matplotlibs_log_labels_without_mathtext(mathtext, text):
    assert plots.unicode_label(mathtext) == text


def test_log_axes_show_the_same_ticks_without_mathtext(drawn, tmp_path, monkeypatch):
    parsed = []
    parse = matplotlib.mathtext.MathTextParser.parse
    monkeypatch.setattr(matplotlib.mathtext.MathTextParser, "parse",
                        lambda self, text, *args, **kwargs: parsed.append(text) or parse(self, text, *args, **kwargs))
    updates = onp.arange(1, 401)
    steps = onp.outer(onp.exp(-updates / 40.0), [1.0, 0.5, 2.0])  # 2 to 1e-5: many decades on y
    plots.step_size_panels({"a": (updates, steps), "b": (updates, steps[:, ::-1] * 3)}, ["w1", "w2", "b"], tmp_path)
    fig = drawn[0]
    ax = fig.axes[0]
    labels = {tick.get_text() for tick in ax.get_xticklabels() if tick.get_text()}
    assert {"10⁰", "10¹", "10²"} <= labels
    y_labels = [tick.get_text() for tick in ax.get_yticklabels() if tick.get_text()]
    assert "10⁻³" in y_labels and all("$" not in label for label in y_labels)
    assert parsed == []
    # matplotlib's own formatter gives the same numbers on the same ticks, in mathtext
    default = matplotlib.ticker.LogFormatterSciNotation()
    assert default(1e-3) == r"$\mathdefault{10^{-3}}$"
    assert plots.unicode_label(default(1e-3)) == "10⁻³"


@pytest.mark.parametrize("low, high", [(1e-6, 10.0), (1e-3, 5e-2), (50.0, 3000.0), (1e-9, 1e-8), (1e-12, 1e4)])
def test_lesson10_figures_keep_their_labels_inside(drawn, tmp_path, low, high):
    updates = onp.arange(1, 401)
    steps = onp.geomspace(high, low, len(updates))[:, None] * [1.0, 0.9, 1.1]
    for count in (1, 3):
        panels = {f"RMSProp lr/√(n+ε), batch {200 + k}": (updates, steps) for k in range(count)}
        plots.step_size_panels(panels, ["w_area", "w_age", "b"], tmp_path)
    epochs = onp.geomspace(0.2, 400, 50)
    curves = {f"SGD standardized, budget {6400 + k}": (epochs, onp.geomspace(high, low, 50)) for k in range(6)}
    plots.excess_loss_curves(curves, tmp_path, diverged=["SGD standardized, budget 6401"])
    plots.excess_loss_curves(curves, tmp_path, title="Loss above least squares")
    assert len(drawn) == 4
    for fig in drawn:
        assert_inside_and_apart(fig)


@pytest.mark.parametrize("scale", [0.1, 1.0, 10.0, 300.0])  # lesson 11's epochs take 0.04-0.2 s here
def test_lesson11_figure_keeps_its_labels_inside(drawn, tmp_path, scale):
    devices = {1: [0.04 * scale, 0.05 * scale], 2: [0.1 * scale, 0.12 * scale], 3: [0.2 * scale, 0.21 * scale]}
    launch = {"2 workers": [0.117 * scale, 0.1 * scale], "one process": [0.05 * scale, 0.06 * scale]}
    phases = {"dist_sync": dict(startup=1.4 * scale, training=1.2 * scale, shutdown=0.08 * scale),
              "dist_async, worker 1 slow": dict(startup=1.5 * scale, training=1.0 * scale, shutdown=0.1 * scale)}
    plots.parallel_times(devices, launch, phases, tmp_path)
    plots.parallel_times(devices, None, {}, tmp_path)
    plots.parallel_times(devices, launch, {"dist_sync": phases["dist_sync"]}, tmp_path)
    assert len(drawn) == 3
    for fig in drawn:
        assert_inside_and_apart(fig)
