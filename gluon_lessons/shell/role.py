"""The wrapper every scheduler, server and worker of a launch runs under: `python -S role.py
[--watch-input] -- COMMAND` runs COMMAND, prefixes each line it prints with the process's label
(`[worker 0] ...`) and reports its exit code on a last line (`gluon_lessons.shell.launcher` reads
them).

The standard library only, and little of it: one wrapper starts on the way to every process of a
launch (34-45 ms of CPU with `-S`, measured here, against 74-79 ms as `launcher.py role`).
"""

import contextlib
import functools
import os
import signal
import subprocess
import sys
import threading

STOP_GRACE_SECONDS = 2.0  # between SIGTERM and SIGKILL to a process group
EXIT_FORMAT = "gluon-lessons-launch: %s exited %d"  # the last line of every wrapper


def role_label(environ=os.environ):
    """`worker 0`, `server 0` or `scheduler`: the role the launcher gave this process, its number.

    The number is the launcher's task number (local and ssh: workers 0..N-1, then servers) or the
    rank mpirun gives (one mpirun for the workers, one for the servers).
    """
    role = environ.get("DMLC_ROLE", "process")
    if role == "scheduler":
        return role
    task = environ.get("DMLC_TASK_ID")
    rank = environ.get("OMPI_COMM_WORLD_RANK", environ.get("PMI_RANK"))
    if task is not None and task.isdigit():
        index = int(task) - (int(environ.get("DMLC_NUM_WORKER", 0)) if role == "server" else 0)
        return "%s %d" % (role, index)
    if rank is not None and rank.isdigit():
        return "%s %d" % (role, int(rank))
    host = environ.get("DMLC_NODE_HOST")
    return role if not host else "%s on %s" % (role, host)


def say(line):
    """One line in one write: the roles share one pipe, and a write of up to 4096 bytes is never
    split up."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _parent_death_signal():
    """A function that, run in a child before its program starts, has Linux SIGKILL the child when
    its parent dies (even by SIGKILL); None where that is not available."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return functools.partial(prctl, 1, int(signal.SIGKILL))  # 1: PR_SET_PDEATHSIG


def _stop_child(child):
    """SIGTERM the command's process group, SIGKILL it STOP_GRACE_SECONDS later if still there."""
    for number, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.pid, number)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(wait)
            return


def _stop_at_end_of_input(child):
    """Over ssh: standard input ends with the connection or the launcher; then stop the command."""
    with contextlib.suppress(OSError):
        while os.read(0, 4096):
            pass
    _stop_child(child)
    os._exit(1)


def run_role(command, watch_input=False):
    """Run `command`, prefix each output line with this process's label, report its exit code last.

    With `watch_input` (over ssh) the command runs in a process group of its own, stopped when this
    wrapper's standard input ends or the wrapper gets SIGTERM, SIGHUP or SIGINT.
    """
    label = role_label()
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            start_new_session=watch_input,
            preexec_fn=_parent_death_signal(),  # killing this wrapper takes its command along
        )
    except OSError as error:
        say("[%s] cannot start %s: %s" % (label, command[0], error))
        code = 127
    else:
        if watch_input:
            threading.Thread(target=_stop_at_end_of_input, args=(child,), daemon=True).start()

            def stop(signum, frame):
                _stop_child(child)
                os._exit(128 + signum)

            for number in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
                signal.signal(number, stop)
        for line in child.stdout:
            say("[%s] %s" % (label, line.rstrip("\n")))
        code = child.wait()
    say(EXIT_FORMAT % (label, code))
    return 0  # the exit line has the code; a non-zero status: the tracker prints its environment


def main(argv=None):
    """`role.py -- COMMAND` or `role.py --watch-input -- COMMAND`; 2 for anything else."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 2 and argv[0] == "--":
        return run_role(argv[1:])
    if len(argv) >= 3 and argv[:2] == ["--watch-input", "--"]:
        return run_role(argv[2:], watch_input=True)
    print("this wrapper is run by gluon_lessons.shell.launcher; use `gluon-lessons launch`",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    if sys.path and os.path.realpath(sys.path[0]) == os.path.dirname(os.path.realpath(__file__)):
        del sys.path[0]  # as a script: the package's own modules must not shadow top-level names
    sys.exit(main())
