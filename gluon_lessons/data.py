"""Synthetic house-price data: generate, standardize, save to and load from `data/`.

Lesson 1 (`gluon_lessons.lessons.lesson01_data`) introduces both forms.
"""
import csv
import dataclasses
import hashlib
import json
import math
import os
import tempfile
from pathlib import Path

import numpy as onp

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFAULT_CSV = DATA_DIR / "house_prices.csv"
LABEL_NAME = "price"

# The walkthrough's data set: standardized features, d2l's true weights.
WALKTHROUGH = dict(num_examples=1000, true_w=(2.0, -3.4), true_b=4.2, noise=0.01, seed=0)

# Raw units: area in m^2, age in years, price in thousands.
RAW_AREA_M2 = (30.0, 250.0)  # uniform range
RAW_AGE_YEARS = (0.0, 60.0)  # uniform range
RAW_TRUE_W = (3.0, -2.0)  # thousand per m^2, thousand per year of age
RAW_TRUE_B = 50.0  # thousand
RAW_NOISE = 25.0  # thousand, standard deviation


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file and line."""


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


def _check_truth(num_examples, true_w, true_b, noise):
    if isinstance(num_examples, bool) or not isinstance(num_examples, (int, onp.integer)) or num_examples < 1:
        raise ValueError("num_examples must be an integer >= 1, got %r" % (num_examples,))
    true_w = tuple(float(w) for w in onp.ravel(true_w))
    if not true_w or not all(math.isfinite(w) for w in true_w):
        raise ValueError("true_w must be a non-empty list of finite numbers, got %r" % (true_w,))
    if not math.isfinite(float(true_b)):
        raise ValueError("true_b must be a finite number, got %r" % (true_b,))
    if not (math.isfinite(float(noise)) and noise >= 0):
        raise ValueError("noise must be a finite number >= 0, got %r" % (noise,))
    return int(num_examples), true_w, float(true_b), float(noise)


def _labels(features, true_w, true_b, noise, rng):
    clean = features.astype(onp.float64) @ onp.asarray(true_w) + true_b
    return (clean + rng.normal(0.0, noise, size=len(features))).astype(onp.float32)


def synthetic_house_prices(num_examples=1000, true_w=(2.0, -3.4), true_b=4.2, noise=0.01, seed=0):
    """Standardized features ~ N(0, 1); price = X w + b + N(0, noise^2). The walkthrough's defaults."""
    num_examples, true_w, true_b, noise = _check_truth(num_examples, true_w, true_b, noise)
    rng = onp.random.default_rng(seed)
    features = rng.normal(0.0, 1.0, size=(num_examples, len(true_w))).astype(onp.float32)
    labels = _labels(features, true_w, true_b, noise, rng)
    return HouseData(features, labels, feature_names(len(true_w)), true_w, true_b, noise, seed)


def raw_house_prices(num_examples=1000, true_w=RAW_TRUE_W, true_b=RAW_TRUE_B, noise=RAW_NOISE, seed=0):
    """Area in m^2 and age in years, uniform over realistic ranges; price in thousands."""
    num_examples, true_w, true_b, noise = _check_truth(num_examples, true_w, true_b, noise)
    rng = onp.random.default_rng(seed)
    columns = [rng.uniform(*RAW_AREA_M2, size=num_examples), rng.uniform(*RAW_AGE_YEARS, size=num_examples)]
    columns += [rng.normal(0.0, 1.0, size=num_examples) for _ in range(len(true_w) - 2)]
    features = onp.stack(columns[: len(true_w)], axis=1).astype(onp.float32)
    labels = _labels(features, true_w, true_b, noise, rng)
    return HouseData(features, labels, feature_names(len(true_w), "raw"), true_w, true_b, noise, seed, "raw")


def standardize(features):
    """Return (z-scores, mean, std) column by column."""
    features = onp.asarray(features, dtype=onp.float64)
    mean, std = features.mean(axis=0), features.std(axis=0)
    std = onp.where(std > 0, std, 1.0)
    return ((features - mean) / std).astype(onp.float32), mean, std


def _format(value):
    """Shortest text that reads back as the same float32."""
    return onp.format_float_positional(onp.float32(value), unique=True, trim="-")


def csv_text(data):
    """The CSV layout of `data/house_prices.csv`: header row, feature columns, then `price`."""
    lines = [",".join(data.feature_names + (LABEL_NAME,))]
    for row, label in zip(data.features, data.labels):
        lines.append(",".join([_format(v) for v in row] + [_format(label)]))
    return "\n".join(lines) + "\n"


def metadata(data, csv_bytes):
    """What made the CSV: the truth, the generator's settings and the CSV's SHA-256."""
    return {
        "true_weight": list(data.true_w),
        "true_bias": data.true_b,
        "noise": data.noise,
        "num_examples": data.num_examples,
        "seed": data.seed,
        "form": data.form,
        "feature_names": list(data.feature_names),
        "label_name": LABEL_NAME,
        "generator": "gluon_lessons.data.%s_house_prices" % ("raw" if data.form == "raw" else "synthetic"),
        "csv_sha256": hashlib.sha256(csv_bytes).hexdigest(),
    }


def _write_atomically(path, payload):
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def save_dataset(data, csv_path=DEFAULT_CSV, force=False):
    """Write `csv_path` and its `.json` sidecar atomically; refuse to overwrite unless `force`."""
    csv_path = Path(csv_path)
    json_path = csv_path.with_suffix(".json")
    existing = [str(p) for p in (csv_path, json_path) if p.exists()]
    if existing and not force:
        raise FileExistsError("%s already exist%s; pass --force to overwrite"
                              % (" and ".join(existing), "" if len(existing) > 1 else "s"))
    csv_bytes = csv_text(data).encode("ascii")
    json_bytes = (json.dumps(metadata(data, csv_bytes), indent=2) + "\n").encode("ascii")
    _write_atomically(csv_path, csv_bytes)
    _write_atomically(json_path, json_bytes)
    return csv_path, json_path


def _read_sidecar(json_path):
    try:
        meta = json.loads(json_path.read_text())
        return (tuple(float(w) for w in meta["true_weight"]), float(meta["true_bias"]),
                float(meta["noise"]), meta.get("seed"), meta.get("form", "standardized"))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise DataFileError("%s: not a valid data description (%s)" % (json_path, error)) from None


def load_dataset(csv_path=DEFAULT_CSV):
    """Read a CSV in the committed layout; the truth comes from its `.json` sidecar if there is one."""
    csv_path = Path(csv_path)
    try:
        with open(csv_path, newline="") as f:
            rows = list(csv.reader(f))
    except FileNotFoundError:
        raise DataFileError("%s: no such file" % csv_path) from None
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError("%s: cannot read (%s)" % (csv_path, error)) from None
    if not rows:
        raise DataFileError("%s, line 1: empty file, expected a header row" % csv_path)
    header = [name.strip() for name in rows[0]]
    if len(header) < 2 or header[-1] != LABEL_NAME:
        raise DataFileError("%s, line 1: header must be feature names then %r, got %r"
                            % (csv_path, LABEL_NAME, ",".join(header)))
    values = []
    for line_number, row in enumerate(rows[1:], start=2):
        if not row:
            continue
        if len(row) != len(header):
            raise DataFileError("%s, line %d: expected %d values, got %d"
                                % (csv_path, line_number, len(header), len(row)))
        try:
            numbers = [float(v) for v in row]
        except ValueError:
            raise DataFileError("%s, line %d: not a number in %r" % (csv_path, line_number, ",".join(row))) from None
        if not all(math.isfinite(v) for v in numbers):
            raise DataFileError("%s, line %d: values must be finite" % (csv_path, line_number))
        values.append(numbers)
    if not values:
        raise DataFileError("%s: no data rows after the header" % csv_path)
    table = onp.asarray(values, dtype=onp.float32)
    truth = {}
    json_path = csv_path.with_suffix(".json")
    if json_path.exists():
        true_w, true_b, noise, seed, form = _read_sidecar(json_path)
        if len(true_w) != len(header) - 1:
            raise DataFileError("%s: true_weight has %d values but %s has %d features"
                                % (json_path, len(true_w), csv_path, len(header) - 1))
        truth = dict(true_w=true_w, true_b=true_b, noise=noise, seed=seed, form=form)
    return HouseData(table[:, :-1], table[:, -1], tuple(header[:-1]), **truth)


def walkthrough_data():
    """The committed walkthrough data set, or the same data generated when `data/` is not at hand."""
    if DEFAULT_CSV.exists():
        return load_dataset(DEFAULT_CSV)
    return synthetic_house_prices(**WALKTHROUGH)
