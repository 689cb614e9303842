"""A one-node Slurm cluster on this machine: for `make grade-slurm LOCAL_SLURM=1` and the tests.

    python -m tools.local_slurm up|down|status [--dir DIR]

`up` installs Debian's slurmctld, slurmd, slurm-client and munge when they are missing and
we are root (tools.system_packages), writes DIR/slurm.conf for one node (this machine's
`hostname -s`, its CPU count and memory, free ports of its own), creates a munge key and
starts munged as the munge user, then slurmctld and slurmd, each in the background with its
own pid file, log, spool and state folder under DIR, and waits until `sinfo` shows the node
idle. No systemd and no cgroups: ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
SelectType=select/cons_tres. A cluster already running from DIR is reused. Its clients
(sbatch, squeue, ...) reach it with SLURM_CONF=DIR/slurm.conf, which `up` prints. `down`
cancels its jobs and stops the three daemons by the pids they recorded. DIR defaults to
/var/tmp/course-slurm (outside the checkout: spool folders do not belong on a shared
filesystem). slurmd runs as root (it starts each job as the user who submitted it), so `up`
needs root.
"""

import argparse
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from tools.system_packages import apt_install, can_apt

DEFAULT_DIR = Path("/var/tmp/course-slurm")
# command -> the Debian package that provides it
PACKAGES = {
    "slurmctld": "slurmctld",
    "slurmd": "slurmd",
    "sbatch": "slurm-client",
    "munged": "munge",
}
SBIN = "/usr/sbin:/sbin"
UP_TIMEOUT_S = 60


def which(command: str) -> str | None:
    return shutil.which(command) or shutil.which(command, path=SBIN)


def missing_packages() -> list[str]:
    return [package for command, package in PACKAGES.items() if which(command) is None]


def ensure_packages() -> str | None:
    """Install the missing Slurm packages when we may; None when all are there, else why not."""
    missing = missing_packages()
    if missing and can_apt():
        print(f"installing Debian's {' '.join(missing)} for a local Slurm cluster", flush=True)
        for package in missing:
            if package in missing_packages():  # not pulled in by one installed before it
                apt_install(package)
        missing = missing_packages()
    if not missing:
        return None
    return (
        f"Slurm is not installed (missing Debian packages: {' '.join(missing)}); as root, "
        f"`apt-get install --no-install-recommends {' '.join(PACKAGES.values())}`"
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 1024


def _alive(pid_file: Path, name: str) -> int | None:
    """The pid in `pid_file` if that process is running and is `name`, else None."""
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]
    except (OSError, ValueError, IndexError):
        return None
    return pid if os.path.basename(cmdline.decode(errors="replace")) == name else None


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class Cluster:
    """The daemons, files and client environment of one local cluster in `folder`."""

    def __init__(self, folder: Path = DEFAULT_DIR):
        self.dir = Path(folder).resolve()
        self.conf = self.dir / "slurm.conf"
        self.munge = self.dir / "munge"
        self.socket = self.munge / "munge.socket"
        self.daemons = {  # name -> (pid file, log file)
            "munged": (self.munge / "munged.pid", self.munge / "munged.log"),
            "slurmctld": (self.dir / "ctld" / "slurmctld.pid", self.dir / "ctld" / "slurmctld.log"),
            "slurmd": (self.dir / "node" / "slurmd.pid", self.dir / "node" / "slurmd.log"),
        }

    @property
    def env(self) -> dict:
        """os.environ with the clients pointed at this cluster."""
        return {**os.environ, "SLURM_CONF": str(self.conf)}

    def _run(self, *cmd: str, timeout: float = 15) -> subprocess.CompletedProcess:
        return subprocess.run(
            [which(cmd[0]) or cmd[0], *cmd[1:]],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )

    def node_state(self) -> str | None:
        """The node's state as sinfo shows it ("idle", "mixed", ...), None when unreachable."""
        if not self.conf.is_file():
            return None
        try:
            proc = self._run("sinfo", "-h", "-N", "-o", "%T", timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return proc.stdout.strip() if proc.returncode == 0 and proc.stdout.strip() else None

    def running(self) -> bool:
        return all(_alive(pid, name) for name, (pid, _) in self.daemons.items())

    def _write_conf(self) -> None:
        node = socket.gethostname().split(".")[0]
        user = pwd.getpwuid(os.getuid()).pw_name
        cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        memory = max(_memory_mib() * 9 // 10, 256)  # what slurmd finds must not be less
        ctld_pid, ctld_log = self.daemons["slurmctld"]
        d_pid, d_log = self.daemons["slurmd"]
        self.conf.write_text(
            f"""# Written by tools/local_slurm.py: a one-node cluster, no systemd, no cgroups.
ClusterName=course
SlurmctldHost={node}(127.0.0.1)
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser={user}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={self.socket}
StateSaveLocation={self.dir / "ctld" / "state"}
SlurmdSpoolDir={self.dir / "node" / "spool"}
SlurmctldPidFile={ctld_pid}
SlurmctldLogFile={ctld_log}
SlurmdPidFile={d_pid}
SlurmdLogFile={d_log}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
ReturnToService=2
SlurmdParameters=config_overrides
SchedulerType=sched/backfill
MinJobAge=600
KillWait=5
InactiveLimit=0
NodeName={node} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""
        )

    def _start_munged(self) -> None:
        munge = pwd.getpwnam("munge")
        if self.munge.exists():
            shutil.rmtree(self.munge)
        self.munge.mkdir(mode=0o755)
        os.chown(self.munge, munge.pw_uid, munge.pw_gid)
        key = self.munge / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chown(key, munge.pw_uid, munge.pw_gid)
        key.chmod(0o400)
        pid, log = self.daemons["munged"]
        subprocess.run(
            [which("runuser"), "-u", "munge", "--", which("munged"), f"--key-file={key}",
             f"--socket={self.socket}", f"--pid-file={pid}", f"--log-file={log}",
             f"--seed-file={self.munge / 'munged.seed'}"],
            check=True, stdin=subprocess.DEVNULL, timeout=30,
        )  # fmt: skip

    def up(self, timeout: float = UP_TIMEOUT_S) -> bool:
        """Start the cluster (or find it running); True if this call started it."""
        if self.running() and self.node_state() in {"idle", "mixed", "allocated"}:
            return False
        if os.geteuid() != 0:
            raise SystemExit(
                "error: starting a local Slurm cluster needs root (slurmd runs as root and "
                "starts each job as its user; munged runs as the munge user)"
            )
        why = ensure_packages()
        if why:
            raise SystemExit(f"error: {why}")
        self.down(quiet=True)  # whatever is left of an earlier one
        started = time.perf_counter()
        self.dir.mkdir(parents=True, exist_ok=True)
        self.dir.chmod(0o755)
        for sub in ("ctld/state", "node/spool"):
            (self.dir / sub).mkdir(parents=True, exist_ok=True)
        self._write_conf()
        self._start_munged()
        for name in ("slurmctld", "slurmd"):
            # -i: ignore state left by an earlier cluster in this folder. Both fork into the
            # background and write their pid files.
            flags = ["-i"] if name == "slurmctld" else []
            subprocess.run(
                [which(name), "-f", str(self.conf), *flags],
                check=True, env=self.env, stdin=subprocess.DEVNULL, timeout=30,
                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        state = None
        while time.monotonic() < deadline:
            state = self.node_state()
            if state == "idle":
                print(
                    f"local Slurm cluster up in {time.perf_counter() - started:.1f} s "
                    f"(SLURM_CONF={self.conf})",
                    flush=True,
                )
                return True
            time.sleep(0.3)
        logs = "\n".join(f"--- {log}\n{_tail(log)}" for _, log in self.daemons.values())
        self.down(quiet=True)
        raise SystemExit(f"error: the local Slurm node is not idle after {timeout:.0f} s "
                         f"(sinfo: {state})\n{logs}")  # fmt: skip

    def down(self, quiet: bool = False) -> None:
        """Cancel this cluster's jobs, then stop slurmd, slurmctld and munged."""
        say = (lambda *a: None) if quiet else print
        if self.node_state() is not None:
            self._run("scancel", f"--user={pwd.getpwuid(os.getuid()).pw_name}")
        stopped = []
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file, _ = self.daemons[name]
            pid = _alive(pid_file, name)
            if pid is None:
                continue
            os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 15
            while _alive(pid_file, name) == pid and time.monotonic() < deadline:
                time.sleep(0.1)
            if _alive(pid_file, name) == pid:
                os.kill(pid, signal.SIGKILL)
            stopped.append(name)
        if stopped:
            say(f"local Slurm cluster stopped ({', '.join(stopped)})")

    def status(self) -> str:
        alive = {name: _alive(pid, name) for name, (pid, _) in self.daemons.items()}
        parts = [
            f"{name} {'pid ' + str(pid) if pid else 'not running'}" for name, pid in alive.items()
        ]
        return f"{self.dir}: {', '.join(parts)}; node: {self.node_state() or 'unreachable'}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down", "status"])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help=f"default {DEFAULT_DIR}")
    args = parser.parse_args(argv)
    cluster = Cluster(args.dir)
    if args.action == "up":
        if not cluster.up():
            print(f"local Slurm cluster already running (SLURM_CONF={cluster.conf})")
    elif args.action == "down":
        cluster.down()
    else:
        print(cluster.status())
    return 0


if __name__ == "__main__":
    sys.exit(main())
