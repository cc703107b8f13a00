"""`gluon-lessons launch --launcher ssh` and `--launcher mpi` across two hosts made on this machine.

tests/two_hosts.py makes them: network namespaces 10.77.0.1 (host A, where `launch` runs) and
10.77.0.2 (host B), an sshd in each, Open MPI's mpirun reaching them over ssh. Two workers, one a
host, train on the same global batches as one process; SIGTERM to `launch` leaves nothing on either
host; an unreachable host is named in one line within seconds. Every process a launch starts
carries a mark in its environment (`--env`), which is how the leftovers are looked for. Skipped
where namespaces cannot be made (not root, no `ip netns`, no sshd, ssh or mpirun).
"""
import json
import signal
import subprocess
import sys
import time
import uuid

import numpy as onp
import psutil
import pytest

import two_hosts
from gluon_lessons import data as house_data
from gluon_lessons import model, parameter_server
from gluon_lessons.shell import datafiles, worker

pytestmark = pytest.mark.slow

# Two runs that mean the same sums differ only in the order float32 adds them in (the server adds
# the two workers' gradients, one process sums one batch): a few ulp per step, shrunk by the
# contracting steps. Weights here are at most 4.2 (ulp 4.8e-7): 2e-6 is about 4 ulp.
FLOAT32_GAP = 2e-6
ROOT = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}  # mpirun as root
MARK = "GLUON_LESSONS_TEST_MARK"
GLUON_LESSONS = [sys.executable, "-m", "gluon_lessons"]


@pytest.fixture(scope="module")
def hosts(tmp_path_factory, request):
    reason = two_hosts.unavailable()
    if reason:
        pytest.skip(reason)
    made = two_hosts.TwoHosts(tmp_path_factory.mktemp("two_hosts"))
    request.addfinalizer(made.stop)  # first: whatever part start() makes is removed
    made.start()
    (made.folder / "hosts").write_text("".join(address + "\n" for address in two_hosts.ADDRESSES))
    return made


def _launch_argv(hosts, launcher, mark, *options, root=ROOT):
    env = [f"{MARK}={mark}"] + [f"{name}={value}" for name, value in root.items()]
    return [*GLUON_LESSONS, "launch", "--launcher", launcher, "--hostfile",
            str(hosts.folder / "hosts"), *[part for item in env for part in ("--env", item)],
            *options]


def _marked(mark):
    """Live processes, on either host, whose environment carries `mark`."""
    found = []
    for process in psutil.process_iter():
        try:
            if process.status() != psutil.STATUS_ZOMBIE and process.environ().get(MARK) == mark:
                found.append(process.pid)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _assert_nothing_left(hosts, mark, within=10.0):
    deadline = time.monotonic() + within
    while _marked(mark) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = _marked(mark)
    assert not left, [psutil.Process(pid).cmdline() for pid in left if psutil.pid_exists(pid)]
    sshd = {process.pid for process in hosts.sshd}
    on_b = hosts.pids(1) - sshd
    listening = {pid for pid in on_b if "sshd" in " ".join(psutil.Process(pid).cmdline())}
    assert not on_b - listening  # besides sshd's own (a session may still be closing) nothing on B


@pytest.mark.parametrize("launcher", ["ssh", "mpi"])
def test_two_workers_on_two_hosts_end_equal_to_one_process(hosts, launcher, tmp_path):
    mark = uuid.uuid4().hex
    if launcher == "ssh":  # a data file whose name needs quotes, found from --workdir
        dataset = house_data.synthetic_house_prices(1200, seed=7)
        datafiles.save_dataset(dataset, tmp_path / "my houses.csv")
        data = ["--data", "my houses.csv"]
    else:  # more rows than the committed file, each worker making its own half
        dataset = worker.synthetic_data(6000)
        data = ["--synthetic-rows", "6000"]
    argv = _launch_argv(hosts, launcher, mark, "--workers", "2", "--timeout", "90", "--workdir",
                        str(tmp_path), "--", "train", *data, "--batch-size", "20", "--lr", "0.1",
                        "--epochs", "1", "--seed", "3")
    done = hosts.run(0, argv, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    results = sorted((json.loads(line.partition("] ")[2]) for line in done.stdout.splitlines()
                      if line.startswith("[worker ") and line.endswith("}")),
                     key=lambda result: result["rank"])
    assert [result["rank"] for result in results] == [0, 1]
    assert sorted(result["host"] for result in results) == list(two_hosts.ADDRESSES)  # one a host
    assert all(result["num_examples"] == dataset.num_examples > 1000 for result in results)
    first, second = results
    # identical, not close: after the last step both pulled the same float32 array from the server
    assert first["weight"] == second["weight"] and first["bias"] == second["bias"]
    weight, bias, _ = parameter_server.train_one_process(dataset, 2, batch_size=20, lr=0.1,
                                                         num_epochs=1, seed=3)
    gap = max(onp.abs(onp.append(first["weight"], first["bias"]) - onp.append(weight, bias)))
    print(f"{launcher}: the workers' weights are {gap:.1e} from one process's")
    assert gap <= FLOAT32_GAP
    # and they trained: 60 (ssh) or 300 (mpi) steps of lr 0.1 shrink the start's distance from
    # least squares (|(2, -3.4, 4.2)| = 5.8) by 0.9^60 = 2e-3 at least, to 0.01; 0.05 leaves room
    ols_w, ols_b = model.least_squares(dataset.features, dataset.labels)
    assert onp.linalg.norm(onp.append(weight, bias) - onp.append(ols_w, ols_b)) < 0.05
    _assert_nothing_left(hosts, mark)


SLEEPER = """
import os, time
print("hello from", os.environ["DMLC_ROLE"], flush=True)
time.sleep(120)
"""


def _wait_for_hellos(process):
    """Until the scheduler, the server and both workers have started."""
    said = []
    for line in process.stdout:
        said += [line] if "hello from" in line else []
        if len(said) == 4:
            return
    raise AssertionError("launch ended before every process started: %s" % said)


@pytest.mark.parametrize("launcher", ["ssh", "mpi"])
def test_sigterm_to_launch_leaves_nothing_on_either_host(hosts, launcher, tmp_path):
    mark = uuid.uuid4().hex
    program = tmp_path / "sleeper.py"
    program.write_text(SLEEPER)
    argv = _launch_argv(hosts, launcher, mark, "--workers", "2", "--timeout", "90", "--",
                        sys.executable, str(program))
    process = hosts.popen(0, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_hellos(process)
        running = set(_marked(mark))
        on_a, on_b = (running & hosts.pids(host) for host in (0, 1))
        assert on_a and on_b  # the job runs on both hosts
        process.send_signal(signal.SIGTERM)
        err = process.communicate(timeout=30)[1]
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == (
        "gluon-lessons: error: interrupted by SIGTERM; stopped every process it started")
    _assert_nothing_left(hosts, mark)


def test_a_killed_role_wrapper_on_the_other_host_is_named_within_seconds(hosts, tmp_path):
    mark = uuid.uuid4().hex
    program = tmp_path / "sleeper.py"
    program.write_text(SLEEPER)
    argv = _launch_argv(hosts, "ssh", mark, "--workers", "2", "--timeout", "90", "--",
                        sys.executable, str(program))
    process = hosts.popen(0, argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_hellos(process)
        wrappers = [pid for pid in set(_marked(mark)) & hosts.pids(1)
                    if "--watch-input" in psutil.Process(pid).cmdline()]
        assert len(wrappers) == 1  # worker 1 (workers go round the hosts: worker 0 on A, 1 on B)
        killed = time.monotonic()
        psutil.Process(wrappers[0]).kill()
        err = process.communicate(timeout=60)[1]
        seconds = time.monotonic() - killed
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 1
    assert err.strip().splitlines() == [
        f"gluon-lessons: error: worker 1: ssh {two_hosts.ADDRESSES[1]} exited with code 255 before "
        "it reported; stopped all other processes: hello from worker"]  # its last line
    assert seconds < 15  # at once, not at the 90 s time limit
    _assert_nothing_left(hosts, mark)


def test_an_unreachable_host_fails_at_once_in_one_line(hosts, tmp_path):
    mark = uuid.uuid4().hex
    hostfile = tmp_path / "hosts"
    hostfile.write_text(f"{two_hosts.ADDRESSES[0]}\n{two_hosts.UNREACHABLE}\n")
    program = [sys.executable, "-c", "import time; time.sleep(90)"]  # not `train`: no MXNet here
    argv = _launch_argv(hosts, "ssh", mark, "--workers", "2", "--timeout", "90", "--", *program)
    argv[argv.index("--hostfile") + 1] = str(hostfile)
    started = time.monotonic()
    done = hosts.run(0, argv, timeout=60)
    seconds = time.monotonic() - started
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(
        f"gluon-lessons: error: worker 1: ssh {two_hosts.UNREACHABLE} exited with code 255 before "
        "it reported; stopped all other processes: ssh: connect to host"), lines
    assert seconds < 30  # ARP gives up after about 3 s (4 s in all here); not the 90 s time limit
    _assert_nothing_left(hosts, mark)


def test_processes_that_cannot_start_are_named_in_one_line(hosts, tmp_path):
    # a --workdir missing on the hosts (ssh), and mpirun refusing root without its two variables
    mark = uuid.uuid4().hex
    program = [sys.executable, "-c", "import time; time.sleep(90)"]
    missing = str(tmp_path / "not here")
    argv = _launch_argv(hosts, "ssh", mark, "--timeout", "90", "--workdir", missing, "--", *program)
    done = hosts.run(0, argv, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "before it reported; stopped all other processes: " \
        f"bash: line 1: cd: {missing}: No such file or directory" in done.stderr, done.stderr
    argv = _launch_argv(hosts, "mpi", mark, "--timeout", "90", "--", *program, root={})
    done = hosts.run(0, argv, timeout=60)
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "mpirun has detected an attempt to run as root" \
        in done.stderr, done.stderr
    _assert_nothing_left(hosts, mark)
