"""House-price data: the truth it is made from, the committed files, and bad files."""
import hashlib
import json
import os
import stat
from pathlib import Path

import numpy as onp
import pytest

from gluon_lessons import data as house_data
from gluon_lessons.shell import datafiles, memory
from gluon_lessons.shell import train as shell_train


def test_labels_follow_the_true_line_up_to_the_noise(walkthrough):
    residual = walkthrough.labels - (walkthrough.features @ onp.array([2.0, -3.4]) + 4.2)
    # 1000 Gaussian draws: the sample std is within ~10% of sigma with overwhelming probability.
    assert residual.std() == pytest.approx(0.01, rel=0.1)
    assert abs(residual.mean()) < 4 * 0.01 / onp.sqrt(1000)
    assert walkthrough.features.dtype == onp.float32 and walkthrough.features.shape == (1000, 2)
    assert walkthrough.feature_names == ("area", "age")


def test_number_of_features_follows_the_true_weights():
    data = house_data.synthetic_house_prices(50, true_w=[1, 2, 3, 4], true_b=0, noise=0)
    assert data.features.shape == (50, 4)
    assert data.feature_names == ("area", "age", "feature_3", "feature_4")
    onp.testing.assert_allclose(data.labels, data.features @ onp.array([1, 2, 3, 4.0]), rtol=1e-5, atol=1e-5)


def test_raw_units_lie_in_their_ranges():
    raw = house_data.raw_house_prices(2000, seed=1)
    area, age = raw.features.T
    assert raw.feature_names == ("area_m2", "age_years")
    assert area.min() >= 30 and area.max() <= 250 and age.min() >= 0 and age.max() <= 60
    z, mean, std = house_data.standardize(raw.features)
    onp.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-5)
    onp.testing.assert_allclose(z.std(axis=0), 1, atol=1e-5)
    onp.testing.assert_allclose(mean, [140, 30], rtol=0.05)  # uniform midpoints


@pytest.mark.parametrize("kwargs", [dict(num_examples=0), dict(true_w=[]), dict(true_w=[1, float("nan")]),
                                    dict(noise=-1), dict(true_b=float("inf")), dict(seed=-1)])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        house_data.synthetic_house_prices(**kwargs)


@pytest.mark.parametrize("kwargs", [dict(num_examples=2.5), dict(num_examples=True), dict(noise=None),
                                    dict(noise="0.1"), dict(true_b=None), dict(true_w="12"), dict(true_w=3.0),
                                    dict(true_w=["1", "2"]), dict(seed=1.5)])
def test_wrong_types_are_refused_naming_the_argument(kwargs):
    with pytest.raises(ValueError, match=list(kwargs)[0]):
        house_data.synthetic_house_prices(**kwargs)


def test_numpy_scalars_are_numbers():
    data = house_data.synthetic_house_prices(onp.int64(20), true_w=onp.array([1.0, 2.0], onp.float32),
                                             true_b=onp.float32(0.5), noise=onp.float64(0.0), seed=onp.int32(1))
    onp.testing.assert_allclose(data.labels, data.features @ [1.0, 2.0] + 0.5, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs", [dict(true_b=1e39), dict(true_w=[1e300, 1e300]), dict(noise=1e39)])
def test_values_float32_cannot_hold_are_refused_as_such(kwargs):
    with pytest.raises(ValueError, match="that float32 can hold"):
        house_data.synthetic_house_prices(**kwargs)


def test_prices_beyond_float32_are_refused_for_training():
    beyond = house_data.synthetic_house_prices(50, true_w=[3e38, 3e38], true_b=3e38)  # each fits, the sum not
    with pytest.raises(ValueError, match="not representable for float32 training: \\|price\\| reaches inf"):
        shell_train.check_float32_training(beyond)
    loud = house_data.synthetic_house_prices(50, noise=1e30)  # representable, but its square is not
    with pytest.raises(ValueError, match="not representable for float32 training.*1.84e\\+19"):
        shell_train.check_float32_training(loud)
    shell_train.check_float32_training(house_data.synthetic_house_prices(50, noise=1e18))  # squares still fit


@pytest.mark.parametrize("block_rows", [house_data.BLOCK_ROWS, 1, 7, 999, 1000])
def test_generation_draws_all_features_then_all_the_noise(monkeypatch, block_rows):
    # As d2l's synthetic_data: one rng.normal call for all features, then one for all the noise;
    # generating a block of rows at a time gives those same numbers.
    monkeypatch.setattr(house_data, "BLOCK_ROWS", block_rows)
    rng = onp.random.default_rng(4)
    features = rng.normal(0.0, 1.0, size=(1000, 3)).astype(onp.float32)
    clean = features.astype(onp.float64) @ onp.array([1.0, -2.0, 0.5]) + 3.0
    labels = (clean + rng.normal(0.0, 0.1, size=1000)).astype(onp.float32)
    data = house_data.synthetic_house_prices(1000, true_w=[1.0, -2.0, 0.5], true_b=3.0, noise=0.1, seed=4)
    assert onp.array_equal(data.features, features) and onp.array_equal(data.labels, labels)


def test_memory_is_checked_before_allocating(monkeypatch, tmp_path):
    monkeypatch.setattr(memory, "available_memory", lambda: 10_000_000)  # 10 MB
    with pytest.raises(memory.NotEnoughMemory, match="1000000 examples with 2 features to train on"):
        shell_train.training_data(num_examples=1_000_000)  # checked before the data are generated
    with pytest.raises(memory.NotEnoughMemory, match="400000 examples with 2 features to train on"):
        memory.check_room_to_train(400_000, 2)
    path = tmp_path / "big.csv"
    # 9.6 MB of float32: loading needs datafiles.LOADING_COPIES (1.5) times that, more than 10 MB
    path.write_text("a,b,price\n" + "1.5,2.5,3.5\n" * 800_000)
    with pytest.raises(memory.NotEnoughMemory, match="big.csv"):
        datafiles.load_dataset(path)


def test_available_memory_is_what_the_machine_reports():
    available = memory.available_memory()
    with open("/proc/meminfo") as f:
        total = int(next(line for line in f if line.startswith("MemTotal:")).split()[1]) * 1024
    assert available is not None and 0 < available <= total


def test_regeneration_equals_the_committed_files(tmp_path):
    committed_csv = datafiles.DEFAULT_CSV
    csv_path, json_path = datafiles.save_dataset(house_data.synthetic_house_prices(**house_data.WALKTHROUGH),
                                                  tmp_path / "house_prices.csv")
    assert csv_path.read_bytes() == committed_csv.read_bytes()
    assert json_path.read_bytes() == committed_csv.with_suffix(".json").read_bytes()
    meta = json.loads(json_path.read_text())
    assert meta["true_weight"] == [2.0, -3.4] and meta["true_bias"] == 4.2
    assert meta["noise"] == 0.01 and meta["num_examples"] == 1000 and meta["seed"] == 0


def test_committed_csv_reads_back_as_the_generated_float32_values(walkthrough):
    loaded = datafiles.load_dataset()
    assert onp.array_equal(loaded.features, walkthrough.features)
    assert onp.array_equal(loaded.labels, walkthrough.labels)
    assert loaded.true_w == (2.0, -3.4) and loaded.true_b == 4.2 and loaded.feature_names == ("area", "age")


def test_existing_files_are_not_overwritten_without_force(tmp_path):
    target = tmp_path / "d.csv"
    small = house_data.synthetic_house_prices(5)
    datafiles.save_dataset(small, target)
    before = target.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        datafiles.save_dataset(house_data.synthetic_house_prices(7), target)
    assert target.read_bytes() == before
    datafiles.save_dataset(house_data.synthetic_house_prices(7), target, force=True)
    assert len(target.read_text().splitlines()) == 8
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.json"]  # no temporary files left


@pytest.mark.parametrize("text, message", [
    ("", "line 1: empty file"),
    ("area,age,cost\n1,2,3\n", "line 1: header"),
    ("area,age,price\n1,2,3\n1,2\n", "line 3: expected 3 values, got 2"),
    ("area,age,price\n1,2,3\n1,x,3\n", "line 3: not a number"),
    ("area,age,price\n1,nan,3\n", "line 2: values must be finite"),
    ("area,age,price\n", "no data rows"),
])
def test_malformed_files_name_the_file_and_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(datafiles.DataFileError, match=message) as caught:
        datafiles.load_dataset(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_bad_sidecar(tmp_path):
    with pytest.raises(datafiles.DataFileError, match="no such file"):
        datafiles.load_dataset(tmp_path / "absent.csv")
    (tmp_path / "d.csv").write_text("area,age,price\n1,2,3\n")
    (tmp_path / "d.json").write_text('{"true_weight": [1]}')
    with pytest.raises(datafiles.DataFileError, match="d.json"):
        datafiles.load_dataset(tmp_path / "d.csv")


def _write_pair(folder, text="area,age,price\n1,2,3\n4,5,6\n", **meta):
    """A CSV and a sidecar that describes it; `meta` overrides fields of the sidecar."""
    csv_path = folder / "d.csv"
    csv_path.write_text(text)
    sidecar = {"true_weight": [2.0, -3.4], "true_bias": 4.2, "noise": 0.01, "num_examples": 2, "seed": 0,
               "form": "standardized", "feature_names": ["area", "age"], "label_name": "price",
               "csv_sha256": hashlib.sha256(text.encode()).hexdigest()}
    sidecar.update(meta)
    csv_path.with_suffix(".json").write_text(json.dumps(sidecar))
    return csv_path


def test_a_sidecar_that_describes_its_csv_is_read(tmp_path):
    loaded = datafiles.load_dataset(_write_pair(tmp_path))
    assert loaded.true_w == (2.0, -3.4) and loaded.true_b == 4.2 and loaded.noise == 0.01 and loaded.seed == 0


@pytest.mark.parametrize("meta, message", [
    (dict(true_weight="12"), "true_weight must be a list of 2 numbers"),
    (dict(true_weight=[5.0]), "true_weight must be a list of 2 numbers"),
    (dict(true_weight=[True, 1.0]), "each of true_weight must be a number, got True"),
    (dict(true_bias="4.2"), "true_bias must be a number"),
    (dict(noise=-1), "noise must be a number >= 0"),
    (dict(true_weight=[1e39, 1.0]), "true_weight must be a number that float32 can hold"),
    (dict(true_bias=10**400), "true_bias must be a number, got 1000"),
    (dict(seed=-3), "seed must be an integer >= 0"),
    (dict(form="cooked"), "form must be one of"),
    (dict(num_examples=5), "num_examples is 5 but the CSV has 2 rows"),
    (dict(feature_names=["a", "b"]), "feature_names"),
    (dict(label_name="cost"), "label_name"),
    (dict(csv_sha256="abc"), "csv_sha256 must be 64 lowercase hex digits"),
    (dict(csv_sha256="0" * 64), "does not describe d.csv"),
])
def test_a_sidecar_is_checked_field_by_field_and_against_the_csv(tmp_path, meta, message):
    with pytest.raises(datafiles.DataFileError, match=message):
        datafiles.load_dataset(_write_pair(tmp_path, **meta))


def test_a_csv_changed_after_its_sidecar_is_refused(tmp_path):
    # What a kill between the two renames of save_dataset, or an edited CSV, leaves: old truth, new data.
    target = tmp_path / "d.csv"
    datafiles.save_dataset(house_data.synthetic_house_prices(20, true_w=[5.0, 5.0], true_b=99.0), target)
    fresh = house_data.synthetic_house_prices(20, seed=3)
    target.write_text(datafiles.csv_text(fresh))
    with pytest.raises(datafiles.DataFileError, match="does not describe d.csv"):
        datafiles.load_dataset(target)
    target.with_suffix(".json").unlink()
    assert datafiles.load_dataset(target).true_w is None  # without a sidecar: data, no truth


@pytest.mark.parametrize("name, message", [("x.json", "ends in .json"), ("X.JSON", "ends in .json")])
def test_save_refuses_a_csv_name_its_sidecar_would_overwrite(tmp_path, name, message):
    with pytest.raises(ValueError, match=message):
        datafiles.save_dataset(house_data.synthetic_house_prices(5), tmp_path / name)
    assert list(tmp_path.iterdir()) == []


def test_save_refuses_folders_the_package_and_other_files_in_data(tmp_path):
    small = house_data.synthetic_house_prices(5)
    with pytest.raises(ValueError, match="is a folder"):
        datafiles.save_dataset(small, tmp_path, force=True)
    with pytest.raises(ValueError, match="refusing to write into"):
        datafiles.save_dataset(small, Path(house_data.__file__).parent / "x.csv")
    with pytest.raises(ValueError, match="refusing to write into"):
        datafiles.save_dataset(small, datafiles.DATA_DIR / "other.csv")
    with pytest.raises(TypeError, match="data must be a HouseData"):
        datafiles.save_dataset("not data", tmp_path / "x.csv")


def test_overwriting_keeps_the_mode_and_new_files_follow_the_umask(tmp_path):
    target = tmp_path / "d.csv"
    datafiles.save_dataset(house_data.synthetic_house_prices(5), target)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    target.chmod(0o640)
    target.with_suffix(".json").chmod(0o604)
    datafiles.save_dataset(house_data.synthetic_house_prices(7), target, force=True)
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert stat.S_IMODE(target.with_suffix(".json").stat().st_mode) == 0o604
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "d.json"]


@pytest.mark.parametrize("text, message", [
    ("area,age,price\n1,1e39,3\n", "line 2: a value beyond 3.4e\\+38 is not representable in float32"),
    ("area,age,price\n1,2,3\n" + "1" * 200_000 + ",2,3\n", "line 3: a value longer than 131072 characters"),
    ("area,age,price\n1,2,3\n1,2,3,4\n", "line 3: expected 3 values, got 4"),
    ("area,age,price\n1,2,3\n1,,3\n", "line 3: not a number"),
    ("price\n1\n", "header must be feature names then 'price'"),
    ("area,age,price\n" + "9" * 500_000 + "\n", "line 2: longer than any row of 3 numbers"),
])
def test_more_malformed_files(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(datafiles.DataFileError, match=message):
        datafiles.load_dataset(path)


def test_what_is_not_a_regular_file_is_refused_before_reading(tmp_path):
    os.mkfifo(tmp_path / "pipe.csv")  # reading it would block forever
    for path, message in ((tmp_path / "pipe.csv", "not a regular file"), (Path("/dev/zero"), "not a regular file"),
                          (tmp_path, "is a folder")):
        with pytest.raises(datafiles.DataFileError, match=message):
            datafiles.load_dataset(path)
    with pytest.raises(TypeError, match="csv_path"):
        datafiles.load_dataset(None)


def test_layouts_the_csv_module_reads_load_the_same(tmp_path):
    expected = onp.array([[1, 2, 3], [4, 5, 6]], dtype=onp.float32)
    for text in ("area,age,price\r\n1,2,3\r\n4,5,6\r\n",  # Windows line ends
                 "\ufeffarea,age,price\n1,2,3\n\n4,5,6",  # a byte-order mark, a blank line, no final newline
                 'area,age,price\n"1",2,3\n4, 5 ,6\n'):  # a quoted number (the slow path) and spaces
        path = tmp_path / "ok.csv"
        path.write_text(text, encoding="utf-8")
        loaded = datafiles.load_dataset(path)
        assert loaded.feature_names == ("area", "age")
        assert onp.array_equal(loaded.features, expected[:, :2]) and onp.array_equal(loaded.labels, expected[:, 2])


def test_least_squares_and_loss_in_blocks_equal_one_pass_on_all_rows(monkeypatch):
    # Large data are reduced block by block (no float64 copy of them all); the answer must not change.
    from gluon_lessons import model
    raw = house_data.raw_house_prices(1000, true_w=[3.0, -2.0, 0.5], seed=2)  # raw units: ill-conditioned
    design = onp.hstack([raw.features.astype(onp.float64), onp.ones((1000, 1))])
    reference = onp.linalg.lstsq(design, raw.labels.astype(onp.float64), rcond=None)[0]
    monkeypatch.setattr(model, "ROWS_PER_BLOCK", 64)  # 16 blocks, the last one partial
    weight, bias = model.least_squares(raw.features, raw.labels)
    # Householder QR and lstsq's SVD are both backward stable: they agree to ~kappa * 1e-16 relative.
    onp.testing.assert_allclose(onp.append(weight, bias), reference, rtol=1e-9)
    residual = design @ reference - raw.labels
    assert model.mean_l2_loss(raw.features, raw.labels, weight, bias) == pytest.approx(0.5 * onp.mean(residual ** 2),
                                                                                       rel=1e-12)
    twin = onp.repeat(raw.features[:, :1], 2, axis=1)  # two equal columns: many solutions, lstsq's has least norm
    weight, bias = model.least_squares(twin, 2 * raw.features[:, 0] + 1)
    onp.testing.assert_allclose(onp.append(weight, bias), [1.0, 1.0, 1.0], rtol=1e-8)


def test_save_makes_the_folders_it_needs_only_when_it_writes(tmp_path):
    target = tmp_path / "new" / "sub" / "hp.csv"
    with pytest.raises(ValueError):
        datafiles.save_dataset(house_data.synthetic_house_prices(5), tmp_path / "new" / "sub" / "hp.json")
    assert not (tmp_path / "new").exists()
    datafiles.save_dataset(house_data.synthetic_house_prices(5), target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["hp.csv", "hp.json"]


@pytest.mark.parametrize("chunk_rows", [datafiles.CHUNK_ROWS, 1, 3, 1000])
def test_columns_split_inside_the_table_equal_a_plain_split(monkeypatch, chunk_rows):
    # The features are moved down inside the loaded table's memory; compare with copies made apart.
    monkeypatch.setattr(datafiles, "CHUNK_ROWS", chunk_rows)
    table = onp.random.default_rng(0).normal(size=(1000, 4)).astype(onp.float32)
    expected_features, expected_labels = table[:, :-1].copy(), table[:, -1].copy()
    features, labels = datafiles._split_columns(table)
    assert onp.array_equal(features, expected_features) and onp.array_equal(labels, expected_labels)
    assert features.flags.c_contiguous and onp.shares_memory(features, table)
