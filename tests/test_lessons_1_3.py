"""Lessons 1-4 run with their quick settings; every finding they print is checked against a truth.

Truths used: the generator's weights and noise, least squares solved here from the normal
equations (not the library's `lstsq`), ceil/floor counting, and exact-once coverage of a shuffle.
"""
import io
import json
import math
from contextlib import redirect_stdout

import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons.lessons import lesson02_batches, lesson03_scratch
from gluon_lessons.lessons._common import to_json


def run_quietly(module, out_dir, **settings):
    with redirect_stdout(io.StringIO()):
        return module.run(out_dir=out_dir, seed=0, quick=True, **settings)


def normal_equations(features, labels):
    """Least squares with a bias column from XᵀX w = Xᵀy in float64: the best fit a trainer can reach."""
    design = onp.hstack([onp.asarray(features, onp.float64), onp.ones((len(features), 1))])
    solution = onp.linalg.solve(design.T @ design, design.T @ onp.asarray(labels, onp.float64))
    return solution[:-1], solution[-1]


def mean_half_squared_error(features, labels, weight, bias):
    residual = onp.asarray(features, onp.float64) @ onp.asarray(weight, onp.float64) + bias - labels
    return 0.5 * onp.mean(residual ** 2)


def check_figures(findings, names):
    paths = [str(p) for p in findings["figures"]]
    assert [p.rsplit("/", 1)[-1] for p in paths] == [name + ".png" for name in names]
    for path in paths:
        with open(path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n"


def check_json(findings):
    assert json.loads(to_json(findings))  # plain numbers, lists and strings only


# ---------------------------------------------------------------- lesson 2

@pytest.fixture(scope="module")
def lesson2(tmp_path_factory):
    return run_quietly(lesson02_batches, tmp_path_factory.mktemp("batches"))


@pytest.mark.parametrize("name", ["data_iter", "DataLoader", "ShuffledBatches"])
def test_lesson2_every_example_exactly_once_per_epoch_in_a_new_order(lesson2, name):
    found, n, batch_size = lesson2["iterators"][name], lesson2["num_examples"], lesson2["batch_size"]
    assert found["seen_exactly_once"] == [True] * lesson2["num_epochs"]
    assert found["min_times_seen"] == found["max_times_seen"] == [1] * lesson2["num_epochs"]
    assert found["batches_per_epoch"] == [math.ceil(n / batch_size)] * lesson2["num_epochs"]
    assert found["orders_differ"]
    # Two independent shuffles of 200 share a batch of 10 as a set with probability ~ 20 / C(200, 10).
    assert found["batches_shared_epochs_1_2"] == 0
    assert found["pairs_intact"]


def test_lesson2_updates_per_epoch_are_ceil_kept_and_floor_dropped(lesson2):
    n = lesson2["table_examples"]
    assert [row["batch_size"] for row in lesson2["updates_table"]] == [1, 10, 32, 100, 1000]
    for row in lesson2["updates_table"]:
        B = row["batch_size"]
        assert row["keep"] == row["keep_counted"] == -(-n // B)
        assert row["discard"] == row["discard_counted"] == n // B
        assert row["last_batch_size"] == (n % B or B)


def test_lesson2_partial_batch_kept_or_a_new_remainder_dropped_each_epoch(lesson2):
    n, B = lesson2["num_examples"], lesson2["partial_batch_size"]
    keep, discard = lesson2["partial_batch"]["keep"], lesson2["partial_batch"]["discard"]
    assert n % B != 0
    assert (keep["batches"], keep["last_batch_size"], keep["left_out_per_epoch"]) == (n // B + 1, n % B, [0, 0])
    assert (discard["batches"], discard["last_batch_size"]) == (n // B, B)
    assert discard["left_out_per_epoch"] == [n % B, n % B] and discard["left_out_differ"]


def test_lesson2_writes_its_figure_and_json(lesson2):
    check_figures(lesson2, ["batch_membership"])
    check_json(lesson2)


def test_lesson2_measurements_catch_a_broken_iterator():
    good = [onp.array([0, 1]), onp.array([2, 3])]
    repeated = [onp.array([0, 0]), onp.array([2, 3])]  # example 0 twice, example 1 never
    summary = lesson02_batches.summarize([repeated, good], True, 4)
    assert summary["seen_exactly_once"] == [False, True]
    assert summary["min_times_seen"] == [0, 1] and summary["max_times_seen"] == [2, 1]
    assert lesson02_batches.compare_epochs(good, good) == (True, 4, 2)


def test_lesson2_data_iter_is_reproducible_per_seed_and_validates():
    features = onp.arange(14, dtype=onp.float32).reshape(7, 2)
    labels = onp.arange(7, dtype=onp.float32)
    first = [y.asnumpy() for _, y in lesson02_batches.data_iter(3, features, labels, onp.random.default_rng(5))]
    again = [y.asnumpy() for _, y in lesson02_batches.data_iter(3, features, labels, onp.random.default_rng(5))]
    assert [len(b) for b in first] == [3, 3, 1]
    assert all(onp.array_equal(a, b) for a, b in zip(first, again))
    assert sorted(onp.concatenate(first).tolist()) == list(range(7))
    dropped = list(lesson02_batches.data_iter(3, features, labels, onp.random.default_rng(5), last_batch="discard"))
    assert [len(y) for _, y in dropped] == [3, 3]
    with pytest.raises(ValueError, match="batch size"):
        list(lesson02_batches.data_iter(0, features, labels, onp.random.default_rng(0)))
    with pytest.raises(ValueError, match="rows"):
        list(lesson02_batches.data_iter(2, features, labels[:5], onp.random.default_rng(0)))
    with pytest.raises(ValueError, match="num_epochs"):
        lesson02_batches.run(num_epochs=1)
    with pytest.raises(ValueError, match="num_examples"):
        lesson02_batches.run(num_examples=20)


# ---------------------------------------------------------------- lesson 3

def assert_recovers_truth_and_least_squares(found, data):
    """Weights within 0.01 of the truth and 2e-3 of least squares (the walkthrough's tolerances)."""
    ols_w, ols_b = normal_equations(data.features, data.labels)
    onp.testing.assert_allclose(found["weight"], data.true_w, atol=0.01)
    assert found["bias"] == pytest.approx(data.true_b, abs=0.01)
    onp.testing.assert_allclose(found["weight"], ols_w, atol=2e-3)
    assert found["bias"] == pytest.approx(ols_b, abs=2e-3)
    return ols_w, ols_b


@pytest.fixture(scope="module")
def walkthrough_data():
    return house_data.walkthrough_data()


@pytest.fixture(scope="module")
def lesson3(tmp_path_factory):
    return run_quietly(lesson03_scratch, tmp_path_factory.mktemp("scratch"))


def test_lesson3_scratch_weights_recover_the_truth_and_least_squares(lesson3, walkthrough_data):
    assert_recovers_truth_and_least_squares(lesson3, walkthrough_data)
    # Momentum 0.9 at the same lr takes 10x larger effective steps and ends noisier (see lesson 4).
    onp.testing.assert_allclose(lesson3["momentum_weight"], walkthrough_data.true_w, atol=0.01)
    assert lesson3["momentum_bias"] == pytest.approx(walkthrough_data.true_b, abs=0.01)


def test_lesson3_loss_falls_to_but_not_below_least_squares(lesson3, walkthrough_data):
    best = mean_half_squared_error(walkthrough_data.features, walkthrough_data.labels,
                                   *normal_equations(walkthrough_data.features, walkthrough_data.labels))
    for losses in (lesson3["epoch_loss"], lesson3["momentum_epoch_loss"]):
        assert len(losses) == lesson3["num_epochs"]
        assert best * (1 - 1e-4) <= losses[-1] < 1.5 * best  # 1e-4: float32 evaluation of the loss
    assert lesson3["epoch_loss"] == sorted(lesson3["epoch_loss"], reverse=True)


def test_lesson3_scratch_agrees_with_gluon_and_writes_its_figure(lesson3):
    assert lesson3["compare_steps"] >= 20
    assert lesson3["max_gap_sgd"] < 1e-5 and lesson3["max_gap_momentum"] < 1e-5
    check_figures(lesson3, ["scratch_loss"])
    check_json(lesson3)
