"""Synthetic house-price data: generate and standardize.

Lesson 1 (`gluon_lessons/lessons/lesson01_data.py`) introduces both forms. Reading and writing them
as CSV files lives in the course shell (`gluon_lessons.shell.datafiles`).
"""

import dataclasses
import math

import numpy as onp

from . import checks

LABEL_NAME = "price"
FORMS = ("standardized", "raw")

# The walkthrough's data set: standardized features, d2l's true weights (data/house_prices.csv holds it).
WALKTHROUGH = dict(num_examples=1000, true_w=(2.0, -3.4), true_b=4.2, noise=0.01, seed=0)

# Raw units: area in m^2, age in years, price in thousands.
RAW_AREA_M2 = (30.0, 250.0)  # uniform range
RAW_AGE_YEARS = (0.0, 60.0)  # uniform range
RAW_TRUE_W = (3.0, -2.0)  # thousand per m^2, thousand per year of age
RAW_TRUE_B = 50.0  # thousand
RAW_NOISE = 25.0  # thousand, standard deviation

# Rows generated at a time: the float64 draws and products of one block, not of all the data, are
# held beside the float32 result (at 4M x 20 a float64 copy of the features alone is 640 MB).
BLOCK_ROWS = 65_536

FLOAT32_MAX = checks.FLOAT32_MAX  # 3.4e38
# Training squares errors in float32: values beyond sqrt(3.4e38) = 1.8e19 overflow the loss at the first step.
FLOAT32_TRAIN_MAX = math.sqrt(FLOAT32_MAX)

@dataclasses.dataclass(frozen=True)
class HouseData:
    """Features (n, d) and prices (n,) as float32, with the truth that made them when known."""

    features: onp.ndarray
    labels: onp.ndarray
    feature_names: tuple
    true_w: tuple = None
    true_b: float = None
    noise: float = None
    seed: int = None
    form: str = "standardized"

    @property
    def num_examples(self):
        return self.features.shape[0]

    @property
    def num_features(self):
        return self.features.shape[1]


def feature_names(num_features, form="standardized"):
    """`area`, `age`, then `feature_3`, `feature_4`, ... (units in the names for raw data)."""
    first = ["area_m2", "age_years"] if form == "raw" else ["area", "age"]
    return tuple(first[:num_features]) + tuple("feature_%d" % i for i in range(3, num_features + 1))


def _check_truth(num_examples, true_w, true_b, noise, seed):
    num_examples = checks.integer("num_examples", num_examples, 1)
    true_w = checks.numbers("true_w", true_w)
    true_b = checks.number("true_b", true_b)
    noise = checks.number("noise", noise, 0.0)
    seed = None if seed is None else checks.integer("seed", seed, 0)
    return num_examples, true_w, true_b, noise, seed


def _labels(X, true_w, true_b, noise, rng):
    """price = X w + b + N(0, noise^2), computed in float64 and stored as float32, `BLOCK_ROWS` rows at
    a time (the noise drawn in the same order as in one draw)."""
    w = onp.asarray(true_w, dtype=onp.float64)
    y = onp.empty(len(X), dtype=onp.float32)
    for start in range(0, len(X), BLOCK_ROWS):
        rows = slice(start, start + BLOCK_ROWS)
        clean = X[rows].astype(onp.float64) @ w + true_b
        y[rows] = clean + rng.normal(0.0, noise, size=len(clean))
    return y


def synthetic_house_prices(num_examples=1000, true_w=(2.0, -3.4), true_b=4.2, noise=0.01, seed=0):
    """Standardized features ~ N(0, 1); price = X w + b + N(0, noise^2). The walkthrough's defaults.

    d2l's `synthetic_data` (and its `SyntheticRegressionData`) draws the same model (lesson 4).
    """
    num_examples, true_w, true_b, noise, seed = _check_truth(
        num_examples, true_w, true_b, noise, seed
    )
    rng = onp.random.default_rng(seed)
    X = onp.empty((num_examples, len(true_w)), dtype=onp.float32)
    for start in range(0, num_examples, BLOCK_ROWS):  # the same numbers as one draw of all rows
        block = X[start:start + BLOCK_ROWS]
        block[...] = rng.normal(0.0, 1.0, size=block.shape)
    y = _labels(X, true_w, true_b, noise, rng)
    return HouseData(X, y, feature_names(len(true_w)), true_w, true_b, noise, seed)


def raw_house_prices(
    num_examples=1000, true_w=RAW_TRUE_W, true_b=RAW_TRUE_B, noise=RAW_NOISE, seed=0
):
    """Area in m^2 and age in years, uniform over realistic ranges; price in thousands."""
    num_examples, true_w, true_b, noise, seed = _check_truth(
        num_examples, true_w, true_b, noise, seed
    )
    rng = onp.random.default_rng(seed)
    columns = [
        rng.uniform(*RAW_AREA_M2, size=num_examples),
        rng.uniform(*RAW_AGE_YEARS, size=num_examples),
    ]
    columns += [rng.normal(0.0, 1.0, size=num_examples) for _ in range(len(true_w) - 2)]
    X = onp.stack(columns[: len(true_w)], axis=1).astype(onp.float32)
    y = _labels(X, true_w, true_b, noise, rng)
    return HouseData(X, y, feature_names(len(true_w), "raw"), true_w, true_b, noise, seed, "raw")


def standardize(features):
    """Return (z-scores, mean, std) column by column."""
    features = onp.asarray(features, dtype=onp.float64)
    mean, std = features.mean(axis=0), features.std(axis=0)
    std = onp.where(std > 0, std, 1.0)
    return ((features - mean) / std).astype(onp.float32), mean, std


def walkthrough_data():
    """The walkthrough's 1000 houses: the numbers of data/house_prices.csv (tests/test_data.py checks)."""
    return synthetic_house_prices(**WALKTHROUGH)
