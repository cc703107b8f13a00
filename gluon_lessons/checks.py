"""One vocabulary for checking values: the library, the lessons' settings cells and the CLI use it.

Each check returns the value in its plain Python type or raises `ValueError` whose message names
the value, says what is allowed and shows what was given, for example
``lr must be a number in (0, 100], got 1e+39``. Numbers must also fit float32, the type the
course trains in: a learning rate of 1e-320 or 1e39 would silently become 0 or infinity there.
"""

import math
import numbers as _numbers

import numpy as onp

FLOAT32_MAX = float(onp.finfo(onp.float32).max)  # about 3.4e38
FLOAT32_TINY = float(onp.finfo(onp.float32).tiny)  # about 1.2e-38, the smallest normal float32


def _shown(value):
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _fail(name, requirement, value):
    raise ValueError(f"{name} must be {requirement}, got {_shown(value)}")


def _range_text(low, high, low_open=False, high_open=False):
    if low is not None and high is not None:
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low:g}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def _is_number(value):
    return isinstance(value, _numbers.Real) and not isinstance(value, (bool, onp.bool_))


def integer(name, value, low=None, high=None):
    """An integer (not a bool) in [low, high]."""
    requirement = " ".join(filter(None, ["an integer", _range_text(low, high)]))
    if not isinstance(value, _numbers.Integral) or isinstance(value, (bool, onp.bool_)):
        _fail(name, requirement, value)
    if (low is not None and value < low) or (high is not None and value > high):
        _fail(name, requirement, value)
    return int(value)


def number(name, value, low=None, high=None, *, low_open=False, high_open=False):
    """A finite real number in the range, that float32 can hold (nonzero values at least 1.2e-38)."""
    requirement = " ".join(filter(None, ["a number", _range_text(low, high, low_open, high_open)]))
    if not _is_number(value):
        _fail(name, requirement, value)
    try:
        value = float(value)
    except OverflowError:  # an integer beyond any float, such as 10**400
        _fail(name, requirement, value)
    if not math.isfinite(value):
        _fail(name, requirement, value)
    if (low is not None and (value < low or (low_open and value == low))) or (
        high is not None and (value > high or (high_open and value == high))
    ):
        _fail(name, requirement, value)
    if abs(value) > FLOAT32_MAX or 0 < abs(value) < FLOAT32_TINY:
        _fail(
            name,
            f"{requirement} that float32 can hold (|x| in [{FLOAT32_TINY:.2g}, {FLOAT32_MAX:.2g}] or 0)",
            value,
        )
    return value


def positive(name, value, high=None):
    """A number > 0 (and at most `high`)."""
    return number(name, value, 0.0, high, low_open=True)


def fraction(name, value):
    """A number in [0, 1), such as a momentum or a decay rate."""
    return number(name, value, 0.0, 1.0, high_open=True)


def flag(name, value):
    """True or False (not 0, 1 or None)."""
    if not isinstance(value, (bool, onp.bool_)):
        _fail(name, "True or False", value)
    return bool(value)


def choice(name, value, options):
    """One of `options`."""
    if not isinstance(value, str) or value not in options:
        _fail(name, "one of " + ", ".join(map(str, options)), value)
    return value


def integers(name, values, low=None, high=None, min_length=1, max_length=None):
    """A list or tuple of integers, each in [low, high]; returned as a tuple."""
    values = _sequence(name, values, "integers " + _range_text(low, high), min_length, max_length)
    return tuple(integer(f"each of {name}", item, low, high) for item in values)


def numbers(
    name,
    values,
    low=None,
    high=None,
    *,
    low_open=False,
    high_open=False,
    min_length=1,
    max_length=None,
):
    """A list or tuple of numbers, each as `number` checks it; returned as a tuple of floats."""
    values = _sequence(
        name,
        values,
        "numbers " + _range_text(low, high, low_open, high_open),
        min_length,
        max_length,
    )
    return tuple(
        number(f"each of {name}", item, low, high, low_open=low_open, high_open=high_open)
        for item in values
    )


def _sequence(name, values, what, min_length, max_length):
    if isinstance(values, onp.ndarray):
        values = values.tolist()
    exact = f"{min_length} " if min_length == max_length else ""  # "a list of 2 numbers"
    if not isinstance(values, (list, tuple)):
        _fail(name, f"a list of {exact}{what}".rstrip(), values)
    if exact and len(values) != min_length:
        _fail(name, f"a list of {exact}{what}".rstrip(), values)
    if len(values) < min_length or (max_length is not None and len(values) > max_length):
        most = f" and at most {max_length}" if max_length is not None else ""
        _fail(name, f"a list of at least {min_length}{most} {what}".rstrip(), values)
    return values
