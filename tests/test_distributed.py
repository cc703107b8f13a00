"""Data parallel and distributed training: several devices in one process, and MXNet's parameter
server on local processes started by MXNet's own launcher (`gluon_lessons.shell.launcher`).

Every launch has a time limit, and every test that starts processes checks afterwards that none of
them is left: by the unique folder each command line carries, and by the pids seen while it ran.
"""
import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import mxnet as mx
import numpy as onp
import psutil
import pytest

from gluon_lessons import loading, model, training
from gluon_lessons import parameter_server as dist_worker
from gluon_lessons.shell import launcher as distributed
from gluon_lessons.shell import datafiles, worker
from gluon_lessons.seeding import set_seed

# Two runs that mean the same sums differ only by the order float32 adds them in. Over the ~300
# contracting SGD steps here each gradient is off by a few ulp of |g| and the updates shrink the gap,
# so the weights (|w| <= 4.2, ulp 4.8e-7) stay within 2e-6, about 4 ulp: measured 0 to 5e-7.
FLOAT32_GAP = 2e-6


# ---------------------------------------------------------------- several devices in one process

def _fit_on(contexts, data, batch_size, kvstore="device", momentum=0.0, num_epochs=2, seed=0):
    set_seed(seed)
    net = model.linear_regression(contexts, num_inputs=data.num_features, hybrid=True)
    trainer = training.make_trainer(net, "sgd", 0.03, momentum, kvstore=kvstore)
    batches = loading.ShuffledBatches(data.features, data.labels, batch_size, ctx=contexts[0])
    history = training.fit(net, batches, trainer, num_epochs, ctx=contexts)
    return model.extract_weights(net), history


@pytest.mark.parametrize("num_devices,batch_size,kvstore,momentum", [
    (2, 10, "device", 0.0),
    (3, 10, "device", 0.0),  # 10 rows over 3 devices: 4 + 3 + 3, the sum is still over all 10
    (3, 12, "local", 0.9),   # the kvstore that reduces on the CPU, with momentum
])
def test_several_devices_train_like_one(walkthrough, num_devices, batch_size, kvstore, momentum):
    (one_w, one_b), one = _fit_on([mx.cpu(0)], walkthrough, batch_size, kvstore, momentum)
    contexts = [mx.cpu(i) for i in range(num_devices)]
    (many_w, many_b), many = _fit_on(contexts, walkthrough, batch_size, kvstore, momentum)
    assert len(many.step_loss) == len(one.step_loss) == 2 * loading.num_batches(1000, batch_size)
    onp.testing.assert_allclose(many_w, one_w, rtol=0, atol=FLOAT32_GAP)
    assert abs(many_b - one_b) <= FLOAT32_GAP
    # and both are training, not standing still: after 2 epochs within 0.05 of least squares
    ols_w, ols_b = model.least_squares(walkthrough.features, walkthrough.labels)
    onp.testing.assert_allclose(many_w, ols_w, atol=0.05)


# ---------------------------------------------------------------- shards and global batches

@pytest.mark.parametrize("num_examples,num_workers,batch_size", [(1000, 2, 20), (1000, 3, 12), (37, 3, 6)])
def test_shards_are_disjoint_and_global_batches_join_them(num_examples, num_workers, batch_size):
    shards = [set(dist_worker.shard(num_examples, r, num_workers)) for r in range(num_workers)]
    assert all(not (a & b) for i, a in enumerate(shards) for b in shards[i + 1:])  # no worker sees another's rows
    assert sum(map(len, shards)) == num_examples - num_examples % num_workers
    for epoch in (1, 2):
        per_worker = [dist_worker.worker_batches(num_examples, r, num_workers, batch_size, 0, epoch)
                      for r in range(num_workers)]
        for rank, batches in enumerate(per_worker):
            assert all(set(rows) <= shards[rank] and len(rows) == batch_size // num_workers for rows in batches)
            assert len(set(onp.concatenate(batches))) == len(onp.concatenate(batches))  # each row once per epoch
        joined = dist_worker.global_batches(num_examples, num_workers, batch_size, 0, epoch)
        assert [sorted(rows) for rows in joined] == [sorted(onp.concatenate(step)) for step in zip(*per_worker)]
        assert all(len(rows) == batch_size for rows in joined)
    first, second = (dist_worker.global_batches(num_examples, num_workers, batch_size, 0, e) for e in (1, 2))
    assert any(not onp.array_equal(a, b) for a, b in zip(first, second))  # a new order each epoch


def test_sharding_refuses_batches_the_workers_cannot_split():
    with pytest.raises(ValueError, match="multiple of the 3 workers"):
        dist_worker.check_sharding(1000, 3, 10)
    with pytest.raises(ValueError, match="fewer rows per worker"):
        dist_worker.check_sharding(5, 2, 8)


# ---------------------------------------------------------------- the launcher: helpers

def _processes_with(token):
    """Live processes whose command line mentions `token` (zombies have exited and hold nothing)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        try:
            if process.info["status"] != psutil.STATUS_ZOMBIE and token in " ".join(process.info["cmdline"] or []):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def _assert_all_gone(token, pids=(), within=5.0):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        left = _processes_with(token) + [p for p in map(_alive, pids) if p is not None]
        if not left:
            return
        time.sleep(0.1)
    raise AssertionError("left running: %s" % [(p.pid, p.cmdline()) for p in left])


def _alive(pid):
    try:
        process = psutil.Process(pid)
        return None if process.status() == psutil.STATUS_ZOMBIE else process
    except psutil.NoSuchProcess:
        return None


def _script(tmp_path, body):
    """A Python program every role runs; its path (under tmp_path) marks its processes."""
    path = tmp_path / "role_program.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


# Every role says hello, then worker 1 fails or all wait: no mxnet, so these runs take about a second.
ROLES = """
    import os, sys, time
    role, task = os.environ["DMLC_ROLE"], os.environ.get("DMLC_TASK_ID")
    print("hello from", role, task, "pgid", os.getpgrp(), flush=True)
    if role == "worker" and task == "1" and "fail" in sys.argv:
        print("worker 1 gives up", flush=True)
        sys.exit(3)
    if role == "scheduler" and "kill-launcher" in sys.argv:  # the nearest ancestor running distributed.py tracker
        import psutil
        next(p for p in psutil.Process().parents() if "tracker" in p.cmdline()).kill()
    time.sleep(120)
"""


def test_a_failing_worker_stops_everything_and_is_named(tmp_path):
    command = _script(tmp_path, ROLES) + ["fail"]
    started = time.monotonic()
    with pytest.raises(distributed.LaunchError, match=r"worker 1 exited with code 3.*worker 1 gives up"):
        distributed.launch(command, num_workers=2, num_servers=1, timeout=60)
    assert time.monotonic() - started < 30  # stopped at the failure, long before the 120 s sleeps
    _assert_all_gone(str(tmp_path))


def test_a_launcher_that_dies_early_is_reported_and_its_processes_stopped(tmp_path, monkeypatch):
    monkeypatch.setattr(distributed, "FINISH_GRACE_SECONDS", 1.0)  # how long the others get to follow it
    started = time.monotonic()
    with pytest.raises(distributed.LaunchError, match=r"the launcher exited \(code -9\) after 0 of 2 workers"):
        distributed.launch(_script(tmp_path, ROLES) + ["kill-launcher"], num_workers=2, num_servers=1, timeout=60)
    assert time.monotonic() - started < 20  # well before the 60 s time limit
    _assert_all_gone(str(tmp_path))


def test_the_time_limit_stops_everything(tmp_path):
    started = time.monotonic()
    with pytest.raises(distributed.LaunchError, match=r"timed out after 3 s.*still running: .*worker 0"):
        distributed.launch(_script(tmp_path, ROLES), num_workers=2, num_servers=1, timeout=3)
    assert time.monotonic() - started < 3 + distributed.STOP_GRACE_SECONDS + 5
    _assert_all_gone(str(tmp_path))


def _start_cli_launch(tmp_path, *launch_options, api=False):
    """`gluon-lessons launch` (or `distributed.launch` called from a small program) in a child process;
    returns it once every role has said hello, with the pids of its process tree at that moment."""
    command = _script(tmp_path, ROLES)
    if api:  # the module loaded from its file: without the package (and mxnet) the caller starts in 0.1 s
        code = ("import importlib.util, sys; spec = importlib.util.spec_from_file_location('distributed', %r); "
                "distributed = sys.modules['distributed'] = importlib.util.module_from_spec(spec); "
                "spec.loader.exec_module(distributed); distributed.launch(%r, 2, 1, timeout=60, echo=sys.stdout)"
                % (distributed.SCRIPT, command))
        argv = [sys.executable, "-c", code]
    else:
        argv = [sys.executable, "-m", "gluon_lessons", "launch", "--workers", "2", *launch_options, "--", *command]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in process.stdout], daemon=True).start()
    seen, deadline = set(), time.monotonic() + 30
    while len(seen) < 4 and time.monotonic() < deadline:  # 2 workers, 1 server and the scheduler say hello
        with contextlib.suppress(queue.Empty):
            line = lines.get(timeout=0.5)
            seen.update([line.split("]")[0]] if "hello from" in line else [])
    if len(seen) < 4:
        process.kill()
        pytest.fail("not every role started within 30 s: %s" % seen)
    pids = [p.pid for p in psutil.Process(process.pid).children(recursive=True)]
    assert len(pids) >= 8  # launcher, and for each of the 4 roles a prefixing wrapper and its program
    return process, pids


def test_lines_of_processes_writing_at_once_arrive_whole_and_labelled(tmp_path):
    # Four processes each print 300 lines of 1500 characters as fast as they can into one pipe; a
    # line written in two pieces would come out spliced into another process's line.
    command = _script(tmp_path, """
        import os
        tag = os.environ["DMLC_ROLE"] + os.environ.get("DMLC_TASK_ID", "")
        for i in range(300):
            print(tag + ":" + str(i) + ":" + "x" * 1500)
    """)
    result = distributed.launch(command, num_workers=2, num_servers=1, timeout=60)
    assert set(result.exit_codes) == {"worker 0", "worker 1", "server 0", "scheduler"}
    tags = {"worker 0": "worker0", "worker 1": "worker1", "server 0": "server2", "scheduler": "scheduler"}
    for label, tag in tags.items():
        assert result.output[label] == ["%s:%d:%s" % (tag, i, "x" * 1500) for i in range(300)]
    _assert_all_gone(str(tmp_path))


def test_sigterm_to_the_launch_command_stops_every_process(tmp_path):
    process, pids = _start_cli_launch(tmp_path, "--timeout", "60")
    process.send_signal(signal.SIGTERM)
    err = process.communicate(timeout=20)[1]
    assert process.returncode == 128 + signal.SIGTERM
    assert "interrupted by SIGTERM; stopped every process it started" in err
    _assert_all_gone(str(tmp_path), pids)


def test_ctrl_c_to_a_program_calling_launch_stops_every_process(tmp_path):
    process, pids = _start_cli_launch(tmp_path, api=True)
    process.send_signal(signal.SIGINT)
    err = process.communicate(timeout=20)[1]
    assert "distributed.Interrupted: SIGINT" in err  # raised to the caller once the processes are stopped
    _assert_all_gone(str(tmp_path), pids)


def test_killing_the_caller_outright_still_stops_the_job(tmp_path):
    # SIGKILL cannot be caught: the launcher process notices it lost its parent and kills its own group.
    process, pids = _start_cli_launch(tmp_path, api=True)
    process.kill()
    process.wait(timeout=10)
    _assert_all_gone(str(tmp_path), pids, within=5.0)


def test_bad_launch_settings_are_refused():
    for kwargs, message in [(dict(num_workers=0), "num_workers must be an integer >= 1"),
                            (dict(num_servers=1.5), "num_servers must be an integer >= 1"),
                            (dict(launcher="yarn"), "launcher must be one of local, ssh, mpi"),
                            (dict(launcher="ssh"), "needs --hostfile"),
                            (dict(hostfile="hosts"), "hostfile goes with --launcher ssh or mpi"),
                            (dict(timeout=0), "timeout (seconds) must be a number > 0")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            distributed.launch(["true"], **{"num_workers": 2, **kwargs})
    with pytest.raises(ValueError, match="non-empty list of strings"):
        distributed.launch([], 2)


@pytest.mark.parametrize("argv,message", [
    (["launch"], "launch needs a command after --"),
    (["launch", "--workers", "0", "--", "train"], "--workers must be an integer >= 1"),
    (["launch", "--launcher", "ssh", "--", "train"], "needs --hostfile"),
    (["launch", "--timeout", "-1", "--", "train"], "--timeout must be a number > 0"),
    (["launch", "--", "train", "--lr", "fast"], "train: argument --lr: invalid float value"),
    (["launch", "--workers", "3", "--", "train", "--batch-size", "10"], "multiple of the 3 workers"),
    (["launch", "--", "train", "--epochs", "0"], "epochs"),
])
def test_cli_launch_refuses_bad_input_with_exit_2(argv, message, capsys):
    from gluon_lessons.shell import cli
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_the_worker_refuses_to_run_outside_a_launcher(monkeypatch, capsys):
    monkeypatch.delenv("DMLC_ROLE", raising=False)
    assert worker.main([]) == 2
    assert "run it with gluon-lessons launch" in capsys.readouterr().err


# ---------------------------------------------------------------- the parameter server, for real

def _listening_addresses(stop, found):
    """Collect the listening TCP addresses of this process's descendants until `stop` is set."""
    me = psutil.Process()
    while not stop.is_set():
        for child in me.children(recursive=True):
            try:
                found.update(c.laddr.ip for c in child.net_connections("tcp") if c.status == psutil.CONN_LISTEN)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        time.sleep(0.05)


@pytest.fixture(scope="module")
def dist_sync_run(tmp_path_factory):
    """Two workers and one server train with dist_sync on 400 examples, global batch 20, 2 epochs, lr 0.2."""
    mark = tmp_path_factory.mktemp("dist_sync")  # in the data path, so its processes can be found
    csv = mark / "houses.csv"
    from gluon_lessons import data as house_data
    dataset = house_data.synthetic_house_prices(400, seed=3)
    datafiles.save_dataset(dataset, csv)
    stop, addresses = threading.Event(), set()
    watcher = threading.Thread(target=_listening_addresses, args=(stop, addresses), daemon=True)
    watcher.start()
    try:
        result = worker.launch_training(2, 1, "dist_sync", batch_size=20, lr=0.2, num_epochs=2, seed=5,
                                             data_path=csv, timeout=120)[1]
    finally:
        stop.set()
        watcher.join()
    return result, dataset, addresses, str(mark)


def test_dist_sync_workers_agree_with_each_other_and_with_one_process(dist_sync_run):
    result, dataset, addresses, mark = dist_sync_run
    workers = result.worker_results()
    assert sorted(w["rank"] for w in workers) == [0, 1]
    assert sorted(tuple(w["shard"]) for w in workers) == [(0, 200), (200, 400)]
    first, second = workers
    # Identical, not close: after the last step both pull the same float32 array from the server.
    assert first["weight"] == second["weight"] and first["bias"] == second["bias"]
    weight, bias, history = dist_worker.train_one_process(dataset, 2, batch_size=20, lr=0.2, num_epochs=2, seed=5)
    onp.testing.assert_allclose(first["weight"], weight, rtol=0, atol=FLOAT32_GAP)
    assert abs(first["bias"] - bias) <= FLOAT32_GAP
    assert first["steps_per_epoch"] == len(history.step_loss) // 2 == 200 // 10  # 200 rows per worker, 10 a step
    # And the shared weights are least squares': the Hessian X'X/n of 400 standard normal rows has
    # eigenvalues within 1 +- 0.15, so 40 steps of lr 0.2 shrink the start's distance (|(2, -3.4, 4.2)|
    # = 5.8) by at most 0.83^40 ~ 6e-4 => 4e-3; the batch noise adds noise * sqrt(lr / (B (2 - lr)))
    # = 7.5e-4 per coordinate, 4 sigma over 3 coordinates 5e-3. Hence 1e-2.
    ols_w, ols_b = model.least_squares(dataset.features, dataset.labels)
    assert onp.linalg.norm(onp.append(first["weight"], first["bias"]) - onp.append(ols_w, ols_b)) < 1e-2
    assert set(result.exit_codes) == {"worker 0", "worker 1", "server 0", "scheduler"}
    assert not result.stopped  # the server and the scheduler ended on their own once the workers had


def test_local_runs_listen_on_loopback_only(dist_sync_run):
    result, dataset, addresses, mark = dist_sync_run
    assert addresses, "saw no listening socket while the job ran"
    assert addresses <= {"127.0.0.1"}, addresses


def test_nothing_outlives_a_successful_run(dist_sync_run):
    _assert_all_gone(dist_sync_run[3])


def test_the_scheduler_of_train_imports_no_mxnet_module_the_worker_and_server_do():
    # `python -X importtime` prints a line for every module a process imports. The scheduler of
    # `launch ... -- train` runs ps-lite through MXNet's C library alone; the worker imports MXNet to
    # train, and the server because its loop runs inside `import mxnet`.
    command = [sys.executable, "-X", "importtime", "-m", distributed.WORKER_MODULE,
               "--num-examples", "20", "--batch-size", "10", "--epochs", "1"]
    result = distributed.launch(command, num_workers=1, num_servers=1, timeout=120)
    imported = {label: {line.rsplit("|", 1)[-1].strip() for line in lines
                        if line.startswith("import time:")}
                for label, lines in result.output.items()}
    assert {"mxnet", "mxnet.kvstore"} <= imported["worker 0"] & imported["server 0"]
    assert not [name for name in imported["scheduler"] if name.split(".")[0] == "mxnet"]
    assert "gluon_lessons.shell.launcher" in imported["scheduler"]  # it ran, and its imports were seen
    assert result.exit_codes == {"worker 0": 0, "server 0": 0, "scheduler": 0}


def test_run_scheduler_refuses_another_role(monkeypatch):
    monkeypatch.setenv("DMLC_ROLE", "worker")
    with pytest.raises(distributed.LaunchError, match="DMLC_ROLE=scheduler.*'worker'"):
        distributed.run_scheduler()



def test_the_role_wrapper_prefixes_and_reports_without_becoming_a_server():
    # Were the wrapper to import mxnet (say through the package's __init__), DMLC_ROLE=server would
    # turn it into a parameter server and the command would never run.
    env = dict(os.environ, DMLC_ROLE="server", DMLC_TASK_ID="3", DMLC_NUM_WORKER="2", PYTHONUNBUFFERED="1")
    done = subprocess.run([sys.executable, distributed.SCRIPT, "role", "--", sys.executable, "-c",
                           "import sys; print('to stdout'); print('to stderr', file=sys.stderr); sys.exit(4)"],
                          capture_output=True, text=True, timeout=60, env=env)
    assert done.stdout.splitlines() == ["[server 1] to stdout", "[server 1] to stderr",
                                        "gluon-lessons-launch: server 1 exited 4"]


@pytest.mark.parametrize("kvstore", ["dist_async", "dist_sync"])
def test_dist_async_does_not_wait_for_a_slow_worker(tmp_path, kvstore):
    """Worker 1 sleeps 50 ms after each of its 40 steps (2 s in all); worker 0 never sleeps.

    With dist_sync the server applies a step's update only once both workers have pushed that step,
    and a worker's pull waits for that update: worker 0 cannot finish step k before worker 1 has
    pushed step k, so it trains about as long as worker 1 (over 2 s). With dist_async the server
    applies each push as it arrives and a pull returns the weights it holds: worker 0 runs its 40
    steps at its own pace (~0.2 s here), a fraction of worker 1's time. So "worker 0 took less than
    half of worker 1's time" holds for an asynchronous store only; the dist_sync case, where it took
    over 80%, shows that the same check fails for a synchronous one.
    """
    csv = tmp_path / "houses.csv"
    from gluon_lessons import data as house_data
    dataset = house_data.synthetic_house_prices(400, seed=3)
    datafiles.save_dataset(dataset, csv)
    results, launched = worker.launch_training(2, 1, kvstore, batch_size=20, lr=0.2, num_epochs=2, seed=5,
                                               data_path=csv, timeout=120, slow_rank=1, slow_ms=50.0)
    seconds = {r["rank"]: sum(r["seconds_per_epoch"]) for r in results}
    assert all(r["kvstore"] == kvstore and r["steps_per_epoch"] == 20 for r in results)
    assert seconds[1] > 40 * 0.050  # the sleeping alone
    if kvstore == "dist_async":
        assert seconds[0] < 0.5 * seconds[1]
    else:
        assert seconds[0] > 0.8 * seconds[1]
    assert not launched.stopped
    _assert_all_gone(str(tmp_path))


# ---------------------------------------------------------------- hostfiles, labels, variables

def test_a_hostfile_is_read_line_by_line(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("# the cluster\n10.0.0.1\n\n  node-2.example:2222   # a comment\n"
                     "me@10.0.0.3 slots=4\n")
    assert distributed.read_hostfile(hosts) == [
        distributed.Host("10.0.0.1"), distributed.Host("node-2.example", 2222),
        distributed.Host("me@10.0.0.3", None, 4)]
    assert distributed.read_hostfile(hosts)[2].address == "10.0.0.3"


@pytest.mark.parametrize("content,message", [
    (b"", "names no host"),
    (b"# only a comment\n\n", "names no host"),
    (b"\x7fELF\x02\x01\x01\x00\x00\x00", "is not text"),
    (b"\xff\xfe\x00h", "is not text"),
    (b"10.0.0.1\nnode 2 3\n", "line 2: 'node 2 3' is not HOST"),
    (b"10.0.0.1:99999\n", "ports are 1-65535"),
    (b"-oProxyCommand=x\n", "line 1"),
])
def test_bad_hostfiles_are_refused_in_one_line_before_anything_starts(tmp_path, content, message,
                                                                       capsys):
    from gluon_lessons.shell import cli
    hosts = tmp_path / "hosts"
    hosts.write_bytes(content)
    with pytest.raises(ValueError, match=re.escape(message)):
        distributed.read_hostfile(hosts)
    assert cli.main(["launch", "--launcher", "ssh", "--hostfile", str(hosts), "--", "true"]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_mpi_hostfiles_leave_users_and_ports_to_ssh(tmp_path):
    hosts = tmp_path / "hosts"
    hosts.write_text("10.0.0.1:2222\n")
    assert distributed.read_hostfile(hosts, "ssh") == [distributed.Host("10.0.0.1", 2222)]
    with pytest.raises(ValueError, match="not in the hostfile"):
        distributed.read_hostfile(hosts, "mpi")


def test_mpirun_hostfile_places_ranks_round_the_hosts():
    hosts = [distributed.Host("a"), distributed.Host("b", slots=3)]
    assert distributed._mpi_hostfile(hosts, 2, 1) == "a slots=1\nb slots=3\n"
    assert distributed._mpi_hostfile(hosts, 5, 1) == "a slots=3\nb slots=3\n"


def test_labels_come_from_the_task_number_or_the_rank_mpirun_gives():
    label = distributed.role_label
    assert label({"DMLC_ROLE": "worker", "DMLC_TASK_ID": "1"}) == "worker 1"
    assert label({"DMLC_ROLE": "server", "DMLC_TASK_ID": "3", "DMLC_NUM_WORKER": "2"}) == "server 1"
    assert label({"DMLC_ROLE": "worker", "OMPI_COMM_WORLD_RANK": "1"}) == "worker 1"
    assert label({"DMLC_ROLE": "server", "PMI_RANK": "0"}) == "server 0"
    assert label({"DMLC_ROLE": "scheduler", "OMPI_COMM_WORLD_RANK": "0"}) == "scheduler"
    # without either, workers would share one label (what mpirun runs used to get)
    assert label({"DMLC_ROLE": "worker"}) == label({"DMLC_ROLE": "worker"}) == "worker"


def test_ssh_places_each_process_with_its_own_label():
    hosts = [["10.0.0.1", None], ["10.0.0.2", 2222]]
    placed = distributed.placement(hosts, 4, 2)
    labels = [label for label, *_ in placed]
    assert labels == ["worker 0", "worker 1", "worker 2", "worker 3", "server 0", "server 1"]
    assert [host[0] for *_, host in placed] == ["10.0.0.1", "10.0.0.2"] * 3
    for label, role, task, host in placed:  # the label each wrapper will compute from its variables
        assert distributed.role_label({"DMLC_ROLE": role, "DMLC_TASK_ID": str(task),
                                       "DMLC_NUM_WORKER": "4"}) == label


def test_only_role_lines_are_read_as_labels():
    assert distributed._split("[worker 1] loss 0.5") == ("worker 1", "loss 0.5")
    assert distributed._split("[scheduler] up") == ("scheduler", "up")
    for line in ["[vm:25076] 1 more process has sent help message help-mpi-api.txt",
                 "[10.0.0.2] Warning: Permanently added", "[INFO] [worker 1] x"]:
        assert distributed._split(line) == ("launcher", line)


def test_env_names_take_their_value_here_or_the_one_given():
    assert distributed.parse_env(["A", "B=x y", "C="], {"A": "1"}) == {"A": "1", "B": "x y", "C": ""}
    for items, message in [(["MISSING"], "MISSING is not set here"),
                           (["DMLC_ROLE=worker"], "set by the launcher"),
                           (["1X=2"], "not a variable name"), (["A=b\nc"], "one line")]:
        with pytest.raises(ValueError, match=message):
            distributed.parse_env(items, {})


def test_the_remote_command_keeps_every_argument_whole(tmp_path):
    # What sshd does with the command: the login shell runs it. Here bash runs it on this machine.
    folder = tmp_path / "my folder"
    folder.mkdir()
    odd = ["--data", "/data/my houses.csv", "it's", '"quoted"', "$HOME", "a;b", "*", ""]
    printer = [sys.executable, "-c", "import json, os, sys; print(json.dumps([os.getcwd(), "
               "os.environ['NOTE'], os.environ['DMLC_ROLE'], sys.argv[1:]]))", *odd]
    remote = distributed._ssh_command(["host", 2222], {"NOTE": "two words; $x", "DMLC_ROLE": "worker"},
                                      str(folder), printer)
    assert remote[:-2] == ["ssh", *distributed.SSH_OPTIONS, "-p", "2222"] and remote[-2] == "host"
    done = subprocess.run(["bash", "-c", remote[-1]], capture_output=True, text=True, timeout=30)
    assert json.loads(done.stdout) == [str(folder), "two words; $x", "worker", odd]


def test_the_scheduler_listens_where_it_is_told_or_toward_the_first_host():
    assert distributed.scheduler_address([distributed.Host("127.0.0.1")]) == "127.0.0.1"
    assert distributed.scheduler_address([distributed.Host("10.0.0.1")], "127.0.0.1") == "127.0.0.1"
    with pytest.raises(ValueError, match="not an address of this machine"):
        distributed.scheduler_address([distributed.Host("127.0.0.1")], "192.0.2.1")  # TEST-NET-1


# ---------------------------------------------------------------- ssh mode through a stand-in ssh

def _fake_ssh(tmp_path, body):
    """An `ssh` first on PATH: `body` gets the remote command as $last (the host as $host)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    script = folder / "ssh"
    script.write_text('#!/bin/bash\nhost=${@: -2:1}; last=${@: -1}\n' + body + "\n")
    script.chmod(0o755)
    return {"PATH": "%s:%s" % (folder, os.environ["PATH"])}


def _hostfile(tmp_path, *hosts):
    path = tmp_path / "hosts"
    path.write_text("".join(host + "\n" for host in hosts))
    return path


def test_ssh_mode_labels_each_process_and_keeps_quotes(tmp_path, monkeypatch):
    # sshd runs the command through the login shell; this ssh does the same on this machine.
    for name, value in _fake_ssh(tmp_path, 'exec bash -c "$last"').items():
        monkeypatch.setenv(name, value)
    command = _script(tmp_path, """
        import os, sys
        print("args", sys.argv[1:], os.environ["NOTE"], os.getcwd(), flush=True)
    """) + ["my houses.csv", "it's"]
    result = distributed.launch(command, 4, 2, "ssh", _hostfile(tmp_path, "127.0.0.1", "127.0.0.1"),
                                timeout=60, env={"NOTE": "a b"}, workdir=tmp_path)
    assert set(result.exit_codes) == set(distributed._expected_labels(4, 2))
    for label in result.exit_codes:  # the scheduler runs here, the others in --workdir on their host
        where = os.getcwd() if label == "scheduler" else tmp_path
        assert result.output[label] == ["args ['my houses.csv', \"it's\"] a b %s" % where]
    _assert_all_gone(str(tmp_path))


def test_an_unreachable_host_is_named_at_once(tmp_path, monkeypatch):
    for name, value in _fake_ssh(tmp_path, 'echo "ssh: connect to host $host port 22: '
                                 'No route to host" >&2; exit 255').items():
        monkeypatch.setenv(name, value)
    started = time.monotonic()
    with pytest.raises(distributed.LaunchError, match=r"^(worker [01]|server 0): ssh 127\.0\.0\.1 exited with code "
                       r"255 before it reported; stopped all other processes: ssh: connect to host "
                       r"127\.0\.0\.1 port 22: No route to host$"):
        distributed.launch(_script(tmp_path, ROLES), 2, 1, "ssh", _hostfile(tmp_path, "127.0.0.1"),
                           timeout=60)
    assert time.monotonic() - started < 10
    _assert_all_gone(str(tmp_path))


def test_stopping_an_ssh_launch_ends_the_remote_processes(tmp_path, monkeypatch):
    # The remote side keeps running on its own (setsid: as under sshd, outside the launcher's
    # group); only the end of its standard input, the ssh connection, tells it to stop.
    for name, value in _fake_ssh(tmp_path, 'exec setsid bash -c "$last"').items():
        monkeypatch.setenv(name, value)
    with pytest.raises(distributed.LaunchError, match="timed out after 8 s"):
        distributed.launch(_script(tmp_path, ROLES), 2, 1, "ssh", _hostfile(tmp_path, "127.0.0.1"),
                           timeout=8)
    _assert_all_gone(str(tmp_path), within=8.0)


def test_a_killed_role_wrapper_is_named_within_seconds(tmp_path):
    command = _script(tmp_path, """
        import os, signal, sys, time
        if os.environ["DMLC_ROLE"] == "worker" and os.environ.get("DMLC_TASK_ID") == "1":
            time.sleep(1)
            os.kill(os.getppid(), signal.SIGKILL)  # the wrapper that labels this process
        time.sleep(120)
    """)
    started = time.monotonic()
    with pytest.raises(distributed.LaunchError, match=r"^worker 1: its process was killed by signal 9 "
                       "before it reported"):
        distributed.launch(command, 2, 1, timeout=60)
    assert time.monotonic() - started < 20
    _assert_all_gone(str(tmp_path))


def test_cli_launch_refuses_a_scheduler_host_for_local_runs(capsys):
    from gluon_lessons.shell import cli
    assert cli.main(["launch", "--scheduler-host", "127.0.0.1", "--", "true"]) == 2
    assert "--scheduler-host and --scheduler-port go with --launcher ssh or mpi" in capsys.readouterr().err


# ---------------------------------------------------------------- more rows than the committed file

def test_synthetic_rows_are_the_same_whatever_the_number_of_workers():
    n = 2 * worker.BLOCK_ROWS + 321  # three blocks, the last cut short
    whole = worker.synthetic_data(n)
    for num_workers in (1, 2, 3):
        for rank in range(num_workers):
            part = worker.synthetic_data(n, rank, num_workers)
            rows = dist_worker.shard(n, rank, num_workers)
            assert part.num_examples == n
            onp.testing.assert_array_equal(part.features[rows], whole.features[rows])
            onp.testing.assert_array_equal(part.labels[rows], whole.labels[rows])
            with pytest.raises(IndexError):  # a worker holds its own rows only
                part.features[[rows[-1] + 1 if rank < num_workers - 1 else rows[0] - 1]]
    # and the rows follow the walkthrough's model: least squares within 4 standard errors
    # (noise 0.01 over n standard normal rows: 0.01 / sqrt(n) = 6.5e-5) of w = (2, -3.4), b = 4.2
    ols_w, ols_b = model.least_squares(whole.features, whole.labels)
    onp.testing.assert_allclose(onp.append(ols_w, ols_b), [2.0, -3.4, 4.2], atol=4 * 0.01 / n**0.5)
    assert len(set(map(tuple, whole.features.tolist()))) == n  # no block repeats another


def test_synthetic_rows_settings_are_checked():
    args, dataset = worker.parse_arguments(["--synthetic-rows", "50000", "--batch-size", "20"], 2)
    assert dataset is None and args.synthetic_rows == 50000  # each worker makes its own shard
    for argv, message in [(["--synthetic-rows", "0"], "--synthetic-rows must be an integer in"),
                          (["--synthetic-rows", "100", "--num-examples", "10"], "give one"),
                          (["--synthetic-rows", str(10**8)], "use more workers"),
                          (["--synthetic-rows", "5", "--batch-size", "20"], "fewer rows per worker")]:
        with pytest.raises(ValueError, match=message):
            worker.parse_arguments(argv, 2)
