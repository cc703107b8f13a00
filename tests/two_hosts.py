"""Two hosts on this machine, for the launcher's ssh and mpi tests.

Two network namespaces joined by a veth pair (10.77.0.1 and 10.77.0.2, each with a default route
into its end of the pair), an sshd in each with its own config and a host key made for the run,
key-only root login with a key made for the run, and an `ssh` first on PATH that adds `-F config`
(the launcher and mpirun call plain `ssh`). Both "hosts" share this machine's files and processes,
so the same paths hold on each, and what runs on either can be found with psutil. Nothing is sent
to an address outside the namespaces. `stop()` removes everything `start()` made, whatever part
of it was made.
"""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

ADDRESSES = ("10.77.0.1", "10.77.0.2")
UNREACHABLE = "10.77.0.3"  # in the namespaces' network, where nobody answers
TOOLS = ("ip", "ssh", "ssh-keygen", "mpirun")
SSHD = "/usr/sbin/sshd"


def unavailable():
    """Why two hosts cannot be made here, or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "network namespaces need root"
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    missing += [] if os.access(SSHD, os.X_OK) else [SSHD]
    if missing:
        return "not installed: %s (.ci/run installs them)" % ", ".join(missing)
    probe = "glprobe%d" % os.getpid()
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode != 0:
        return "cannot make a network namespace: %s" % made.stderr.strip()
    subprocess.run(["ip", "netns", "delete", probe], capture_output=True)
    return None


def _run(*argv):
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise RuntimeError("%s failed: %s" % (" ".join(argv), done.stderr.strip()))
    return done.stdout


class TwoHosts:
    """`start()` makes them, `stop()` removes them; `popen(host, argv)` runs a command on one."""

    def __init__(self, folder):
        self.folder = Path(folder)
        tag = os.getpid()
        self.namespaces = ("glhostA%d" % tag, "glhostB%d" % tag)
        self.links = ("glv%da" % tag, "glv%db" % tag)
        self.made_run_sshd = False
        self.sshd = []
        self.bin = self.folder / "bin"
        self.env = dict(os.environ, PATH="%s:%s" % (self.bin, os.environ.get("PATH", "")))

    def start(self):
        for namespace in self.namespaces:
            _run("ip", "netns", "add", namespace)
        _run("ip", "link", "add", self.links[0], "type", "veth", "peer", "name", self.links[1])
        for namespace, link, address in zip(self.namespaces, self.links, ADDRESSES):
            _run("ip", "link", "set", link, "netns", namespace)
            inside = ("ip", "netns", "exec", namespace, "ip")
            _run(*inside, "addr", "add", address + "/24", "dev", link)
            _run(*inside, "link", "set", link, "up")
            _run(*inside, "link", "set", "lo", "up")
            _run(*inside, "route", "add", "default", "dev", link)
        self._keys_and_configs()
        if not Path("/run/sshd").exists():  # sshd's privilege separation folder
            Path("/run/sshd").mkdir(mode=0o755, parents=True)
            self.made_run_sshd = True
        for index, namespace in enumerate(self.namespaces):
            self.sshd.append(subprocess.Popen(
                ["ip", "netns", "exec", namespace, SSHD, "-D", "-e", "-f",
                 str(self.folder / ("sshd_config_%d" % index))],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=open(self.folder / ("sshd_%d.log" % index), "w"), start_new_session=True))
        deadline = time.monotonic() + 15
        for address in ADDRESSES:  # both answer a login from host A
            while self.run(0, ["ssh", address, "true"], timeout=15).returncode != 0:
                if time.monotonic() > deadline:
                    raise RuntimeError("sshd on %s did not let us in: %s" % (
                        address, (self.folder / "sshd_1.log").read_text()[-500:]))
                time.sleep(0.2)

    def _keys_and_configs(self):
        folder = self.folder
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "client_key"))
        _run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(folder / "host_key"))
        shutil.copy(folder / "client_key.pub", folder / "authorized_keys")
        (folder / "home").mkdir()
        for index, address in enumerate(ADDRESSES):
            (folder / ("sshd_config_%d" % index)).write_text(
                f"ListenAddress {address}\nPort 22\nHostKey {folder / 'host_key'}\n"
                f"PidFile {folder / ('sshd_%d.pid' % index)}\n"
                f"AuthorizedKeysFile {folder / 'authorized_keys'}\n"
                "PubkeyAuthentication yes\nPasswordAuthentication no\n"
                "KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n"
                "UsePAM no\nStrictModes no\n"
                # a home of their own: the machine's shell start-up files play no part (root's
                # .bashrc may run `pyenv init`, which waits 60 s on a lock another pyenv left)
                f"SetEnv HOME={folder / 'home'}\n")
        (folder / "ssh_config").write_text(
            f"Host *\n  User root\n  IdentityFile {folder / 'client_key'}\n  IdentitiesOnly yes\n"
            "  UserKnownHostsFile /dev/null\n  StrictHostKeyChecking no\n  LogLevel ERROR\n"
            "  BatchMode yes\n  ConnectTimeout 5\n")
        self.bin.mkdir()
        wrapper = self.bin / "ssh"
        wrapper.write_text('#!/bin/sh\nexec %s -F %s "$@"\n'
                           % (shutil.which("ssh"), folder / "ssh_config"))
        wrapper.chmod(0o755)

    def argv(self, host, argv):
        """`argv` run inside host `host`'s (0 or 1) network namespace."""
        return ["ip", "netns", "exec", self.namespaces[host], *argv]

    def popen(self, host, argv, **options):
        return subprocess.Popen(self.argv(host, argv), env=options.pop("env", self.env), **options)

    def run(self, host, argv, **options):
        options.setdefault("capture_output", True)
        return subprocess.run(self.argv(host, argv), env=options.pop("env", self.env), text=True,
                              **options)

    def pids(self, host=None):
        """Processes running on host `host` (0 or 1), or on either: sshd, and what tests started."""
        found = set()
        for namespace in self.namespaces if host is None else [self.namespaces[host]]:
            done = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True,
                                  text=True)
            found.update(int(pid) for pid in done.stdout.split())
        return found

    def stop(self):
        for process in self.sshd:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        for pid in self.pids():  # anything still inside: sessions, what tests left
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for namespace in self.namespaces:  # takes its end of the veth pair, and so the pair, along
            subprocess.run(["ip", "netns", "delete", namespace], capture_output=True)
        subprocess.run(["ip", "link", "delete", self.links[0]], capture_output=True)
        if self.made_run_sshd and not _sshd_running():  # another test's sshd may still need it
            try:
                Path("/run/sshd").rmdir()
            except OSError:
                pass


def _sshd_running():
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "sshd":
                return True
        except OSError:
            continue
    return False
