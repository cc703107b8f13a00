"""Command-line options: a parser whose errors are one line, and the types that check each option.

`cli` builds `gluon-lessons` from them; `run`'s options (`add_run_arguments`) and `--seed` are
defined once here.
"""

import argparse
import ast
import re
import sys
from pathlib import Path

from .. import checks

USAGE_ERROR = 2
_NUMBER = r"(?:[0-9]+\.?[0-9]*(?:e[-+]?[0-9]+)?|\.[0-9]+(?:e[-+]?[0-9]+)?|inf(?:inity)?|nan)"


class Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # argparse takes `-1.463,1.39` and `-1e5` for options; a value that starts like a negative number is one.
        self._negative_number_matcher = re.compile(
            r"^-%s(?:,\s*[-+]?%s)*$" % (_NUMBER, _NUMBER), re.IGNORECASE
        )

    def error(self, message):  # one line instead of argparse's usage block
        print("%s: error: %s" % (self.prog, message), file=sys.stderr)
        raise SystemExit(USAGE_ERROR)


def number(name, check, convert=float, kind="a number"):
    """An argparse type: the text as a number (`convert`), then `check(name, value)`, a check of
    `gluon_lessons.checks`; its message, or "NAME must be KIND", is argparse's one-line error."""

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError("%s must be %s, got %r" % (name, kind, text)) from None
        try:
            return check(name, value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def positive_int(name):
    return number(name, lambda name, value: checks.integer(name, value, 1), int, "an integer >= 1")


def finite_float(name):
    """A number float32 can hold (the type the course trains in): 1e39 and 1e-320 are refused."""
    return number(name, checks.number)


def weights(text):
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            "--true-w must be a comma list of numbers such as 2,-3.4, got %r" % text
        ) from None
    return checked(lambda values: list(checks.numbers("--true-w", values)))(values)


seed = number("--seed", lambda name, value: checks.integer(name, value, 0), int, "an integer >= 0")


def checked(check):
    """An argparse type from a check that raises ValueError with the reason."""

    def parse(text):
        try:
            return check(text)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return parse


def output_folder(text):
    """A folder for figures and results (`outputs.check_output_folder`: not data/, the package, a file, ...)."""
    from . import outputs

    return checked(lambda t: outputs.check_output_folder(t, None))(text)


def data_file(text):
    """Where make-data may write a CSV and its .json (`outputs.check_data_file`)."""
    from . import datafiles, outputs

    return checked(lambda t: outputs.check_data_file(t, None, default=datafiles.DEFAULT_CSV))(text)


def input_file(text):
    if not text.strip():
        raise argparse.ArgumentTypeError("--data must name a CSV file, got %r" % text)
    return Path(text)


def setting(text):
    """`--set NAME=VALUE`: (name, the value as a Python literal, or the text itself for a bare word)."""
    name, sep, value = text.partition("=")
    if not sep or not name.isidentifier():
        raise argparse.ArgumentTypeError("--set takes NAME=VALUE, got %r" % text)
    try:
        return name, ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return name, value  # a bare word such as cpu


def add_run_arguments(parser):
    """The options of `gluon-lessons run LESSON`."""
    parser.add_argument(
        "--out", type=output_folder, help="folder for figures (default lesson_output/<slug>)"
    )
    parser.add_argument(
        "--seed",
        type=seed,
        default=None,
        help="one seed for random, numpy and mx.random (default 0)",
    )
    parser.add_argument(
        "--quick", action="store_true", help="small settings, as the tests use; --set still wins"
    )
    parser.add_argument(
        "--set",
        type=setting,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="change one of the lesson's settings (see --help-settings)",
    )
    parser.add_argument(
        "--help-settings", action="store_true", help="list the lesson's settings and defaults"
    )
    parser.add_argument(
        "--json", action="store_true", help="findings as one JSON object on the last stdout line"
    )
