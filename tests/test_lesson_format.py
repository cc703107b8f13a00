"""Every lesson has the course's one shape: a percent-format file that reads top to bottom.

Title and "What you will see"; the run commands; one parameters cell of literal settings (with
`seed` and `out_dir`) whose `QUICK` changes only existing settings; text cells each followed by
code; "What we found" computed into `findings`; exercises; no code cell so long the reader loses
the text above it.
"""
import ast

import pytest

from gluon_lessons import lessons
from gluon_lessons.shell import cells as lesson_cells
from gluon_lessons.shell import settings as lesson_settings

SHAPED = [lesson for lesson in lessons.LESSONS if lessons.is_written(lesson)
          and "parameters" in lessons.source_path(lesson).read_text()]
LONGEST_CODE_CELL = 30  # lines of code (comments and blank lines not counted)


def test_the_first_lessons_are_written():
    assert [lesson.number for lesson in lessons.LESSONS if lessons.is_written(lesson)][:4] == [1, 2, 3, 4]


@pytest.mark.parametrize("lesson", SHAPED, ids=lambda lesson: lesson.module)
def test_lesson_shape(lesson):
    path = lessons.source_path(lesson)
    cells = lesson_cells.read_cells(path)
    title = cells[0]
    assert title.kind == "markdown" and title.source.startswith("# # Lesson %d — " % lesson.number)
    assert "What you will see" in title.source
    assert "gluon-lessons run %s" % lesson.slug in title.source
    assert "gluon-lessons notebook %d" % lesson.number in title.source
    # The run line may still name `python -m gluon_lessons.lessons.lessonNN` (a lesson in its former
    # shape, whose first cell hands that command to the runner); a lesson in the current shape does not.
    if "python -m gluon_lessons" in title.source:
        assert "python -m gluon_lessons.lessons.%s" % lesson.module in title.source
        assert "__main__" in path.read_text(), "the run line names a command the lesson no longer answers"
    settings, quick = lesson_settings.defaults_of(path)
    assert settings["seed"] == 0 and settings["out_dir"] is None
    assert set(quick) <= set(settings)
    kinds = [cell.kind for cell in cells]
    for i, kind in enumerate(kinds[:-1]):
        if kind == "markdown" and i > 0:
            assert "code" in kinds[i + 1:i + 3], "line %d: a text cell is followed by code" % cells[i].first_line
    texts = [cell.source for cell in cells if cell.kind == "markdown"]
    assert any("## What we found" in text for text in texts) and "## Exercises" in texts[-1]
    assert any("findings = {" in cell.source or "findings = dict(" in cell.source for cell in cells)
    for cell in cells:
        if cell.kind == "code":
            ast.parse(cell.source)
            lines = [line for line in cell.source.splitlines() if line.strip() and not line.strip().startswith("#")]
            assert len(lines) <= LONGEST_CODE_CELL, "the code cell at line %d has %d lines" % (cell.first_line, len(lines))
    source = path.read_text()
    assert "sys.argv" not in source and "argparse" not in source, "only the runner reads the command line"


MODULES = ["lesson01_data", "lesson02_batches", "lesson03_scratch", "lesson04_gluon", "lesson05_momentum",
           "lesson06_batch_time", "lesson07_batch_noise", "lesson08_critical_points", "lesson09_sharp_flat",
           "lesson10_adaptive", "lesson11_distributed"]


def test_every_module_name_finds_its_lesson_and_its_settings():
    """`python -m gluon_lessons.lessons.<module>` and `run <module>` resolve each file by its module name (the
    notebook tests then execute each one); the course has exactly these eleven, numbered in order."""
    assert [lesson.module for lesson in lessons.LESSONS] == MODULES
    for number, module in enumerate(MODULES, start=1):
        lesson = lessons.find(module)
        assert lesson.number == number and lessons.source_path(lesson).name == module + ".py"
        settings, _ = lesson_settings.defaults_of(lessons.source_path(lesson))
        assert settings["seed"] == 0
