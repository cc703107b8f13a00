"""House-price data: the truth it is made from, the committed files, and bad files."""
import json

import numpy as onp
import pytest

from gluon_lessons import data as house_data


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


@pytest.mark.parametrize("kwargs", [dict(num_examples=0), dict(num_examples=2.5), dict(true_w=[]),
                                    dict(true_w=[1, float("nan")]), dict(noise=-1), dict(true_b=float("inf"))])
def test_bad_settings_are_refused(kwargs):
    with pytest.raises(ValueError):
        house_data.synthetic_house_prices(**kwargs)


def test_regeneration_equals_the_committed_files(tmp_path):
    committed_csv = house_data.DEFAULT_CSV
    csv_path, json_path = house_data.save_dataset(house_data.synthetic_house_prices(**house_data.WALKTHROUGH),
                                                  tmp_path / "house_prices.csv")
    assert csv_path.read_bytes() == committed_csv.read_bytes()
    assert json_path.read_bytes() == committed_csv.with_suffix(".json").read_bytes()
    meta = json.loads(json_path.read_text())
    assert meta["true_weight"] == [2.0, -3.4] and meta["true_bias"] == 4.2
    assert meta["noise"] == 0.01 and meta["num_examples"] == 1000 and meta["seed"] == 0


def test_committed_csv_reads_back_as_the_generated_float32_values(walkthrough):
    loaded = house_data.load_dataset()
    assert onp.array_equal(loaded.features, walkthrough.features)
    assert onp.array_equal(loaded.labels, walkthrough.labels)
    assert loaded.true_w == (2.0, -3.4) and loaded.true_b == 4.2 and loaded.feature_names == ("area", "age")


def test_existing_files_are_not_overwritten_without_force(tmp_path):
    target = tmp_path / "d.csv"
    small = house_data.synthetic_house_prices(5)
    house_data.save_dataset(small, target)
    before = target.read_bytes()
    with pytest.raises(FileExistsError, match="--force"):
        house_data.save_dataset(house_data.synthetic_house_prices(7), target)
    assert target.read_bytes() == before
    house_data.save_dataset(house_data.synthetic_house_prices(7), target, force=True)
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
    with pytest.raises(house_data.DataFileError, match=message) as caught:
        house_data.load_dataset(path)
    assert str(path) in str(caught.value)


def test_missing_file_and_bad_sidecar(tmp_path):
    with pytest.raises(house_data.DataFileError, match="no such file"):
        house_data.load_dataset(tmp_path / "absent.csv")
    (tmp_path / "d.csv").write_text("area,age,price\n1,2,3\n")
    (tmp_path / "d.json").write_text('{"true_weight": [1]}')
    with pytest.raises(house_data.DataFileError, match="d.json"):
        house_data.load_dataset(tmp_path / "d.csv")
