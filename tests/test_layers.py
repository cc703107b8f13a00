"""The package in two layers: the teaching core (`gluon_lessons/*.py`) never imports the course shell
(`gluon_lessons/shell/`), no module imports itself back through others, and the core holds no
command-line parsing, signal handling or process launching.

Imports are read with `ast` from the source, at module level and inside functions alike.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "gluon_lessons"
CORE = sorted(path for path in PACKAGE.glob("*.py") if path.name != "__main__.py")
SHELL_ONLY = ("argparse", "signal", "subprocess")


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path):
    """Every module `path` imports (absolute names), with `from X import name` also giving X.name,
    which is a module when `name` is a submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = (
        module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    )
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module
            found.add(stem)
            found.update(f"{stem}.{alias.name}" for alias in node.names)
    return found


def import_graph():
    """Module -> the package's modules it imports."""
    paths = {module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph = {}
    for name, path in paths.items():
        graph[name] = {
            other for other in imported_modules(path) if other in paths and other != name
        }
    return graph


def find_cycle(graph):
    """One import cycle as a list of modules, or None."""
    state = {}

    def visit(node, trail):
        state[node] = "open"
        for other in sorted(graph[node]):
            if state.get(other) == "open":
                return trail[trail.index(other) :] + [other]
            if other not in state:
                cycle = visit(other, trail + [other])
                if cycle:
                    return cycle
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node, [node])
            if cycle:
                return cycle
    return None


def test_the_graph_sees_relative_and_function_level_imports():
    graph = import_graph()
    assert (
        "gluon_lessons.training" in graph["gluon_lessons.fused"]
    )  # `from . import loading, model, training`
    assert "gluon_lessons.shell.runner" in graph["gluon_lessons.shell.cli"]  # inside `_run_lesson`
    assert (
        "gluon_lessons.data" in graph["gluon_lessons.shell.datafiles"]
    )  # `from ..data import ...`


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_in_the_package():
    assert find_cycle(import_graph()) is None


def test_the_core_never_imports_the_shell():
    assert CORE and any(path.name == "training.py" for path in CORE)
    for path in CORE:
        shell = sorted(
            name for name in imported_modules(path) if name.startswith("gluon_lessons.shell")
        )
        assert not shell, f"{path.name} imports the course shell: {shell}"


def test_the_core_has_no_argument_parsing_signals_or_processes():
    for path in CORE:
        used = sorted(name for name in imported_modules(path) if name.split(".")[0] in SHELL_ONLY)
        assert not used, f"{path.name} imports {used}: that belongs in gluon_lessons/shell/"
