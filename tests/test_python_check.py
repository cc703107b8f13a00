"""`make` picks a supported Python (3.8-3.11) and refuses newer ones with one line saying why."""
import subprocess
import sys
from pathlib import Path

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
