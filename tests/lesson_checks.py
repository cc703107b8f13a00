"""What the lesson tests share: running a lesson quietly, and the truths its findings are checked against."""
import ast
import contextlib
import io
import json

import numpy as onp
import pytest

from gluon_lessons import lessons
from gluon_lessons.shell import cells, runner
from gluon_lessons.shell import settings as lesson_settings


def run_quietly(name, out_dir, **settings):
    """Lesson `name` with its quick settings, seed 0 and `settings`; (findings, printed text)."""
    return runner.run_lesson(name, quick=True, seed=0, out_dir=out_dir, settings=settings, capture=True)


def run_for_namespace(name, out_dir, **settings):
    """Like `run_quietly`, but (the names the lesson's cells left, printed text): functions a lesson defines
    in its cells can then be tested directly; `namespace["findings"]` holds its findings."""
    lesson = lessons.find(name)
    path = lessons.source_path(lesson)
    chosen = lesson_settings.resolve_settings(path, quick=True, seed=0, out_dir=out_dir, settings=settings)
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        namespace = runner.execute(path, chosen, "gluon_lessons.lessons.%s.run" % lesson.module)
    return namespace, text.getvalue()


def normal_equations(features, labels):
    """Least squares with a bias column from XᵀX w = Xᵀy in float64: the best fit a trainer can reach."""
    design = onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])
    solution = onp.linalg.solve(design.T @ design, design.T @ onp.asarray(labels, onp.float64))
    return solution[:-1], solution[-1]


def mean_half_squared_error(features, labels, weight, bias):
    residual = onp.asarray(features, onp.float64) @ onp.asarray(weight, onp.float64) + bias - labels
    return 0.5 * onp.mean(residual ** 2)


def assert_recovers_truth_and_least_squares(found, data, prefix=""):
    """Weights within 0.01 of the truth and 2e-3 of least squares (the walkthrough's tolerances)."""
    ols_w, ols_b = normal_equations(data.features, data.labels)
    onp.testing.assert_allclose(found[prefix + "weight"], data.true_w, atol=0.01)
    assert found[prefix + "bias"] == pytest.approx(data.true_b, abs=0.01)
    onp.testing.assert_allclose(found[prefix + "weight"], ols_w, atol=2e-3)
    assert found[prefix + "bias"] == pytest.approx(ols_b, abs=2e-3)
    return ols_w, ols_b


def check_figures(findings, names):
    """The figures are the PNG files `names`, in order."""
    paths = [str(p) for p in findings["figures"]]
    assert [p.rsplit("/", 1)[-1] for p in paths] == [name + ".png" for name in names]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def check_json(findings):
    """Findings survive the `--json` encoding as plain, valid JSON."""
    assert json.loads(runner.to_json(findings))


LONGEST_LINE = 100  # characters, in a lesson's source and in what it prints: a notebook's width
LONGEST_FINDINGS_CELL = 15  # code lines (comments and blank lines not counted) in a "What we found" cell


def assert_teaching_shape(name, findings, printed):
    """The lesson reads in a notebook: source and printed lines within 100 characters, "What we found"
    cells of at most 15 code lines with no conditional expression inside them, no import of the course
    shell (runner, CLI), and verdicts kept in `findings["verdicts"]` as a dict of short words."""
    path = lessons.source_path(lessons.find(name))
    source = path.read_text(encoding="utf-8")
    for number, line in enumerate(source.splitlines(), start=1):
        assert len(line) <= LONGEST_LINE, f"{path.name}:{number} has {len(line)} characters"
    for number, line in enumerate(printed.splitlines(), start=1):
        assert len(line) <= LONGEST_LINE, f"printed line {number} has {len(line)} characters: {line[:60]}..."
    assert "lessons import runner" not in source and "import cli" not in source
    assert "gluon_lessons.lessons import runner" not in source, "a lesson imports only the teaching core"
    assert "__main__" not in source, "a lesson runs through gluon-lessons run or as a notebook, not as a script"
    for module in ("runner", "settings", "cells", "arguments", "notebooks", "outputs", "memory", "datafiles"):
        assert f"gluon_lessons.shell import {module}" not in source, f"a lesson imports the shell's {module}"
    lesson_cells = cells.read_cells(path)
    in_findings = False
    for cell in lesson_cells:
        if cell.kind == "markdown":
            in_findings = "## What we found" in cell.source or (in_findings and "## Exercises" not in cell.source
                                                                   and "## " not in cell.source)
            continue
        if in_findings:
            code = [line for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#")]
            assert len(code) <= LONGEST_FINDINGS_CELL, f"a What-we-found cell at line {cell.first_line}: {len(code)}"
            tree = ast.parse(cell.source)
            assert not any(isinstance(node, ast.IfExp) for node in ast.walk(tree)), (
                f"a conditional expression in the What-we-found cell at line {cell.first_line}")
    verdicts = findings.get("verdicts")
    assert isinstance(verdicts, dict) and verdicts, "findings['verdicts'] holds the lesson's verdicts"
    for key, value in verdicts.items():
        assert isinstance(value, str) and 0 < len(value) <= 40, f"verdict {key} is a short word: {value!r}"
