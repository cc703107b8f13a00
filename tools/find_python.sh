#!/bin/sh
# Print the newest Python 3.8-3.11 on PATH (or $PYTHON if set and supported); explain and fail otherwise.
# mxnet 1.9.1 imports only with numpy < 1.24, and numpy 1.23.5 has no wheels for Python 3.12+.
supported() { "$1" -c 'import sys; sys.exit(not ((3, 8) <= sys.version_info[:2] <= (3, 11)))' 2>/dev/null; }
if [ -n "${PYTHON:-}" ]; then
    if supported "$PYTHON"; then echo "$PYTHON"; exit 0; fi
    echo "PYTHON=$PYTHON is not Python 3.8-3.11: mxnet 1.9.1 needs numpy<1.24, which has no wheels for Python 3.12+" >&2
    exit 1
fi
for candidate in python3.11 python3.10 python3.9 python3.8 python3; do
    if supported "$candidate"; then echo "$candidate"; exit 0; fi
done
found=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo none)
echo "gluon_lessons needs Python 3.8-3.11 (found $found): mxnet 1.9.1 needs numpy<1.24, which has no wheels for Python 3.12+; install python3.11 or run make PYTHON=/path/to/python3.11" >&2
exit 1
