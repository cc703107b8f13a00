"""Data files: the house prices as a CSV with a JSON description beside it (the truth that made them).

`gluon-lessons make-data` writes `data/house_prices.csv` and `.json`; `train --data` and the
parameter-server workers read a CSV back. Generating the data is the teaching core's
(`gluon_lessons.data`); this module checks and keeps the files.
"""

import csv
import hashlib
import json
import math
import os
import re
import stat
import warnings
from pathlib import Path

import numpy as onp

from ..data import FORMS, LABEL_NAME, HouseData
from .. import checks
from . import memory, outputs

DATA_DIR = outputs.DATA_DIR
DEFAULT_CSV = DATA_DIR / "house_prices.csv"
COMMITTED = (
    DEFAULT_CSV,
    DEFAULT_CSV.with_suffix(".json"),
)  # the files of data/ that make-data rewrites
FLOAT32_MAX = float(onp.finfo(onp.float32).max)  # 3.4e38
FLOAT32_OVERFLOW = 2.0**128 - 2.0**103  # numbers this large or larger round to infinity in float32
CHUNK_ROWS = 65536  # rows written or checked at a time
LOADING_COPIES = 1.5  # np.loadtxt's growing buffer; the features are then laid out in its memory
MAX_CELL_CHARS = 131072  # Python's csv field limit; no number needs more
HEADER_MAX_BYTES = 2**20
SAMPLE_BYTES = 2**22  # read to estimate the rows of a CSV from its size
DESCRIPTION_MAX_BYTES = 2**20  # a description (.json) is a few hundred bytes


class DataFileError(ValueError):
    """A data file is missing or malformed; the message names the file and line."""


# A number as a CSV holds it: ASCII digits, an optional sign, fraction and exponent, or inf/nan (refused
# later as not finite). Python's float() also reads `1_000` and other scripts' digits (`١٢`); a CSV does not.
_CSV_NUMBER = re.compile(
    r"\s*[-+]?(?:\d+\.?\d*(?:e[-+]?\d+)?|\.\d+(?:e[-+]?\d+)?|inf(?:inity)?|nan)\s*",
    re.ASCII | re.IGNORECASE,
)


def _number(text):
    if not _CSV_NUMBER.fullmatch(text):
        raise ValueError("not a number: %r" % text)
    return float(text)


# ---- saving ------------------------------------------------------------------------------------------------


def _format(value):
    """Shortest text that reads back as the same float32."""
    return onp.format_float_positional(onp.float32(value), unique=True, trim="-")


def _csv_blocks(data):
    yield ",".join(data.feature_names + (LABEL_NAME,)) + "\n"
    for start in range(0, data.num_examples, CHUNK_ROWS):
        rows, labels = (
            data.features[start : start + CHUNK_ROWS],
            data.labels[start : start + CHUNK_ROWS],
        )
        yield "".join(
            ",".join([_format(v) for v in row] + [_format(label)]) + "\n"
            for row, label in zip(rows, labels)
        )


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
        "generator": "gluon_lessons.data.%s_house_prices"
        % ("raw" if data.form == "raw" else "synthetic"),
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
        raise FileExistsError(
            "%s already exist%s; pass --force to overwrite"
            % (" and ".join(existing), "" if len(existing) > 1 else "s")
        )
    digest = hashlib.sha256()

    def encoded():
        for block in _csv_blocks(data):
            payload = block.encode("ascii")
            digest.update(payload)
            yield payload

    outputs.write_atomically(csv_path, encoded(), allowed=COMMITTED)
    text = outputs.json_text(metadata(data, digest.hexdigest()), indent=2) + "\n"
    outputs.write_atomically(json_path, text.encode("ascii"), allowed=COMMITTED)
    return csv_path, json_path


# ---- loading -----------------------------------------------------------------------------------------------


def _file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _read_sidecar(json_path, csv_path, header, num_examples):
    """The truth recorded beside `csv_path`, after checking every field's type and value and the CSV's hash."""

    def bad(reason):
        return DataFileError(
            "%s: not a valid description of %s (%s)" % (json_path, csv_path.name, reason)
        )

    try:
        size = json_path.stat().st_size
        if size > DESCRIPTION_MAX_BYTES:
            raise bad("%d bytes; a description is a few hundred" % size)
        meta = json.loads(json_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as error:
        raise DataFileError("%s: cannot read (%s)" % (json_path, error)) from None
    except RecursionError:
        raise bad("nested too deeply") from None
    except ValueError as error:
        raise bad("not JSON: %s" % error) from None
    if not isinstance(meta, dict):
        raise bad("expected a JSON object")
    for key in ("true_weight", "true_bias", "noise", "csv_sha256"):
        if key not in meta:
            raise bad("%s is missing" % key)
    true_w, true_b, noise = meta["true_weight"], meta["true_bias"], meta["noise"]
    seed, form = meta.get("seed"), meta.get("form", "standardized")
    try:
        if (true_w, true_b, noise) != (None, None, None):
            features = len(header) - 1
            true_w = checks.numbers("true_weight", true_w, min_length=features, max_length=features)
            true_b = checks.number("true_bias", true_b)
            noise = checks.number("noise", noise, 0.0)
        seed = None if seed is None else checks.integer("seed", seed, 0)
        checks.choice("form", form, FORMS)
    except ValueError as error:
        raise bad(str(error)) from None
    if "num_examples" in meta and meta["num_examples"] != num_examples:
        raise bad(
            "num_examples is %r but the CSV has %d rows" % (meta["num_examples"], num_examples)
        )
    if "feature_names" in meta and meta["feature_names"] != list(header[:-1]):
        raise bad(
            "feature_names %r differ from the CSV's header %r"
            % (meta["feature_names"], header[:-1])
        )
    if meta.get("label_name", LABEL_NAME) != LABEL_NAME:
        raise bad("label_name must be %r, got %r" % (LABEL_NAME, meta["label_name"]))
    recorded = meta["csv_sha256"]
    if not (
        isinstance(recorded, str)
        and len(recorded) == 64
        and all(c in "0123456789abcdef" for c in recorded)
    ):
        raise bad("csv_sha256 must be 64 lowercase hex digits, got %r" % (recorded,))
    if recorded != _file_sha256(csv_path):
        raise DataFileError(
            "%s does not describe %s: the CSV's SHA-256 differs from the recorded csv_sha256 (the "
            "CSV changed after the description was written); regenerate both or delete the .json"
            % (json_path, csv_path.name)
        )
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
        raise DataFileError(
            "%s is not a regular file (a device, pipe or socket); give a CSV file" % csv_path
        )
    return info.st_size


def _read_header(f, csv_path):
    line = f.readline(HEADER_MAX_BYTES + 1)
    if not line:
        raise DataFileError("%s, line 1: empty file, expected a header row" % csv_path)
    if len(line) > HEADER_MAX_BYTES:
        raise DataFileError(
            "%s, line 1: longer than %d characters; not a CSV header" % (csv_path, HEADER_MAX_BYTES)
        )
    header = [name.strip() for name in next(csv.reader([line]), [])]
    if len(header) < 2 or header[-1] != LABEL_NAME:
        raise DataFileError(
            "%s, line 1: header must be feature names then %r, got %r"
            % (csv_path, LABEL_NAME, ",".join(header))
        )
    if not all(header) or len(set(header)) != len(header):  # results name each feature's weight
        raise DataFileError(
            "%s, line 1: every column needs a name of its own, got %r"
            % (csv_path, ",".join(header))
        )
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
            raise DataFileError(
                "%s, line %d: longer than any row of %d numbers can be (%d characters)"
                % (csv_path, number, columns, len(line))
            )
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
                    raise DataFileError(
                        "%s, line %d: expected %d values, got %d"
                        % (csv_path, line_number, columns, len(row))
                    )
                try:
                    values = [_number(v) for v in row]
                except ValueError:
                    shown = ",".join(row)
                    shown = shown if len(shown) <= 80 else shown[:77] + "..."
                    raise DataFileError(
                        "%s, line %d: not a number in %r" % (csv_path, line_number, shown)
                    ) from None
                if not all(math.isfinite(v) for v in values):
                    raise DataFileError(
                        "%s, line %d: values must be finite" % (csv_path, line_number)
                    )
                if not all(abs(v) < FLOAT32_OVERFLOW for v in values):
                    raise DataFileError(
                        "%s, line %d: a value beyond %.3g is not representable in float32, the type "
                        "the course's data and training use" % (csv_path, line_number, FLOAT32_MAX)
                    )
                block.append(values)
                if len(block) == CHUNK_ROWS:
                    blocks.append(onp.asarray(block, dtype=onp.float32))
                    block = []
        except csv.Error as error:
            reason = (
                "a value longer than %d characters, which no number needs" % MAX_CELL_CHARS
                if "field limit" in str(error)
                else str(error)
            )
            raise DataFileError("%s, line %d: %s" % (csv_path, reader.line_num, reason)) from None
    blocks.append(onp.asarray(block, dtype=onp.float32).reshape(-1, columns))
    return onp.concatenate(blocks) if len(blocks) > 1 else blocks[0]


def _parse_rows(f, csv_path, columns):
    """NumPy's C parser on the rows after the header; any doubt (an error, a non-finite value) goes to `_scan_rows`."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore"
            )  # "input contained no data": reported below as "no data rows"
            table = onp.loadtxt(f, dtype=onp.float32, delimiter=",", comments=None, ndmin=2)
    except ValueError:
        table = None
    if table is None or (
        table.size and (table.shape[1] != columns or not onp.isfinite(table).all())
    ):
        del table
        table = _scan_rows(csv_path, columns)
    return table


def _split_columns(table):
    """(features, labels) of a float32 table whose last column is the label, the features laid out
    contiguously inside the table's own memory: no second copy of the data is made.

    Row block by row block, each row's features move down to where a table without the label column
    would hold them; a block's destination never lies after its source, so nothing is overwritten
    before it is moved (NumPy copies through a buffer where a block overlaps itself).
    """
    table = onp.ascontiguousarray(table)  # (loadtxt's table already is: then this copies nothing)
    num_rows, columns = table.shape
    labels = table[:, -1].copy()
    flat = table.reshape(-1)  # a view of the same memory
    width = columns - 1
    for start in range(0, num_rows, CHUNK_ROWS):
        end = min(start + CHUNK_ROWS, num_rows)
        flat[start * width:end * width] = table[start:end, :width].reshape(-1)
    return flat[:num_rows * width].reshape(num_rows, width), labels


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
            memory.check_memory(
                LOADING_COPIES * rows * len(header) * 4,
                "%s (about %d rows of %d numbers)" % (csv_path, rows, len(header)),
            )
            table = _parse_rows(f, csv_path, len(header))
    except UnicodeDecodeError as error:
        raise DataFileError("%s: not UTF-8 text (%s)" % (csv_path, error.reason)) from None
    except OSError as error:
        raise DataFileError("%s: cannot read (%s)" % (csv_path, error.strerror or error)) from None
    if not table.size:
        raise DataFileError("%s: no data rows after the header" % csv_path)
    features, labels = _split_columns(table)
    del table
    json_path = csv_path.with_suffix(".json")
    truth = _read_sidecar(json_path, csv_path, header, len(labels)) if json_path.is_file() else {}
    return HouseData(features, labels, tuple(header[:-1]), **truth)
