"""Start MXNet's parameter-server processes (a scheduler, servers, workers) and stop all it started.

Local runs go through MXNet's own cluster launcher (`mxnet/tools/launch.py` over `dmlc_tracker`);
ssh and mpi runs set the same variables as its ssh and mpi modes but start each process here, so
that arguments keep their quotes, every process is labelled, a process that cannot start is named
at once, and nothing outlives the job on any host. Lesson 11 runs its parameter server through
`launch`; `gluon-lessons launch` is the command line. POSIX only.
"""

import collections
import contextlib
import dataclasses
import functools
import importlib.util
import json
import math
import os
import queue
import re
import runpy
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

# absolute: this file also runs as a script
from gluon_lessons.shell import role as role_wrapper
from gluon_lessons.shell.role import STOP_GRACE_SECONDS, role_label, say

LAUNCHERS = ("local", "ssh", "mpi")
LOCAL_HOST = "127.0.0.1"  # local runs: scheduler, servers and workers listen on loopback only
WORKER_MODULE = "gluon_lessons.shell.worker"  # what `launch ... -- train` runs on every process
# The launcher runs this file as a script, not `-m gluon_lessons.shell.launcher`:
# importing the package imports mxnet, and with DMLC_ROLE=server mxnet's import turns a process into a server.
SCRIPT = str(Path(__file__).resolve())
# Every scheduler, server and worker runs under this wrapper, which labels its lines; with `-S`, as it
# needs no installed package (measured: 34-45 ms of CPU a process, 74-79 ms as this file run as `role`).
ROLE_COMMAND = (sys.executable, "-S", str(Path(role_wrapper.__file__).resolve()))
DEFAULT_TIMEOUT_SECONDS = 300.0
FINISH_GRACE_SECONDS = 10.0  # once every worker (or the launcher) has exited: time for the rest
PROCESS_BYTES = 256 * 2**20  # one local scheduler, server or worker: Python and MXNet imported
EXIT_LINE = re.compile(r"^gluon-lessons-launch: (?P<label>.+) exited (?P<code>-?\d+)$")  # EXIT_FORMAT
# The launcher's report that a process it started (ssh or mpirun client, role wrapper) has ended.
ENDED_PREFIX = "gluon-lessons-launch: ended "
# A role's line: `[worker 0] text`; any other (mpirun's `[host:123] ...`, ssh's) is the launcher's.
LABELLED_LINE = re.compile(
    r"^\[(?P<label>(?:worker|server|process) (?:\d+|on \S+)|scheduler)\] (?P<text>.*)$"
)
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
# Passed to other hosts when set here, as MXNet's ssh launcher does; `--env` adds more.
PASSED_VARIABLES = ("OMP_NUM_THREADS", "KMP_AFFINITY", "LD_LIBRARY_PATH", "DMLC_INTERFACE")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# ssh never asks for a password (it would wait for ever) and gives up on a silent host after 10 s.
SSH_OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=10")
# A hostfile line: [user@]host[:port] [slots=N] (MXNet's ssh launcher and Open MPI read such files).
HOST_LINE = re.compile(
    r"^(?P<host>(?:[A-Za-z0-9_.-]+@)?[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)"
    r"(?::(?P<port>\d{1,5}))?"
    r"(?:\s+slots=(?P<slots>\d{1,4}))?$"
)
MAX_HOSTFILE_BYTES = 1 << 20


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


def mxnet_library():
    """Path of MXNet's C library, found as MXNet finds it but without importing mxnet:
    `$MXNET_LIBRARY_PATH` when it names a file, else `libmxnet.so` in the installed package."""
    named = os.environ.get("MXNET_LIBRARY_PATH")
    if named and Path(named).is_file():
        return Path(named)
    path = launch_script().parent.parent / "libmxnet.so"
    if not path.is_file():
        raise LaunchError(f"this mxnet wheel has no {path.name} where its package is ({path.parent})")
    return path


def run_scheduler():
    """Be ps-lite's scheduler through MXNet's C library alone; 0 once the job has ended.

    `import mxnet` with DMLC_ROLE=scheduler makes two calls, MXKVStoreCreate("dist") and
    MXKVStoreRunServer, after loading all of MXNet's Python package (about 1.7 s of CPU here, against
    0.1 s for the library). The scheduler only introduces the servers and workers to each other and
    runs no Python code of MXNet's, so `launch ... -- train` makes the two calls itself.
    """
    import ctypes

    if os.environ.get("DMLC_ROLE") != "scheduler":
        raise LaunchError("run_scheduler runs the process DMLC_ROLE=scheduler names, here %r"
                          % os.environ.get("DMLC_ROLE"))
    library = ctypes.CDLL(str(mxnet_library()), ctypes.RTLD_LOCAL)
    library.MXGetLastError.restype = ctypes.c_char_p
    handle = ctypes.c_void_p()
    # Servers get commands through this callback; ps-lite never calls the scheduler's.
    controller = ctypes.CFUNCTYPE(None, ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p)(
        lambda command, body, arguments: None)
    for call in (lambda: library.MXKVStoreCreate(b"dist", ctypes.byref(handle)),
                 lambda: library.MXKVStoreRunServer(handle, controller, None)):
        if call() != 0:
            raise LaunchError("the scheduler failed: "
                              + library.MXGetLastError().decode("utf-8", "replace"))
    return 0


def free_port(host=LOCAL_HOST):
    """A TCP port the operating system just reported free on `host` (random, so parallel runs rarely clash)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def train_command(train_arguments=()):
    """The command a worker runs for `gluon-lessons launch -- train [arguments]`."""
    return [sys.executable, "-m", WORKER_MODULE, *train_arguments]


@dataclasses.dataclass(frozen=True)
class Host:
    """A hostfile line: the name ssh logs in to ([user@]host), its ssh port, Open MPI's slots."""

    name: str
    port: int = None
    slots: int = None

    @property
    def address(self):
        """The host without the user."""
        return self.name.rpartition("@")[2]


def read_hostfile(path, launcher="ssh"):
    """The hosts of `path`, one a line (blanks and `#` comments skipped); `ValueError` if bad."""
    path = Path(path)
    shown = repr(str(path))
    try:
        if path.stat().st_size > MAX_HOSTFILE_BYTES:
            raise ValueError(f"the hostfile {shown} is over 1 MB; it holds one host a line")
        raw = path.read_bytes()
    except OSError as error:
        raise ValueError(f"cannot read the hostfile {shown}: {error.strerror or error}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = "\0"
    if "\0" in text:
        raise ValueError(f"the hostfile {shown} is not text; it needs one host a line: "
                         "HOST, USER@HOST, HOST:PORT or HOST slots=N")
    hosts = []
    for number, line in enumerate(text.splitlines(), start=1):
        line = " ".join(line.partition("#")[0].split())
        if not line:
            continue
        match = HOST_LINE.match(line)
        if match is None:
            raise ValueError(f"hostfile {shown} line {number}: {line[:60]!r} is not HOST, "
                             "USER@HOST, HOST:PORT or HOST slots=N")
        port = None if match["port"] is None else int(match["port"])
        slots = None if match["slots"] is None else int(match["slots"])
        if port is not None and not 1 <= port <= 65535 or slots == 0:
            raise ValueError(f"hostfile {shown} line {number}: {line!r}: "
                             "ports are 1-65535, slots >= 1")
        if launcher == "mpi" and (port is not None or "@" in match["host"]):
            raise ValueError(f"hostfile {shown} line {number}: mpirun reaches a host with ssh's "
                             "own settings: put its user and port in ~/.ssh/config, not in the "
                             "hostfile")
        hosts.append(Host(match["host"], port, slots))
    if not hosts:
        raise ValueError(f"the hostfile {shown} names no host; write one host a line "
                         "(HOST, USER@HOST, HOST:PORT or HOST slots=N)")
    return hosts


def check_env(env):
    """`env` as {NAME: VALUE} strings, or `ValueError`: names as in a shell, values of one line, and
    none of the variables the launcher sets itself."""
    env = dict(env or {})
    for name, value in env.items():
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise ValueError(f"--env: {name!r} is not a variable name (letters, digits, _)")
        if name in DMLC_VARIABLES:
            raise ValueError(f"--env: {name} is set by the launcher for each process")
        if not isinstance(value, str) or "\n" in value or "\0" in value:
            raise ValueError(f"--env: the value of {name} must be one line of text, got {value!r}")
    return env


def parse_env(items, environ=os.environ):
    """`--env NAME` (its value here) and `--env NAME=VALUE`, as a checked {NAME: VALUE}."""
    env = {}
    for item in items:
        name, equals, value = item.partition("=")
        if not equals:
            if name not in environ:
                raise ValueError(f"--env {name}: {name} is not set here; give {name}=VALUE")
            value = environ[name]
        env[name] = value
    return check_env(env)


def scheduler_address(hosts, scheduler_host=None):
    """The IPv4 address the scheduler listens on: `scheduler_host` (an address of this machine),
    else the address this machine reaches the first host from."""
    if scheduler_host is None:
        first = hosts[0].address
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.connect((socket.gethostbyname(first), 9))  # chooses a route; sends nothing
                return sock.getsockname()[0]
        except OSError as error:
            raise ValueError(f"cannot tell which address of this machine reaches {first} "
                             f"({error.strerror or error}); give --scheduler-host ADDRESS"
                             ) from None
    try:
        address = socket.gethostbyname(scheduler_host)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((address, 0))
    except (OSError, UnicodeError) as error:
        raise ValueError(f"--scheduler-host {scheduler_host!r} is not an address of this machine "
                         f"({getattr(error, 'strerror', None) or error})") from None
    return address


def _loopback_interface():
    names = [name for _, name in socket.if_nameindex()]
    return "lo" if "lo" in names or "lo0" not in names else "lo0"


def check_launch(num_workers, num_servers=1, launcher="local", hostfile=None,
                 timeout=DEFAULT_TIMEOUT_SECONDS, scheduler_host=None, scheduler_port=0,
                 workdir=None):
    """Raise `ValueError` naming a bad launch setting and what is allowed; the hosts if any."""
    from gluon_lessons import checks  # absolute: this file also runs as a script (NumPy, no MXNet)

    checks.integer("num_workers", num_workers, 1)
    checks.integer("num_servers", num_servers, 1)
    checks.choice("launcher", launcher, LAUNCHERS)
    checks.integer("scheduler_port", scheduler_port, 0, 65535)
    if launcher == "local" and hostfile is not None:
        raise ValueError("a hostfile goes with --launcher ssh or mpi, not local")
    if launcher == "local" and (scheduler_host is not None or scheduler_port):
        raise ValueError("--scheduler-host and --scheduler-port go with --launcher ssh or mpi "
                         "(a local scheduler listens on 127.0.0.1)")
    if launcher != "local" and hostfile is None:
        raise ValueError(f"--launcher {launcher} needs --hostfile naming an existing file, "
                         "got none")
    checks.positive("timeout (seconds)", timeout)
    if os.name != "posix":
        raise ValueError(
            "launching needs a POSIX system (process groups and signals); this is %s" % os.name
        )
    if launcher == "local" and workdir is not None and not Path(workdir).is_dir():
        raise ValueError(f"--workdir {str(workdir)!r} is not a folder")
    if launcher != "local":
        return read_hostfile(hostfile, launcher)
    from gluon_lessons.shell import memory  # absolute: this file also runs as a script (no MXNet)

    memory.check_memory(  # every process starts here; each imports MXNet
        PROCESS_BYTES * (num_workers + num_servers + 1),
        "%d worker(s), %d server(s) and a scheduler on this machine (about %d MB each: MXNet)"
        % (num_workers, num_servers, PROCESS_BYTES // 2**20),
    )
    return None


def _check_client(launcher):
    """`LaunchError` when the program that reaches other hosts is missing (or not Open MPI's)."""
    program = {"ssh": "ssh", "mpi": "mpirun"}.get(launcher)
    if program is not None and shutil.which(program) is None:
        raise LaunchError(f"--launcher {launcher} needs `{program}` on PATH; it is not there")
    if launcher == "mpi":
        try:
            said = subprocess.run(["mpirun", "--version"], capture_output=True, text=True,
                                  errors="replace", timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired) as error:
            raise LaunchError(f"`mpirun --version` failed: {error}") from None
        if "Open MPI" not in said and "OpenRTE" not in said:
            raise LaunchError("--launcher mpi needs Open MPI's mpirun; `mpirun --version` says "
                              + (said.strip().splitlines() or ["nothing"])[0][:80])


# Three kinds of process: `launch` (the caller) starts the launcher in a process group of its own,
# reads its output, keeps the time limit and at the end stops the whole group. The launcher is this
# file run as `tracker` (local: the Python >= 3.9 fix, the scheduler pinned to 127.0.0.1 and a free
# port, launch.py unchanged) or as `cluster` (ssh, mpi: starts the scheduler here and every server
# and worker through ssh or mpirun, and reports each client that ends). Every scheduler, server and
# worker runs under role.py (`ROLE_COMMAND -- COMMAND`), which prefixes COMMAND's lines with its
# label and reports its exit code on a last line. Over ssh the role wrapper also reads its standard
# input, which stays open while its ssh connection and the launcher live: at its end the wrapper
# stops its command, so stopping the launcher's group here stops every process on every host.
def launch(
    command,
    num_workers=2,
    num_servers=1,
    launcher="local",
    hostfile=None,
    timeout=DEFAULT_TIMEOUT_SECONDS,
    echo=None,
    env=None,
    *,
    scheduler_host=None,
    scheduler_port=0,
    workdir=None,
):
    """Run `command` (a list) as every worker, server and the scheduler.

    Returns a `LaunchResult` once all workers exited with 0. Raises `LaunchError` naming the process
    when one fails or cannot start, or when `timeout` seconds pass; `Interrupted` on
    SIGINT/SIGTERM/SIGHUP. In every case the whole process group is stopped first. `echo` (a file)
    gets every prefixed line as it arrives. `env` ({NAME: VALUE}) goes to every process (over ssh
    and mpirun too, beside PASSED_VARIABLES); `workdir` is where they run (default: here); the
    scheduler of an ssh or mpi run listens on `scheduler_host` (default: this machine's address
    toward the first host) at `scheduler_port` (default: a free one).
    """
    hosts = check_launch(num_workers, num_servers, launcher, hostfile, timeout, scheduler_host,
                         scheduler_port, workdir)
    if (
        isinstance(command, str)
        or not command
        or not all(isinstance(part, str) for part in command)
    ):
        raise ValueError(
            "command must be a non-empty list of strings such as ['python', 'train.py'] "
            "(shlex.split turns a command line into one), got %r" % (command,)
        )
    env = check_env(env)
    workdir = str(Path(os.getcwd() if workdir is None else workdir).absolute())
    environment = {k: v for k, v in os.environ.items() if k not in DMLC_VARIABLES}
    environment.update(env, PYTHONUNBUFFERED="1")
    with contextlib.ExitStack() as scratch:
        if launcher == "local":
            argv = _local_argv(command, num_workers, num_servers, environment)
        else:
            host = scheduler_address(hosts, scheduler_host)
            _check_client(launcher)
            passed = {name: os.environ[name] for name in PASSED_VARIABLES if name in os.environ}
            passed.update(env, PYTHONUNBUFFERED="1")
            if host.startswith("127.") and "DMLC_INTERFACE" not in passed:
                passed["DMLC_INTERFACE"] = _loopback_interface()  # ps-lite: listen on loopback too
            spec = dict(launcher=launcher, hosts=[[h.name, h.port] for h in hosts],
                        num_workers=num_workers, num_servers=num_servers, host=host,
                        port=scheduler_port or free_port(host), command=list(command), env=passed,
                        workdir=workdir)
            if launcher == "mpi":
                folder = Path(scratch.enter_context(tempfile.TemporaryDirectory(prefix="launch-")))
                spec["hostfile"] = str(folder / "hostfile")
                Path(spec["hostfile"]).write_text(_mpi_hostfile(hosts, num_workers, num_servers))
            argv = [sys.executable, SCRIPT, "cluster", str(os.getpid()), json.dumps(spec)]
        result = _run(argv, environment, workdir if launcher == "local" else None, num_workers,
                      num_servers, timeout, echo)
    return result


def _local_argv(command, num_workers, num_servers, environment):
    """The launcher of a local run: launch.py with the scheduler on 127.0.0.1 and a free port."""
    environment["DMLC_NODE_HOST"] = LOCAL_HOST  # servers and workers bind loopback, not outward
    role_command = shlex.join([*ROLE_COMMAND, "--", *command])
    launch_args = ["-n", str(num_workers), "-s", str(num_servers), "--launcher", "local"]
    # role_command is one argument: launch.py joins the command with spaces and runs it through bash
    return [sys.executable, SCRIPT, "tracker", LOCAL_HOST, str(free_port()), str(os.getpid()),
            "--", *launch_args, role_command]


def _mpi_hostfile(hosts, num_workers, num_servers):
    """Open MPI's hostfile: every host with room for its share (ranks go round the hosts)."""
    share = math.ceil(max(num_workers, num_servers) / len(hosts))
    return "".join(f"{h.name} slots={max(h.slots or 1, share)}\n" for h in hosts)


def _run(argv, environment, cwd, num_workers, num_servers, timeout, echo):
    started, clock = time.time(), time.monotonic()
    labels = _expected_labels(num_workers, num_servers)
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
                cwd=cwd,
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
    """("worker 0", text) for a labelled line; ("launcher", line) for launch.py's, mpirun's."""
    match = LABELLED_LINE.match(line)
    return (match["label"], match["text"]) if match else ("launcher", line)


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
        if line.startswith(ENDED_PREFIX):
            _check_ended(json.loads(line[len(ENDED_PREFIX):]), codes, output)
            continue
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


def _check_ended(ended, codes, output):
    """A client (ssh, mpirun, a role wrapper) ended: fatal unless each of its processes reported."""
    missing = [label for label in ended["labels"] if label not in codes] or (
        [] if ended["labels"] else ["a process"])
    if not missing:
        return
    said = ended["said"] or " | ".join(
        line for label in missing for line in output.get(label, [])[-3:] if line.strip())
    how = ("was killed by signal %d" % -ended["code"] if ended["code"] < 0
           else "exited with code %d" % ended["code"])
    raise LaunchError("%s: %s %s before %s reported; stopped all other processes%s"
                      % (", ".join(missing), ended["what"], how,
                         "it" if len(missing) == 1 else "they", (": " + said) if said else ""))


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


def _say_ended(what, labels, code, said=""):
    say(ENDED_PREFIX + json.dumps({"what": what, "labels": labels, "code": code, "said": said}))


def _report_thread_failure(args):
    """launch.py's threads end with an exception when a process they ran exits non-zero without a
    report (its role wrapper was killed): say which, as the cluster launcher does for clients."""
    text = str(args.exc_value)
    code = getattr(args.exc_value, "returncode", None)
    found = re.search(r"return code=(-?\d+)", text)
    code = int(found.group(1)) if found else (code if isinstance(code, int) else 1)
    role = re.search(r"'DMLC_ROLE': '(\w+)'", text)
    task = re.search(r"'DMLC_TASK_ID': '(\d+)'", text)
    workers = re.search(r"'DMLC_NUM_WORKER': '(\d+)'", text)
    if role and task:
        labels = [role_label({"DMLC_ROLE": role.group(1), "DMLC_TASK_ID": task.group(1),
                              "DMLC_NUM_WORKER": workers.group(1) if workers else "0"})]
    else:
        labels = ["scheduler"] if isinstance(args.exc_value, subprocess.CalledProcessError) else []
    _say_ended("its process", labels, code)


def _run_tracker(host, port, parent, launch_args):
    """The launcher of a local run: the Python >= 3.9 fix, the scheduler pinned, launch.py as is."""
    threading.Thread.isAlive = threading.Thread.is_alive  # gone in Python 3.9; dmlc_tracker uses it
    threading.excepthook = _report_thread_failure
    from dmlc_tracker import tracker

    if host:  # tracker.submit and PSTracker take these; launch.py does not pass them through
        tracker.submit = functools.partial(tracker.submit, hostIP=host)
        tracker.PSTracker = functools.partial(tracker.PSTracker, port=port, port_end=port + 1)
    threading.Thread(target=_stop_if_orphaned, args=(parent,), daemon=True).start()
    script = launch_script()
    sys.argv = [str(script)] + launch_args
    runpy.run_path(str(script), run_name="__main__")
    return 0


def _start(argv, what, labels, env, stdin=subprocess.DEVNULL, label_errors=False):
    """Start a client, pass its stderr on (labelled if it serves one role), report when it ends."""
    try:
        client = subprocess.Popen(argv, stdin=stdin, stderr=subprocess.PIPE, env=env, text=True,
                                  errors="replace")
    except OSError as error:
        _say_ended(what, labels, 127, f"cannot start {argv[0]}: {error.strerror or error}")
        return None

    def follow():
        said = []  # its first words are the reason (ssh's one line, the head of mpirun's box)
        for line in client.stderr:
            line = line.rstrip("\n")
            say(f"[{labels[0]}] {line}" if label_errors else line)
            if len(said) < 2 and line.strip("-= \t"):
                said.append(line.strip()[:160])
        _say_ended(what, labels, client.wait(), " | ".join(said))

    thread = threading.Thread(target=follow)
    thread.start()
    return thread


def _ssh_command(host, variables, workdir, role_command):
    """`ssh HOST 'cd WORKDIR && exec env NAME=VALUE ... COMMAND'`, quoted for the remote shell."""
    remote = "cd %s && exec env %s %s" % (
        shlex.quote(workdir),
        " ".join(shlex.quote(f"{name}={value}") for name, value in sorted(variables.items())),
        shlex.join(role_command),
    )
    name, port = host
    return ["ssh", *SSH_OPTIONS, *(["-p", str(port)] if port else []), name, remote]


def placement(hosts, num_workers, num_servers):
    """(label, role, task number, host) of each worker and server: workers go round the hosts in
    turn, then the servers continue round them."""
    roles = [("worker", i) for i in range(num_workers)]
    roles += [("server", i) for i in range(num_servers)]
    return [("%s %d" % (role, index), role, task, hosts[task % len(hosts)])
            for task, (role, index) in enumerate(roles)]


def _run_cluster(parent, spec):
    """The launcher of an ssh or mpi run: the scheduler here, servers and workers on the hosts."""
    threading.Thread(target=_stop_if_orphaned, args=(parent,), daemon=True).start()
    shared = dict(spec["env"], DMLC_NUM_WORKER=str(spec["num_workers"]),
                  DMLC_NUM_SERVER=str(spec["num_servers"]), DMLC_PS_ROOT_URI=spec["host"],
                  DMLC_PS_ROOT_PORT=str(spec["port"]))
    wrapped = [*ROLE_COMMAND, "--", *spec["command"]]
    here = dict(os.environ, **shared)
    clients = [_start(wrapped, "its wrapper", ["scheduler"],
                      dict(here, DMLC_ROLE="scheduler", DMLC_NODE_HOST=spec["host"]))]
    if spec["launcher"] == "ssh":
        # every ssh client's standard input: it stays open while this process lives (see launch)
        held_open, _ = os.pipe()
        watched = [*ROLE_COMMAND, "--watch-input", "--", *spec["command"]]
        for label, name, task, host in placement(spec["hosts"], spec["num_workers"],
                                                 spec["num_servers"]):
            variables = dict(shared, DMLC_ROLE=name, DMLC_TASK_ID=str(task))
            address = host[0].rpartition("@")[2]
            if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", address):  # listen there (MXNet's ssh mode too)
                variables["DMLC_NODE_HOST"] = address
            clients.append(_start(_ssh_command(host, variables, spec["workdir"], watched),
                                  f"ssh {host[0]}", [label], here, held_open, label_errors=True))
    else:
        for name, count in (("worker", spec["num_workers"]), ("server", spec["num_servers"])):
            variables = dict(shared, DMLC_ROLE=name, DMLC_JOB_CLUSTER="mpi")
            exported = [part for variable in sorted(variables) for part in ("-x", variable)]
            argv = ["mpirun", "--hostfile", spec["hostfile"], "--map-by", "node", "-n", str(count),
                    "--wdir", spec["workdir"], *exported, *wrapped]
            labels = ["%s %d" % (name, i) for i in range(count)]
            clients.append(_start(argv, f"mpirun for the {name}s", labels,
                                  dict(here, **variables)))
    for client in clients:
        if client is not None:
            client.join()
    return 0


def _stop_if_orphaned(parent):
    """If the process that called `launch` dies without cleaning up (SIGKILL), kill this whole group."""
    while os.getppid() == parent:
        time.sleep(0.5)
    os.killpg(os.getpgrp(), signal.SIGKILL)


def main(argv=None):
    """`python launcher.py tracker HOST PORT PARENT -- ARGS`, `cluster PARENT SPEC` or
    `role [--watch-input] -- COMMAND` (role.py's wrapper) (no mxnet)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["role"]:
        return role_wrapper.main(argv[1:])
    if len(argv) >= 5 and argv[0] == "tracker" and argv[4] == "--":
        return _run_tracker(argv[1], int(argv[2]), int(argv[3]), argv[5:])
    if len(argv) == 3 and argv[0] == "cluster":
        return _run_cluster(int(argv[1]), json.loads(argv[2]))
    print(
        "this module is run by gluon_lessons.shell.launcher.launch; use `gluon-lessons launch`",
        file=sys.stderr,
    )
    return 2


if __name__ == "__main__":
    if sys.path and Path(sys.path[0]).resolve() == Path(SCRIPT).parent:
        del sys.path[0]  # as a script: the package's own modules must not shadow top-level names
    sys.exit(main())
