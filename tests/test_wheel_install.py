"""A built wheel, installed into a fresh virtual environment and run from a folder that is not the repository:
the course works without `data/` beside it (lessons generate the walkthrough data) and writes nothing into the
installed package.

The fresh environment reuses the dependencies already installed in the suite's own environment (one line in a
.pth file naming that site-packages folder, never the repository), so nothing is downloaded to install the
wheel. That folder's editable-install hook is a .pth file inside it, which Python does not read there: the only
gluon_lessons the fresh environment can import is the installed wheel, and the test checks that it does.
"""
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TRUE_WEIGHT, TRUE_BIAS = [2.0, -3.4], 4.2


def snapshot(folder):
    """Every file under `folder`, caches included, with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def build_wheel(folder):
    """gluon_lessons as a wheel in `folder`, built from a copy of the sources (no build/ left in the repository)."""
    source = folder / "source"
    source.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(ROOT / "gluon_lessons", source / "gluon_lessons", ignore=shutil.ignore_patterns("__pycache__"))
    # With `wheel` (or a setuptools that has bdist_wheel) at hand, build offline; otherwise as pip install does.
    offline = importlib.util.find_spec("wheel") or importlib.util.find_spec("setuptools.command.bdist_wheel")
    argv = [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", str(source), "-w", str(folder / "dist")]
    built = subprocess.run(argv + (["--no-build-isolation"] if offline else []), capture_output=True, text=True)
    if built.returncode and "No matching distribution found" in built.stderr:
        pytest.skip("building the wheel needs setuptools and wheel from the package index, which is out of reach")
    assert built.returncode == 0, built.stderr[-3000:]
    (wheel,) = (folder / "dist").glob("gluon_lessons-*.whl")
    return wheel


def fresh_environment(folder, wheel):
    """A new virtual environment holding the wheel, with this environment's dependencies on its path."""
    venv = folder / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    # pip comes from the dependencies; --ignore-installed: the editable install seen there is not this environment's.
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--no-deps", "--no-index", "--ignore-installed",
                    str(wheel)], check=True, capture_output=True)
    return venv, site


def test_the_built_wheel_runs_the_course_from_a_folder_outside_the_repository(tmp_path):
    wheel = build_wheel(tmp_path)
    venv, site = fresh_environment(tmp_path, wheel)
    installed = site / "gluon_lessons"
    assert (installed / "shell" / "cli.py").is_file() and (installed / "lessons").is_dir()
    before = snapshot(installed)

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}
    env["PATH"] = str(venv / "bin") + os.pathsep + env.get("PATH", "")
    program = venv / "bin" / "gluon-lessons"
    assert program.read_text().splitlines()[0] == "#!" + str(venv / "bin" / "python")
    # Both commands at once (they take seconds each, mostly MXNet's import), and where this Python imports from.
    commands = {"run": [str(program), "run", "4", "--quick", "--json"], "train": [str(program), "train", "--json"],
                "where": [str(venv / "bin" / "python"), "-c",
                          "import json, sys, gluon_lessons; print(json.dumps([gluon_lessons.__file__, sys.path]))"]}
    running = {name: subprocess.Popen(argv, cwd=str(work), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                      text=True) for name, argv in commands.items()}
    out = {}
    for name, process in running.items():
        stdout, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, (name, stderr[-3000:])
        out[name] = json.loads(stdout.strip().splitlines()[-1])

    module_file, path = out["where"]
    assert Path(module_file) == installed / "__init__.py"
    assert not any(entry and Path(entry).resolve() == ROOT for entry in path), path

    run = out["run"]
    assert run["weight"] == pytest.approx(TRUE_WEIGHT, abs=0.02) and run["bias"] == pytest.approx(TRUE_BIAS, abs=0.02)
    assert run["true_weight"] == TRUE_WEIGHT and run["true_bias"] == TRUE_BIAS
    assert all((work / figure).is_file() for figure in run["figures"]) and run["figures"]
    train = out["train"]
    assert train["true_weight"] == TRUE_WEIGHT and train["true_bias"] == TRUE_BIAS
    assert train["weight"] == pytest.approx(TRUE_WEIGHT, abs=0.02)
    assert train["bias"] == pytest.approx(TRUE_BIAS, abs=0.02)

    assert snapshot(installed) == before, "the commands wrote into the installed package"
