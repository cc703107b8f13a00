"""Every lesson runs as a notebook, top to bottom, with its output under the cells that make it.

Each lesson is converted with jupytext, its quick settings injected after the parameters cell
(papermill's convention), and executed by nbclient in a fresh kernel; any cell error fails the
test. One lesson is also run the other two ways (`gluon-lessons run`, in-process)
and must give the same findings for the same settings and seed.
"""
import json
import subprocess
import sys

import nbformat
import pytest

from gluon_lessons import lessons
from gluon_lessons.shell import notebooks, runner

WRITTEN = [lesson for lesson in lessons.LESSONS if lessons.is_written(lesson)]
SHAPED = [lesson for lesson in WRITTEN if "parameters" in lessons.source_path(lesson).read_text()]
# A lesson reads step by step when most of its code cells show something. The set-up cells
# (imports, settings, their check, the findings dict) print nothing by design.
MIN_SHARE_WITH_OUTPUT = 0.6
REPORT = "from gluon_lessons.shell.runner import to_json\nprint('FINDINGS ' + to_json(findings))"


def execute(lesson, tmp_path, **settings):
    notebook = notebooks.notebook_of(lesson.slug, quick=True, seed=0, settings=settings)
    notebook.cells.append(nbformat.v4.new_code_cell(REPORT))
    notebooks.execute_notebook(notebook, tmp_path, timeout=300)
    printed = "".join(out.get("text", "") for out in notebook.cells[-1].outputs)
    findings = json.loads(printed.split("FINDINGS ", 1)[1])
    return notebook.cells[:-1], findings


def test_every_written_lesson_has_the_notebook_shape():
    assert [lesson.number for lesson in SHAPED] == [lesson.number for lesson in WRITTEN]


@pytest.mark.parametrize("lesson", SHAPED, ids=lambda lesson: lesson.slug)
def test_lesson_runs_as_a_notebook_with_output_under_its_cells(lesson, tmp_path):
    cells, findings = execute(lesson, tmp_path)
    code = [cell for cell in cells if cell.cell_type == "code"]
    shown = [cell for cell in code if cell.outputs]
    assert len(shown) >= MIN_SHARE_WITH_OUTPUT * len(code), \
        "%d of %d code cells show something" % (len(shown), len(code))
    images = [out.get("data", {}) for cell in code for out in cell.outputs if out.get("output_type") == "display_data"]
    assert sum("image/png" in data for data in images) >= 1, "figures are drawn inline"
    # JupyterLab shows no SVG in a notebook it does not trust (an executed one is not signed): PNG only.
    assert not any("image/svg+xml" in data for data in images), "a figure shown as SVG"
    # Every figure is an image: a display of only its text ("<Figure size 550x380 with 1 Axes>") is one lost.
    assert all("image/png" in data for data in images if "text/plain" in data and
               data["text/plain"].startswith("<Figure")), "a figure shown only as its text"
    # Nothing on stderr that the learner did not cause: no warnings from MXNet, matplotlib or the kernel.
    stderr = [out["text"] for cell in code for out in cell.outputs
              if out.get("output_type") == "stream" and out.get("name") == "stderr"]
    assert not stderr, "stderr in the notebook: %r" % stderr[:3]
    assert not list(tmp_path.glob("**/*.png")), "in a notebook figures are shown, not written, unless out_dir is set"
    assert findings["seed"] == 0


def _stable(findings):
    """Findings without wall-clock times and file paths, which differ from run to run."""
    return {key: value for key, value in findings.items()
            if not any(word in key for word in ("second", "time", "figures"))}


def test_the_same_lesson_gives_the_same_findings_three_ways(tmp_path):
    (tmp_path / "nb").mkdir()
    _, from_notebook = execute(lessons.find("gluon"), tmp_path / "nb", lr=0.02, num_epochs=1)
    in_process = json.loads(runner.to_json(runner.run_lesson("gluon", quick=True, seed=0, settings={"lr": 0.02, "num_epochs": 1},
                                                             capture=True)[0]))
    commands = {"gluon-lessons run": [sys.executable, "-m", "gluon_lessons", "run", "4"]}
    for way, command in commands.items():
        done = subprocess.run(command + ["--quick", "--set", "lr=0.02", "--set", "num_epochs=1", "--json", "--out", str(tmp_path / way)],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        from_command = json.loads(done.stdout.strip().splitlines()[-1])
        assert _stable(from_command) == _stable(in_process), way
    assert _stable(from_notebook) == _stable(in_process)
    assert in_process["lr"] == 0.02


def test_the_notebook_command_writes_every_lesson(tmp_path):
    from gluon_lessons.shell import cli
    assert cli.main(["notebook", "all", "--out", str(tmp_path)]) == 0
    written = sorted(path.name for path in tmp_path.glob("*.ipynb"))
    assert written == sorted(lesson.module + ".ipynb" for lesson in WRITTEN)
    for lesson in SHAPED:
        notebook = nbformat.read(str(tmp_path / (lesson.module + ".ipynb")), as_version=4)
        nbformat.validate(notebook)
        tagged = [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]
        assert len(tagged) == 1 and notebook.cells[0].cell_type == "markdown"
        assert notebook.cells[0].source.startswith("# Lesson %d — " % lesson.number)
