"""Writing a file whole or not at all: the course's figures, results and data never appear half-written.

The bytes go to a new file beside the target, which replaces the target only once complete
(`os.replace`), so a symlink at the target is replaced, never written through. The course never
writes into its own package or `data/` this way; that is checked again as each file is moved into
place, in case a folder became a link to one of them meanwhile.
"""

import contextlib
import os
import re
import secrets
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR = PACKAGE_DIR.parent / "data"
# Named temporary files: `.NAME.gluon-lessons-PID-XXXXXXXX.tmp`, so that no one else's file matches.
TEMPORARY = re.compile(r"^\.(?P<name>.+)\.gluon-lessons-(?P<pid>[1-9][0-9]*)-[0-9a-f]{8}\.tmp$")


class ProtectedFolder(ValueError):
    """A file would land in `data/` or the package."""


def temporary_name(path):
    """Where `path` is written before it replaces the target: hidden, beside it, named as the course's."""
    path = Path(path)
    return path.parent / f".{path.name}.gluon-lessons-{os.getpid()}-{secrets.token_hex(4)}.tmp"


def check_destination(path, allowed=()):
    """ValueError if the folder of `path`, with every link resolved now, is `data/` or in the package
    (`allowed` lists the files that may be written there anyway, such as data/house_prices.csv)."""
    path = Path(path)
    folder = path.parent.resolve()
    if folder / path.name in {Path(p).resolve() for p in allowed}:
        return
    for protected in (DATA_DIR, PACKAGE_DIR):
        if folder == protected or protected in folder.parents:
            raise ProtectedFolder(
                f"refusing to write {path}: it would land in {protected}, which the course "
                "never changes; choose another folder"
            )


def _open_unnamed(folder):
    """A file in `folder` with no name yet (Linux O_TMPFILE): a kill before it is named leaves nothing."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or not os.path.isdir("/proc/self/fd"):
        return None
    try:
        return os.open(folder, flag | os.O_WRONLY | os.O_CLOEXEC, 0o666)
    except OSError:  # the file system does not support it
        return None


def _name(fd, temporary):
    """Link the unnamed file `fd` as `temporary` (linkat through /proc/self/fd, as O_TMPFILE expects)."""
    folder = os.open(temporary.parent, os.O_RDONLY)
    try:
        os.link(f"/proc/self/fd/{fd}", temporary.name, dst_dir_fd=folder, follow_symlinks=True)
    finally:
        os.close(folder)


def write_atomically(path, chunks, allowed=()):
    """Write `chunks` (bytes, or an iterable of bytes) to `path`: readers see the old file or the new
    one. A file it replaces keeps its mode. When the write fails (a full disk, a file size limit) the
    target is left as it was and the OSError names `path`."""
    path = Path(path)
    if isinstance(chunks, (bytes, bytearray, memoryview)):
        chunks = [chunks]
    path.parent.mkdir(parents=True, exist_ok=True)
    check_destination(path, allowed)
    mode = os.stat(path).st_mode & 0o7777 if path.is_file() and not path.is_symlink() else None
    fd = _open_unnamed(path.parent)
    temporary = temporary_name(path)
    named = fd is None
    try:
        if named:
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
        with os.fdopen(fd, "wb", closefd=False) as stream:
            for chunk in chunks:
                stream.write(chunk)
            stream.flush()
            if mode is not None:
                os.fchmod(fd, mode)
            os.fsync(fd)
        if not named:
            _name(fd, temporary)
            named = True
        check_destination(path, allowed)  # again: the folder may have become a link meanwhile
        os.replace(temporary, path)
        named = False
    except OSError as error:
        raise OSError(error.errno, f"could not write {path}: {error.strerror or error}") from None
    finally:
        if fd is not None:
            os.close(fd)
        if named:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
    return path
