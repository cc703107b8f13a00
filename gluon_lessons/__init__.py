"""gluon_lessons: a tested, runnable MXNet Gluon course on mini-batch SGD, batch size and momentum."""
import sys

if sys.version_info >= (3, 12):  # pragma: no cover - checked before mxnet fails with a cryptic error
    raise ImportError(
        "gluon_lessons needs Python 3.8-3.11: mxnet 1.9.1 requires numpy<1.24, "
        "which has no wheels for Python %d.%d" % sys.version_info[:2]
    )

__version__ = "0.1.0"

# Nothing here imports MXNet: the CLI imports it inside `main`, where Ctrl-C during its slow import
# ends in one line. `from gluon_lessons import optimizers` registers the `rprop` optimizer (lesson 10).
