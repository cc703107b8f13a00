"""A lesson's settings: the literals of its parameters cell, `QUICK`'s changes, and what the user gave.

`resolve_settings` checks that a given setting exists and has its default's kind (an integer for an
integer, True or False for a flag, ...); the lesson's own settings cell checks the values.
"""

import ast
import math

from . import outputs
from .cells import parameters_cell, read_cells


class SettingError(ValueError):
    """A lesson setting the user gave is unknown, of the wrong type, or out of range."""


def defaults_of(path):
    """(settings, quick): the literal settings of the parameters cell and its `QUICK` changes."""
    tree = ast.parse(parameters_cell(read_cells(path)).source)
    settings, quick = {}, {}
    for node in tree.body:
        if not (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            raise ValueError(
                "the parameters cell may only assign literals to names (line %d)" % node.lineno
            )
        name = node.targets[0].id
        value = ast.literal_eval(node.value) if name != "QUICK" else _quick_literal(node.value)
        (quick.update(value) if name == "QUICK" else settings.__setitem__(name, value))
    unknown = set(quick) - set(settings)
    if unknown:
        raise ValueError(
            "QUICK changes settings that do not exist: %s" % ", ".join(sorted(unknown))
        )
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
        type(default), "like %r" % (default,)
    )


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
        raise SettingError(
            "no setting %s; the settings are: %s (and --seed, --out)"
            % (", ".join(unknown), ", ".join(name for name in defaults if name not in reserved))
        )
    chosen = dict(defaults)
    if quick:
        chosen.update(quick_changes)
    for name, value in given.items():
        converted = _same_kind(value, defaults[name])
        if converted is None and (value is not None or defaults[name] is not None):
            # None is a value only where the lesson's default is None; it never means False.
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
    try:
        return outputs.check_output_folder(out_dir, name)
    except (ValueError, TypeError) as error:
        raise SettingError(str(error)) from None
