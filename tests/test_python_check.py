"""`make` picks a supported Python (3.8-3.11), or builds .venv with uv, or says in one line where to get 3.11."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIND_PYTHON = Path(__file__).resolve().parent.parent / "tools" / "find_python.sh"

FAKE_PYTHON_312 = """#!/bin/sh
# Answers like Python 3.12: fails the 3.8-3.11 check, prints 3.12 when asked its version.
case "$2" in *print*) echo 3.12 ;; *) exit 1 ;; esac
"""


def _find(env):
    return subprocess.run(["/bin/sh", str(FIND_PYTHON)], capture_output=True, text=True, env=env)


def test_only_python_312_on_path_is_refused_with_one_line(tmp_path):
    fake = tmp_path / "python3"
    fake.write_text(FAKE_PYTHON_312)
    fake.chmod(0o755)
    done = _find({"PATH": str(tmp_path)})
    assert done.returncode == 1 and done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "found 3.12" in lines[0] and "3.8-3.11" in lines[0] and "numpy<1.24" in lines[0]


def test_an_explicit_unsupported_python_is_refused(tmp_path):
    fake = tmp_path / "python3.12"
    fake.write_text(FAKE_PYTHON_312)
    fake.chmod(0o755)
    done = _find({"PATH": str(tmp_path), "PYTHON": str(fake)})
    assert done.returncode == 1 and "is not Python 3.8-3.11" in done.stderr


def test_the_running_python_is_accepted():
    # The suite itself runs on a supported Python, so naming it explicitly must be accepted.
    done = _find({"PATH": "/usr/bin:/bin", "PYTHON": sys.executable})
    assert done.returncode == 0 and done.stdout.strip() == sys.executable


FAKE_UV = """#!/bin/sh
# Records how it was called instead of fetching Python 3.11 and building an environment.
echo "$@" > "$UV_LOG"
"""

FAKE_PYTHON_311 = """#!/bin/sh
# Answers like Python 3.11: passes the 3.8-3.11 check and records the venv it is asked to build.
case "$1" in --version) echo "Python 3.11.9" ;; -m) echo "$@" > "$PYTHON_LOG" ;; *) exit 0 ;; esac
"""


def _fake_path(tmp_path, **scripts):
    """A PATH holding only the given fake programs and `rm` (which the script uses before building)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name, text in scripts.items():
        (folder / name).write_text(text)
        (folder / name).chmod(0o755)
    (folder / "rm").symlink_to(shutil.which("rm"))
    return str(folder)


def test_with_only_python_312_and_uv_the_venv_is_built_by_uv(tmp_path):
    path = _fake_path(tmp_path, python3=FAKE_PYTHON_312, uv=FAKE_UV)
    venv, log = tmp_path / "venv", tmp_path / "uv.log"
    (venv / "stale").mkdir(parents=True)  # an old environment is replaced, as the Makefile's rm -rf did
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON), "--venv", str(venv)], capture_output=True, text=True,
                          env={"PATH": path, "UV_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    assert log.read_text().split() == ["venv", "--seed", "--python", "3.11", str(venv)]
    assert "uv" in done.stderr and "found 3.12" in done.stderr and not venv.exists()


def test_without_uv_the_refusal_names_the_ways_to_get_311(tmp_path):
    path = _fake_path(tmp_path, python3=FAKE_PYTHON_312)
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON), "--venv", str(tmp_path / "venv")], capture_output=True,
                          text=True, env={"PATH": path})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "found 3.12" in lines[0]
    assert all(way in lines[0] for way in ("uv", "pyenv", "conda")) and not (tmp_path / "venv").exists()


def test_a_supported_python_builds_the_venv_itself_even_when_uv_is_there(tmp_path):
    path = _fake_path(tmp_path, **{"python3.11": FAKE_PYTHON_311, "uv": FAKE_UV})
    venv, python_log, uv_log = tmp_path / "venv", tmp_path / "python.log", tmp_path / "uv.log"
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON), "--venv", str(venv)], capture_output=True, text=True,
                          env={"PATH": path, "PYTHON_LOG": str(python_log), "UV_LOG": str(uv_log)})
    assert done.returncode == 0 and python_log.read_text().split() == ["-m", "venv", str(venv)]
    assert not uv_log.exists() and "Python 3.11.9" in done.stderr


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_builds_the_venv_through_this_script():
    done = subprocess.run(["make", "-n", "-B", ".venv/.installed"], capture_output=True, text=True,
                          cwd=FIND_PYTHON.parent.parent)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "./tools/find_python.sh --venv .venv"
