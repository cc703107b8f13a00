"""Modules that other packages import but this course never uses, loaded at their first use.

MXNet imports requests (for its download helpers), d2l imports requests and pandas, scikit-learn
imports pandas, each as it is imported itself; no lesson calls what needs them. Measured here:
requests 0.09 s and pandas 0.2 s of CPU a process. `shell.environment.import_mxnet` puts a
`LazyModule` in `sys.modules` for each of MODULES before MXNet imports.
"""
import contextlib
import importlib
import importlib.util
import sys
import types

MODULES = ("requests", "pandas")


class LazyModule(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet; the first attribute it lacks imports
    the module, which then replaces it there, and every attribute is looked up in that module.

    (The standard library's `importlib.util.LazyLoader` runs the module at the next `import` of it
    in Python 3.11, so a module two packages import was loaded anyway.)"""

    def __getattr__(self, attribute):
        module = self.__dict__.get("_module")
        if module is None:
            if sys.modules.get(self.__name__) is self:
                del sys.modules[self.__name__]
            module = self.__dict__["_module"] = importlib.import_module(self.__name__)
        return getattr(module, attribute)


def import_lazily(name):
    """Put a `LazyModule` for top-level module `name` in `sys.modules`; nothing for a module
    already imported or not installed (its import then fails where it would have failed)."""
    if name in sys.modules:
        return
    spec = importlib.util.find_spec(name)
    if spec is None:
        return
    module = LazyModule(name)
    module.__spec__, module.__file__ = spec, spec.origin
    sys.modules[name] = module


def waiting(name):
    """True while `sys.modules[name]` is a LazyModule that has not loaded its module."""
    module = sys.modules.get(name)
    return isinstance(module, LazyModule) and "_module" not in module.__dict__


@contextlib.contextmanager
def set_aside(name):
    """Within the block, a LazyModule still waiting for `name` is out of `sys.modules`, as if the
    module were not imported (which it is not); then back.

    scikit-learn asks `sys.modules` whether pandas is imported before it checks an input for a
    DataFrame (`sklearn.utils.validation._is_pandas_df`): a waiting LazyModule would load pandas for
    that question about NumPy arrays (lesson 9's split of the digits)."""
    module = sys.modules.get(name) if waiting(name) else None
    if module is not None:
        del sys.modules[name]
    try:
        yield
    finally:
        if module is not None and name not in sys.modules:
            sys.modules[name] = module
