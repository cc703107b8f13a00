"""The course as a website (book/): built once with the lessons' quick settings, read in Chromium.

The browser test is the one `slow` test: it builds the quick book (every lesson executed once) into
build/book-quick and opens every page in Chromium with no host name resolving, as a reader offline
would. Screenshots stay in build/book-quick/screenshots for a person to look at.
"""
import ast
import importlib.util
import json
import re
import shutil
import sys
import urllib.parse
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON_FILES = sorted((ROOT / "gluon_lessons" / "lessons").glob("lesson[0-9][0-9]_*.py"))


def _load(name):
    spec = importlib.util.spec_from_file_location(f"book_{name}", ROOT / "book" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _load("build")
browser = _load("browser")


def _quick_settings(path):
    """The QUICK dict of a lesson's parameters cell, read from its source."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == "QUICK":
            call = node.value
            if isinstance(call, ast.Call):
                return {keyword.arg: ast.literal_eval(keyword.value) for keyword in call.keywords}
            return dict(ast.literal_eval(call))
    return {}


def test_the_book_finds_every_lesson_file():
    assert [path for _, path in build.written_lessons()] == LESSON_FILES


def test_quick_settings_reach_the_lessons_kernel():
    lesson, path = build.written_lessons()[0]
    quick = _quick_settings(path)
    assert quick, "the first lesson has QUICK settings to test with"
    injected = [cell for cell in build.lesson_notebook(lesson, quick=True).cells
                if "injected-parameters" in cell.metadata.get("tags", [])]
    assert len(injected) == 1
    namespace = {}
    exec(injected[0].source, namespace)
    assert {name: namespace[name] for name in quick} == quick
    defaults = build.lesson_notebook(lesson, quick=False)
    assert not [cell for cell in defaults.cells
                if "injected-parameters" in cell.metadata.get("tags", [])], "nothing injected"


def test_a_lesson_that_raises_fails_the_build(tmp_path):
    import nbformat
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("raise ValueError('lr must be positive, got -1')")])
    raised = r"(?s)lesson 99 \(lesson99_broken.py\) raised.*lr must be positive"
    with pytest.raises(build.BookError, match=raised):
        build.execute(notebook, tmp_path, "lesson 99 (lesson99_broken.py)")
    fine = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    run = build.execute(fine, tmp_path, "lesson 98 (lesson98_fine.py)")
    assert fine.cells[0].outputs[0]["text"] == "42\n"
    assert run["seconds"] > 0 and run["kernel_peak_mib"] > 10, run  # a kernel holds tens of MiB


def test_worked_solutions_are_collapsed_after_the_exercises_when_written(tmp_path):
    lesson, path = build.written_lessons()[0]
    notebook = build.lesson_notebook(lesson, quick=False)
    run = {"seconds": 1.0, "kernel_peak_mib": 300.0, "with_children_peak_mib": 300.0}
    assert build.solutions_of(lesson, tmp_path) == []
    page = build.page_notebook(notebook, path.stem, run, False, [])
    assert len(page.cells) == len(notebook.cells) + 1  # the line of downloads
    assert not any("{dropdown}" in cell.source for cell in page.cells)
    solution = tmp_path / f"lesson{lesson.number:02d}_worked.py"
    solution.write_text("# %% [markdown]\n# # Lesson 1 — worked solutions\n# Try them first.\n#\n"
                        "# ## Exercise 1 — least squares\n# By hand.\n# ### Why\n# Because.\n\n"
                        "# %%\nanswer = 6 * 7\n\n# %% [markdown]\n# ## Exercise 2 — noise\n\n"
                        "# %%\nnoise = 0.01\n")
    assert build.solutions_of(lesson, tmp_path) == [solution]
    page = build.page_notebook(notebook, path.stem, run, False, [solution])
    dropdowns = [index for index, cell in enumerate(page.cells) if "{dropdown}" in cell.source]
    assert len(dropdowns) == 2 and dropdowns[1] == dropdowns[0] + 1
    first, second = (page.cells[index].source for index in dropdowns)
    assert first.startswith("::::{dropdown} Exercise 1 — least squares\n")
    assert "By hand." in first and "**Why**" in first and "answer = 6 * 7" in first
    assert "noise" not in first
    assert second.startswith("::::{dropdown} Exercise 2 — noise\n") and "noise = 0.01" in second
    intro = page.cells[dropdowns[0] - 1].source
    assert intro.startswith("**Worked solutions**") and "Try them first." in intro
    assert "# Lesson" not in intro
    exercises = [index for index, cell in enumerate(page.cells) if cell.cell_type == "markdown"
                 and re.search(r"^#+\s+Exercises", cell.source, re.MULTILINE)]
    assert dropdowns[0] - 1 == (exercises[-1] + 1 if exercises else len(notebook.cells) + 1)
    assert len(page.cells) == len(notebook.cells) + 4  # downloads, introduction, two exercises
    assert "{dropdown}" not in "".join(cell.source for cell in notebook.cells), \
        "the executed notebook is untouched"


NO_TOOLS = "the book's dependencies are not installed: make book-deps"
NO_CHROMIUM = "no Chromium on PATH (Debian: apt-get install chromium; .ci/run installs it)"


@pytest.fixture(scope="session")
def quick_book():
    pytest.importorskip("myst_nb", reason=NO_TOOLS)
    pytest.importorskip("websocket", reason=NO_TOOLS)
    if browser.find_chromium() is None:
        pytest.skip(NO_CHROMIUM)
    out = ROOT / "build" / "book-quick"
    shutil.rmtree(out / "screenshots", ignore_errors=True)
    rows = build.build(out, quick=True, log=lambda *args, **kwargs: None)
    return out, rows


def _plain_text(title):
    """A heading as the page shows it: `code` without backticks, Sphinx's curly quotes straight."""
    return title.replace("`", "").translate(str.maketrans("‘’“”", "''\"\""))


def _lesson(path):
    return next(lesson for lesson, source in build.written_lessons() if source == path)


def _check_downloads(report, html, path):
    """The page offers the lesson's .py, its worked solutions (byte for byte) and the executed
    notebook (valid, every cell run), and the browser fetched each. That notebook."""
    import nbformat
    solutions = build.solutions_of(_lesson(path))
    offered = {Path(link["href"]).name: link for link in report["downloads"]}
    originals = {path.name: path}
    originals.update((build.solution_download(solution), solution) for solution in solutions)
    assert sorted(offered) == sorted([*originals, path.stem + ".ipynb"]), sorted(offered)
    files = {name: html / urllib.parse.urlparse(link["href"]).path.lstrip("/")
             for name, link in offered.items()}
    for name, link in offered.items():
        assert link["status"] == 200 and link["bytes"] == files[name].stat().st_size, link
    for name, original in originals.items():
        assert files[name].read_bytes() == original.read_bytes(), name
    notebook = nbformat.read(str(files[path.stem + ".ipynb"]), as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None for cell in code), "every code cell was executed"
    assert notebook.cells[0].source.startswith(f"# Lesson {int(path.stem[6:8])} ")
    return notebook


def _figures(notebook):
    return sum(bool({"image/png", "image/svg+xml"} & set(out.get("data", {})))
               for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs)


@pytest.mark.slow
def test_the_quick_book_reads_in_a_browser_offline(quick_book):
    out, rows = quick_book
    html = out / "html"
    assert [row["module"] for row in rows] == [path.stem for path in LESSON_FILES]
    assert (html / "_static" / "mathjax" / "tex-chtml.js").is_file(), "MathJax comes with the site"
    timings = json.loads((out / "timings.json").read_text())
    assert timings["quick"] is True and len(timings["lessons"]) == len(LESSON_FILES)
    for row in timings["lessons"]:
        assert row["seconds"] > 0 and row["kernel_peak_mib"] > 10, row
    warnings = [line for line in (out / "sphinx.log").read_text().splitlines() if "WARNING" in line]
    assert warnings == [], "Sphinx rendered every page without a warning"

    reports = {Path(report["url"]).stem: report for report in browser.read_book(out)}
    assert set(reports) == {"index", "timings"} | {path.stem for path in LESSON_FILES}
    for name, report in reports.items():
        assert report["errors"] == [], f"{name}: {report['errors']}"
        assert report["math_typeset"] == report["math"], \
            f"{name}: MathJax typeset {report['math_typeset']} of {report['math']} formulas"
        assert report["raw_math"] == [], f"{name}: math left as source: {report['raw_math']}"
        shot = out / "screenshots" / f"{name}.jpg"
        assert shot.read_bytes()[:2] == b"\xff\xd8", f"{name}: no screenshot"

    front = reports["index"]
    for row in rows:  # the course table links every lesson and gives its running time
        assert any(link.endswith(f"lessons/{row['module']}.html") for link in front["links"]), row
    front_text, timings_text = ((html / page).read_text(encoding="utf-8").split("<article", 1)[1]
                                for page in ("index.html", "timings.html"))
    for row in rows:
        cell = rf"{row['module']}.html.*?</td>\s*<td[^>]*>\s*<p>{row['seconds']:.0f} s</p>"
        assert re.search(cell, front_text, re.DOTALL), (row, "on the front page")
        cells = [f"{row['seconds']:.1f}", f"{row['kernel_peak_mib']:.0f}",
                 f"{row['with_children_peak_mib']:.0f}"]
        row_text = re.search(rf"{row['module']}.html.*?</tr>", timings_text, re.DOTALL).group(0)
        assert all(f"<p>{value}</p>" in row_text for value in cells), (row, row_text)

    for path in LESSON_FILES:
        report = reports[path.stem]
        figures = report["figures"]
        drawn = [figure for figure in figures if min(figure["natural"] + figure["shown"]) > 0]
        assert figures and drawn == figures, f"{path.stem}: figures {figures}"
        notebook = _check_downloads(report, html, path)
        assert len(figures) == _figures(notebook), f"{path.stem}: every figure is on the page"
        outputs = sum(bool(cell.outputs) for cell in notebook.cells if cell.cell_type == "code")
        assert report["outputs"] == outputs, f"{path.stem}: every cell's output is on the page"
        headings = [line[2:].lstrip("#").strip() for cell in notebook.cells
                    if cell.cell_type == "markdown" for line in cell.source.splitlines()
                    if re.match(r"##? ", line)]
        assert [_plain_text(heading) for heading in report["headings"]] == \
            [_plain_text(heading) for heading in headings], f"{path.stem}: its text is on the page"
        sections = [line[5:].strip() for solution in build.solutions_of(_lesson(path))
                    for line in solution.read_text().splitlines() if line.startswith("# ## ")]
        shown = [(_plain_text(item["title"]), item["open"]) for item in report["solutions"]]
        assert shown == [(_plain_text(title), False) for title in sections], \
            f"{path.stem}: one closed block per worked solution"

    # The same page opened as a file, as the README says one may.
    chromium = browser.Chromium(browser.find_chromium())
    try:
        first = chromium.read((html / "lessons" / f"{LESSON_FILES[0].stem}.html").as_uri())
    finally:
        chromium.close()
    assert first["errors"] == [] and first["figures"], first
    assert all(figure["natural"][0] > 0 for figure in first["figures"])


def test_the_browser_check_tells_a_good_page_from_a_bad_one(tmp_path):
    """Math typeset by the site's own MathJax passes; raw math, a broken figure, a console error
    and a request for another host are each caught."""
    pytest.importorskip("websocket", reason=NO_TOOLS)
    if browser.find_chromium() is None:
        pytest.skip(NO_CHROMIUM)
    mathjax = importlib.util.find_spec("sphinx-mathjax-offline")
    if mathjax is None:
        pytest.skip(NO_TOOLS)
    package = Path(mathjax.submodule_search_locations[0])
    (tmp_path / "mathjax").symlink_to(package / "static" / "mathjax")
    (tmp_path / "good.html").write_text(
        "<html><head><script defer src='mathjax/tex-chtml.js'></script></head><body><article>"
        "<p>The saddle <span class='math'>\\(L(w) = (1 - w_1 w_2)^2\\)</span> and its Hessian</p>"
        "<div class='math'>\\[\\begin{pmatrix} 0 & -2 \\\\ -2 & 0 \\end{pmatrix}\\]</div>"
        "</article></body></html>")
    (tmp_path / "bad.html").write_text(
        "<html><body><article><p>The loss $L(w) = (1 - w_1 w_2)^2$ is not typeset.</p>"
        "<div class='cell_output'><img src='missing.png'></div>"
        "<script>console.error('boom')</script>"
        "<script src='https://cdn.example.org/mathjax.js'></script></article></body></html>")
    chromium = browser.Chromium(browser.find_chromium())
    try:
        with browser.serving(tmp_path) as base:
            good, bad = chromium.read(base + "good.html"), chromium.read(base + "bad.html")
    finally:
        chromium.close()
    assert good["errors"] == [] and good["raw_math"] == [], good
    assert good["math"] == good["math_typeset"] == 2
    assert bad["raw_math"] == ["$L(w) = (1 - w_1 w_2)^2$"]
    assert bad["figures"][0]["natural"] == [0, 0]
    assert any("boom" in error for error in bad["errors"])
    assert any("cdn.example.org" in error for error in bad["errors"])
    assert any("404" in error and "missing.png" in error for error in bad["errors"])
