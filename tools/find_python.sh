#!/bin/sh
# Print the newest Python 3.8-3.11 on PATH (or $PYTHON if set and supported); explain and fail otherwise.
# With `--venv DIR`, build a virtual environment in DIR instead: with that Python, or, when there is none
# and `uv` is on PATH, with `uv venv --python 3.11` (uv fetches a Python 3.11 of its own).
# mxnet 1.9.1 imports only with numpy < 1.24, and numpy 1.23.5 has no wheels for Python 3.12+.
#
# It also checks the platform, as `uname` and the chosen Python itself see it, before pip would fail:
# mxnet 1.9.1 has wheels only for Linux x86_64 and aarch64 (manylinux) and macOS x86_64 (10.13+), none
# for Windows (the last is 1.7.0.post2) and none native for Apple silicon, where an x86_64 Python runs
# under Rosetta 2. The aarch64 wheel also loads Arm Performance Libraries, which it does not bundle.
supported() { "$1" -c 'import sys; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 11)))' 2>/dev/null; }
why="mxnet 1.9.1 needs numpy<1.24, which has no wheels for Python 3.12+"
venv=
if [ "${1:-}" = "--venv" ]; then
    venv=${2:?usage: find_python.sh [--venv DIR]}
fi

kernel=$(uname -s 2>/dev/null)
machine=$(uname -m 2>/dev/null)
docker="or use the Docker image instead (docker build -t gluon-lessons . then docker run --rm -it gluon-lessons)"
windows="mxnet 1.9.1 has no Windows wheel (the last is 1.7.0.post2): run the course in WSL2 with Ubuntu (wsl --install -d Ubuntu, then make run inside Ubuntu), $docker"
apple="mxnet 1.9.1 has no wheel for Apple silicon (arm64), only for macOS x86_64: use an x86_64 Python 3.11 under Rosetta 2, from Intel Homebrew (arch -x86_64 /usr/local/bin/brew install python@3.11, then make PYTHON=/usr/local/bin/python3.11 run) or from pyenv run under arch -x86_64 (then arch -x86_64 make run), $docker"
armpl="mxnet 1.9.1's Linux aarch64 wheel needs Arm Performance Libraries (libarmpl_lp64_mp.so), which it does not bundle and which are not found: install ArmPL (developer.arm.com, the gcc build) and add its lib folder to LD_LIBRARY_PATH, $docker"
case "$kernel" in MINGW*|MSYS*|CYGWIN*) echo "$windows" >&2; exit 1 ;; esac
on_apple_silicon() { [ "$kernel" = Darwin ] && [ "$machine" = arm64 ]; }

# What a Python runs on: its sys.platform, its machine (x86_64 under Rosetta 2) and its pointer size in bits.
platform_of() {
    "$1" -c 'import platform, struct, sys; print(sys.platform, platform.machine(), 8 * struct.calcsize("P"))' 2>/dev/null
}
# Whether the dynamic loader, as that Python's ctypes sees it, finds libarmpl_lp64_mp.so.
finds_armpl() {
    "$1" -c 'import ctypes.util as u, os, sys; name = "libarmpl_lp64_mp.so"
dirs = os.environ.get("LD_LIBRARY_PATH", "").split(os.pathsep)
sys.exit(not (u.find_library("armpl_lp64_mp") or any(d and os.path.exists(os.path.join(d, name)) for d in dirs)))' 2>/dev/null
}
# Stop with one line unless mxnet 1.9.1 has a wheel that works with the Python $1.
check_platform() {
    seen=$(platform_of "$1")
    case "$seen" in
        "linux x86_64 64"|"darwin x86_64 64") ;;
        "linux aarch64 64") finds_armpl "$1" || { echo "$armpl" >&2; exit 1; } ;;
        "darwin arm64 64") echo "$apple" >&2; exit 1 ;;
        win32*|cygwin*|msys*) echo "$windows" >&2; exit 1 ;;
        "") echo "$1 did not say which platform it runs on (sys.platform, platform.machine()); mxnet 1.9.1 needs Linux x86_64 or aarch64 or macOS x86_64" >&2; exit 1 ;;
        *) set -- "$1" $seen
           echo "mxnet 1.9.1 has wheels only for 64-bit Linux x86_64 and aarch64 and macOS x86_64, and $1 is a $4-bit Python on $2 $3: run the course on one of those machines, natively or in the Docker image (docker build -t gluon-lessons .)" >&2
           exit 1 ;;
    esac
    if [ "$seen" = "darwin x86_64 64" ] && on_apple_silicon; then
        echo "Apple silicon: $1 is an x86_64 Python, so it and mxnet run under Rosetta 2 (translated, slower than native)" >&2
    fi
}

found_python() {
    if [ -n "${PYTHON:-}" ]; then
        if supported "$PYTHON"; then echo "$PYTHON"; return 0; fi
        if ! command -v "$PYTHON" >/dev/null 2>&1; then
            echo "PYTHON=$PYTHON: no such program; give the path of a Python 3.8-3.11" >&2
            return 2
        fi
        echo "PYTHON=$PYTHON is not Python 3.8-3.11: $why" >&2
        return 2  # said; the caller stops without looking further
    fi
    for candidate in python3.11 python3.10 python3.9 python3.8 python3; do
        if supported "$candidate"; then echo "$candidate"; return 0; fi
    done
    return 1
}

# --venv DIR replaces DIR only if it is a virtual environment (it holds pyvenv.cfg), an empty folder or
# nothing yet: `make VENV=DIR` must never delete a folder of the user's. (Globs, not ls: nothing but the
# shell decides what is in it.)
holds_anything() {
    for entry in "$1"/* "$1"/.[!.]* "$1"/..?*; do
        if [ -e "$entry" ] || [ -L "$entry" ]; then return 0; fi
    done
    return 1
}
if [ -n "$venv" ] && { [ -e "$venv" ] || [ -L "$venv" ]; } && [ ! -f "$venv/pyvenv.cfg" ] && \
   { [ ! -d "$venv" ] || [ -L "$venv" ] || holds_anything "$venv"; }; then
    echo "$venv exists and is not a virtual environment (no pyvenv.cfg in it); not replacing it: choose another VENV=... or remove it yourself" >&2
    exit 1
fi

python=$(found_python)
found=$?
if [ "$found" = 2 ]; then exit 1; fi
if [ "$found" = 0 ]; then
    check_platform "$python"
    if [ -z "$venv" ]; then echo "$python"; exit 0; fi
    echo "creating $venv with $python ($("$python" --version 2>&1))" >&2
    rm -rf "$venv" && exec "$python" -m venv "$venv"
fi
# No Python 3.8-3.11: a Python 3.11 from uv, pyenv or conda would be built for this machine, so check it first
# (uv on Apple silicon fetches an arm64 Python).
if on_apple_silicon; then echo "$apple" >&2; exit 1; fi
if command -v python3 >/dev/null 2>&1; then check_platform python3; fi
found=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
if [ -n "$venv" ] && command -v uv >/dev/null 2>&1; then
    # --seed puts pip into the environment, which the Makefile then upgrades and installs with.
    echo "no Python 3.8-3.11 on PATH (found $found); creating $venv with uv, which fetches Python 3.11" >&2
    rm -rf "$venv" && exec uv venv --seed --python 3.11 "$venv"
fi
echo "gluon_lessons needs Python 3.8-3.11 (found $found): $why; get 3.11 with uv (https://docs.astral.sh/uv/, then run make again: it uses uv by itself), pyenv (pyenv install 3.11, then make PYTHON=\$(pyenv root)/versions/3.11.<x>/bin/python) or conda (conda create -n py311 python=3.11, then make PYTHON=<that env>/bin/python)" >&2
exit 1
