"""Runs a lesson file: as a script, from `gluon-lessons run`, from the tests, or as a notebook.

A lesson is one percent-format file (`# %%` code cells, `# %% [markdown]` text cells) with one
cell tagged `parameters` that assigns its settings. It is never imported: the runner reads it,
executes its code cells in order in a fresh namespace, puts the chosen settings in right after
the parameters cell (papermill's convention), and returns the `findings` dict the lesson builds.
The same file opens as a notebook (`gluon-lessons notebook`), where nothing reads `sys.argv`.
"""
import argparse
import ast
import contextlib
import dataclasses
import io
import json
import math
import re
import sys
from pathlib import Path

from . import find, source_path

OUTPUT_ROOT = Path("lesson_output")
_CELL = re.compile(r"^# %%(?P<rest>.*)$")
_TAGS = re.compile(r"tags\s*=\s*(\[[^\]]*\])")
_HEADING = re.compile(r"^#\s*(#{1,3})\s+(.*)$")


class SettingError(ValueError):
    """A lesson setting the user gave is unknown, of the wrong type, or out of range."""


@dataclasses.dataclass
class Cell:
    kind: str  # "code" or "markdown"
    tags: tuple
    source: str
    first_line: int  # 1-based line of the cell's first source line in the file


def in_notebook():
    """True inside a Jupyter/IPython kernel (there the lesson's settings come from its parameters cell)."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


def read_cells(path):
    """The cells of a percent-format file, in order; text before the first marker is skipped."""
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    cells, header, start = [], None, None
    for number, line in enumerate(lines + ["# %%"], start=1):
        match = _CELL.match(line)
        if not match:
            continue
        if header is not None:
            body = lines[start - 1:number - 1]
            kind = "markdown" if "[markdown]" in header else "code"
            tags = tuple(json.loads(_TAGS.search(header).group(1))) if _TAGS.search(header) else ()
            cells.append(Cell(kind, tags, "\n".join(body), start))
        header, start = match.group("rest"), number + 1
    return cells


def parameters_cell(cells):
    tagged = [cell for cell in cells if "parameters" in cell.tags]
    if len(tagged) != 1:
        raise ValueError("a lesson needs exactly one cell tagged parameters, found %d" % len(tagged))
    return tagged[0]


def defaults_of(path):
    """(settings, quick): the literal settings of the parameters cell and its `QUICK` changes."""
    tree = ast.parse(parameters_cell(read_cells(path)).source)
    settings, quick = {}, {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name)):
            raise ValueError("the parameters cell may only assign literals to names (line %d)" % node.lineno)
        name = node.targets[0].id
        value = ast.literal_eval(node.value) if name != "QUICK" else _quick_literal(node.value)
        (quick.update(value) if name == "QUICK" else settings.__setitem__(name, value))
    unknown = set(quick) - set(settings)
    if unknown:
        raise ValueError("QUICK changes settings that do not exist: %s" % ", ".join(sorted(unknown)))
    return settings, quick


def _quick_literal(node):
    if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "dict" and not node.args:
        return {keyword.arg: ast.literal_eval(keyword.value) for keyword in node.keywords}
    return dict(ast.literal_eval(node))


def _same_kind(value, default):
    """`value` converted to the type of `default`, or None when it is of another kind."""
    if default is None or value is None:
        return value
    if isinstance(default, bool) or isinstance(value, bool):
        return value if isinstance(value, bool) and isinstance(default, bool) else None
    if isinstance(default, int):
        return value if isinstance(value, int) else None
    if isinstance(default, float):
        return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None
    if isinstance(default, str):
        return value if isinstance(value, str) else None
    if isinstance(default, (tuple, list)):
        if not isinstance(value, (tuple, list)) or not value:
            return None
        items = [_same_kind(item, default[0]) if default else item for item in value]
        return type(default)(items) if all(item is not None for item in items) else None
    return value if type(value) is type(default) else None


def _describe(default):
    if isinstance(default, (tuple, list)):
        return "a non-empty comma list like %s" % ",".join(str(item) for item in default)
    return {bool: "True or False", int: "an integer", float: "a finite number", str: "text"}.get(
        type(default), "like %r" % (default,))


def resolve_settings(path, quick=False, seed=None, out_dir=None, settings=None):
    """The settings a run uses: the cell's defaults, then `QUICK` if asked, then `settings` (which always win)."""
    defaults, quick_changes = defaults_of(path)
    given = dict(settings or {})
    reserved = {"seed": "--seed", "out_dir": "--out"}
    clash = sorted(set(given) & set(reserved))
    if clash:
        raise SettingError("set %s with %s, not --set" % (clash[0], reserved[clash[0]]))
    unknown = sorted(set(given) - set(defaults))
    if unknown:
        raise SettingError("no setting %s; the settings are: %s (and --seed, --out)"
                           % (", ".join(unknown), ", ".join(name for name in defaults if name not in reserved)))
    chosen = dict(defaults)
    if quick:
        chosen.update(quick_changes)
    for name, value in given.items():
        converted = _same_kind(value, defaults[name])
        if converted is None and value is not None:
            raise SettingError("%s must be %s, got %r" % (name, _describe(defaults[name]), value))
        chosen[name] = converted
    if seed is not None:
        chosen["seed"] = seed
    if out_dir is not None:
        chosen["out_dir"] = str(check_out_dir(out_dir))
    return chosen


def check_out_dir(out_dir, name="out_dir"):
    """`out_dir` if figures may go there (`outputs.check_output_folder`: not data/, the package, a file, a
    folder without permission ...), else `SettingError` saying why."""
    from .. import outputs
    try:
        return outputs.check_output_folder(out_dir, name)
    except (ValueError, TypeError) as error:
        raise SettingError(str(error)) from None


@contextlib.contextmanager
def checking_settings():
    """Inside, a `ValueError` or `TypeError` is about a setting: it becomes a `SettingError` (one line, exit 2)."""
    try:
        yield
    except SettingError:
        raise
    except (ValueError, TypeError) as error:
        raise SettingError(str(error)) from None


def check_memory(num_bytes, what):
    """Refuse settings that would need more than `num_bytes` of the memory this machine has available (one line)."""
    from .. import data
    try:
        data.check_memory(num_bytes, what)
    except ValueError as error:
        raise SettingError(str(error)) from None


def require(name, value, ok, requirement):
    """Refuse setting `name` unless `ok`: "NAME must be REQUIREMENT, got VALUE"."""
    if not ok:
        raise SettingError("%s must be %s, got %r" % (name, requirement, value))
    return value


def _print_headings(cell):
    """From the command line a text cell shows as its headings; the exercises in full."""
    lines = cell.source.splitlines()
    for number, line in enumerate(lines):
        match = _HEADING.match(line)
        if match:
            print("\n" + match.group(1) + " " + match.group(2).strip())
            if match.group(2).strip() == "Exercises":
                print("\n".join(rest[2:] for rest in lines[number + 1:]))
                return


def execute(path, chosen, module_name):
    """Run the code cells of `path` with the `chosen` settings; the lesson's namespace afterwards."""
    path = Path(path)
    cells = read_cells(path)
    namespace = {"__name__": module_name, "__file__": str(path), "__builtins__": __builtins__}
    for cell in cells:
        if cell.kind == "markdown":
            _print_headings(cell)
            continue
        tree = ast.parse(cell.source or "pass", filename=str(path))
        ast.increment_lineno(tree, cell.first_line - 1)
        exec(compile(tree, str(path), "exec"), namespace)
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
    if capture:
        text = io.StringIO()
        with contextlib.redirect_stdout(text):
            namespace = execute(path, chosen, module_name)
    else:
        namespace = execute(path, chosen, module_name)
    if not isinstance(namespace.get("findings"), dict):
        raise RuntimeError("lesson %s built no `findings` dict" % lesson.slug)
    findings = namespace["findings"]
    findings.setdefault("figures", [])
    findings["figures"] = [str(figure) for figure in findings["figures"] if figure is not None]
    return (findings, text.getvalue()) if capture else findings


def _plain(value):
    if hasattr(value, "tolist"):
        return _plain(value.tolist())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    raise TypeError("cannot put %r in JSON" % (value,))


def to_json(findings):
    """Findings as one line of valid JSON: NumPy values become plain numbers, NaN and infinities null."""
    return json.dumps(_plain(findings), sort_keys=True, allow_nan=False)


def add_run_arguments(parser, output_folder=Path):
    """The options `gluon-lessons run` and `python -m gluon_lessons.lessons.lessonNN_slug` share."""
    parser.add_argument("--out", type=output_folder, help="folder for figures (default lesson_output/<slug>)")
    parser.add_argument("--seed", type=_seed, default=None, help="one seed for random, numpy and mx.random (default 0)")
    parser.add_argument("--quick", action="store_true", help="small settings, as the tests use; --set still wins")
    parser.add_argument("--set", type=_setting, action="append", default=[], metavar="NAME=VALUE",
                        help="change one of the lesson's settings (see --help-settings)")
    parser.add_argument("--help-settings", action="store_true", help="list the lesson's settings and defaults")
    parser.add_argument("--json", action="store_true", help="findings as one JSON object on the last stdout line")


def _seed(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError("--seed must be an integer >= 0, got %r" % text)
    return value


def _setting(text):
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError("--set takes NAME=VALUE, got %r" % text)
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return name, value  # a bare word such as cpu


def run_from_args(lesson_name, args):
    """What `run LESSON` does with parsed options; returns the exit code."""
    lesson = find(lesson_name)
    path = source_path(lesson)
    if args.help_settings:
        defaults, quick = defaults_of(path)
        for name, default in defaults.items():
            if name not in ("seed", "out_dir"):
                print("%s=%r%s" % (name, default, "   (--quick: %r)" % (quick[name],) if name in quick else ""))
        return 0
    out_dir = args.out if args.out is not None else check_out_dir(OUTPUT_ROOT / lesson.slug, "--out (default %s)"
                                                                  % (OUTPUT_ROOT / lesson.slug))
    findings = run_lesson(lesson.slug, quick=args.quick, seed=args.seed if args.seed is not None else 0,
                          out_dir=out_dir, settings=dict(args.set))
    if args.json:
        print(to_json(findings))
    return 0


def main(module_name, argv=None):
    """`python -m gluon_lessons.lessons.lessonNN_slug [options]`: `gluon-lessons run NN [options]`, with its
    checks, one-line errors and exit codes (argv None: the command line's)."""
    from .. import cli
    return cli.main(argv, lesson=find(module_name.rsplit(".", 1)[-1]).slug, prog="python -m " + module_name)


def notebook_of(name, *, quick=False, seed=None, settings=None):
    """Lesson `name` as an nbformat notebook; settings other than the defaults go in a cell after the parameters."""
    import jupytext
    lesson = find(name)
    path = source_path(lesson)
    notebook = jupytext.read(path, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)
    defaults, _ = defaults_of(path)
    chosen = resolve_settings(path, quick, seed, None, settings)
    changes = {key: value for key, value in chosen.items() if value != defaults[key]}
    if changes:
        import nbformat
        at = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
        source = "# Injected parameters\n" + "\n".join("%s = %r" % item for item in changes.items())
        notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))
    return notebook


def execute_notebook(notebook, workdir, timeout=900):
    """Run every cell of `notebook` in a fresh Python kernel started in `workdir` (outputs kept in place)."""
    from nbclient import NotebookClient
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}})
    client.execute()
    return notebook


def write_notebook(name, out_dir, *, execute=False, quick=False, seed=None, settings=None):
    """Write lesson `name` as `out_dir/lessonNN_slug.ipynb`, executed when asked; its path."""
    import nbformat
    from .. import outputs
    lesson = find(name)
    out_dir = check_out_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = notebook_of(lesson.slug, quick=quick, seed=seed, settings=settings)
    if execute:
        execute_notebook(notebook, out_dir)
    path = out_dir / (lesson.module + ".ipynb")
    outputs.write_atomically(path, nbformat.writes(notebook).encode("utf-8"))
    return path
