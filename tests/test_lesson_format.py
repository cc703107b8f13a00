"""Every written lesson has the course's one format, so it runs as a script and opens as a notebook."""
import inspect
import re

import pytest

from gluon_lessons import lessons

WRITTEN = [lesson for lesson in lessons.LESSONS if lessons.is_written(lesson)]


def test_the_first_lessons_are_written():
    assert [lesson.number for lesson in WRITTEN][:4] == [1, 2, 3, 4]


@pytest.mark.parametrize("lesson", WRITTEN, ids=lambda lesson: lesson.module)
def test_lesson_format(lesson):
    module = lessons.load(lesson)
    source = inspect.getsource(module)
    doc = module.__doc__
    assert doc.startswith("Lesson %d — " % lesson.number), "title line: 'Lesson N — title'"
    assert "What you will see" in doc
    assert "gluon-lessons run %s" % lesson.slug in doc, "the docstring gives the command that runs it"
    assert getattr(module, "SLUG", None) == lesson.slug
    parameters = inspect.signature(module.run).parameters
    assert {"out_dir", "seed", "quick"} <= set(parameters)
    assert parameters["seed"].default == 0 and parameters["quick"].default is False
    assert callable(module.main) and 'if __name__ == "__main__":' in source
    assert "What we found" in source and "# ## Exercises" in source
    # Percent format: a text cell is comment lines after `# %% [markdown]`; the code that
    # follows it needs its own `# %%`, or a notebook would show that code as text.
    lines = source.splitlines()
    text_cells = [i for i, line in enumerate(lines) if line.startswith("# %% [markdown]")]
    assert len(text_cells) >= 3
    for start in text_cells:
        end = start + 1
        while end < len(lines) and lines[end].startswith("#") and not lines[end].startswith("# %%"):
            end += 1
        while end < len(lines) and not lines[end].strip() and lines[end + 1:end + 2] != [""]:
            end += 1  # one blank line may separate two text cells
        assert end < len(lines) and re.match(r"# %%( \[markdown\])?$", lines[end]), \
            "line %d: the text cell must be followed by a `# %%` marker" % (end + 1)
