"""How MXNet is imported: with the standard library's distutils, and nothing changed afterwards.

Truths: which modules a fresh interpreter holds (`sys.modules`), where setuptools' shim says
`distutils` comes from, and the warnings a later `import setuptools` raises (none, as without
MXNet).
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
