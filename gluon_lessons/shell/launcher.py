"""Start MXNet's own cluster launcher (`mxnet/tools/launch.py` over `dmlc_tracker`) and stop all it started.

Lesson 11 runs its parameter server through `launch`; `gluon-lessons launch` is the command line. POSIX only.
"""

import collections
import contextlib
import dataclasses
import functools
import importlib.util
import json
import os
import queue
import re
import runpy
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

LAUNCHERS = ("local", "ssh", "mpi")
LOCAL_HOST = "127.0.0.1"  # local runs: scheduler, servers and workers listen on loopback only
WORKER_MODULE = "gluon_lessons.shell.worker"  # what `launch ... -- train` runs on every process
# The launcher and the per-role wrappers run this file as a script, not `-m gluon_lessons.shell.launcher`:
# importing the package imports mxnet, and with DMLC_ROLE=server mxnet's import turns a process into a server.
SCRIPT = str(Path(__file__).resolve())
DEFAULT_TIMEOUT_SECONDS = 300.0
FINISH_GRACE_SECONDS = (
    10.0  # once every worker (or the launcher) has exited, time for the rest to follow
)
PROCESS_BYTES = (
    256 * 2**20
)  # what one local scheduler, server or worker takes: Python and MXNet imported
STOP_GRACE_SECONDS = 2.0  # between SIGTERM and SIGKILL to the process group
EXIT_LINE = re.compile(r"^gluon-lessons-launch: (?P<label>.+) exited (?P<code>-?\d+)$")
# Variables through which the tracker tells each process its part; a launch from inside a job must not inherit them.
DMLC_VARIABLES = (
    "DMLC_ROLE",
    "DMLC_PS_ROOT_URI",
    "DMLC_PS_ROOT_PORT",
    "DMLC_NUM_SERVER",
    "DMLC_NUM_WORKER",
    "DMLC_TASK_ID",
    "DMLC_NODE_HOST",
    "DMLC_JOB_CLUSTER",
    "DMLC_NUM_ATTEMPT",
)


class LaunchError(RuntimeError):
    """A worker, server or the scheduler failed, or the job outlived its time limit."""


class Interrupted(KeyboardInterrupt):
    """SIGINT, SIGTERM or SIGHUP reached `launch`; every process it started has been stopped."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@dataclasses.dataclass
class LaunchResult:
    exit_codes: dict  # label -> exit code, e.g. {"worker 0": 0, "worker 1": 0, "server 0": 0, "scheduler": 0}
    output: dict  # label -> its lines without the prefix; "launcher" holds launch.py's own lines
    started: float  # time.time() when the launcher process was started
    seconds: float  # wall time until every process had exited (or was stopped)
    stopped: list  # labels still running FINISH_GRACE_SECONDS after the last worker, then stopped

    def worker_results(self):
        """The last line each worker printed that is a JSON object, parsed; sorted by its "rank" if it has one."""
        results = []
        for label, lines in sorted(self.output.items()):
            objects = [line for line in lines if line.startswith("{") and line.endswith("}")]
            if label.startswith("worker") and objects:
                results.append(dict(json.loads(objects[-1]), label=label))
        return sorted(results, key=lambda result: (result.get("rank", 0), result["label"]))


def launch_script():
    """Path of `mxnet/tools/launch.py` in the installed wheel (found without importing mxnet)."""
    spec = importlib.util.find_spec("mxnet")
    if spec is None or not spec.submodule_search_locations:
        raise LaunchError("mxnet is not installed")
    path = Path(list(spec.submodule_search_locations)[0]) / "tools" / "launch.py"
    if not path.is_file() or importlib.util.find_spec("dmlc_tracker") is None:
        raise LaunchError("this mxnet wheel has no tools/launch.py or no dmlc_tracker package")
    return path


def free_port(host=LOCAL_HOST):
    """A TCP port the operating system just reported free on `host` (random, so parallel runs rarely clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def train_command(train_arguments=()):
    """The command a worker runs for `gluon-lessons launch -- train [arguments]`."""
    return [sys.executable, "-m", WORKER_MODULE, *train_arguments]


def check_launch(
    num_workers, num_servers=1, launcher="local", hostfile=None, timeout=DEFAULT_TIMEOUT_SECONDS
):
    """Raise `ValueError` naming a bad launch setting and what is allowed."""
    from gluon_lessons import checks  # absolute: this file also runs as a script (NumPy, no MXNet)

    checks.integer("num_workers", num_workers, 1)
    checks.integer("num_servers", num_servers, 1)
    checks.choice("launcher", launcher, LAUNCHERS)
    if launcher == "local" and hostfile is not None:
        raise ValueError("a hostfile goes with --launcher ssh or mpi, not local")
    if launcher != "local" and (hostfile is None or not Path(hostfile).is_file()):
        raise ValueError(
            "--launcher %s needs --hostfile naming an existing file, got %s"
            % (launcher, "none" if hostfile is None else repr(str(hostfile)))
        )
    checks.positive("timeout (seconds)", timeout)
    if os.name != "posix":
        raise ValueError(
            "launching needs a POSIX system (process groups and signals); this is %s" % os.name
        )
    if launcher == "local":  # every process starts here; each imports MXNet
        from gluon_lessons.shell import (
            memory,
        )  # absolute: this file also runs as a script (NumPy, no MXNet)

        memory.check_memory(
            PROCESS_BYTES * (num_workers + num_servers + 1),
            "%d worker(s), %d server(s) and a scheduler on this machine (about %d MB each: MXNet)"
            % (num_workers, num_servers, PROCESS_BYTES // 2**20),
        )


# Three kinds of process: `launch` (the caller) starts the launcher in a process group of its own, reads
# its output, keeps the time limit and at the end stops the whole group; the launcher (this file run with
# `tracker`) applies the Python >= 3.9 fix, pins a local scheduler to 127.0.0.1 and a free port and runs
# launch.py unchanged; every scheduler, server and worker runs as this file with `role -- COMMAND`, which
# prefixes COMMAND's lines with its label and reports its exit code on a last line. With ssh or mpi the
# processes on other machines are stopped by their ssh or mpirun client, not by a signal from here.
def launch(
    command,
    num_workers=2,
    num_servers=1,
    launcher="local",
    hostfile=None,
    timeout=DEFAULT_TIMEOUT_SECONDS,
    echo=None,
    env=None,
):
    """Run `command` (a list) as every worker, server and the scheduler through MXNet's `launch.py`.

    Returns a `LaunchResult` once all workers exited with 0. Raises `LaunchError` naming the rank when a
    process fails, or when `timeout` seconds pass; `Interrupted` on SIGINT/SIGTERM/SIGHUP. In every case
    the whole process group is stopped first. `echo` (a file) gets every prefixed line as it arrives.
    """
    check_launch(num_workers, num_servers, launcher, hostfile, timeout)
    if (
        isinstance(command, str)
        or not command
        or not all(isinstance(part, str) for part in command)
    ):
        raise ValueError(
            "command must be a non-empty list of strings such as ['python', 'train.py'] "
            "(shlex.split turns a command line into one), got %r" % (command,)
        )
    environment = {k: v for k, v in os.environ.items() if k not in DMLC_VARIABLES}
    environment.update(env or {}, PYTHONUNBUFFERED="1")
    host, port = ("", 0)
    if launcher == "local":
        host, port = LOCAL_HOST, free_port()
        environment["DMLC_NODE_HOST"] = (
            LOCAL_HOST  # servers and workers bind loopback, not the outward address
        )
    role_command = shlex.join([sys.executable, SCRIPT, "role", "--", *command])
    launch_args = ["-n", str(num_workers), "-s", str(num_servers), "--launcher", launcher]
    launch_args += ["-H", str(hostfile)] if hostfile is not None else []
    argv = [
        sys.executable,
        SCRIPT,
        "tracker",
        host,
        str(port),
        str(os.getpid()),
        "--",
        *launch_args,
        role_command,
    ]  # one argument: launch.py joins the command with spaces and runs it through bash
    started, clock = time.time(), time.monotonic()
    labels = _expected_labels(num_workers, num_servers) if launcher == "local" else []
    guard = _SignalGuard()
    with guard:
        process = reader = None
        try:
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                env=environment,
                start_new_session=True,
                text=True,
                errors="replace",
            )
            lines = queue.Queue()
            reader = threading.Thread(target=_read_lines, args=(process.stdout, lines), daemon=True)
            reader.start()
            codes, output, stopped = _follow(
                process, lines, num_workers, labels, clock + timeout, timeout, echo
            )
        finally:
            guard.hold()  # from here on a signal is only noted: the cleanup must finish
            if process is not None:
                _stop_group(process, reader)
    _check_codes(codes, output, num_workers, process.returncode)
    return LaunchResult(codes, dict(output), started, time.monotonic() - clock, stopped)


def _read_lines(stream, lines):
    for line in stream:
        lines.put(line.rstrip("\n"))
    lines.put(None)  # end of file: every process that shared the pipe has exited


def _split(line):
    """("worker 0", text) for a prefixed line, ("launcher", line) for launch.py's own."""
    if line.startswith("[") and "] " in line:
        label, _, text = line[1:].partition("] ")
        return label, text
    return "launcher", line


def _expected_labels(num_workers, num_servers):
    return (
        ["worker %d" % i for i in range(num_workers)]
        + ["server %d" % i for i in range(num_servers)]
        + ["scheduler"]
    )


def _exited(process):
    """Whether the launcher has exited, without reaping it (its pid must stay the process group's id)."""
    return os.waitid(os.P_PID, process.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _follow(process, lines, num_workers, labels, deadline, timeout, echo):
    """Read lines until every process has exited; stop early at the first failure or the deadline.

    Once every worker has exited, or the launcher has, the rest get FINISH_GRACE_SECONDS to follow.
    Returns (exit codes, output by label, labels still running when that grace time ran out).
    """
    codes, output, finish_by = {}, collections.defaultdict(list), None

    def running():
        return sorted((set(labels) | set(output)) - set(codes) - {"launcher"})

    while True:
        if finish_by is None and _exited(process):
            finish_by = time.monotonic() + FINISH_GRACE_SECONDS
        limit = deadline if finish_by is None else min(deadline, finish_by)
        try:
            line = lines.get(timeout=min(0.5, max(0.0, limit - time.monotonic())))
        except queue.Empty:
            if time.monotonic() < limit:
                continue
            if finish_by is not None and time.monotonic() >= finish_by:
                return codes, output, running()
            raise LaunchError(
                "timed out after %g s; finished: %s; still running: %s"
                % (timeout, ", ".join(sorted(codes)) or "none", ", ".join(running()) or "unknown")
            ) from None
        if line is None:
            return codes, output, []
        if echo is not None:
            print(line, file=echo, flush=True)
        exit_line = EXIT_LINE.match(line)
        if exit_line is None:
            label, text = _split(line)
            output[label].append(text)
            continue
        label, code = exit_line.group("label"), int(exit_line.group("code"))
        codes[label] = code
        if code != 0:
            raise LaunchError(_failure(label, code, output.get(label, [])))
        if finish_by is None and sum(label.startswith("worker") for label in codes) == num_workers:
            finish_by = time.monotonic() + FINISH_GRACE_SECONDS


def _failure(label, code, lines):
    how = "was killed by signal %d" % -code if code < 0 else "exited with code %d" % code
    last = " | ".join(line for line in lines[-3:] if line.strip())
    return "%s %s; stopped all other processes%s" % (label, how, (": " + last) if last else "")


def _check_codes(codes, output, num_workers, launcher_code):
    workers = [label for label in codes if label.startswith("worker")]
    if len(workers) < num_workers:
        last = " | ".join(output.get("launcher", [])[-3:])
        raise LaunchError(
            "the launcher exited (code %s) after %d of %d workers finished%s"
            % (launcher_code, len(workers), num_workers, (": " + last) if last else "")
        )


class _SignalGuard:
    """While a job runs, SIGINT/SIGTERM/SIGHUP raise `Interrupted`; after `hold()` they are only noted,
    and the first one noted is raised when the block ends. Handlers can be set in the main thread only."""

    SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def __init__(self):
        self.previous, self.noted = {}, []

    def _raise(self, signum, frame):
        raise Interrupted(signum)

    def _note(self, signum, frame):
        self.noted.append(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = {number: signal.signal(number, self._raise) for number in self.SIGNALS}
        return self

    def hold(self):
        for number in self.previous:
            signal.signal(number, self._note)

    def __exit__(self, kind, error, trace):
        for number, handler in self.previous.items():
            signal.signal(number, handler)
        if self.noted and kind is None:
            raise Interrupted(self.noted[0])
        return False


def _stop_group(process, reader):
    """SIGTERM the launcher's process group, SIGKILL what is left, then reap the launcher.

    The launcher is reaped last, so its pid (the group's id) cannot be reused while signals are sent.
    """
    for number, wait in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, number)
        if reader is not None:
            reader.join(wait)  # returns at end of file: every process holding the pipe has exited
    process.wait()


def role_label(environ=os.environ):
    """`worker 0`, `server 0` or `scheduler`: the role the tracker gave this process and its launch rank."""
    role = environ.get("DMLC_ROLE", "process")
    task = environ.get("DMLC_TASK_ID")  # set by the local launcher: workers 0..N-1, then servers
    if role == "scheduler" or task is None or not task.isdigit():
        host = environ.get("DMLC_NODE_HOST")
        return role if role == "scheduler" or not host else "%s on %s" % (role, host)
    index = int(task) - (int(environ.get("DMLC_NUM_WORKER", 0)) if role == "server" else 0)
    return "%s %d" % (role, index)


def _say(line):
    """One line in one write: the roles share one pipe, and a write of up to 4096 bytes is never split up."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _run_role(command):
    """Run `command`, prefix each output line with this process's label, report its exit code last."""
    label = role_label()
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
        )
    except OSError as error:
        _say("[%s] cannot start %s: %s" % (label, command[0], error))
        code = 127
    else:
        for line in child.stdout:
            _say("[%s] %s" % (label, line.rstrip("\n")))
        code = child.wait()
    _say("gluon-lessons-launch: %s exited %d" % (label, code))
    return 0  # the exit line carries the code; a non-zero status would make the tracker print its environment


def _run_tracker(host, port, parent, launch_args):
    """The launcher process: apply the Python >= 3.9 fix, pin a local scheduler, run launch.py unchanged."""
    threading.Thread.isAlive = (
        threading.Thread.is_alive
    )  # removed in Python 3.9; dmlc_tracker still calls it
    from dmlc_tracker import tracker

    if host:  # tracker.submit and PSTracker take these; launch.py does not pass them through
        tracker.submit = functools.partial(tracker.submit, hostIP=host)
        tracker.PSTracker = functools.partial(tracker.PSTracker, port=port, port_end=port + 1)
    threading.Thread(target=_stop_if_orphaned, args=(parent,), daemon=True).start()
    script = launch_script()
    sys.argv = [str(script)] + launch_args
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _stop_if_orphaned(parent):
    """If the process that called `launch` dies without cleaning up (SIGKILL), kill this whole group."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv=None):
    """`python launcher.py tracker HOST PORT PARENT -- ARGS` or `role -- COMMAND` (stdlib only, no mxnet)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if len(argv) >= 3 and argv[0] == "role" and argv[1] == "--":
        return _run_role(argv[2:])
    if len(argv) >= 5 and argv[0] == "tracker" and argv[4] == "--":
        return _run_tracker(argv[1], int(argv[2]), int(argv[3]), argv[5:])
    print(
        "this module is run by gluon_lessons.shell.launcher.launch; use `gluon-lessons launch`",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(SCRIPT).parent:
        del sys.path[
            0
        ]  # run as a script: the package's own modules must not shadow top-level names
    sys.exit(main())
