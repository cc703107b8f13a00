"""Where the course may write: one guard for output folders and data files, atomic writes, one run per folder.

The CLI checks every `--out` with `check_output_folder` and writes a run's files through `staged`;
`datafiles.save_dataset` writes `data/` through `check_data_file` and `write_atomically`, which
writes through `gluon_lessons.files` (whole or nothing) after sweeping what a killed write left.
"""

import contextlib
import fcntl
import json
import math
import os
import shutil
import stat
import sysconfig
import tempfile
from pathlib import Path

from .. import files

PACKAGE_DIR = files.PACKAGE_DIR  # gluon_lessons/
SOURCE_ROOT = (
    PACKAGE_DIR.parent
)  # the repository in a source checkout; site-packages when installed
DATA_DIR = files.DATA_DIR
STAGING_PREFIX = "gluon-lessons-run-"  # staging folders in the system's temporary folder


def is_source_checkout():
    """True when the package sits in the repository beside `data/` and `setup.cfg` (not installed as a wheel)."""
    return (SOURCE_ROOT / "setup.cfg").is_file() and DATA_DIR.is_dir()


def protected_folders():
    """Folders no run writes into: `data/`, the package, and wherever installed packages live."""
    folders = [DATA_DIR, PACKAGE_DIR]
    if not is_source_checkout():
        folders.append(SOURCE_ROOT)
    paths = sysconfig.get_paths()
    folders += [Path(paths[key]).resolve() for key in ("purelib", "platlib") if paths.get(key)]
    return list(dict.fromkeys(folders))


def _refuse(name, text):
    """ValueError "NAME: text"; without a name (argparse names the option itself) just the text."""
    return ValueError("%s: %s" % (name, text) if name else text)


def _as_path(path, name, kind):
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError("%s must be a path, got %r" % (name or "the path", path))
    text = os.fspath(path)
    if isinstance(text, bytes):
        raise TypeError("%s must be a text path, got %r" % (name or "the path", path))
    if not text.strip():
        raise _refuse(name, "an empty path; name a %s" % kind)
    if "\0" in text:
        raise _refuse(name, "%r contains a NUL character" % text)
    return Path(text)


def _inside(path, folder):
    return path == folder or folder in path.parents


def _check_writable_place(resolved, shown, name):
    """The path, or the nearest folder above it that exists, must be a folder this process can write into."""
    existing = resolved
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "is a file" if existing == resolved else "lies under %s, which is a file" % existing
        raise _refuse(name, "%s %s, not a folder" % (shown, where))
    if not os.access(existing, os.W_OK | os.X_OK):
        raise _refuse(name, "%s: no permission to write into %s" % (shown, existing))


def check_output_folder(path, name="out_dir"):
    """`path` as a `Path` if a run may put its files there, else ValueError saying why; creates nothing.

    Refused: an empty name, `data/`, the package, site-packages (also for an installed wheel), a file,
    a path under a file, and a place this process cannot write into. `name` starts the message
    (None when argparse already names the option).
    """
    path = _as_path(path, name, "folder")
    resolved = path.resolve()
    for folder in protected_folders():
        if _inside(resolved, folder):
            raise _refuse(name, "refusing to write output into %s; choose another folder" % folder)
    _check_writable_place(resolved, path, name)
    return path


def check_data_file(path, name="csv_path", default=None):
    """`path` as a `Path` if a CSV (and its `.json` sidecar) may be written there, else ValueError.

    Like `check_output_folder`, but for one file: it must not be a folder or end in `.json` (the
    sidecar would replace the CSV). `default`, the committed CSV, is the one file allowed in `data/`.
    """
    path = _as_path(path, name, "CSV file")
    resolved = path.resolve()
    is_default = default is not None and resolved == Path(default).resolve()
    if path.suffix.lower() == ".json":
        raise _refuse(
            name,
            "%s ends in .json, the name of the CSV's description beside it; use a .csv name" % path,
        )
    if resolved.is_dir():
        raise _refuse(
            name, "%s is a folder; give a file path such as %s" % (path, path / "house_prices.csv")
        )
    for folder in protected_folders():
        if _inside(resolved, folder) and not (is_default and is_source_checkout()):
            if is_default:
                raise _refuse(
                    name,
                    "the package is installed without its data/ folder, so there is nothing to "
                    "regenerate in place; give another path (--out PATH on the command line)",
                )
            raise _refuse(name, "refusing to write into %s; choose another place" % folder)
    _check_writable_place(resolved.parent, path.parent, name)
    for target in (resolved, resolved.with_suffix(".json")):
        if target.exists() and not target.is_file():
            raise _refuse(name, "%s exists and is not a regular file" % target)
    return path


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def _ours_and_stale(path, pid):
    """A regular file of this user whose writer, process `pid`, is gone (not a link, not someone's)."""
    try:
        info = os.lstat(path)
    except OSError:
        return False
    return stat.S_ISREG(info.st_mode) and info.st_uid == os.getuid() and not pid_alive(pid)


def remove_stale_temporaries(folder):
    """Delete the course's own temporary files in `folder` left by a process killed mid-write: named
    `.NAME.gluon-lessons-PID-XXXXXXXX.tmp` (`files.temporary_name`), regular files of this user, and
    their process gone. Nothing else is touched, however like a temporary file it looks."""
    try:
        names = os.listdir(folder)
    except OSError:
        return []
    removed = []
    for entry in names:
        match = files.TEMPORARY.match(entry)
        path = os.path.join(folder, entry)
        if match and _ours_and_stale(path, int(match.group("pid"))):
            with contextlib.suppress(OSError):
                os.unlink(path)
                removed.append(entry)
    return removed


def write_atomically(path, chunks, allowed=()):
    """`files.write_atomically` (whole or nothing, a link replaced, never written through), after
    removing what an earlier write killed midway left in the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path.parent)
    return files.write_atomically(path, chunks, allowed)


def remove_stale_folders(prefix):
    """Folders `PREFIXPID-...` in the system's temporary folder that a killed command left: this
    user's, and their process `PID` gone (staging folders of runs, kernels' connection files)."""
    root = Path(tempfile.gettempdir())
    for folder in root.glob(prefix + "*"):
        pid = folder.name[len(prefix) :].split("-")[0]
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        ours = stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid()
        if ours and pid.isdigit() and not pid_alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def _locked(folder):
    """Hold an exclusive lock on `folder` itself (flock on its descriptor; the kernel drops it if we die)."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def commit(staging, folder):
    """Move every file under `staging` into `folder` (same relative paths) while holding `folder`'s lock.

    Two runs committing into one folder take turns, so the folder ends with one run's complete set.
    """
    staging, folder = Path(staging), Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = sorted(p for p in staging.rglob("*") if p.is_file())
    with _locked(folder):
        check_output_folder(folder)  # again, now: the folder may have become a link into data/
        for source in written:
            target = folder / source.relative_to(staging)
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(source, "rb") as stream:
                write_atomically(target, iter(lambda: stream.read(1 << 20), b""))
    return [folder / source.relative_to(staging) for source in written]


@contextlib.contextmanager
def staged(folder):
    """Yield a fresh private folder for one run's files; on success they move into `folder` together.

    Nothing appears in `folder` if the run fails; the staging folder (in the system's temporary
    folder) is removed either way, and one left by a killed run is removed by the next run.
    """
    folder = check_output_folder(folder)
    remove_stale_folders(STAGING_PREFIX)
    staging = Path(tempfile.mkdtemp(prefix="%s%d-" % (STAGING_PREFIX, os.getpid())))
    try:
        yield staging
        commit(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def plain(value):
    """`value` with NumPy numbers and arrays as Python ones, paths as text, NaN and infinities as None."""
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        return plain(value.tolist())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(value, **options):
    """Valid JSON for `value` (NaN and infinities become null, which JSON has; NaN is not JSON)."""
    return json.dumps(plain(value), allow_nan=False, **options)
