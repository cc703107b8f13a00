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
