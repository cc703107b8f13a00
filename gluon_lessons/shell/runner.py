"""Runs a lesson file from `gluon-lessons run` and from the tests.

A lesson is one percent-format file (`gluon_lessons.shell.cells`). It is never imported: the runner
reads it, executes its code cells in order in a fresh namespace, puts the chosen settings in right
after the parameters cell (papermill's convention), and returns the `findings` dict the lesson
builds. A `ValueError` or `TypeError` raised by the first code cell after the parameters cell, the
cell that checks the settings, becomes a `SettingError` (one line, exit 2). The same file opens as
a notebook (`gluon_lessons.shell.notebooks`), where nothing reads `sys.argv`.
"""

import ast
import contextlib
import gc
import io
import re
import sys
from pathlib import Path

from ..lessons import find, source_path
from . import outputs
from .cells import read_cells, settings_check_index
from .environment import import_mxnet
from .settings import SettingError, resolve_settings

OUTPUT_ROOT = Path("lesson_output")
_HEADING = re.compile(r"^#\s*(#{1,3})\s+(.*)$")


def in_notebook():
    """True inside a Jupyter/IPython kernel (there the lesson's settings come from its parameters cell)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def _print_headings(cell):
    """From the command line a text cell shows as its headings; the exercises in full."""
    lines = cell.source.splitlines()
    for number, line in enumerate(lines):
        match = _HEADING.match(line)
        if match:
            print("\n" + match.group(1) + " " + match.group(2).strip())
            if match.group(2).strip() == "Exercises":
                print("\n".join(rest[2:] for rest in lines[number + 1 :]))
                return


# A cell that imports at least this many modules is followed by a freeze, as the imports cell is
# (lesson 9's first paired comparison imports SciPy's optimizer and special functions: about 270).
MODULES_TO_FREEZE = 100


def _freeze_what_is_imported():
    """Leave the objects alive after the imports out of Python's later garbage collections.

    MXNet's `DataLoader` runs a full `gc.collect()` each time one is made, and the imported modules
    (MXNet's generated operators, d2l, matplotlib) hold most of the objects it would go through:
    about 0.05-0.09 s a loader here. Python's own collections go through them too, so a later cell
    that imports many modules is followed by a freeze as well (measured when lesson 9 imported
    SciPy and scikit-learn in one cell: 0.14-0.19 s in collections with --quick instead of 0.22 s).
    What is garbage by then is collected first, so nothing that could be freed is kept."""
    gc.collect()
    gc.freeze()


def execute(path, chosen, module_name):
    """Run the code cells of `path` with the `chosen` settings; the lesson's namespace afterwards."""
    path = Path(path)
    cells = read_cells(path)
    checking = settings_check_index(cells)
    imports = next(index for index, cell in enumerate(cells) if cell.kind == "code")
    namespace = {"__name__": module_name, "__file__": str(path), "__builtins__": __builtins__}
    for index, cell in enumerate(cells):
        if cell.kind == "markdown":
            _print_headings(cell)
            continue
        tree = ast.parse(cell.source or "pass", filename=str(path))
        ast.increment_lineno(tree, cell.first_line - 1)
        code = compile(tree, str(path), "exec")
        modules = len(sys.modules)
        if index == checking:
            try:
                exec(code, namespace)
            except SettingError:
                raise
            except (ValueError, TypeError) as error:
                raise SettingError(str(error)) from None
        else:
            exec(code, namespace)
        if index == imports or len(sys.modules) >= modules + MODULES_TO_FREEZE:  # the imports cell first
            _freeze_what_is_imported()
        if "parameters" in cell.tags:
            namespace.update(chosen)
    sys.stdout.flush()
    return namespace


def run_lesson(name, *, quick=False, seed=None, out_dir=None, settings=None, capture=False):
    """Run lesson `name` (number or slug) and return its findings; with `capture`, (findings, printed text)."""
    lesson = find(name)
    path = source_path(lesson)
    chosen = resolve_settings(path, quick, seed, out_dir, settings)
    module_name = "gluon_lessons.lessons.%s.run" % lesson.module
    import_mxnet()
    from .. import plots
    plots.announce_saved = True  # each saved figure is named under the section that drew it
    try:
        if capture:
            text = io.StringIO()
            with contextlib.redirect_stdout(text):
                namespace = execute(path, chosen, module_name)
        else:
            namespace = execute(path, chosen, module_name)
    finally:
        plots.announce_saved = False
    if not isinstance(namespace.get("findings"), dict):
        raise RuntimeError("lesson %s built no `findings` dict" % lesson.slug)
    findings = namespace["findings"]
    findings.setdefault("figures", [])
    findings["figures"] = [str(figure) for figure in findings["figures"] if figure is not None]
    return (findings, text.getvalue()) if capture else findings


def to_json(findings):
    """Findings as one line of valid JSON: NumPy values become plain numbers, NaN and infinities null."""
    return outputs.json_text(findings, sort_keys=True)
