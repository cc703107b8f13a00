"""Synthetic house-price data: generate, standardize, save to and load from `data/`.

Lesson 1 (`gluon_lessons.lessons.lesson01_data`) introduces both forms.
"""
import csv
import dataclasses
import hashlib
import json
import math
import numbers
import os
import stat
import warnings
from pathlib import Path

import numpy as onp

from . import outputs

DATA_DIR = outputs.DATA_DIR
DEFAULT_CSV = DATA_DIR / "house_prices.csv"
LABEL_NAME = "price"
FORMS = ("standardized", "raw")

# The walkthrough's data set: standardized features, d2l's true weights.
WALKTHROUGH = dict(num_examples=1000, true_w=(2.0, -3.4), true_b=4.2, noise=0.01, seed=0)

# Raw units: area in m^2, age in years, price in thousands.
RAW_AREA_M2 = (30.0, 250.0)  # uniform range
RAW_AGE_YEARS = (0.0, 60.0)  # uniform range
RAW_TRUE_W = (3.0, -2.0)  # thousand per m^2, thousand per year of age
RAW_TRUE_B = 50.0  # thousand
RAW_NOISE = 25.0  # thousand, standard deviation

FLOAT32_MAX = float(onp.finfo(onp.float32).max)  # 3.4e38
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # numbers this large or larger round to infinity in float32
# Training squares errors in float32: values beyond sqrt(3.4e38) = 1.8e19 overflow the loss at the first step.
FLOAT32_TRAIN_MAX = math.sqrt(FLOAT32_MAX)
CHUNK_ROWS = 65536  # rows generated, written or checked at a time, so no float64 copy of all the data exists
# Peak memory of a training run in copies of the float32 data (NumPy, the device copy, one shuffled copy per
# epoch; about 3.3 with MXNet's pools and queue, measured by benchmarks/memory.py, so 4 to be safe), plus MXNet.
TRAINING_COPIES = 4
MXNET_BYTES = 256 * 2**20
LOADING_COPIES = 2.5  # np.loadtxt's growing buffer, then the features split off as one contiguous array
MAX_CELL_CHARS = 131072  # Python's csv field limit; no number needs more
HEADER_MAX_BYTES = 2**20
SAMPLE_BYTES = 2**22  # read to estimate the rows of a CSV from its size


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file and line."""


class NotEnoughMemory(ValueError):
    """What was asked for needs more memory than this machine has available."""


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


# ---- checks on settings and memory -------------------------------------------------------------------------

def _real(name, value):
    """`value` as a float if it is a real number (NumPy scalars too, not bool or text), else TypeError."""
    if isinstance(value, (bool, onp.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError("%s must be a number, got %r" % (name, value))
    return float(value)


def _integer(name, value, low):
    if isinstance(value, (bool, onp.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError("%s must be an integer >= %d, got %r" % (name, low, value))
    if value < low:
        raise ValueError("%s must be an integer >= %d, got %r" % (name, low, value))
    return int(value)


def _in_float32(name, value):
    if not math.isfinite(value):
        raise ValueError("%s must be a finite number, got %r" % (name, value))
    if abs(value) >= FLOAT32_OVERFLOW:
        raise ValueError("%s=%g is not representable in float32 (largest %.3g), the type the course's data "
                         "and training use" % (name, value, FLOAT32_MAX))
    return value


def _check_truth(num_examples, true_w, true_b, noise, seed):
    num_examples = _integer("num_examples", num_examples, 1)
    if isinstance(true_w, (str, bytes)) or not isinstance(true_w, (list, tuple, onp.ndarray)):
        raise TypeError("true_w must be a list of numbers such as [2, -3.4], got %r" % (true_w,))
    true_w = tuple(_in_float32("true_w", _real("true_w", w)) for w in onp.ravel(onp.asarray(true_w, dtype=object)))
    if not true_w:
        raise ValueError("true_w must hold at least one weight, got an empty list")
    true_b = _in_float32("true_b", _real("true_b", true_b))
    noise = _in_float32("noise", _real("noise", noise))
    if noise < 0:
        raise ValueError("noise must be a finite number >= 0, got %r" % noise)
    if seed is not None:
        seed = _integer("seed", seed, 0)
    check_memory(data_bytes(num_examples, len(true_w)),
                 "%d examples with %d features" % (num_examples, len(true_w)))
    return num_examples, true_w, true_b, noise, seed


def data_bytes(num_examples, num_features):
    """Bytes of the float32 features and prices."""
    return int(num_examples) * (int(num_features) + 1) * 4


def available_memory():
    """Bytes this process may still allocate: MemAvailable, capped by a cgroup limit; None when unknown."""
    found = []
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    for limit_file, usage_file in (("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory.current"),
                                   ("/sys/fs/cgroup/memory/memory.limit_in_bytes",
                                    "/sys/fs/cgroup/memory/memory.usage_in_bytes")):
        try:
            limit, usage = (Path(p).read_text().strip() for p in (limit_file, usage_file))
            if limit.isdigit() and int(limit) < 2**60:
                found.append(max(0, int(limit) - int(usage)))
        except (OSError, ValueError):
            pass
    return min(found) if found else None


def _size(num_bytes):
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if num_bytes >= scale:
            return "%.3g %s" % (num_bytes / scale, unit)
    return "%d bytes" % num_bytes


def check_memory(num_bytes, what):
    """Raise `NotEnoughMemory` (a ValueError) if `num_bytes` exceed what the machine has available."""
    available = available_memory()
    if available is not None and num_bytes > available:
        raise NotEnoughMemory("%s need about %s of memory; this machine has %s available"
                              % (what, _size(num_bytes), _size(available)))


def check_room_to_train(num_examples, num_features, loaded=False):
    """Raise `NotEnoughMemory` unless a training run on data of this shape fits in memory (CLI, before it starts).

    `loaded`: the NumPy copy already exists, so it no longer counts against what is available.
    """
    need = (TRAINING_COPIES - bool(loaded)) * data_bytes(num_examples, num_features) + MXNET_BYTES
    check_memory(need, "%d examples with %d features to train on (%d copies of their float32 data, and MXNet)"
                 % (num_examples, num_features, TRAINING_COPIES))


def check_float32_training(data):
    """Raise ValueError if squared errors of these data overflow float32 (|values| beyond 1.8e19)."""
    for name, values in (("features", data.features), (LABEL_NAME, data.labels)):
        largest = float(onp.max(onp.abs(values))) if values.size else 0.0
        if not largest <= FLOAT32_TRAIN_MAX:
            raise ValueError("the data are not representable for float32 training: |%s| reaches %.3g, and the "
                             "squared error of values beyond %.3g overflows float32; scale the data down"
                             % (name, largest, FLOAT32_TRAIN_MAX))


# ---- generating --------------------------------------------------------------------------------------------

def _labels(features, true_w, true_b, noise, rng):
    """price = X w + b + N(0, noise^2), computed in float64 a block of rows at a time, stored as float32."""
    labels = onp.empty(len(features), dtype=onp.float32)
    w = onp.asarray(true_w, dtype=onp.float64)
    with onp.errstate(over="ignore", invalid="ignore"):
        for start in range(0, len(features), CHUNK_ROWS):
            rows = features[start:start + CHUNK_ROWS]
            clean = rows.astype(onp.float64) @ w + true_b
            labels[start:start + len(rows)] = clean + rng.normal(0.0, noise, size=len(rows))
    if not onp.all(onp.isfinite(labels)):
        raise ValueError("the prices reach beyond float32's range (largest %.3g): use smaller true_w, true_b "
                         "or noise" % FLOAT32_MAX)
    return labels


def synthetic_house_prices(num_examples=1000, true_w=(2.0, -3.4), true_b=4.2, noise=0.01, seed=0):
    """Standardized features ~ N(0, 1); price = X w + b + N(0, noise^2). The walkthrough's defaults.

    d2l's `SyntheticRegressionData` (and its `synthetic_data`) draws the same model (lesson 4).
    """
    num_examples, true_w, true_b, noise, seed = _check_truth(num_examples, true_w, true_b, noise, seed)
    rng = onp.random.default_rng(seed)
    features = onp.empty((num_examples, len(true_w)), dtype=onp.float32)
    for start in range(0, num_examples, CHUNK_ROWS):  # the same draws as one call, without a float64 copy
        rows = min(CHUNK_ROWS, num_examples - start)
        features[start:start + rows] = rng.normal(0.0, 1.0, size=(rows, len(true_w)))
    labels = _labels(features, true_w, true_b, noise, rng)
    return HouseData(features, labels, feature_names(len(true_w)), true_w, true_b, noise, seed)


def raw_house_prices(num_examples=1000, true_w=RAW_TRUE_W, true_b=RAW_TRUE_B, noise=RAW_NOISE, seed=0):
    """Area in m^2 and age in years, uniform over realistic ranges; price in thousands."""
    num_examples, true_w, true_b, noise, seed = _check_truth(num_examples, true_w, true_b, noise, seed)
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


# ---- saving ------------------------------------------------------------------------------------------------

def _format(value):
    """Shortest text that reads back as the same float32."""
    return onp.format_float_positional(onp.float32(value), unique=True, trim="-")


def _csv_blocks(data):
    yield ",".join(data.feature_names + (LABEL_NAME,)) + "\n"
    for start in range(0, data.num_examples, CHUNK_ROWS):
        rows, labels = data.features[start:start + CHUNK_ROWS], data.labels[start:start + CHUNK_ROWS]
        yield "".join(",".join([_format(v) for v in row] + [_format(label)]) + "\n" for row, label in zip(rows, labels))


def csv_text(data):
    """The CSV layout of `data/house_prices.csv`: header row, feature columns, then `price`."""
    return "".join(_csv_blocks(data))


def metadata(data, csv_sha256):
    """What made the CSV: the truth, the generator's settings and the CSV's SHA-256 (hex)."""
    return {
        "true_weight": list(data.true_w) if data.true_w is not None else None,
        "true_bias": data.true_b,
        "noise": data.noise,
        "num_examples": data.num_examples,
        "seed": data.seed,
        "form": data.form,
        "feature_names": list(data.feature_names),
        "label_name": LABEL_NAME,
        "generator": "gluon_lessons.data.%s_house_prices" % ("raw" if data.form == "raw" else "synthetic"),
        "csv_sha256": csv_sha256,
    }


def save_dataset(data, csv_path=DEFAULT_CSV, force=False):
    """Write `csv_path` and its `.json` sidecar atomically; refuse to overwrite unless `force`.

    The place is checked by `outputs.check_data_file` (never the package, never `data/` except the
    committed CSV itself); an existing file keeps its mode.
    """
    if not isinstance(data, HouseData):
        raise TypeError("data must be a HouseData, got %s" % type(data).__name__)
    csv_path = outputs.check_data_file(csv_path, "csv_path", default=DEFAULT_CSV)
    json_path = csv_path.with_suffix(".json")
    existing = [str(p) for p in (csv_path, json_path) if p.exists()]
    if existing and not force:
        raise FileExistsError("%s already exist%s; pass --force to overwrite"
                              % (" and ".join(existing), "" if len(existing) > 1 else "s"))
    digest = hashlib.sha256()

    def encoded():
        for block in _csv_blocks(data):
            payload = block.encode("ascii")
            digest.update(payload)
            yield payload
    outputs.write_atomically(csv_path, encoded())
    text = outputs.json_text(metadata(data, digest.hexdigest()), indent=2) + "\n"
    outputs.write_atomically(json_path, text.encode("ascii"))
    return csv_path, json_path


# ---- loading -----------------------------------------------------------------------------------------------

def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _number_list(value):
    return isinstance(value, list) and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)


def _read_sidecar(json_path, csv_path, header, num_examples):
    """The truth recorded beside `csv_path`, after checking every field's type and value and the CSV's hash."""
    def bad(reason):
        return DataFileError("%s: not a valid description of %s (%s)" % (json_path, csv_path.name, reason))
    try:
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError("%s: cannot read (%s)" % (json_path, error)) from None
    except ValueError as error:
        raise bad("not JSON: %s" % error) from None
    if not isinstance(meta, dict):
        raise bad("expected a JSON object")
    for key in ("true_weight", "true_bias", "noise", "csv_sha256"):
        if key not in meta:
            raise bad("%s is missing" % key)
    true_w, true_b, noise = meta["true_weight"], meta["true_bias"], meta["noise"]
    if (true_w, true_b, noise) != (None, None, None):
        if not _number_list(true_w) or len(true_w) != len(header) - 1:
            raise bad("true_weight must be a list of %d numbers, one per feature, got %r" % (len(header) - 1, true_w))
        if isinstance(true_b, bool) or not isinstance(true_b, (int, float)):
            raise bad("true_bias must be a number, got %r" % (true_b,))
        if isinstance(noise, bool) or not isinstance(noise, (int, float)) or not noise >= 0:
            raise bad("noise must be a number >= 0, got %r" % (noise,))
        if not all(math.isfinite(v) and abs(v) < FLOAT32_OVERFLOW for v in true_w + [true_b, noise]):
            raise bad("true_weight, true_bias and noise must be finite float32 numbers")
        true_w, true_b, noise = tuple(float(w) for w in true_w), float(true_b), float(noise)
    seed, form = meta.get("seed"), meta.get("form", "standardized")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        raise bad("seed must be an integer >= 0 or null, got %r" % (seed,))
    if form not in FORMS:
        raise bad("form must be one of %s, got %r" % (", ".join(FORMS), form))
    if "num_examples" in meta and meta["num_examples"] != num_examples:
        raise bad("num_examples is %r but the CSV has %d rows" % (meta["num_examples"], num_examples))
    if "feature_names" in meta and meta["feature_names"] != list(header[:-1]):
        raise bad("feature_names %r differ from the CSV's header %r" % (meta["feature_names"], header[:-1]))
    if meta.get("label_name", LABEL_NAME) != LABEL_NAME:
        raise bad("label_name must be %r, got %r" % (LABEL_NAME, meta["label_name"]))
    recorded = meta["csv_sha256"]
    if not (isinstance(recorded, str) and len(recorded) == 64 and all(c in "0123456789abcdef" for c in recorded)):
        raise bad("csv_sha256 must be 64 lowercase hex digits, got %r" % (recorded,))
    if recorded != _file_sha256(csv_path):
        raise DataFileError("%s does not describe %s: the CSV's SHA-256 differs from the recorded csv_sha256 (the "
                            "CSV changed after the description was written); regenerate both or delete the .json"
                            % (json_path, csv_path.name))
    return dict(true_w=true_w, true_b=true_b, noise=noise, seed=seed, form=form)


def _check_file_kind(csv_path):
    try:
        info = os.stat(csv_path)
    except FileNotFoundError:
        raise DataFileError("%s: no such file" % csv_path) from None
    except OSError as error:
        raise DataFileError("%s: cannot read (%s)" % (csv_path, error.strerror)) from None
    if stat.S_ISDIR(info.st_mode):
        raise DataFileError("%s is a folder, not a CSV file" % csv_path)
    if not stat.S_ISREG(info.st_mode):
        raise DataFileError("%s is not a regular file (a device, pipe or socket); give a CSV file" % csv_path)
    return info.st_size


def _read_header(f, csv_path):
    line = f.readline(HEADER_MAX_BYTES + 1)
    if not line:
        raise DataFileError("%s, line 1: empty file, expected a header row" % csv_path)
    if len(line) > HEADER_MAX_BYTES:
        raise DataFileError("%s, line 1: longer than %d characters; not a CSV header" % (csv_path, HEADER_MAX_BYTES))
    header = [name.strip() for name in next(csv.reader([line]), [])]
    if len(header) < 2 or header[-1] != LABEL_NAME:
        raise DataFileError("%s, line 1: header must be feature names then %r, got %r"
                            % (csv_path, LABEL_NAME, ",".join(header)))
    if not all(header) or len(set(header)) != len(header):  # results name each feature's weight
        raise DataFileError("%s, line 1: every column needs a name of its own, got %r" % (csv_path, ",".join(header)))
    return header


def _estimated_rows(f, csv_path, size, columns):
    """Rows of the CSV estimated from its size and the lines in its first 4 MB; refuses absurdly long lines."""
    start = f.tell()
    sample = f.read(SAMPLE_BYTES)
    f.seek(start)
    lines = sample.split("\n")
    longest = columns * (MAX_CELL_CHARS + 1)
    for number, line in enumerate(lines[:-1] if len(lines) > 1 else lines, start=2):
        if len(line) > longest:
            raise DataFileError("%s, line %d: longer than any row of %d numbers can be (%d characters)"
                                % (csv_path, number, columns, len(line)))
    complete = max(len(lines) - 1, 1)
    return max(1, int(size / max(1, len(sample)) * complete)) if sample else 0


def _scan_rows(csv_path, columns):
    """Parse the rows one by one: the first bad one raises DataFileError naming its line; else the float32 table."""
    blocks, block = [], []
    with open(csv_path, newline="", encoding="utf-8-sig") as f:
        reader = csv.reader(f)
        try:
            next(reader)
            for row in reader:
                line_number = reader.line_num
                if not row:
                    continue
                if len(row) != columns:
                    raise DataFileError("%s, line %d: expected %d values, got %d"
                                        % (csv_path, line_number, columns, len(row)))
                try:
                    values = [float(v) for v in row]
                except ValueError:
                    shown = ",".join(row)
                    shown = shown if len(shown) <= 80 else shown[:77] + "..."
                    raise DataFileError("%s, line %d: not a number in %r" % (csv_path, line_number, shown)) from None
                if not all(math.isfinite(v) for v in values):
                    raise DataFileError("%s, line %d: values must be finite" % (csv_path, line_number))
                if not all(abs(v) < FLOAT32_OVERFLOW for v in values):
                    raise DataFileError("%s, line %d: a value beyond %.3g is not representable in float32, the type "
                                        "the course's data and training use" % (csv_path, line_number, FLOAT32_MAX))
                block.append(values)
                if len(block) == CHUNK_ROWS:
                    blocks.append(onp.asarray(block, dtype=onp.float32))
                    block = []
        except csv.Error as error:
            reason = ("a value longer than %d characters, which no number needs" % MAX_CELL_CHARS
                      if "field limit" in str(error) else str(error))
            raise DataFileError("%s, line %d: %s" % (csv_path, reader.line_num, reason)) from None
    blocks.append(onp.asarray(block, dtype=onp.float32).reshape(-1, columns))
    return onp.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def _parse_rows(f, csv_path, columns):
    """NumPy's C parser on the rows after the header; any doubt (an error, a non-finite value) goes to `_scan_rows`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "input contained no data": reported below as "no data rows"
            table = onp.loadtxt(f, dtype=onp.float32, delimiter=",", comments=None, ndmin=2)
    except ValueError:
        table = None
    if table is None or (table.size and (table.shape[1] != columns or not onp.isfinite(table).all())):
        del table
        table = _scan_rows(csv_path, columns)
    return table


def load_dataset(csv_path=DEFAULT_CSV):
    """Read a CSV in the committed layout; the truth comes from its `.json` sidecar if there is one.

    Refused with a one-line `DataFileError` naming the file (and line): anything but a regular file,
    a malformed row, a value float32 cannot hold, more data than memory, a sidecar that does not
    describe this CSV (types, values, csv_sha256).
    """
    if not isinstance(csv_path, (str, os.PathLike)):
        raise TypeError("csv_path must be a path to a CSV file, got %r" % (csv_path,))
    csv_path = Path(csv_path)
    size = _check_file_kind(csv_path)
    try:
        with open(csv_path, encoding="utf-8-sig") as f:
            header = _read_header(f, csv_path)
            rows = _estimated_rows(f, csv_path, size, len(header))
            check_memory(LOADING_COPIES * rows * len(header) * 4,
                         "%s (about %d rows of %d numbers)" % (csv_path, rows, len(header)))
            table = _parse_rows(f, csv_path, len(header))
    except UnicodeDecodeError as error:
        raise DataFileError("%s: not UTF-8 text (%s)" % (csv_path, error.reason)) from None
    except OSError as error:
        raise DataFileError("%s: cannot read (%s)" % (csv_path, error.strerror or error)) from None
    if not table.size:
        raise DataFileError("%s: no data rows after the header" % csv_path)
    features, labels = onp.ascontiguousarray(table[:, :-1]), table[:, -1].copy()
    del table
    json_path = csv_path.with_suffix(".json")
    truth = _read_sidecar(json_path, csv_path, header, len(labels)) if json_path.is_file() else {}
    return HouseData(features, labels, tuple(header[:-1]), **truth)


def walkthrough_data():
    """The committed walkthrough data set, or the same data generated when `data/` is not at hand."""
    if DEFAULT_CSV.exists():
        return load_dataset(DEFAULT_CSV)
    return synthetic_house_prices(**WALKTHROUGH)
