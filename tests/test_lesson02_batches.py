"""Lesson 2's findings against truths: ceil/floor counting, exact-once coverage of a shuffle, what a
dropped remainder must be; its hand-written iterator called directly; its verdicts follow the numbers.
"""
import math

import numpy as onp
import pytest
from lesson_checks import assert_teaching_shape, check_figures, check_json, run_for_namespace, run_quietly

from gluon_lessons import shuffling

ITERATORS = ["data_iter", "DataLoader", "ShuffledBatches"]


@pytest.fixture(scope="module")
def lesson2(tmp_path_factory):
    return run_quietly("batches", tmp_path_factory.mktemp("batches"))


@pytest.fixture(scope="module")
def divisible(tmp_path_factory):
    """The lesson with 224 = 7 x 32 examples, so that no partial batch is left: (namespace, text)."""
    return run_for_namespace("batches", tmp_path_factory.mktemp("batches_224"), num_examples=224)


@pytest.mark.parametrize("name", ITERATORS)
def test_every_example_exactly_once_per_epoch_in_a_new_order(lesson2, name):
    findings, _ = lesson2
    found, n, batch_size = findings["iterators"][name], findings["num_examples"], findings["batch_size"]
    assert found["seen_exactly_once"] == [True] * findings["num_epochs"]
    assert found["min_times_seen"] == found["max_times_seen"] == [1] * findings["num_epochs"]
    assert found["batches_per_epoch"] == [math.ceil(n / batch_size)] * findings["num_epochs"]
    assert found["orders_differ"]
    # Two independent shuffles of 200 share a batch of 10 as a set with probability ~ 20 / C(200, 10).
    assert found["batches_shared_epochs_1_2"] == 0
    # The same example at the same place in both epochs: Poisson(1) for independent shuffles; 8 or more
    # happens with probability 1e-5.
    assert found["same_position_epochs_1_2"] < 8
    assert found["pairs_intact"]
    verdicts = findings["verdicts"]
    assert (verdicts[name + "_once"], verdicts[name + "_pairs"], verdicts[name + "_order"]) == (
        "exactly once", "pairs intact", "new order")


def test_the_lesson_has_the_teaching_shape(lesson2):
    assert_teaching_shape("batches", *lesson2)


def test_updates_per_epoch_are_ceil_kept_and_floor_dropped(lesson2):
    findings, text = lesson2
    n = findings["table_examples"]
    assert [row["batch_size"] for row in findings["updates_table"]] == [1, 10, 32, 100, 1000]
    for row in findings["updates_table"]:
        B = row["batch_size"]
        assert row["keep"] == row["keep_counted"] == -(-n // B)
        assert row["discard"] == row["discard_counted"] == n // B
        assert row["last_batch_size"] == (n % B or B)
    assert findings["verdicts"]["updates_counted"] == "agrees"
    assert (findings["updates_at_smallest"], findings["updates_at_largest"]) == (1000, 1)


def test_partial_batch_kept_or_a_new_remainder_dropped_each_epoch(lesson2):
    findings, text = lesson2
    n, B = findings["num_examples"], findings["partial_batch_size"]
    keep, discard = findings["partial_batch"]["keep"], findings["partial_batch"]["discard"]
    assert n % B != 0 and findings["left_over"] == n % B
    assert (keep["batches"], keep["last_batch_size"], keep["left_out_per_epoch"]) == (n // B + 1, n % B, [0, 0])
    assert (discard["batches"], discard["last_batch_size"]) == (n // B, B)
    # Two independent random remainders of 8 out of 200 coincide with probability 1 / C(200, 8) ~ 1e-14.
    assert discard["left_out_per_epoch"] == [n % B, n % B] and discard["left_out_differ"]
    assert findings["verdicts"]["left_out"] == "a new set each epoch"


def test_when_the_batch_size_divides_the_data_the_text_says_there_is_no_partial_batch(divisible):
    # --quick sets 200 examples; the explicit 224 must win, and 32 divides 224.
    namespace, text = divisible
    findings = namespace["findings"]
    assert findings["num_examples"] == 224 and findings["left_over"] == 0
    keep, discard = findings["partial_batch"]["keep"], findings["partial_batch"]["discard"]
    assert keep["batches"] == discard["batches"] == 7 and keep["last_batch_size"] == 32
    assert keep["left_out_per_epoch"] == discard["left_out_per_epoch"] == [0, 0]
    assert findings["verdicts"]["left_out"] == "nothing"
    assert "32 divides 224: no partial batch" in text.split("## What we found")[1]


def test_figure_and_json(lesson2):
    check_figures(lesson2[0], ["batch_membership"])
    check_json(lesson2[0])


def test_the_measurements_catch_a_broken_iterator():
    good = [onp.array([0, 1]), onp.array([2, 3])]
    repeated = [onp.array([0, 0]), onp.array([2, 3])]  # example 0 twice, example 1 never
    summary = shuffling.summarize([repeated, good], True, 4)
    assert summary["seen_exactly_once"] == [False, True]
    assert summary["min_times_seen"] == [0, 1] and summary["max_times_seen"] == [2, 1]
    assert shuffling.compare_epochs(good, good) == (True, 4, 2)
    assert shuffling.membership(repeated, 4).tolist() == [0, -1, 1, 1]


def test_the_hand_written_iterator_is_reproducible_per_seed_and_validates(divisible):
    data_iter = divisible[0]["data_iter"]
    features = onp.arange(14, dtype=onp.float32).reshape(7, 2)
    labels = onp.arange(7, dtype=onp.float32)
    first = [y.asnumpy() for _, y in data_iter(3, features, labels, onp.random.default_rng(5))]
    again = [y.asnumpy() for _, y in data_iter(3, features, labels, onp.random.default_rng(5))]
    assert [len(b) for b in first] == [3, 3, 1]
    assert all(onp.array_equal(a, b) for a, b in zip(first, again))
    assert sorted(onp.concatenate(first).tolist()) == list(range(7))
    dropped = list(data_iter(3, features, labels, onp.random.default_rng(5), last_batch="discard"))
    assert [len(y) for _, y in dropped] == [3, 3]
    with pytest.raises(ValueError, match="batch size"):
        list(data_iter(0, features, labels, onp.random.default_rng(0)))
    with pytest.raises(ValueError, match="rows"):
        list(data_iter(2, features, labels[:5], onp.random.default_rng(0)))


@pytest.mark.parametrize("settings, message", [
    ({"num_epochs": 1}, r"num_epochs must be an integer in \[2, 10\], got 1"),
    ({"num_epochs": None}, r"num_epochs must be an integer, got None"),
    ({"num_examples": 20}, r"partial_batch_size must be an integer in \[1, 20\], got 32"),
    ({"num_examples": 10**12}, r"num_examples must be an integer in \[2, .*\], got 1000000000000"),
    ({"batch_size": 0}, r"batch_size must be an integer in \[1, 200\], got 0"),
    ({"partial_batch_size": 0}, r"partial_batch_size must be an integer in \[1, 200\], got 0"),
])
def test_settings_are_refused_at_once_with_their_name(settings, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        run_quietly("batches", tmp_path, **settings)
