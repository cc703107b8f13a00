"""A lesson as a Jupyter notebook (`gluon-lessons notebook`): converted with jupytext, run with nbclient."""

import contextlib
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import threading

from ..lessons import find, source_path
from . import outputs
from .settings import SettingError, check_out_dir, defaults_of, resolve_settings


def notebook_of(name, *, quick=False, seed=None, settings=None):
    """Lesson `name` as an nbformat notebook; settings other than the defaults go in a cell after the parameters."""
    import jupytext

    lesson = find(name)
    path = source_path(lesson)
    notebook = jupytext.read(path, fmt="py:percent")
    notebook.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    notebook.metadata.pop("jupytext", None)
    defaults, _ = defaults_of(path)
    chosen = resolve_settings(path, quick, seed, None, settings)
    changes = {key: value for key, value in chosen.items() if value != defaults[key]}
    if changes:
        import nbformat

        at = next(
            i
            for i, cell in enumerate(notebook.cells)
            if "parameters" in cell.metadata.get("tags", [])
        )
        source = "# Injected parameters\n" + "\n".join("%s = %r" % item for item in changes.items())
        notebook.cells.insert(
            at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]})
        )
    return notebook


class NotebookError(RuntimeError):
    """A notebook's cell failed, or its kernel did; the message is one line naming the cell."""


RUNTIME_PREFIX = "gluon-lessons-kernel-"  # private folders for the kernels' connection files


@contextlib.contextmanager
def _private_runtime_folder():
    """Kernels started inside write their connection file (it holds the kernel's key) into a folder
    of this process's own, removed afterwards (and by the next command if this one is killed)."""
    outputs.remove_stale_folders(RUNTIME_PREFIX)  # left by a command killed with SIGKILL
    folder = tempfile.mkdtemp(prefix=f"{RUNTIME_PREFIX}{os.getpid()}-")
    previous = os.environ.get("JUPYTER_RUNTIME_DIR")
    os.environ["JUPYTER_RUNTIME_DIR"] = folder
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_RUNTIME_DIR", None)
        else:
            os.environ["JUPYTER_RUNTIME_DIR"] = previous
        shutil.rmtree(folder, ignore_errors=True)


def _stop_kernel(client):
    """Kill the kernel's process group (it runs in a session of its own) if it was started."""
    manager = getattr(client, "km", None)
    process = getattr(getattr(manager, "provisioner", None), "process", None)
    if process is not None and process.poll() is None:
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)


def _failed_cell(notebook):
    """(position among the cells, the error output) of the first cell whose output is an error."""
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index, output
    return None, None


def _settings_check_position(notebook):
    """The first code cell after the parameters (and the injected parameters): the settings check."""
    after = [
        i
        for i, cell in enumerate(notebook.cells)
        if {"parameters", "injected-parameters"} & set(cell.metadata.get("tags", []))
    ]
    start = max(after) + 1 if after else len(notebook.cells)
    return next(
        (i for i in range(start, len(notebook.cells)) if notebook.cells[i].cell_type == "code"),
        None,
    )


def _report_failure(notebook, error):
    """The one-line error a failed execution becomes: `SettingError` for the settings check."""
    index, output = _failed_cell(notebook)
    if index is None:
        first = (str(error).strip().splitlines() or [""])[0]
        return NotebookError(f"the notebook's kernel failed: {type(error).__name__}: {first}"[:300])
    value = (output.get("evalue") or "").strip().splitlines()
    said = f"{output.get('ename')}: {value[0] if value else ''}"[:300]
    if index == _settings_check_position(notebook) and output.get("ename") in (
        "ValueError",
        "TypeError",
    ):
        return SettingError(value[0] if value else said)
    source = (notebook.cells[index].source.strip().splitlines() or [""])[0][:60]
    return NotebookError(f"cell {index + 1} ({source}) raised {said}")


def execute_notebook(notebook, workdir, timeout=900):
    """Run every cell of `notebook` in a fresh Python kernel started in `workdir` (outputs kept in
    place). A failing cell raises `NotebookError` (or `SettingError` for the settings check), one
    line; an interrupt (Ctrl-C, or SIGTERM made an exception by the caller) kills the kernel first.
    The kernel's connection file lives in a private folder removed at the end."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient

    quiet = logging.getLogger("gluon_lessons.notebooks")
    quiet.setLevel(logging.CRITICAL)
    failure = []

    def run():
        try:  # the kernel's own log lines (its stderr) are not the command's output
            client.execute(stderr=subprocess.DEVNULL)
        except BaseException as error:  # reported by the main thread, one line
            failure.append(error)

    with _private_runtime_folder() as folder:
        # Local (IPC) sockets and the connection file in the private folder, instead of TCP ports
        # and a file in TMPDIR that jupyter_client leaves there: nothing on the network to protect.
        manager = KernelManager(
            kernel_name="python3",
            transport="ipc",
            ip=os.path.join(folder, "kernel"),
            connection_file=os.path.join(folder, "kernel.json"),
        )
        client = NotebookClient(
            notebook,
            km=manager,
            timeout=timeout,
            log=quiet,
            resources={"metadata": {"path": str(workdir)}},
        )
        worker = threading.Thread(target=run, name="notebook", daemon=True)
        asyncio_log = logging.getLogger("asyncio")
        level, asyncio_log.level = asyncio_log.level, logging.CRITICAL
        try:
            worker.start()
            while worker.is_alive():
                worker.join(0.2)
        except BaseException:  # Ctrl-C or a signal: stop the kernel, let the thread end, go on up
            _stop_kernel(client)
            worker.join(10)
            raise
        finally:
            asyncio_log.setLevel(level)
            if manager.has_kernel:  # the client does not stop a kernel it was given
                with contextlib.suppress(Exception):
                    manager.shutdown_kernel(now=True)
    if failure:
        raise _report_failure(notebook, failure[0]) from None
    return notebook


def write_notebook(name, out_dir, *, execute=False, quick=False, seed=None, settings=None):
    """Write lesson `name` as `out_dir/lessonNN_slug.ipynb`, executed when asked; its path."""
    import nbformat

    lesson = find(name)
    out_dir = check_out_dir(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    notebook = notebook_of(lesson.slug, quick=quick, seed=seed, settings=settings)
    if execute:
        execute_notebook(notebook, out_dir)
    path = out_dir / (lesson.module + ".ipynb")
    outputs.write_atomically(path, nbformat.writes(notebook).encode("utf-8"))
    return path
