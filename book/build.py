"""Build the course as a static website: every lesson executed once, then rendered by Sphinx.

    python book/build.py               # default settings: build/book/html/index.html
    python book/build.py --quick       # the lessons' QUICK settings: build/book-quick/html/...
    python book/build.py --lessons 4   # only lesson 4 (and a front page listing it)

Each percent-format lesson in gluon_lessons/lessons/ is turned into a notebook (the same one
`gluon-lessons notebook N` writes), executed top to bottom in a fresh Python kernel while its
running time and peak memory are measured, and handed to Sphinx (MyST-NB, which only renders:
it executes nothing). A lesson that raises stops the build with exit code 1. MathJax comes from
the `sphinx-mathjax-offline` package and is copied into the site, so it reads with no network.
"""
import argparse
import copy
import datetime
import importlib.metadata
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

BOOK_DIR = Path(__file__).resolve().parent
ROOT = BOOK_DIR.parent
SOLUTIONS_DIR = ROOT / "gluon_lessons" / "solutions"
MIB = 2 ** 20
SAMPLE_SECONDS = 0.2  # how often the memory of the kernel and its child processes is read
LESSON_TIMEOUT = 1800  # seconds one cell may run before the build gives up on it


class BookError(RuntimeError):
    """A lesson raised, or Sphinx failed: the build stops."""


def default_out(quick):
    return ROOT / "build" / ("book-quick" if quick else "book")


def written_lessons():
    """(lesson, path of its percent-format file) for every lesson written so far, in order."""
    from gluon_lessons import lessons
    return [(lesson, lessons.source_path(lesson))
            for lesson in lessons.LESSONS if lessons.is_written(lesson)]


def lesson_notebook(lesson, quick):
    """The lesson as a notebook; with `quick`, its QUICK settings in a cell after its parameters
    (the notebook `gluon-lessons notebook N [--quick]` writes)."""
    from gluon_lessons.shell.notebooks import notebook_of

    return notebook_of(lesson.slug, quick=quick)


class MemoryWatch:
    """Peak resident memory of a kernel process: its own high-water mark (VmHWM, exact) and the sum
    over it and its child processes (sampled every SAMPLE_SECONDS; lessons that start workers)."""

    def __init__(self):
        self.kernel_peak = 0
        self.tree_peak = 0
        self._stop = threading.Event()
        self._thread = None

    def start(self, pid):
        self._thread = threading.Thread(target=self._watch, args=(pid,), daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _watch(self, pid):
        import psutil
        try:
            kernel = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                self.kernel_peak = max(self.kernel_peak, _high_water_mark(pid))
                processes = [kernel] + kernel.children(recursive=True)
                self.tree_peak = max(self.tree_peak, sum(_rss(process) for process in processes))
            except (psutil.NoSuchProcess, OSError):
                return
            self._stop.wait(SAMPLE_SECONDS)


def _high_water_mark(pid):
    """The most resident memory process `pid` has held so far, in bytes (Linux's VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def _rss(process):
    import psutil
    try:
        return process.memory_info().rss
    except psutil.NoSuchProcess:
        return 0


def execute(notebook, workdir, name):
    """Run every cell of `notebook` in a fresh kernel started in `workdir`; its time and memory."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, DeadKernelError
    watch = MemoryWatch()

    def started(**_):
        watch.start(client.km.provisioner.process.pid)

    client = NotebookClient(notebook, timeout=LESSON_TIMEOUT, kernel_name="python3",
                            resources={"metadata": {"path": str(workdir)}},
                            on_notebook_start=started)
    start = time.perf_counter()
    kernel_log = Path(workdir) / "kernel.log"
    try:
        with open(kernel_log, "w") as stderr:
            client.execute(stderr=stderr)
    except CellExecutionError as error:
        raise BookError(f"{name} raised while the book was built:\n{error}") from None
    except DeadKernelError as error:
        raise BookError(f"{name}: its kernel died ({error}); its last words:\n"
                        f"{kernel_log.read_text()[-2000:]}") from None
    finally:
        watch.stop()
    seconds = time.perf_counter() - start
    return {"seconds": round(seconds, 2), "kernel_peak_mib": round(watch.kernel_peak / MIB, 1),
            "with_children_peak_mib": round(watch.tree_peak / MIB, 1)}


def title_of(notebook):
    """The lesson's title: its first heading without "Lesson N —" (the table has a column for N)."""
    heading = re.search(r"^#\s+(.+)$", notebook.cells[0].source, re.MULTILINE).group(1).strip()
    return re.sub(r"^Lesson\s+\d+\s*[—:-]\s*", "", heading)


def solutions_of(lesson, solutions_dir=SOLUTIONS_DIR):
    """The worked-solution files of a lesson (`solutions/lessonNN_*.py`), if any were written."""
    return sorted(Path(solutions_dir).glob(f"lesson{lesson.number:02d}_*.py"))


def solution_download(path):
    """The name a worked-solution file is offered under (its lesson's file has the same name)."""
    return f"{path.stem}_solutions.py"


def solution_cells(paths):
    """Markdown cells for the worked solutions: what comes before the first `## ` heading (the
    solutions' introduction), then one collapsed block per `## ` section (one exercise each),
    written like a lesson: text, then code. Deeper headings become bold lines, since a section
    cannot open inside a collapsible block."""
    import jupytext
    import nbformat
    intro, sections = [], []
    for path in paths:
        for cell in jupytext.read(path, fmt="py:percent").cells:
            if cell.cell_type == "code":
                if cell.source.strip():
                    code = f"```python\n{cell.source.strip()}\n```"
                    (sections[-1][1] if sections else intro).append(code)
                continue
            for block in re.split(r"^(?=## )", cell.source, flags=re.MULTILINE):
                heading = re.match(r"## (.+)\n?", block)
                if heading:
                    sections.append((heading.group(1).strip(), []))
                    block = block[heading.end():]
                block = re.sub(r"^# .*\n?", "", block, flags=re.MULTILINE)  # the file's own title
                block = re.sub(r"^#{3,6}\s+(.+)$", r"**\1**", block, flags=re.MULTILINE).strip()
                if block:
                    (sections[-1][1] if sections else intro).append(block)
    names = ", ".join(f"{{download}}`{name} <../downloads/{name}>`"
                      for name in map(solution_download, paths))
    heading = f"**Worked solutions** ({names})"
    cells = [nbformat.v4.new_markdown_cell("\n\n".join([heading, *intro]))]
    for title, parts in sections:
        body = "\n\n".join(parts)
        cells.append(nbformat.v4.new_markdown_cell(
            f"::::{{dropdown}} {title}\n:class-container: worked-solution\n\n{body}\n::::"))
    return cells


def page_notebook(notebook, module, run, quick, solution_paths):
    """The notebook Sphinx renders: the executed one plus a line of downloads under the title and
    the worked solutions (collapsed) after the exercises."""
    import nbformat
    page = copy.deepcopy(notebook)
    settings = "its QUICK settings" if quick else "its default settings"
    peak = max(run["kernel_peak_mib"], run["with_children_peak_mib"])
    downloads = nbformat.v4.new_markdown_cell(
        f"Download: {{download}}`{module}.py <../downloads/{module}.py>` (the lesson; opens as "
        f"a notebook in Jupyter or VS Code) · {{download}}`{module}.ipynb "
        f"<../downloads/{module}.ipynb>` (the notebook as executed for this page). Executed with "
        f"{settings} in {run['seconds']:.1f} s, peak memory {peak:.0f} MiB "
        f"([all lessons](../timings.md)).")
    page.cells.insert(1, downloads)
    if solution_paths:
        exercises = [index for index, cell in enumerate(page.cells) if cell.cell_type == "markdown"
                     and re.search(r"^#+\s+Exercises", cell.source, re.MULTILINE)]
        at = exercises[-1] + 1 if exercises else len(page.cells)
        page.cells[at:at] = solution_cells(solution_paths)
    return page


def machine():
    def version(name):
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    return {"python": platform.python_version(), "mxnet": version("mxnet"),
            "numpy": version("numpy"), "cpus": os.cpu_count(), "platform": platform.platform(),
            "built": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def front_page(rows, quick, host):
    settings = ("the lessons' quick settings (`--quick`)" if quick
                else "each lesson's default settings")
    lines = ["# gluon_lessons: mini-batch SGD, batch size and momentum in MXNet Gluon", "",
             "A runnable course, from house-price data and a hand-written batch iterator to "
             "momentum, the noise and cost of batch size, critical points, sharp and flat minima, "
             "adaptive steps and distributed training. Every page below was executed for this "
             f"site, with {settings}: what you read is what the code printed and drew. Each page "
             "offers the lesson's `.py` file and the executed notebook to download.", "",
             "| # | Lesson | Running time |", "|---:|---|---:|"]
    for row in rows:
        link = f"[{row['title']}](lessons/{row['module']}.ipynb)"
        lines.append(f"| {row['number']} | {link} | {row['seconds']:.0f} s |")
    lines += ["", "Running times are wall-clock seconds to execute each notebook in a fresh kernel "
              f"on this machine ({host['cpus']} CPUs, Python {host['python']}, MXNet "
              f"{host['mxnet']}, built {host['built']}); [running times and peak "
              "memory](timings.md).", "",
              "```{toctree}", ":hidden:", ":maxdepth: 1", ""]
    lines += [f"lessons/{row['module']}" for row in rows] + ["timings", "```", ""]
    return "\n".join(lines)


def timings_page(rows, quick, host):
    settings = "quick (`--quick`)" if quick else "default"
    lines = ["# Running times and peak memory", "",
             "Each lesson executed once, top to bottom, in a fresh Python kernel with its "
             f"{settings} settings, on {host['platform']} with {host['cpus']} CPUs (Python "
             f"{host['python']}, MXNet {host['mxnet']}, NumPy {host['numpy']}), built "
             f"{host['built']}.", "",
             "| # | Lesson | Running time (s) | Peak memory of the kernel (MiB) | "
             "Kernel and its child processes (MiB) |", "|---|---|---:|---:|---:|"]
    for row in rows:
        lines.append(f"| {row['number']} | [{row['title']}](lessons/{row['module']}.ipynb) | "
                     f"{row['seconds']:.1f} | {row['kernel_peak_mib']:.0f} | "
                     f"{row['with_children_peak_mib']:.0f} |")
    total = sum(row["seconds"] for row in rows)
    lines += [f"| | all lessons | {total:.1f} | | |", "",
              "The running time includes starting the kernel and importing MXNet (about 2 s). The "
              "kernel's peak is its resident-memory high-water mark as Linux records it; the last "
              f"column adds the lesson's child processes (workers a lesson starts), sampled every "
              f"{SAMPLE_SECONDS} s, so a short-lived peak there can be missed.", ""]
    return "\n".join(lines)


def build(out=None, quick=False, only=None, log=print):
    """Execute every lesson (or those numbered in `only`) and render the site into `out`/html;
    the rows of the timings table."""
    import nbformat
    out = Path(out) if out is not None else default_out(quick)
    src, runs = out / "src", out / "runs"
    for folder in (src, runs):
        shutil.rmtree(folder, ignore_errors=True)
    (src / "lessons").mkdir(parents=True)
    (src / "downloads").mkdir()
    rows = []
    chosen = [(lesson, path) for lesson, path in written_lessons()
              if not only or lesson.number in only]
    missing = sorted(set(only or ()) - {lesson.number for lesson, _ in chosen})
    if missing:
        raise BookError(f"no written lesson numbered {', '.join(map(str, missing))}")
    for lesson, path in chosen:
        notebook = lesson_notebook(lesson, quick)
        workdir = runs / path.stem
        workdir.mkdir(parents=True)
        log(f"executing lesson {lesson.number} ({path.name}) ...", flush=True)
        run = execute(notebook, workdir, f"lesson {lesson.number} ({path.name})")
        log(f"  {run['seconds']:.1f} s, kernel peak {run['kernel_peak_mib']:.0f} MiB", flush=True)
        rows.append(dict(number=lesson.number, module=path.stem, title=title_of(notebook), **run))
        shutil.copyfile(path, src / "downloads" / path.name)
        for solution in solutions_of(lesson):
            shutil.copyfile(solution, src / "downloads" / solution_download(solution))
        nbformat.write(notebook, str(src / "downloads" / (path.stem + ".ipynb")))
        page = page_notebook(notebook, path.stem, run, quick, solutions_of(lesson))
        nbformat.write(page, str(src / "lessons" / (path.stem + ".ipynb")))
    host = machine()
    (src / "index.md").write_text(front_page(rows, quick, host), encoding="utf-8")
    (src / "timings.md").write_text(timings_page(rows, quick, host), encoding="utf-8")
    timings = {"quick": quick, "machine": host, "lessons": rows}
    (out / "timings.json").write_text(json.dumps(timings, indent=1))
    for warning in render(src, out):
        log(f"sphinx: {warning}")
    return rows


def render(src, out):
    """Sphinx: the staged pages in `src` -> `out`/html (book/conf.py); its warnings, which are
    also in `out`/sphinx.log. BookError if it fails."""
    command = [sys.executable, "-m", "sphinx", "-b", "html", "-E", "-q", "--keep-going",
               "-c", str(BOOK_DIR), "-d", str(out / "doctrees"), str(src), str(out / "html")]
    done = subprocess.run(command, capture_output=True, text=True)
    (out / "sphinx.log").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise BookError(f"Sphinx failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return [line for line in done.stderr.splitlines() if "WARNING" in line or "ERROR" in line]


def _numbers(text):
    try:
        numbers = [int(part) for part in text.split(",")]
    except ValueError:
        numbers = []
    if not numbers or min(numbers) < 1:
        raise argparse.ArgumentTypeError(f"--lessons takes lesson numbers like 1,4, got {text!r}")
    return numbers


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="the lessons' QUICK settings, as the tests use")
    parser.add_argument("--out", type=Path, default=None,
                        help="build folder (default build/book, or build/book-quick with --quick)")
    parser.add_argument("--lessons", type=_numbers, default=None, metavar="N,N",
                        help="only these lessons (by number), e.g. 1,4; default all")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = args.out if args.out is not None else default_out(args.quick)
    try:
        build(out, args.quick, args.lessons)
    except BookError as error:
        print(f"book: error: {error}", file=sys.stderr)
        return 1
    print(f"book built in {time.perf_counter() - start:.0f} s: open {out / 'html' / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
