"""The lesson runner: settings resolved defaults < QUICK < --set, checked by type and by the lesson;
cells executed in order with the settings put in after the parameters cell; bad settings are exit 2,
a fault inside a lesson is not."""
import textwrap

import pytest

from gluon_lessons.shell import cells as lesson_cells
from gluon_lessons.shell import cli, runner
from gluon_lessons.shell import settings as lesson_settings

TOY = textwrap.dedent('''\
    # %% [markdown]
    # # A toy lesson
    # %%
    from gluon_lessons import checks
    # %% tags=["parameters"]
    seed = 0            # seed
    num_examples = 1000  # examples
    lr = 0.5            # step
    sizes = (1, 10)     # batch sizes
    label = "x"         # text
    verbose = False     # flag
    out_dir = None      # figures
    QUICK = dict(num_examples=200, lr=0.1)
    # %%
    num_examples = checks.integer("num_examples", num_examples, 10)
    lr = checks.positive("lr", lr, high=1.0)
    # %% [markdown]
    # ## Compute
    # %%
    findings = {"seed": seed, "num_examples": num_examples, "lr": lr, "sizes": sizes, "out_dir": out_dir}
    ''')


@pytest.fixture
def toy(tmp_path):
    path = tmp_path / "toy.py"
    path.write_text(TOY)
    return path


def test_cells_are_read_with_their_kind_tags_and_lines(toy):
    cells = lesson_cells.read_cells(toy)
    assert [cell.kind for cell in cells] == ["markdown", "code", "code", "code", "markdown", "code"]
    assert cells[2].tags == ("parameters",) and cells[2].first_line == 6


def test_quick_changes_defaults_but_never_an_explicit_setting(toy):
    assert lesson_settings.resolve_settings(toy)["num_examples"] == 1000
    quick = lesson_settings.resolve_settings(toy, quick=True)
    assert (quick["num_examples"], quick["lr"]) == (200, 0.1)
    chosen = lesson_settings.resolve_settings(toy, quick=True, settings={"num_examples": 5000})
    assert (chosen["num_examples"], chosen["lr"]) == (5000, 0.1)


@pytest.mark.parametrize("settings, message", [
    ({"num_examples": "abc"}, "num_examples must be an integer, got 'abc'"),
    ({"num_examples": 2.5}, "num_examples must be an integer"),
    ({"lr": "fast"}, "lr must be a finite number"),
    ({"lr": float("nan")}, "lr must be a finite number"),
    ({"sizes": 5}, "sizes must be a non-empty comma list like 1,10"),
    ({"sizes": (1, "a")}, "sizes must be a non-empty comma list"),
    ({"verbose": 1}, "verbose must be True or False"),
    ({"nope": 1}, "no setting nope; the settings are: num_examples, lr, sizes, label, verbose"),
    ({"seed": 3}, "set seed with --seed"),
])
def test_settings_of_the_wrong_kind_are_refused_with_one_line(toy, settings, message):
    with pytest.raises(lesson_settings.SettingError) as error:
        lesson_settings.resolve_settings(toy, settings=settings)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_an_int_is_accepted_where_a_float_is_expected(toy):
    assert lesson_settings.resolve_settings(toy, settings={"lr": 1})["lr"] == 1.0


def test_settings_go_in_after_the_parameters_cell_and_the_lesson_checks_them(toy):
    chosen = lesson_settings.resolve_settings(toy, quick=True, seed=4, settings={"sizes": [2, 3]})
    namespace = runner.execute(toy, chosen, "toy")
    assert namespace["findings"] == {"seed": 4, "num_examples": 200, "lr": 0.1, "sizes": (2, 3), "out_dir": None}
    for bad, message in (({"num_examples": 5}, "num_examples must be an integer >= 10, got 5"),
                         ({"lr": 2.0}, r"lr must be a number in \(0, 1\], got 2.0")):
        with pytest.raises(lesson_settings.SettingError, match=message):
            runner.execute(toy, lesson_settings.resolve_settings(toy, settings=bad), "toy")


def test_after_the_imports_cell_collections_skip_what_lives_and_garbage_is_freed_first(toy):
    # A cycle that is garbage when the lesson starts is collected, not frozen with the living objects.
    import gc
    import weakref

    class Node:
        pass

    cycle = Node()
    cycle.itself = cycle
    dead = weakref.ref(cycle)
    del cycle
    gc.disable()  # no collection may happen on its own before the runner's
    try:
        runner.execute(toy, lesson_settings.resolve_settings(toy), "toy")
        assert dead() is None
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.enable()


def test_json_is_valid_without_nan_or_infinity():
    import numpy as onp
    text = runner.to_json({"a": float("nan"), "b": onp.array([1.0, onp.inf]), "c": onp.float32(0.5)})
    assert text == '{"a": null, "b": [1.0, null], "c": 0.5}'


def test_a_bad_setting_is_exit_2_and_one_line(capsys):
    assert cli.main(["run", "4", "--set", "lr=-1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("gluon-lessons: error: ") and "\n" not in err
    assert "lr must be a number in (0, 10], got -1.0" in err


def test_a_fault_inside_a_lesson_is_not_reported_as_bad_input(capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("a bug in the library")
    monkeypatch.setattr(runner, "execute", broken)
    assert cli.main(["run", "4"]) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "lesson gluon failed" in err.strip().splitlines()[-1]


def test_nothing_reads_argv_inside_a_notebook_kernel(monkeypatch):
    monkeypatch.setattr("sys.argv", ["ipykernel_launcher", "-f", "/tmp/kernel-1.json"])
    assert runner.in_notebook() is False  # a plain interpreter: the lesson's guard would hand over to main


CURRENT_SHAPE = textwrap.dedent('''\
    # %% [markdown]
    # # A toy lesson in the current shape
    # %%
    from gluon_lessons import checks
    # %% tags=["parameters"]
    seed = 0            # seed
    num_examples = 1000  # examples
    lr = 0.5            # step
    broken = False      # a fault after the settings were checked
    out_dir = None      # figures
    QUICK = dict(num_examples=200)
    # %%
    num_examples = checks.integer("num_examples", num_examples, 10, 100_000)
    lr = checks.positive("lr", lr, high=1.0)
    # %%
    if broken:
        raise ValueError("a fault in a later cell")
    findings = {"num_examples": num_examples, "lr": lr}
    ''')


def test_the_cell_after_the_parameters_checks_the_settings_without_importing_the_runner(tmp_path):
    path = tmp_path / "current.py"
    path.write_text(CURRENT_SHAPE)
    chosen = lesson_settings.resolve_settings(path, quick=True)
    assert runner.execute(path, chosen, "toy")["findings"] == {"num_examples": 200, "lr": 0.5}
    for bad, message in (({"num_examples": 5}, r"num_examples must be an integer in \[10, 100000\], got 5"),
                         ({"lr": 1e39}, r"lr must be a number in \(0, 1\], got 1e\+39"),
                         ({"lr": 1e-320}, "lr must be a number in .* that float32 can hold")):
        with pytest.raises(lesson_settings.SettingError, match=message):
            runner.execute(path, lesson_settings.resolve_settings(path, settings=bad), "toy")
    # The same kind of error from a later cell is a fault of the lesson, not bad input.
    with pytest.raises(ValueError, match="a fault in a later cell") as caught:
        runner.execute(path, lesson_settings.resolve_settings(path, settings={"broken": True}), "toy")
    assert not isinstance(caught.value, lesson_settings.SettingError)


def test_mxnet_is_imported_without_scikit_learn_and_scipy_which_import_afterwards():
    # A fresh interpreter: in this one MXNet is imported already. Truths: MXNet's own fallbacks when
    # the optional imports fail (mxnet.model.SKLEARN_INSTALLED, mxnet.ndarray.sparse.spsp), and
    # scikit-learn's digits loading and a SciPy quantile afterwards (what lessons 8 and 9 use).
    import subprocess
    import sys

    program = textwrap.dedent('''\
        import sys
        from gluon_lessons.shell import runner
        runner.import_mxnet()
        import mxnet
        print(sorted(name for name in sys.modules if name.split(".")[0] in ("sklearn", "scipy")))
        print(mxnet.model.SKLEARN_INSTALLED, mxnet.ndarray.sparse.spsp)
        from scipy import stats
        from sklearn.datasets import load_digits
        print(load_digits().data.shape, round(float(stats.t.ppf(0.975, 10)), 3))
        ''')
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["[]", "False None", "(1797, 64) 2.228"]


FREEZES = textwrap.dedent('''\
    import gc, sys
    from gluon_lessons.shell import runner
    path = sys.argv[1]
    counts = []
    freeze = runner._freeze_what_is_imported
    runner._freeze_what_is_imported = lambda: (freeze(), counts.append(gc.get_freeze_count()))
    runner.execute(path, {}, "toy")
    print(len(counts), counts[-1] > counts[0])
    ''')


@pytest.mark.parametrize("later_import, freezes", [("import scipy.stats", "2 True"), ("import json", "1 False")])
def test_a_later_cell_that_imports_many_modules_is_frozen_after_too(tmp_path, later_import, freezes):
    # scipy.stats brings about 500 modules into a fresh interpreter, json none: only the first is
    # followed by a second freeze (the first follows the imports cell).
    import subprocess
    import sys

    path = tmp_path / "toy.py"
    path.write_text(TOY.replace("findings = {", later_import + "\nfindings = {"))
    done = subprocess.run([sys.executable, "-c", FREEZES, str(path)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == freezes
