"""`make` picks a supported Python (3.8-3.11), or builds .venv with uv, or says in one line where to get 3.11;
and on a platform without an mxnet 1.9.1 wheel it says in one line where the course runs instead."""
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

FIND_PYTHON = Path(__file__).resolve().parent.parent / "tools" / "find_python.sh"

FAKE_PYTHON_312 = """#!/bin/sh
# Answers like Python 3.12 on Linux x86_64: fails the 3.8-3.11 check, prints 3.12 when asked its version.
case "$2" in *platform*) echo linux x86_64 64 ;; *print*) echo 3.12 ;; *) exit 1 ;; esac
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
# Answers like Python 3.11: passes the 3.8-3.11 check and records the venv it is asked to build. Asked its
# platform it prints $FAKE_PLATFORM (sys.platform, platform.machine(), bits; Linux x86_64 by default);
# asked whether Arm Performance Libraries are found it answers with exit code $FAKE_ARMPL (not found).
case "$1" in
    --version) echo "Python 3.11.9" ;;
    -m) echo "$@" > "$PYTHON_LOG" ;;
    -c) case "$2" in *armpl*) exit "${FAKE_ARMPL:-1}" ;; *platform*) echo "${FAKE_PLATFORM-linux x86_64 64}" ;; esac ;;
esac
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
    (venv / "stale").mkdir(parents=True)  # an old environment (it holds pyvenv.cfg) is replaced
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n")
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON), "--venv", str(venv)], capture_output=True, text=True,
                          env={"PATH": path, "UV_LOG": str(log)})
    assert done.returncode == 0, done.stderr
    assert log.read_text().split() == ["venv", "--seed", "--python", "3.11", str(venv)]
    assert "uv" in done.stderr and "found 3.12" in done.stderr and not venv.exists()


@pytest.mark.parametrize("contents", [{"notes.txt": "mine"}, {".hidden": "mine"}, {"sub/deep.txt": "mine"}])
def test_a_folder_that_is_not_a_venv_is_left_as_it_is(tmp_path, contents):
    # `make VENV=DIR` must never delete a user's folder; the check needs nothing but the shell (no ls on PATH).
    path = _fake_path(tmp_path, **{"python3.11": FAKE_PYTHON_311, "uv": FAKE_UV})
    venv = tmp_path / "mine"
    for name, text in contents.items():
        (venv / name).parent.mkdir(parents=True, exist_ok=True)
        (venv / name).write_text(text)
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON), "--venv", str(venv)], capture_output=True, text=True,
                          env={"PATH": path, "PYTHON_LOG": str(tmp_path / "python.log")})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "not a virtual environment" in lines[0]
    assert all((venv / name).read_text() == text for name, text in contents.items())
    assert not (tmp_path / "python.log").exists()  # nothing was built


def test_an_empty_folder_is_used_for_the_venv(tmp_path):
    path = _fake_path(tmp_path, **{"python3.11": FAKE_PYTHON_311})
    venv, log = tmp_path / "empty", tmp_path / "python.log"
    venv.mkdir()
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON), "--venv", str(venv)], capture_output=True, text=True,
                          env={"PATH": path, "PYTHON_LOG": str(log)})
    assert done.returncode == 0 and log.read_text().split() == ["-m", "venv", str(venv)]


def test_a_python_that_does_not_exist_is_named_in_one_line(tmp_path):
    done = _find({"PATH": str(tmp_path), "PYTHON": str(tmp_path / "nonexistent")})
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and len(lines) == 1 and "no such program" in lines[0]


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
    # under `make test` this is a nested make: without the parent's variables it prints no "Entering directory"
    env = {key: value for key, value in os.environ.items() if key not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(["make", "--no-print-directory", "-n", "-B", ".venv/.installed"], capture_output=True,
                          text=True, cwd=FIND_PYTHON.parent.parent, env=env)
    assert done.returncode == 0 and done.stdout.splitlines()[0] == "./tools/find_python.sh --venv .venv"


# ---- the platform: where mxnet 1.9.1 has a wheel ------------------------------------------------------------

FAKE_UNAME = """#!/bin/sh
# Answers like uname on the machine under test: $FAKE_KERNEL for -s, $FAKE_MACHINE for -m.
case "$1" in -s) echo "$FAKE_KERNEL" ;; -m) echo "$FAKE_MACHINE" ;; esac
"""

WHEELS = "Linux x86_64 and aarch64 and macOS x86_64"


def _on(tmp_path, kernel, machine, python_says="linux x86_64 64", venv=True, armpl=False, **scripts):
    """find_python.sh on a machine whose uname answers `kernel`/`machine` and whose Python 3.11 says `python_says`."""
    scripts = {"python3.11": FAKE_PYTHON_311, **scripts}
    path = _fake_path(tmp_path, uname=FAKE_UNAME, **scripts)
    env = {"PATH": path, "FAKE_KERNEL": kernel, "FAKE_MACHINE": machine, "FAKE_PLATFORM": python_says,
           "FAKE_ARMPL": "0" if armpl else "1", "PYTHON_LOG": str(tmp_path / "python.log"),
           "UV_LOG": str(tmp_path / "uv.log")}
    argv = ["/bin/sh", str(FIND_PYTHON)] + (["--venv", str(tmp_path / "venv")] if venv else [])
    return subprocess.run(argv, capture_output=True, text=True, env=env)


def _refused_in_one_line(done, tmp_path):
    """The single line of a refusal, after checking that nothing was built and nothing else was said."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 1 and done.stdout == "" and len(lines) == 1, done.stderr
    assert not (tmp_path / "python.log").exists() and not (tmp_path / "uv.log").exists()
    return lines[0]


@pytest.mark.parametrize("kernel", ["MINGW64_NT-10.0-19045", "MSYS_NT-10.0-22631", "CYGWIN_NT-10.0-19045"])
def test_windows_is_refused_with_one_line_naming_wsl2(tmp_path, kernel):
    line = _refused_in_one_line(_on(tmp_path, kernel, "x86_64", python_says="win32 AMD64 64"), tmp_path)
    assert "no Windows wheel" in line and "WSL2" in line and "docker build" in line


def test_a_windows_python_is_refused_even_when_uname_says_nothing(tmp_path):
    line = _refused_in_one_line(_on(tmp_path, "", "", python_says="win32 AMD64 64"), tmp_path)
    assert "WSL2" in line


def test_on_apple_silicon_an_x86_64_python_is_accepted_with_one_line_about_rosetta(tmp_path):
    done = _on(tmp_path, "Darwin", "arm64", python_says="darwin x86_64 64")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "python.log").read_text().split() == ["-m", "venv", str(tmp_path / "venv")]
    notes = [line for line in done.stderr.splitlines() if "Rosetta" in line]
    assert len(notes) == 1 and "Apple silicon" in notes[0] and "x86_64" in notes[0]


def test_on_apple_silicon_the_chosen_python_is_printed_after_the_rosetta_line(tmp_path):
    done = _on(tmp_path, "Darwin", "arm64", python_says="darwin x86_64 64", venv=False)
    assert done.returncode == 0 and done.stdout.strip() == "python3.11"
    assert len(done.stderr.strip().splitlines()) == 1 and "Rosetta 2" in done.stderr


def test_on_apple_silicon_an_arm64_python_is_refused_naming_arch_x86_64_and_docker(tmp_path):
    line = _refused_in_one_line(_on(tmp_path, "Darwin", "arm64", python_says="darwin arm64 64"), tmp_path)
    assert all(route in line for route in ("arch -x86_64", "Intel Homebrew", "pyenv", "Rosetta 2", "docker build"))


def test_on_apple_silicon_without_python_311_uv_is_not_used(tmp_path):
    # uv would fetch an arm64 Python 3.11, for which there is no mxnet wheel: the Rosetta routes instead.
    done = _on(tmp_path, "Darwin", "arm64", **{"python3.11": "#!/bin/sh\nexit 1\n", "python3": FAKE_PYTHON_312,
                                               "uv": FAKE_UV})
    line = _refused_in_one_line(done, tmp_path)
    assert "arch -x86_64" in line and "Apple silicon" in line


@pytest.mark.parametrize("kernel, machine, python_says", [
    ("Linux", "x86_64", "linux x86_64 64"),
    ("Darwin", "x86_64", "darwin x86_64 64"),  # an Intel Mac, or Apple silicon with make under `arch -x86_64`
    ("", "", "linux x86_64 64"),  # no uname on PATH: the Python's own answer decides
], ids=["linux-x86_64", "mac-x86_64", "no-uname"])
def test_machines_with_a_wheel_are_accepted_without_a_word(tmp_path, kernel, machine, python_says):
    done = _on(tmp_path, kernel, machine, python_says=python_says, venv=False)
    assert done.returncode == 0 and done.stdout.strip() == "python3.11" and done.stderr == ""


def test_linux_aarch64_is_accepted_when_arm_performance_libraries_are_found(tmp_path):
    done = _on(tmp_path, "Linux", "aarch64", python_says="linux aarch64 64", armpl=True, venv=False)
    assert done.returncode == 0 and done.stdout.strip() == "python3.11" and done.stderr == ""


def test_linux_aarch64_without_arm_performance_libraries_is_refused(tmp_path):
    # The aarch64 wheel installs, but libmxnet.so needs libarmpl_lp64_mp.so, which it does not bundle.
    line = _refused_in_one_line(_on(tmp_path, "Linux", "aarch64", python_says="linux aarch64 64"), tmp_path)
    assert "libarmpl_lp64_mp.so" in line and "LD_LIBRARY_PATH" in line and "docker build" in line


@pytest.mark.parametrize("machine, python_says", [
    ("armv7l", "linux armv7l 32"),
    ("ppc64le", "linux ppc64le 64"),
    ("s390x", "linux s390x 64"),
    ("x86_64", "linux i686 32"),    # a 32-bit Python on a 64-bit kernel (linux32 personality)
    ("aarch64", "linux aarch64 32"),  # a 32-bit Python on a 64-bit ARM kernel
])
def test_other_machines_are_refused_with_one_line(tmp_path, machine, python_says):
    line = _refused_in_one_line(_on(tmp_path, "Linux", machine, python_says=python_says), tmp_path)
    platform, arch, bits = python_says.split()
    assert WHEELS in line and "%s-bit Python on %s %s" % (bits, platform, arch) in line


def test_other_machines_are_refused_before_uv_fetches_python_311(tmp_path):
    # Only Python 3.12 (an armv7l one) and uv: the platform is refused before uv is run.
    fake_312 = FAKE_PYTHON_312.replace("linux x86_64 64", "linux armv7l 32")
    done = _on(tmp_path, "Linux", "armv7l", **{"python3.11": "#!/bin/sh\nexit 1\n", "python3": fake_312,
                                              "uv": FAKE_UV})
    assert "32-bit Python on linux armv7l" in _refused_in_one_line(done, tmp_path)


def test_a_python_that_does_not_say_its_platform_is_refused(tmp_path):
    line = _refused_in_one_line(_on(tmp_path, "Linux", "x86_64", python_says=""), tmp_path)
    assert "did not say which platform" in line


PRETEND_AARCH64 = """#!/bin/sh
# The real Python, except that it says it runs on Linux aarch64: the check for Arm Performance Libraries is
# then the real one, answered by this Python's ctypes and LD_LIBRARY_PATH.
case "$2" in *platform.machine*) echo linux aarch64 64 ;; *) exec "%s" "$@" ;; esac
"""


@pytest.mark.parametrize("with_armpl", [True, False], ids=["armpl-on-LD_LIBRARY_PATH", "no-armpl"])
def test_the_arm_performance_libraries_check_looks_on_ld_library_path(tmp_path, with_armpl):
    python = tmp_path / "python3.11"
    python.write_text(PRETEND_AARCH64 % sys.executable)
    python.chmod(0o755)
    libs = tmp_path / "armpl" / "lib"
    libs.mkdir(parents=True)
    if with_armpl:
        (libs / "libarmpl_lp64_mp.so").write_bytes(b"")
    done = subprocess.run(["/bin/sh", str(FIND_PYTHON)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "PYTHON": str(python), "LD_LIBRARY_PATH": str(libs)})
    if with_armpl:
        assert done.returncode == 0 and done.stdout.strip() == str(python), done.stderr
    else:
        assert done.returncode == 1 and "libarmpl_lp64_mp.so" in done.stderr
