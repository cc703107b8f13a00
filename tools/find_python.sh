#!/bin/sh
# Print the newest Python 3.8-3.11 on PATH (or $PYTHON if set and supported); explain and fail otherwise.
# With `--venv DIR`, build a virtual environment in DIR instead: with that Python, or, when there is none
# and `uv` is on PATH, with `uv venv --python 3.11` (uv fetches a Python 3.11 of its own).
# mxnet 1.9.1 imports only with numpy < 1.24, and numpy 1.23.5 has no wheels for Python 3.12+.
supported() { "$1" -c 'import sys; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 11)))' 2>/dev/null; }
why="mxnet 1.9.1 needs numpy<1.24, which has no wheels for Python 3.12+"
venv=
if [ "${1:-}" = "--venv" ]; then
    venv=${2:?usage: find_python.sh [--venv DIR]}
fi

found_python() {
    if [ -n "${PYTHON:-}" ]; then
        if supported "$PYTHON"; then echo "$PYTHON"; return 0; fi
        echo "PYTHON=$PYTHON is not Python 3.8-3.11: $why" >&2
        exit 1
    fi
    for candidate in python3.11 python3.10 python3.9 python3.8 python3; do
        if supported "$candidate"; then echo "$candidate"; return 0; fi
    done
    return 1
}

if python=$(found_python); then
    if [ -z "$venv" ]; then echo "$python"; exit 0; fi
    echo "creating $venv with $python ($("$python" --version 2>&1))" >&2
    rm -rf "$venv" && exec "$python" -m venv "$venv"
fi
found=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
if [ -n "$venv" ] && command -v uv >/dev/null 2>&1; then
    # --seed puts pip into the environment, which the Makefile then upgrades and installs with.
    echo "no Python 3.8-3.11 on PATH (found $found); creating $venv with uv, which fetches Python 3.11" >&2
    rm -rf "$venv" && exec uv venv --seed --python 3.11 "$venv"
fi
echo "gluon_lessons needs Python 3.8-3.11 (found $found): $why; get 3.11 with uv (https://docs.astral.sh/uv/, then run make again: it uses uv by itself), pyenv (pyenv install 3.11, then make PYTHON=\$(pyenv root)/versions/3.11.<x>/bin/python) or conda (conda create -n py311 python=3.11, then make PYTHON=<that env>/bin/python)" >&2
exit 1
