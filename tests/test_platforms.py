"""The Dockerfile, read as text against the Makefile, setup.cfg and the installed mxnet wheel, so that they cannot
drift apart: no container can be built where the suite runs, so its text is what is checked."""
import configparser
import importlib.util
import operator
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "Dockerfile"
BUILD_COMMAND = "docker build -t gluon-lessons ."
# Debian packages that python:3.11-slim (bookworm) has besides Python: the C library, and libstdc++6 and libgcc-s1,
# which its apt needs. Any other library libmxnet.so needs from the system must be installed by the Dockerfile.
IN_THE_BASE_IMAGE = {"libc6", "libstdc++6", "libgcc-s1"}


def instructions():
    """The Dockerfile's instructions as (KEYWORD, arguments), continuation lines joined, comments left out."""
    lines = [line for line in DOCKERFILE.read_text().splitlines() if not line.lstrip().startswith("#")]
    joined = re.sub(r"\\\n\s*", " ", "\n".join(lines))
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
            for line in joined.splitlines() if line.strip()]


def arguments(keyword):
    return [args for key, args in instructions() if key == keyword]


def makefile_recipe(target):
    """The commands of the Makefile's rule for `target` (as written, e.g. `$(STAMP)`), its variables expanded."""
    text = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+) := (.+)$", text, re.M))

    def expand(line):
        while "$(" in line:
            line = re.sub(r"\$\((\w+)\)", lambda m: variables[m.group(1)], line)
        return line

    rule = re.search(r"^%s:.*\n((?:\t.*\n)+)" % re.escape(target), text, re.M)
    assert rule, "no rule for %s in the Makefile" % target
    return [expand(line.strip().lstrip("@")) for line in rule.group(1).splitlines()]


def satisfies(version, specifier):
    """Whether a (major, minor) version meets a python_requires such as `>=3.8, <3.12`."""
    compare = {">=": operator.ge, "<=": operator.le, ">": operator.gt, "<": operator.lt, "==": operator.eq,
               "!=": operator.ne}
    for clause in specifier.split(","):
        op, number = re.fullmatch(r"\s*(>=|<=|==|!=|>|<)\s*([\d.]+)\s*", clause).groups()
        if not compare[op](version, tuple(int(part) for part in number.split("."))):
            return False
    return True


def test_the_base_image_is_python_311_slim_within_python_requires_as_linux_amd64():
    (base,) = arguments("FROM")
    match = re.fullmatch(r"--platform=(\S+) python:(\d+)\.(\d+)-slim", base)
    assert match, base
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    version = (int(match.group(2)), int(match.group(3)))
    assert version == (3, 11) and satisfies(version, setup["options"]["python_requires"])
    # mxnet 1.9.1's aarch64 wheel needs Arm Performance Libraries it does not bundle: the image is x86_64 everywhere.
    assert match.group(1) == "linux/amd64"


def test_satisfies_reads_python_requires_as_pip_does():
    assert satisfies((3, 11), ">=3.8, <3.12") and satisfies((3, 8), ">=3.8, <3.12")
    assert not satisfies((3, 12), ">=3.8, <3.12") and not satisfies((3, 7), ">=3.8, <3.12")


def test_the_image_builds_venv_with_exactly_the_makefiles_steps():
    steps = makefile_recipe("$(STAMP)")
    assert steps[0] == "./tools/find_python.sh --venv .venv" and steps[-1] == "touch .venv/.installed"
    assert any("pip install --quiet -e '.[test]'" in step for step in steps)
    (install,) = [args for args in arguments("RUN") if "find_python.sh" in args]
    assert [step.strip() for step in install.split("&&")] == steps
    # .venv/.installed must end up newer than setup.cfg and pyproject.toml, on which the rule depends.
    order = [args for _, args in instructions()]
    assert order.index(arguments("COPY")[0]) < order.index(install)


def test_the_image_runs_the_course_by_default_and_has_make():
    (command,) = arguments("CMD")
    assert command == '["make", "run"]'
    assert makefile_recipe("run") == [".venv/bin/gluon-lessons walkthrough"]
    assert "make" in apt_packages()


def apt_packages():
    (install,) = [args for args in arguments("RUN") if "apt-get install" in args]
    words = install.split("apt-get install", 1)[1].split("&&")[0].split()
    return {word for word in words if not word.startswith("-")}


def needed_from_the_system():
    """Sonames that the installed wheel's libraries (libmxnet.so and those it bundles) need and do not bundle."""
    folder = Path(importlib.util.find_spec("mxnet").submodule_search_locations[0])
    libraries = sorted(folder.glob("*.so*"))
    assert any(lib.name == "libmxnet.so" for lib in libraries)
    needed = set()
    for lib in libraries:
        dynamic = subprocess.run(["readelf", "-d", str(lib)], capture_output=True, text=True, check=True).stdout
        needed |= set(re.findall(r"\(NEEDED\)\s+Shared library: \[(.+?)\]", dynamic))
    return needed - {lib.name for lib in libraries}


def debian_packages(sonames):
    """The Debian package holding each soname on this machine (bookworm, as the image), by one `dpkg -S`."""
    found = subprocess.run(["dpkg", "-S"] + ["*/" + soname for soname in sonames], capture_output=True,
                           text=True).stdout
    packages = {}
    for line in found.splitlines():
        owner, path = line.split(": ", 1)
        packages.setdefault(path.rsplit("/", 1)[-1], set()).add(owner.split(":")[0])
    assert all(len(packages.get(soname, ())) == 1 for soname in sonames), found
    return {soname: packages[soname].pop() for soname in sonames}


@pytest.mark.skipif(not (shutil.which("readelf") and shutil.which("dpkg")), reason="needs readelf and dpkg (Debian)")
def test_the_image_installs_every_system_library_libmxnet_needs():
    needed = needed_from_the_system()
    # What the wheel leaves to the system, as measured: OpenMP, and libgfortran's quad-precision maths.
    assert {"libgomp.so.1", "libquadmath.so.0"} <= needed
    packages = debian_packages(sorted(needed))
    missing = {soname: package for soname, package in packages.items()
               if package not in IN_THE_BASE_IMAGE | apt_packages()}
    assert not missing, "the Dockerfile does not install %s" % missing


def test_the_build_context_leaves_out_what_is_built_or_written_locally():
    ignored = {line.strip() for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {".venv", "lesson_output", ".git", "notebooks"} <= ignored


def test_the_build_command_is_the_same_everywhere_it_is_given():
    for path in ("Dockerfile", "README.md", "tools/find_python.sh"):
        assert BUILD_COMMAND in (ROOT / path).read_text(), path
