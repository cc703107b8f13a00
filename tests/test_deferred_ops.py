"""MXNet's operator functions compiled at their first call (`gluon_lessons.shell.deferred_ops`).

Truth: MXNet's own import in a fresh interpreter. Every operator function made there is compared
with the one `import_mxnet` makes, once compiled: the same module attributes, names, documentation,
bytecode, constants and defaults. Results of called operators are checked against NumPy.
"""
import json
import os
import subprocess
import sys
import textwrap

from gluon_lessons.shell import deferred_ops

# Prints one JSON object: every generated operator function (compiled from MXNet's source, whose
# file name is "<string>") reachable as an attribute of an mxnet module, by "module:attribute". The
# source names its operator by the address of the operator's handle: named here by the operator.
DESCRIBE = textwrap.dedent('''\
    def describe():
        import ctypes, types
        from mxnet.base import _LIB, OpHandle, c_str, check_call, py_str
        size, names = ctypes.c_uint(), ctypes.POINTER(ctypes.c_char_p)()
        check_call(_LIB.MXListAllOpNames(ctypes.byref(size), ctypes.byref(names)))
        operators = {}
        for i in range(size.value):
            handle = OpHandle()
            check_call(_LIB.NNGetOpHandle(c_str(py_str(names[i])), ctypes.byref(handle)))
            operators[handle.value] = "operator " + py_str(names[i])
        described = {}
        for module_name, module in sorted(sys.modules.items()):
            if not module_name.startswith("mxnet") or module is None:
                continue
            for attribute, value in sorted(vars(module).items()):
                code = getattr(value, "__code__", None)
                if not isinstance(value, types.FunctionType) or code.co_filename != "<string>":
                    continue
                described[module_name + ":" + attribute] = [
                    value.__name__, value.__qualname__, value.__module__, value.__doc__,
                    code.co_code.hex(),
                    repr([operators.get(c, c) if type(c) is int else c for c in code.co_consts]), list(code.co_names),
                    list(code.co_varnames), code.co_argcount, code.co_kwonlyargcount,
                    repr(value.__defaults__), repr(value.__kwdefaults__), id(value)]
        return described
    ''')

PLAIN = "import sys\nsys.modules['sklearn'] = sys.modules['scipy'] = None\nimport mxnet\n"
DEFERRED = textwrap.dedent('''\
    import sys, types
    from gluon_lessons.shell import deferred_ops
    from gluon_lessons.shell.environment import import_mxnet
    import_mxnet()
    waiting = {}
    for module in list(sys.modules.values()):
        for value in list(vars(module).values() if module is not None else ()):
            if isinstance(value, types.FunctionType) and deferred_ops.deferred(value):
                waiting[id(value)] = value
    print(len(waiting), file=sys.stderr)
    for function in waiting.values():
        deferred_ops.deferred(function).compile()
    ''')


def _run(program):
    environ = {k: v for k, v in os.environ.items() if not k.startswith("DMLC_")}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=300, env=environ)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def _functions(program):
    done = _run(program + DESCRIBE + "import json\nprint(json.dumps(describe()))\n")
    return json.loads(done.stdout.splitlines()[-1]), done.stderr


def _same_objects(described):
    # Which attributes hold one and the same function object (mx.nd.dot is mx.nd.op.dot, ...).
    groups = {}
    for key, fields in described.items():
        groups.setdefault(fields[-1], []).append(key)
    return sorted(sorted(keys) for keys in groups.values())


def test_every_operator_function_compiles_to_what_mxnet_makes():
    plain, _ = _functions(PLAIN)
    deferred, waiting = _functions(DEFERRED)
    # Every function MXNet compiles at import is left to compile (some sit in several modules).
    assert int(waiting.split()[-1]) == len(_same_objects(plain)) > 2000
    assert sorted(deferred) == sorted(plain)
    different = [key for key in plain if plain[key][:-1] != deferred[key][:-1]]
    assert different == []
    assert _same_objects(deferred) == _same_objects(plain)


def test_a_call_compiles_that_function_only_and_computes_what_mxnet_does():
    program = textwrap.dedent('''\
        import inspect, threading
        import numpy as onp
        from gluon_lessons.shell import deferred_ops
        from gluon_lessons.shell.environment import import_mxnet
        import_mxnet()
        import mxnet as mx
        record = deferred_ops.deferred(mx.nd.batch_dot)
        print("waiting", record is not None, deferred_ops.deferred(mx.nd.linalg.gemm2) is not None)
        print("stand-in", str(inspect.signature(mx.nd.batch_dot)))
        a = onp.arange(24, dtype=onp.float32).reshape(2, 3, 4)
        b = onp.arange(40, dtype=onp.float32).reshape(2, 4, 5)
        results, errors = [], []
        start = threading.Barrier(8)

        def call():
            start.wait()
            try:
                results.append(mx.nd.batch_dot(mx.nd.array(a), mx.nd.array(b)).asnumpy())
            except Exception as error:
                errors.append(repr(error))

        threads = [threading.Thread(target=call) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        print("errors", errors)
        print("right", len(results), all(onp.array_equal(r, onp.matmul(a, b)) for r in results))
        print("compiled", deferred_ops.deferred(mx.nd.batch_dot) is None,
              deferred_ops.deferred(mx.nd.linalg.gemm2) is not None)
        print("signature", str(inspect.signature(mx.nd.batch_dot)))
        print("symbol", mx.sym.batch_dot is not mx.nd.batch_dot,
              deferred_ops.deferred(mx.sym.batch_dot) is not None)
        ''')
    lines = _run(program).stdout.splitlines()
    assert lines[0] == "waiting True True"
    assert lines[1] == "stand-in (*args, _deferred=<compiled at the first call>, **kwargs)"
    assert lines[2] == "errors []"
    assert lines[3] == "right 8 True"
    assert lines[4] == "compiled True True"  # batch_dot compiled, gemm2 still waiting
    assert lines[5].startswith("signature (lhs=None, rhs=None, transpose_a=")
    assert lines[6] == "symbol True True"


def test_a_maker_mxnet_does_not_have_is_left_as_it_is():
    def _make_something_else(handle, name, func_name):
        return None

    assert deferred_ops.deferring(_make_something_else) is _make_something_else
    assert deferred_ops.deferred(len) is None
    assert deferred_ops.deferred(test_a_maker_mxnet_does_not_have_is_left_as_it_is) is None
