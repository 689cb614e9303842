"""How the worker is started: inside bubblewrap when it is available, else with a warning.

bubblewrap gives each grading worker a filesystem of its own, built from a whitelist: the
system's read-only /usr and /etc, the Python installation and .venv (read-only), the worker's
two files, and private /tmp and scratch space. The course's solutions, the gradebook, the
submissions and the grader's own code are simply not there. It also gets no network and its
own PID, IPC and hostname namespaces. Resource limits (CPU time, memory, file size, open
files, processes) are applied by the worker to each child, in every mode.
"""

import glob
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from autograder.engine.config import Config

WORKER_FILES = ("zygote.py", "protocol.py")
HERE = Path(__file__).resolve().parent


@dataclass
class Launch:
    argv: list[str]
    env: dict[str, str]
    isolated: bool
    unprotected: list[str] = field(default_factory=list)
    workdir: str = ""
    # Children may run as an unprivileged user only if it can read the Python installation:
    # always in bubblewrap (its folders are made traversable), not when Python lives under /root.
    drop_uid: bool = True

    def cleanup(self) -> None:
        """Remove the staged worker code and (unsandboxed) scratch folders."""
        for folder in (self.workdir, self.env.get("GRADER_SCRATCH"), self.env.get("GRADER_TMP")):
            if folder:
                shutil.rmtree(folder, ignore_errors=True)


def readable_by_anyone(path: str) -> bool:
    """Every folder on the way to `path` can be entered by any user."""
    current = Path(path).resolve()
    for folder in [current, *current.parents]:
        if not folder.stat().st_mode & 0o001:
            return False
    return True


def stage_worker_code() -> str:
    """Copy the worker's two files to a private folder: all of the grader's code it can see."""
    folder = tempfile.mkdtemp(prefix="grader-worker-")
    for name in WORKER_FILES:
        shutil.copy(HERE / name, Path(folder) / name)
    os.chmod(folder, 0o755)
    return folder


def _system_binds() -> list[str]:
    args = []
    for top in ("/usr", "/etc"):
        args += ["--ro-bind", top, top]
    for link in ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32"):
        if os.path.islink(link):
            args += ["--symlink", os.readlink(link), link]
        elif os.path.isdir(link):
            args += ["--ro-bind", link, link]
    return args


def _parents(path: str) -> list[str]:
    """`--dir` for each parent of a bind target, traversable by the unprivileged children."""
    args, parts = [], Path(path).parts[1:-1]
    for i in range(len(parts)):
        args += ["--perms", "0755", "--dir", "/" + "/".join(parts[: i + 1])]
    return args


def _python_binds() -> list[str]:
    roots = {os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    roots.add(os.path.dirname(os.path.dirname(os.path.realpath(sys.executable))))
    args = []
    for root in sorted(roots):
        if not root.startswith(("/usr/", "/etc/")) and root != "/usr":
            args += [*_parents(root), "--ro-bind", root, root]
    # The venv's own path (it may be a symlink farm pointing into the base installation).
    if os.path.realpath(sys.prefix) != sys.prefix:
        args += [*_parents(sys.prefix), "--ro-bind", sys.prefix, sys.prefix]
    return args


def _gpu_binds() -> list[str]:
    args = []
    for dev in sorted(glob.glob("/dev/nvidia*")):
        args += ["--dev-bind", dev, dev]
    if os.path.isdir("/proc/driver/nvidia"):
        args += ["--ro-bind", "/proc/driver/nvidia", "/proc/driver/nvidia"]
    return args


def worker_env() -> dict[str, str]:
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": "/tmp",
        "LANG": "C.UTF-8",
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONWARNINGS": "ignore",
        "GRADER_SCRATCH": "/scratch",
        "GRADER_TMP": "/tmp",
        **(
            {"CUDA_VISIBLE_DEVICES": os.environ["CUDA_VISIBLE_DEVICES"]}
            if "CUDA_VISIBLE_DEVICES" in os.environ
            else {}
        ),
    }


@cache
def bwrap_problem(bwrap: str) -> str | None:
    """Why bubblewrap cannot sandbox here (e.g. a container without namespaces), or None."""
    argv = [
        bwrap,
        "--unshare-net",
        "--unshare-pid",
        *_system_binds(),
        "--proc",
        "/proc",
        "--dev",
        "/dev",
    ]
    if os.getuid() != 0:
        argv.append("--unshare-user")
    try:
        done = subprocess.run([*argv, "true"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as err:
        return f"bubblewrap does not run here ({err})"
    if done.returncode != 0:
        return f"bubblewrap cannot create its namespaces here ({done.stderr.strip()[:200]})"
    return None


def launch(config: Config | None = None) -> Launch:
    """The command that starts one zygote, and what it leaves unprotected."""
    config = config or Config()
    code = stage_worker_code()
    python = sys.executable
    bwrap = shutil.which("bwrap")
    force_unsandboxed = config.unsandboxed
    problem = bwrap_problem(bwrap) if bwrap and not force_unsandboxed else None
    if bwrap and not force_unsandboxed and problem is None:
        argv = [
            bwrap,
            "--die-with-parent",
            "--new-session",
            # No network, own PID/IPC/hostname namespaces. As root no user namespace, so that the
            # children can drop to an unprivileged uid (the process limit does not bind root).
            "--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
            *([] if os.getuid() == 0 else ["--unshare-user"]),
            *_system_binds(),
            "--proc", "/proc",
            "--dev", "/dev",
            *_gpu_binds(),
            # The private /tmp first: .venv may itself live under /tmp (a CI checkout). Both
            # writable places are in memory, with a size: the submission's disk quota.
            "--size", str(config.tmp_bytes), "--tmpfs", "/tmp",
            *_python_binds(),
            "--ro-bind", code, "/grader",
            "--perms", "0755", "--size", str(config.scratch_bytes), "--tmpfs", "/scratch",
            "--chdir", "/scratch",
            "--clearenv",
        ]  # fmt: skip
        for key, value in worker_env().items():
            argv += ["--setenv", key, value]
        argv += [python, "-I", "/grader/zygote.py"]
        return Launch(argv, {}, isolated=True, workdir=code)
    scratch = tempfile.mkdtemp(prefix="grader-scratch-")
    tmp = tempfile.mkdtemp(prefix="grader-tmp-")
    env = {**worker_env(), "GRADER_SCRATCH": scratch, "GRADER_TMP": tmp, "HOME": tmp}
    env["PATH"] = os.environ.get("PATH", "")
    unprotected = [
        "the filesystem (student code can read the solutions and other submissions, and write anywhere you can)",
        "the network",
        "other processes (no PID namespace for the zygote)",
        "the disk quota (/tmp and the working folder have no size limit)",
    ]
    drop_uid = all(readable_by_anyone(p) for p in (sys.prefix, sys.base_prefix))
    if os.getuid() == 0 and not drop_uid:
        unprotected.append(
            "the process limit (the children run as root: Python lives where other users cannot read it)"
        )
    if bwrap is None:
        unprotected.insert(0, "bubblewrap (`bwrap`) is not installed")
    elif problem:
        unprotected.insert(0, problem)
    elif force_unsandboxed:
        unprotected.insert(0, "the sandbox was turned off (--no-sandbox)")
    return Launch(
        [python, "-I", str(Path(code) / "zygote.py")],
        env,
        isolated=False,
        unprotected=unprotected,
        workdir=code,
        drop_uid=drop_uid,
    )


def status(config: Config) -> str | None:
    """The warning to print when grading cannot be sandboxed here (None when it can)."""
    probe = launch(config)
    probe.cleanup()
    return None if probe.isolated else warning(probe)


def warning(launch_: Launch) -> str:
    return (
        "WARNING: grading WITHOUT a sandbox. Resource limits still apply, but these are not protected: "
        + "; ".join(launch_.unprotected)
        + ". Install bubblewrap (Debian/Ubuntu: apt-get install bubblewrap) to grade untrusted work."
    )
