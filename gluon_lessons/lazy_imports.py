"""Modules that other packages import but this course never uses, loaded at their first use.

MXNet imports requests (for its download helpers), d2l imports requests and pandas, scikit-learn
imports pandas, each as it is imported itself; no lesson calls what needs them. Measured here:
requests 0.09 s and pandas 0.2 s of CPU a process. d2l also imports `IPython.display` and
`matplotlib_inline.backend_inline` for its plots in notebooks, 0.42-0.45 s (IPython's terminal,
prompt_toolkit, jedi), where a command-line lesson draws no d2l plot: those two load at their first
use too, together with their packages (`GROUP`). `shell.environment.import_mxnet` puts a
`LazyModule` in `sys.modules` for each of them before MXNet imports.
"""
import contextlib
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types

MODULES = ("requests", "pandas")
# Packages that wait together, each with the submodules imported from it by name (`from IPython
# import display`); matplotlib_inline imports IPython, so one loads the other.
GROUP = {"IPython": ("display",), "matplotlib_inline": ("backend_inline",)}


class LazyModule(types.ModuleType):
    """Stands in `sys.modules` for a module not imported yet; the first attribute it lacks imports
    the module, which then replaces it there, and every attribute is looked up in that module.

    (The standard library's `importlib.util.LazyLoader` runs the module at the next `import` of it
    in Python 3.11, so a module two packages import was loaded anyway.)"""

    def __getattr__(self, attribute):
        if "_module" not in self.__dict__:
            _load(self.__dict__.get("_group") or _Group([self]))
        module = self.__dict__.get("_module")
        if module is None:  # asked while its group loads: the real module, imported now if need be
            module = importlib.import_module(self.__name__)
        return getattr(module, attribute)


class _Group:
    """Stand-ins loaded together: all leave `sys.modules` first, because the real modules import one
    another, then each is imported in turn."""

    def __init__(self, members):
        self.members, self.state, self.finder = members, "waiting", None


def _load(group):
    if group.state != "waiting":  # loading: the real modules import each other meanwhile
        return
    group.state = "loading"
    try:
        for member in group.members:
            if sys.modules.get(member.__name__) is member:
                del sys.modules[member.__name__]
        for member in group.members:
            member.__dict__["_module"] = importlib.import_module(member.__name__)
    except BaseException:
        group.state = "waiting"
        raise
    group.state = "loaded"
    if group.finder in sys.meta_path:
        sys.meta_path.remove(group.finder)


def _stand_in(name, package_path=False, parent=None):
    """A LazyModule with `name`'s spec, or None for a module not installed. With `package_path` a
    package's gets its `__path__`, so that `from package import name` asks nothing of it that would
    load it (alone, the import of a module inside it loads it instead, asking for that path). A
    submodule's spec is found in its `parent` stand-in's path (`importlib.util.find_spec` would
    import the parent to find it)."""
    if parent is None:
        spec = importlib.util.find_spec(name)
    else:
        spec = importlib.machinery.PathFinder.find_spec(name, parent.__path__)
    if spec is None:
        return None
    module = LazyModule(name)
    module.__spec__, module.__file__ = spec, spec.origin
    if package_path and spec.submodule_search_locations is not None:
        module.__path__ = list(spec.submodule_search_locations)
    return module


def import_lazily(name):
    """Put a `LazyModule` for top-level module `name` in `sys.modules`; nothing for a module
    already imported or not installed (its import then fails where it would have failed)."""
    if name in sys.modules:
        return
    module = _stand_in(name)
    if module is not None:
        sys.modules[name] = module


def _get_ipython():
    """`IPython.get_ipython()` as a waiting IPython answers it: no IPython shell runs in a process
    that has not loaded IPython (None); once loaded, IPython's own answer. matplotlib asks as
    pyplot is imported and as each kind of canvas is first made."""
    module = sys.modules.get("IPython")
    if isinstance(module, LazyModule):
        module = module.__dict__.get("_module")
    return None if module is None else module.get_ipython()


# What a waiting package answers itself, as the loaded one would answer in this process.
WHILE_WAITING = {"IPython": {"get_ipython": _get_ipython}}


def import_lazily_together(packages=GROUP):
    """Put a LazyModule for each of `packages` ({package: submodules}) and for each submodule, as an
    attribute of its package, in `sys.modules`; the first attribute used of any loads them all. An
    import of another module of these packages meanwhile loads them first (`_GroupFinder`), so that
    it finds each package as the package itself made it. Nothing when one is imported already (in a
    notebook IPython is) or not installed."""
    if any(package in sys.modules for package in packages):  # (a submodule comes with its package)
        return
    members = {}
    for package, submodules in packages.items():
        members[package] = _stand_in(package, package_path=True)
        if members[package] is None or "__path__" not in vars(members[package]):  # (hasattr would load it)
            return
        for sub in submodules:
            child = _stand_in(f"{package}.{sub}", parent=members[package])
            if child is None:
                return
            members[child.__name__] = child
            setattr(members[package], sub, child)  # `from package import sub` takes it, unloaded
    for name, answers in WHILE_WAITING.items():
        if name in members:
            members[name].__dict__.update(answers)
    group = _Group(list(members.values()))
    for member in group.members:
        member.__dict__["_group"] = group
        sys.modules[member.__name__] = member
    group.finder = _GroupFinder(group, tuple(f"{package}." for package in packages))
    sys.meta_path.insert(0, group.finder)


class _GroupFinder(importlib.abc.MetaPathFinder):
    """While a group waits, an import of a module inside its packages that is not one of its
    stand-ins (`import IPython.core.getipython`) gets a loader that loads the group first and then
    gives that module as the group's packages imported it, or imports it now. Without it the import
    system would take the waiting stand-in as the module's parent, and the package's own
    `__init__` would never run."""

    def __init__(self, group, prefixes):
        self.group, self.prefixes = group, prefixes

    def find_spec(self, name, path=None, target=None):
        if self.group.state != "waiting":
            return None
        if not name.startswith(self.prefixes) or any(m.__name__ == name for m in self.group.members):
            return None
        if importlib.machinery.PathFinder.find_spec(name, path) is None:
            return None  # no such module: `find_spec` says so, as it would without the group
        return importlib.machinery.ModuleSpec(name, _LoadGroupFirst(self.group))


class _LoadGroupFirst:
    """A loader in the import system's older protocol (`load_module`), which may hand back a module
    that exists already; the newer one (`exec_module`) always makes a new one."""

    def __init__(self, group):
        self.group = group

    def load_module(self, name):
        _load(self.group)
        module = sys.modules.get(name)
        return module if module is not None else importlib.import_module(name)


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
