"""The command line: its JSON contract, one-line errors with exit code 2, nothing in data/ lost."""
import json
import subprocess
import sys

import mxnet as mx
import pytest

from gluon_lessons import data as house_data
from gluon_lessons.shell import cli, datafiles


def _run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_train_json_is_the_last_stdout_line_and_matches_the_truth(capsys):
    code, out, err = _run(capsys, "train", "--json", "--ctx", "cpu")
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    for key in ("weight", "bias", "true_weight", "true_bias", "ols_weight", "ols_bias", "loss", "epochs",
                "batch_size", "lr", "momentum", "optimizer", "ctx", "seed", "num_examples", "seconds_per_epoch"):
        assert key in result
    assert result["true_weight"] == [2.0, -3.4] and result["ctx"] == ["cpu(0)"]
    assert (result["epochs"], result["batch_size"], result["lr"], result["seed"]) == (3, 10, 0.03, 0)
    assert all(abs(w - t) < 0.01 for w, t in zip(result["weight"], result["true_weight"]))
    assert all(abs(w - o) < 2e-3 for w, o in zip(result["weight"], result["ols_weight"]))
    assert 0 < result["loss"] < 1e-3 and result["seconds_per_epoch"] > 0
    assert "epoch 3, loss" in err  # messages go to stderr


def test_train_on_a_data_file_with_more_features(capsys, tmp_path):
    path = tmp_path / "four.csv"
    datafiles.save_dataset(house_data.synthetic_house_prices(500, true_w=[1, -1, 0.5, 2], true_b=1), path)
    code, out, _ = _run(capsys, "train", "--data", str(path), "--epochs", "5", "--json", "--out", str(tmp_path / "o"))
    result = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and result["true_weight"] == [1.0, -1.0, 0.5, 2.0] and result["num_examples"] == 500
    assert all(abs(w - t) < 0.01 for w, t in zip(result["weight"], result["true_weight"]))
    assert (tmp_path / "o" / "loss.png").exists()
    assert json.loads((tmp_path / "o" / "result.json").read_text())["weight"] == result["weight"]


@pytest.mark.parametrize("argv, message", [
    (["train", "--batch-size", "0"], "--batch-size must be an integer >= 1"),
    (["train", "--lr", "0"], "lr: learning rate must be a number > 0, got 0.0"),
    (["train", "--lr", "1e39"], "--lr must be a number that float32 can hold"),
    (["train", "--lr", "1e-320"], "--lr must be a number that float32 can hold"),
    (["train", "--momentum", "1e-320"], "--momentum must be a number that float32 can hold"),
    (["train", "--lr", "-0.1"], "learning rate"),
    (["train", "--momentum", "1"], "momentum must be a number in [0, 1), got 1.0"),
    (["train", "--momentum", "-0.5"], "momentum"),
    (["train", "--epochs", "0"], "--epochs must be an integer >= 1"),
    (["train", "--num-examples", "0"], "--num-examples must be an integer >= 1"),
    (["train", "--true-w", "2,abc"], "--true-w must be a comma list"),
    (["train", "--noise", "-1"], "noise must be a number >= 0, got -1.0"),
    (["train", "--optimizer", "adam"], "invalid choice"),
    (["train", "--ctx", "tpu"], "unknown device"),
    (["train", "--seed", "-3"], "--seed"),
    (["train", "--data", "/nonexistent/prices.csv"], "/nonexistent/prices.csv: no such file"),
    (["train", "--data", "data/house_prices.csv", "--noise", "1"], "cannot be combined"),
    (["run", "no-such-lesson"], "unknown lesson 'no-such-lesson'"),
    (["run", "data", "--set", "colour=3"], "no setting colour"),
    (["frobnicate"], "invalid choice"),
    (["train", "--out", str(datafiles.DATA_DIR)], "refusing to write output into"),
    (["run", "data", "--out", str(datafiles.DATA_DIR / "figures")], "refusing to write output into"),
    ([], "required"),
])
def test_bad_input_gives_one_line_and_exit_code_2(capsys, argv, message):
    code, out, err = _run(capsys, *argv)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def test_malformed_data_file_names_file_and_line(capsys, tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text("area,age,price\n1,2,3\n4,5\n")
    code, _, err = _run(capsys, "train", "--data", str(path))
    assert code == 2 and "broken.csv, line 3" in err and len(err.strip().splitlines()) == 1


def test_divergence_is_one_line_and_nonzero(capsys):
    code, _, err = _run(capsys, "train", "--lr", "5", "--ctx", "cpu")
    assert code == 1 and "diverged at epoch 1, step" in err and "smaller learning rate" in err
    assert err.strip().splitlines()[-1].startswith("gluon-lessons: error:")


@pytest.mark.skipif(mx.context.num_gpus() > 0, reason="a GPU is present, so asking for one is not an error")
def test_missing_gpu_is_one_line_naming_the_fix(capsys):
    code, _, err = _run(capsys, "train", "--ctx", "gpu:0")
    assert code == 1 and "mxnet-cu117==1.9.1" in err and "--ctx cpu" in err
    assert len(err.strip().splitlines()) == 1


def test_make_data_refuses_to_overwrite_and_regenerates_identically(capsys, tmp_path):
    target = tmp_path / "house_prices.csv"
    assert _run(capsys, "make-data", "--out", str(target))[0] == 0
    assert target.read_bytes() == datafiles.DEFAULT_CSV.read_bytes()
    target.write_text("precious\n")
    code, _, err = _run(capsys, "make-data", "--out", str(target))
    assert code == 2 and "--force" in err and target.read_text() == "precious\n"
    assert _run(capsys, "make-data", "--out", str(target), "--force")[0] == 0
    assert target.read_bytes() == datafiles.DEFAULT_CSV.read_bytes()


def test_committed_data_is_protected(capsys):
    before = datafiles.DEFAULT_CSV.read_bytes()
    code, _, err = _run(capsys, "make-data")
    assert code == 2 and "already exist" in err and datafiles.DEFAULT_CSV.read_bytes() == before


def test_list_names_every_lesson(capsys):
    from gluon_lessons.lessons import LESSONS
    code, out, _ = _run(capsys, "list")
    assert code == 0
    for lesson in LESSONS:
        assert lesson.slug in out


def test_run_a_lesson_by_number_with_json(capsys, tmp_path):
    code, out, _ = _run(capsys, "run", "1", "--quick", "--out", str(tmp_path), "--json")
    findings = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and findings["num_examples"] == 200 and (tmp_path / "standardized.png").exists()


def test_module_entry_point_runs_without_traceback(tmp_path):
    done = subprocess.run([sys.executable, "-m", "gluon_lessons", "train", "--epochs", "1", "--batch-size", "-2"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    done = subprocess.run([sys.executable, "-m", "gluon_lessons", "train", "--epochs", "1", "--json"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and json.loads(done.stdout.strip().splitlines()[-1])["epochs"] == 1
