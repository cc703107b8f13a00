"""A lesson as a Jupyter notebook (`gluon-lessons notebook`): converted with jupytext, run with nbclient."""
import os
import tempfile

from ..lessons import find, source_path
from . import outputs
from .settings import check_out_dir, defaults_of, resolve_settings


def notebook_of(name, *, quick=False, seed=None, settings=None):
    """Lesson `name` as an nbformat notebook; settings other than the defaults go in a cell after the parameters."""
    import jupytext
    lesson = find(name)
    path = source_path(lesson)
    notebook = jupytext.read(path, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)
    defaults, _ = defaults_of(path)
    chosen = resolve_settings(path, quick, seed, None, settings)
    changes = {key: value for key, value in chosen.items() if value != defaults[key]}
    if changes:
        import nbformat
        at = next(i for i, cell in enumerate(notebook.cells) if "parameters" in cell.metadata.get("tags", []))
        source = "# Injected parameters\n" + "\n".join("%s = %r" % item for item in changes.items())
        notebook.cells.insert(at + 1, nbformat.v4.new_code_cell(source, metadata={"tags": ["injected-parameters"]}))
    return notebook


def execute_notebook(notebook, workdir, timeout=900):
    """Run every cell of `notebook` in a fresh Python kernel started in `workdir` (outputs kept in place)."""
    from jupyter_client.manager import KernelManager
    from nbclient import NotebookClient
    with tempfile.TemporaryDirectory(prefix="gluon-lessons-kernel-") as sockets:
        # Local (IPC) sockets in a private folder instead of TCP ports: nothing on the network to
        # protect, so the kernel has no "running over TCP without encryption" warning to print.
        manager = KernelManager(kernel_name="python3", transport="ipc", ip=os.path.join(sockets, "kernel"),
                                connection_file=os.path.join(sockets, "connection.json"))
        client = NotebookClient(notebook, km=manager, timeout=timeout,
                                resources={"metadata": {"path": str(workdir)}})
        try:
            client.execute()
        finally:
            if manager.has_kernel:
                manager.shutdown_kernel(now=True)
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
