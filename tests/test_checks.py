"""`gluon_lessons.checks`: each check returns the value in its plain type, or raises ValueError whose
message names the value, says what is allowed and shows what was given."""

import numpy as onp
import pytest

from gluon_lessons import checks


def refused(check, *args, **kwargs):
    with pytest.raises(ValueError) as caught:
        check(*args, **kwargs)
    return str(caught.value)


def test_integer():
    assert checks.integer("n", 3, 1, 5) == 3 and type(checks.integer("n", onp.int64(7))) is int
    assert checks.integer("n", 10**30) == 10**30
    assert refused(checks.integer, "n", 0, 1, 5) == "n must be an integer in [1, 5], got 0"
    assert checks.integer("n", 6, 1) == 6
    assert refused(checks.integer, "n", 9, None, 8) == "n must be an integer <= 8, got 9"
    for value in (True, False, onp.bool_(True)):  # bools are not counts
        assert refused(checks.integer, "n", value, 0) == f"n must be an integer >= 0, got {value!r}"
    for value in (2.0, "3", None, [1]):
        assert refused(checks.integer, "n", value).startswith("n must be an integer, got")


def test_integer_refuses_above_its_bound():
    assert refused(checks.integer, "n", 6, 1, 5) == "n must be an integer in [1, 5], got 6"


def test_number():
    assert checks.number("x", 2) == 2.0 and type(checks.number("x", onp.float32(0.5))) is float
    assert checks.number("x", 0) == 0.0 and checks.number("x", -3.4e38) == -3.4e38
    assert checks.number("x", 1.5e-38) == 1.5e-38  # a normal float32
    assert refused(checks.number, "x", 5.0, 0, 1) == "x must be a number in [0, 1], got 5.0"
    assert (
        refused(checks.number, "x", 0.0, 0, 1, low_open=True)
        == "x must be a number in (0, 1], got 0.0"
    )
    for value in (float("nan"), float("inf"), -float("inf")):
        assert refused(checks.number, "x", value) == f"x must be a number, got {value!r}"
    for value in (True, "1", None, [1.0]):
        assert refused(checks.number, "x", value) == f"x must be a number, got {value!r}"
    assert refused(checks.number, "x", 10**400).startswith("x must be a number, got 1000000")


@pytest.mark.parametrize("value", [1e39, -1e39, 3.5e38, 1e-320, -1e-320, 1e-39])
def test_numbers_float32_cannot_hold_are_refused(value):
    message = refused(checks.number, "lr", value)
    assert (
        message
        == f"lr must be a number that float32 can hold (|x| in [1.2e-38, 3.4e+38] or 0), got {value!r}"
    )
    expected = "lr must be a number > 0" + (" that float32 can hold" if value > 0 else ", got")
    assert refused(checks.positive, "lr", value).startswith(expected)


def test_positive():
    assert checks.positive("lr", 0.03) == 0.03 and checks.positive("lr", 10, high=10) == 10.0
    assert refused(checks.positive, "lr", 0) == "lr must be a number > 0, got 0.0"
    assert refused(checks.positive, "lr", -1) == "lr must be a number > 0, got -1.0"
    assert (
        refused(checks.positive, "lr", 11.0, high=10) == "lr must be a number in (0, 10], got 11.0"
    )
    assert refused(checks.positive, "lr", 1e39) == (
        "lr must be a number > 0 that float32 can hold (|x| in [1.2e-38, 3.4e+38] or 0), got 1e+39"
    )
    assert refused(checks.positive, "lr", 1e-320).endswith("got 1e-320")
    assert refused(checks.positive, "lr", True) == "lr must be a number > 0, got True"


def test_fraction():
    assert checks.fraction("momentum", 0) == 0.0 and checks.fraction("momentum", 0.9) == 0.9
    assert (
        refused(checks.fraction, "momentum", 1.0) == "momentum must be a number in [0, 1), got 1.0"
    )
    assert (
        refused(checks.fraction, "momentum", -0.1)
        == "momentum must be a number in [0, 1), got -0.1"
    )
    assert refused(checks.fraction, "momentum", 1e-320).endswith(
        "that float32 can hold (|x| in [1.2e-38, 3.4e+38] or 0), got 1e-320"
    )


def test_flag():
    assert (
        checks.flag("verbose", True) is True and checks.flag("verbose", onp.bool_(False)) is False
    )
    for value in (0, 1, None, "True"):  # None never means False
        assert (
            refused(checks.flag, "verbose", value)
            == f"verbose must be True or False, got {value!r}"
        )


def test_choice():
    assert checks.choice("optimizer", "nag", ("sgd", "nag")) == "nag"
    assert refused(checks.choice, "optimizer", "adam", ("sgd", "nag")) == (
        "optimizer must be one of sgd, nag, got 'adam'"
    )
    assert (
        refused(checks.choice, "optimizer", None, ("sgd", "nag"))
        == "optimizer must be one of sgd, nag, got None"
    )


def test_integers():
    assert checks.integers("sizes", [1, 10], 1) == (1, 10)
    assert checks.integers("sizes", onp.array([2, 3])) == (2, 3)
    assert refused(checks.integers, "sizes", 5) == "sizes must be a list of integers, got 5"
    assert (
        refused(checks.integers, "sizes", [])
        == "sizes must be a list of at least 1 integers, got []"
    )
    assert (
        refused(checks.integers, "sizes", [1, 0], 1)
        == "each of sizes must be an integer >= 1, got 0"
    )
    assert (
        refused(checks.integers, "sizes", [1, True]) == "each of sizes must be an integer, got True"
    )
    assert refused(checks.integers, "sizes", [1, 2, 3], max_length=2) == (
        "sizes must be a list of at least 1 and at most 2 integers, got [1, 2, 3]"
    )


def test_numbers():
    assert checks.numbers("w", (2, -3.4)) == (2.0, -3.4)
    assert refused(checks.numbers, "w", "12") == "w must be a list of numbers, got '12'"
    assert refused(checks.numbers, "w", [1.0, 1e39]).startswith(
        "each of w must be a number that float32"
    )
    assert checks.numbers("w", [0.5], 0, 1, high_open=True) == (0.5,)
    assert (
        refused(checks.numbers, "w", [1.5], 0, 1, high_open=True)
        == "each of w must be a number in [0, 1), got 1.5"
    )
    assert (
        refused(checks.numbers, "w", [1.0], min_length=2, max_length=2)
        == "w must be a list of 2 numbers, got [1.0]"
    )
    assert (
        refused(checks.numbers, "w", "ab", min_length=2, max_length=2)
        == "w must be a list of 2 numbers, got 'ab'"
    )


def test_long_values_are_shortened_in_messages():
    message = refused(checks.integer, "n", "x" * 500)
    assert len(message) < 100 and message.endswith("...")
