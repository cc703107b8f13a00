"""The lesson runner's old place: lesson files that still import it find its helpers here.

The runner is `gluon_lessons.shell.runner` (settings in `gluon_lessons.shell.settings`, notebooks in
`gluon_lessons.shell.notebooks`). A lesson in the current shape imports none of them.
"""

from gluon_lessons.shell.cells import Cell, parameters_cell, read_cells  # noqa: F401
from gluon_lessons.shell.notebooks import execute_notebook, notebook_of, write_notebook  # noqa: F401
from gluon_lessons.shell.runner import OUTPUT_ROOT, execute, in_notebook, run_lesson, to_json  # noqa: F401
from gluon_lessons.shell.settings import (  # noqa: F401
    SettingError,
    check_memory,
    check_out_dir,
    checking_settings,
    defaults_of,
    require,
    resolve_settings,
)


def main(module_name, argv=None):
    """`python -m gluon_lessons.lessons.lessonNN_slug [options]`: `gluon-lessons run NN [options]`."""
    from gluon_lessons.lessons import find
    from gluon_lessons.shell import cli

    return cli.main(
        argv, lesson=find(module_name.rsplit(".", 1)[-1]).slug, prog="python -m " + module_name
    )
