"""MXNet's operator functions compiled at their first call instead of all at import.

Importing MXNet 1.9 writes the source of a Python function for every operator of its library, in
`mxnet.ndarray` and `mxnet.symbol` and again in their NumPy interfaces (2,556 functions here), and
compiles each with `exec`: 0.65 s of the 1.3 s an import took here, in every lesson and in
every process a launch starts, for functions of which a lesson calls a few dozen.

While `environment.import_mxnet` imports MXNet, the functions are made as MXNet makes them, from
MXNet's own generated source, with the same name, module and documentation, but each starts with a
stand-in body. Its first call compiles that source and puts the compiled code and its defaults into
the same function object, so `mx.nd.dot`, `F.dot` in a hybridized block or a name taken by
`from mxnet.ndarray import *` all run MXNet's code from then on, with nothing in between. Until its
first call a function's signature reads `(*args, _deferred=..., **kwargs)`.
"""

import functools
import importlib.machinery
import threading
import types

# MXNet's makers of operator functions: the code generator each calls, the module it names.
MAKERS = {
    "_make_ndarray_function": ("_generate_ndarray_function_code", "mxnet.ndarray"),
    "_make_symbol_function": ("_generate_symbol_function_code", "mxnet.symbol"),
}
# The functions of mxnet.base that register operators with a maker from MAKERS.
REGISTRARS = ("_init_op_module", "_init_np_op_module")
_COMPILING = threading.Lock()


def _stand_in(*args, _deferred=None, **kwargs):
    return _deferred.call(args, kwargs)


class Deferred:
    """An operator function's source, compiled into the function at its first call."""

    __slots__ = ("function", "name", "source")

    def __init__(self, function, name, source):
        self.function, self.name, self.source = function, name, source

    def __repr__(self):
        return "<compiled at the first call>"

    @property
    def compiled(self):
        return self.function.__code__ is not _stand_in.__code__

    def compile(self):
        """Compile MXNet's source into the function (once); return the function."""
        function = self.function
        with _COMPILING:
            if not self.compiled:
                made = {}
                exec(self.source, function.__globals__, made)  # as MXNet's maker does
                compiled = made[self.name]
                # In this order a call from another thread between two lines still runs right: the
                # stand-in takes no positional defaults and looks up only `_deferred`, and
                # MXNet's code has no parameter `_deferred`.
                function.__defaults__ = compiled.__defaults__
                function.__kwdefaults__ = {**(compiled.__kwdefaults__ or {}), "_deferred": self}
                function.__code__ = compiled.__code__
                function.__kwdefaults__ = compiled.__kwdefaults__
        return function

    def call(self, args, kwargs):
        return self.compile()(*args, **kwargs)


def deferring(make):
    """MXNet's maker `make`, except that the functions it makes compile at their first call (a
    maker not in MAKERS is returned as it is)."""
    generator, module = MAKERS.get(getattr(make, "__name__", None), (None, None))
    namespace = getattr(make, "__globals__", {})
    generate = namespace.get(generator)
    if generate is None:
        return make

    def make_deferred(handle, name, func_name):
        source, doc = generate(handle, name, func_name)
        function = types.FunctionType(_stand_in.__code__, namespace, func_name)
        function.__qualname__ = func_name
        function.__kwdefaults__ = {"_deferred": Deferred(function, func_name, source)}
        function.__doc__ = doc
        function.__module__ = module
        return function

    return make_deferred


def deferred(function):
    """The Deferred of an operator function still waiting for its first call, else None."""
    record = (getattr(function, "__kwdefaults__", None) or {}).get("_deferred")
    return record if isinstance(record, Deferred) and not record.compiled else None


def _registering_deferred(register):
    """`register` (one of REGISTRARS), given a deferring maker instead of MXNet's."""

    @functools.wraps(register)
    def registering(*args, **kwargs):
        if "make_op_func" in kwargs:
            kwargs["make_op_func"] = deferring(kwargs["make_op_func"])
        else:
            args = (*args[:-1], deferring(args[-1]))
        return register(*args, **kwargs)

    return registering


class _BaseLoader:
    """Loads `mxnet.base` with the loader Python found for it, then has its registrars defer."""

    def __init__(self, loader):
        self._loader = loader

    def __getattr__(self, name):  # get_source (for tracebacks), is_package, ...
        return getattr(self._loader, name)

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        for name in REGISTRARS:
            if callable(getattr(module, name, None)):
                setattr(module, name, _registering_deferred(getattr(module, name)))


class BaseFinder:
    """A meta path finder, in place only while MXNet imports: finds `mxnet.base` as Python would and
    gives it `_BaseLoader`. (The registrars stay wrapped: MXNet's modules took them at import, and
    `mx.library.load` registers a library's operators with them too.)"""

    def find_spec(self, fullname, path, target=None):
        if fullname != "mxnet.base":
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _BaseLoader(spec.loader)
        return spec

