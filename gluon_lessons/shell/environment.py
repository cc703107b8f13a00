"""Environment variables that MXNet, OpenMP or matplotlib read when they are imported, checked first.

A value they cannot use would abort the process (`OMP_NUM_THREADS=abc`: SIGABRT), end in a traceback
(`MXNET_ENGINE_TYPE`, `MPLBACKEND`) or turn the command into a parameter-server process that waits
forever (`DMLC_ROLE=server`). Each such variable is dropped with one warning line naming it.
"""

import contextlib
import importlib.util
import os
import re
import sys

from .. import lazy_imports
from . import deferred_ops

ENGINE_TYPES = ("NaiveEngine", "ThreadedEngine", "ThreadedEnginePerDevice")
# matplotlib's backends that write files; the command line shows no windows, so others are not used.
FILE_BACKENDS = ("agg", "cairo", "pdf", "pgf", "ps", "svg", "template")
# MXNet reads OMP_NUM_THREADS as one integer: `4,2` aborts it, and 99999 threads crashed it here.
MAX_THREADS = max(64, 4 * (os.cpu_count() or 1))


def _backend_usable(name):
    if name.startswith("module://"):
        module = name[len("module://") :]
        try:
            return bool(module) and importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            return False
    return name.lower() in FILE_BACKENDS


def make_safe(environ):
    """Remove from `environ` the variables above whose values would break the command; return one
    warning line for each (none when all is well)."""
    warnings = []
    threads = environ.get("OMP_NUM_THREADS")
    if threads is not None and not (
        re.fullmatch(r"\s*[0-9]{1,9}\s*", threads) and 1 <= int(threads) <= MAX_THREADS
    ):
        del environ["OMP_NUM_THREADS"]
        warnings.append(
            f"OMP_NUM_THREADS={threads!r} is not a whole number of threads in 1..{MAX_THREADS}; "
            "ignored, OpenMP chooses"
        )
    engine = environ.get("MXNET_ENGINE_TYPE")
    if engine is not None and engine not in ENGINE_TYPES:
        del environ["MXNET_ENGINE_TYPE"]
        warnings.append(
            f"MXNET_ENGINE_TYPE={engine!r} is not one of {', '.join(ENGINE_TYPES)}; "
            "ignored, MXNet's default engine runs"
        )
    backend = environ.get("MPLBACKEND")
    if backend is not None and not _backend_usable(backend):
        del environ["MPLBACKEND"]
        warnings.append(
            f"MPLBACKEND={backend!r} is not a matplotlib backend that writes files "
            f"({', '.join(FILE_BACKENDS)}, or module://NAME of an installed module); ignored"
        )
    stray = sorted(name for name in environ if name.startswith("DMLC_"))
    if stray:
        for name in stray:
            del environ[name]
        warnings.append(
            f"{', '.join(stray)} ignored: they would make MXNet's import start a parameter-server "
            "process (gluon-lessons launch sets them for the processes it starts)"
        )
    return warnings


def import_mxnet():
    """Import MXNet without the optional scikit-learn and SciPy it tries on the way, then let both
    import again.

    `mxnet.model` tries `sklearn.base` (a base class of its old FeedForward model),
    `mxnet.test_utils` tries `scipy.stats` and `mxnet.ndarray.sparse` `scipy.sparse` (to accept SciPy
    matrices); no lesson uses any of them, and they cost about 1 s of every lesson's start here
    (measured: `import mxnet` 2.5 s of CPU with them, 1.6 s without). A None entry in `sys.modules`
    makes each of those imports fail at once, and MXNet carries on without it; the entries are
    removed afterwards, so a lesson that needs scikit-learn or SciPy (lessons 8 and 9) imports them.

    MXNet's operator functions are compiled at their first call (`deferred_ops`: 0.65 s of CPU less
    an import here), its import reads the standard library's distutils (`_standard_distutils`), and
    the modules of `lazy_imports.MODULES` and `lazy_imports.GROUP` load at their first use.
    """
    if "mxnet" in sys.modules:
        return
    blocked = [name for name in ("sklearn", "scipy") if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None
    for name in lazy_imports.MODULES:
        lazy_imports.import_lazily(name)
    lazy_imports.import_lazily_together(lazy_imports.GROUP)
    finder = deferred_ops.BaseFinder()
    sys.meta_path.insert(0, finder)
    try:
        with _standard_distutils():
            import mxnet  # noqa: F401
    finally:
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        for name in blocked:
            if name in sys.modules and sys.modules[name] is None:
                del sys.modules[name]


@contextlib.contextmanager
def _standard_distutils():
    """While MXNet imports, `import distutils` finds the standard library's, then forgets it.

    MXNet reads version numbers with `distutils.version` as it imports. Where setuptools' shim is
    installed (`distutils-precedence.pth`), that import loads setuptools and pkg_resources first:
    0.15-0.2 s of CPU a process here (the variable SETUPTOOLS_USE_DISTUTILS=stdlib does the same
    for a new process). Afterwards the shim is back in place and the standard library's distutils
    modules are dropped from `sys.modules`, so a later `import setuptools` or `import distutils`
    goes as it would have gone (MXNet keeps the version classes it already holds).
    """
    hack = sys.modules.get("_distutils_hack")
    finder = getattr(hack, "DISTUTILS_FINDER", None)
    if "distutils" in sys.modules or finder is None or finder not in sys.meta_path:
        yield
        return
    position = sys.meta_path.index(finder)
    sys.meta_path.remove(finder)
    try:
        yield
    finally:
        if finder not in sys.meta_path:
            sys.meta_path.insert(min(position, len(sys.meta_path)), finder)
        for name in [name for name in sys.modules if name.partition(".")[0] == "distutils"]:
            del sys.modules[name]
