"""How MXNet is imported: with the standard library's distutils, nothing changed afterwards, and the
modules it (and d2l) import without using them loaded at their first use.

Truths: which modules a fresh interpreter holds (`sys.modules`), where setuptools' shim says
`distutils` comes from, the warnings a later `import setuptools` raises (none, as without MXNet),
and the file a plain `import requests` loads.
"""
import os
import subprocess
import sys
import textwrap

import pytest

PROGRAM = textwrap.dedent('''\
    import sys, warnings
    import _distutils_hack
    shim = _distutils_hack.DISTUTILS_FINDER
    print("shim", shim in sys.meta_path)
    from gluon_lessons.shell.environment import import_mxnet
    import_mxnet()
    print("setuptools", "setuptools" in sys.modules or "pkg_resources" in sys.modules)
    print("distutils", sorted(name for name in sys.modules if name.startswith("distutils")))
    print("shim", shim in sys.meta_path)
    warnings.simplefilter("error")  # "Setuptools is replacing distutils." would fail here
    import setuptools
    import distutils.version
    print("from setuptools", "setuptools" in distutils.__file__)
    ''')


def _run(program, **env):
    environ = {k: v for k, v in os.environ.items() if k != "SETUPTOOLS_USE_DISTUTILS"}
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                          timeout=120, env=dict(environ, **env))
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_mxnet_imports_without_setuptools_and_leaves_the_shim_as_it_was():
    try:
        import _distutils_hack  # noqa: F401
    except ImportError:
        pytest.skip("no setuptools shim in this environment")
    lines = _run(PROGRAM)
    if lines[0] == "shim False":
        pytest.skip("setuptools' shim is not installed in this interpreter")
    assert lines == ["shim True", "setuptools False", "distutils []", "shim True",
                     "from setuptools True"]


def test_without_the_bypass_mxnet_would_load_setuptools():
    # The flip: the same import of MXNet, straight, with the shim in place, loads setuptools.
    program = PROGRAM.replace(
        "from gluon_lessons.shell.environment import import_mxnet\nimport_mxnet()",
        "sys.modules['sklearn'] = sys.modules['scipy'] = None\nimport mxnet")
    assert "import mxnet" in program
    lines = _run(program)
    if lines[0] == "shim False":
        pytest.skip("setuptools' shim is not installed in this interpreter")
    assert lines[1] == "setuptools True"


LAZY = textwrap.dedent('''\
    import sys
    from gluon_lessons.shell.environment import import_mxnet
    import_mxnet()
    kind = lambda name: type(sys.modules[name]).__name__
    print(kind("requests"), kind("pandas"))
    import mxnet.gluon.utils
    from d2l import mxnet as d2l  # imports both
    print(kind("requests"), kind("pandas"), d2l.pd is sys.modules["pandas"])
    frame = d2l.pd.DataFrame({"area": [1.0, 2.0]})  # the first use loads pandas
    import pandas
    print(kind("pandas"), type(frame) is pandas.DataFrame, frame["area"].sum(), d2l.pd.Series is pandas.Series)
    import requests.adapters
    print(kind("requests"), mxnet.gluon.utils.requests.adapters is requests.adapters, requests.__file__)
    ''')


def test_modules_imported_but_not_used_load_at_their_first_use():
    lines = _run(LAZY)
    assert lines[0] == "LazyModule LazyModule"
    assert lines[1] == "LazyModule LazyModule True"  # importing d2l (and MXNet) loaded neither
    assert lines[2] == "module True 3.0 True"
    real = _run("import requests\nprint(requests.__file__)")[0]
    assert lines[3] == "module True " + real


GROUP_NAMES = ("IPython", "IPython.display", "matplotlib_inline", "matplotlib_inline.backend_inline")
GROUP_START = textwrap.dedent(f'''\
    import sys
    from gluon_lessons.shell.environment import import_mxnet
    import_mxnet()
    from gluon_lessons import lazy_imports
    names = {GROUP_NAMES!r}
    kinds = lambda: [type(sys.modules[name]).__name__ for name in names]
    ''')


def test_d2l_imports_without_ipython_which_loads_at_its_first_use():
    """d2l's `from IPython import display` and `from matplotlib_inline import backend_inline` take
    stand-ins (0.42-0.45 s less); the first use loads both packages as a plain import would."""
    lines = _run(GROUP_START + textwrap.dedent('''\
        from d2l import mxnet as d2l
        print(kinds(), "IPython.core" in sys.modules, d2l.display is sys.modules["IPython.display"])
        show = d2l.display.display  # the first use
        import IPython, IPython.display, matplotlib_inline.backend_inline
        print(kinds(), show is IPython.display.display, IPython.display is sys.modules["IPython.display"])
        print(IPython.get_ipython is IPython.core.getipython.get_ipython,
              d2l.backend_inline.set_matplotlib_formats is matplotlib_inline.backend_inline.set_matplotlib_formats)
        '''))
    assert lines == ["['LazyModule', 'LazyModule', 'LazyModule', 'LazyModule'] False True",
                     "['module', 'module', 'module', 'module'] True True", "True True"]


@pytest.mark.parametrize("statement", ["import IPython.core.getipython",
                                       "from matplotlib_inline.backend_inline import InlineBackend",
                                       "from IPython.core import getipython"])
def test_importing_another_module_of_a_waiting_package_loads_the_package_first(statement):
    """Without loading the group first, the import system would take the stand-in for the module's
    parent: the package's own `__init__` would never run, its attributes never be set."""
    lines = _run(GROUP_START + statement + textwrap.dedent('''
        import IPython, IPython.core.getipython, matplotlib_inline
        print(kinds(), IPython.core.getipython is sys.modules["IPython.core.getipython"],
              IPython.get_ipython is IPython.core.getipython.get_ipython, IPython.__file__ == IPython.__spec__.origin)
        print(sum(type(finder).__name__ == "_GroupFinder" for finder in sys.meta_path))
        '''))
    assert lines == ["['module', 'module', 'module', 'module'] True True True", "0"]


def test_a_module_not_there_is_not_found_while_its_package_waits():
    lines = _run(GROUP_START + textwrap.dedent('''\
        import importlib.util
        print(importlib.util.find_spec("IPython.no_such_module"), lazy_imports.waiting("IPython"))
        try:
            import IPython.no_such_module
        except ModuleNotFoundError as error:
            print(type(error).__name__, error.name)
        '''))
    assert lines == ["None True", "ModuleNotFoundError IPython.no_such_module"]


def test_a_group_with_a_package_imported_already_is_left_alone():
    lines = _run("import IPython\n" + GROUP_START + textwrap.dedent('''\
        from d2l import mxnet as d2l
        print(type(sys.modules["IPython"]).__name__, lazy_imports.waiting("matplotlib_inline"),
              sum(type(finder).__name__ == "_GroupFinder" for finder in sys.meta_path))
        '''))
    assert lines == ["module False 0"]


def test_a_module_imported_already_or_not_installed_is_left_alone():
    from gluon_lessons.lazy_imports import import_lazily

    json_module = sys.modules.setdefault("json", __import__("json"))
    import_lazily("json")
    assert sys.modules["json"] is json_module
    import_lazily("gluon_lessons_no_such_module")
    assert "gluon_lessons_no_such_module" not in sys.modules
    with pytest.raises(ModuleNotFoundError):
        import gluon_lessons_no_such_module  # noqa: F401


def test_lesson_9s_default_split_imports_neither_scikit_learn_nor_scipy_stats():
    """Importing scikit-learn costs 0.6 s, most of it scipy.stats: lesson 9's digits and default split
    are read without it (tests/test_digits.py checks they are scikit-learn's), its t-tests take
    scipy.special's functions."""
    lines = _run(textwrap.dedent('''\
        import sys
        from gluon_lessons.shell.environment import import_mxnet
        import_mxnet()
        from gluon_lessons import digits, sharpness
        digits.load(0.25, 0)
        sharpness.paired_difference([1.0, 2.0, 3.0], [2.0, 3.1, 4.05])
        print(sorted(name for name in ("sklearn", "scipy.stats") if name in sys.modules))
        digits.load(0.25, 1)  # not the stored split: made by scikit-learn
        print("sklearn" in sys.modules)
        '''))
    assert lines == ["[]", "True"]


def test_the_digits_split_leaves_pandas_unloaded_and_is_scikit_learns():
    lines = _run(textwrap.dedent('''\
        from gluon_lessons.shell.environment import import_mxnet
        import_mxnet()
        import numpy as onp
        from gluon_lessons import digits, lazy_imports
        data = digits.load(0.25, 3)
        print(lazy_imports.waiting("pandas"))
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
        raw = load_digits()
        parts = train_test_split(raw.data / 16, raw.target, test_size=449, random_state=3,
                                 stratify=raw.target)  # pandas loads here, sklearn asking about it
        print(lazy_imports.waiting("pandas"), all(onp.array_equal(a, b) for a, b in zip(
            parts, (data.train_features, data.test_features, data.train_labels, data.test_labels))))
        '''))
    assert lines == ["True", "False True"]
