"""The sandboxed side of grading: a zygote that forks one child per submission.

Started once per grading worker (inside bubblewrap when available) with torch already
imported, so each submission costs a fork, not a Python start and a torch import. The
zygote relays frames between the grader (its stdin/stdout) and the current child (a pair
of private pipes); the child runs the student's cells and the `@answers` functions of the
tests. When a child ends (finished, crashed, killed on the grader's request) the zygote
kills whatever it left behind, wipes its scratch space and tells the grader.

This file is copied into the sandbox next to protocol.py and imports nothing else of the course.
"""

import base64
import os
import resource
import select
import shutil
import signal
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import decode, encode, read_frame, split_frames, write_frame  # noqa: E402

SCRATCH = os.environ.get("GRADER_SCRATCH", "/scratch")
TMP = os.environ.get("GRADER_TMP", "/tmp")  # private to the sandbox: wiped after every child
OUTPUT_KEEP = 4000  # characters of each cell's output sent back for feedback


def preload():
    """Everything a submission is likely to import, paid for once by the zygote."""
    os.environ.setdefault("MPLBACKEND", "Agg")
    import matplotlib  # noqa: F401
    import numpy  # noqa: F401
    import numpy.random  # noqa: F401
    import torch
    import torch.nn.functional  # noqa: F401
    from IPython.core.inputtransformer2 import TransformerManager

    torch.set_num_threads(1)
    return TransformerManager()


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def apply_limits(limits: dict) -> list[str]:
    """Resource limits for the child; returns the ones that could not be applied."""
    missing = []
    data_now = _status_kib("VmData") * 1024
    for name, value in (
        ("RLIMIT_CPU", (limits["cpu_s"], limits["cpu_s"] + 5)),
        ("RLIMIT_DATA", (data_now + limits["memory_bytes"],) * 2),
        ("RLIMIT_FSIZE", (limits["file_bytes"],) * 2),
        ("RLIMIT_NOFILE", (256, 256)),
        ("RLIMIT_CORE", (0, 0)),
    ):
        try:
            resource.setrlimit(getattr(resource, name), value)
        except (ValueError, OSError):
            missing.append(name)
    if os.getuid() == 0 and limits["drop_uid"]:
        # As root the process limit is not enforced; drop to an unprivileged user first.
        uid = limits["uid"]
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    try:
        resource.setrlimit(resource.RLIMIT_NPROC, (limits["processes"],) * 2)
    except (ValueError, OSError):
        missing.append("RLIMIT_NPROC")
    return missing


class _Shell:
    """`get_ipython()` for cells that use magics or `!commands`: they do nothing when graded."""

    def run_line_magic(self, *args, **kwargs):
        return None

    run_cell_magic = system = getoutput = run_line_magic


def close_other_fds(keep: set[int]) -> None:
    """The child keeps stdin/stdout/stderr and its own two pipes: no path back to the grader."""
    for entry in os.listdir("/proc/self/fd"):
        fd = int(entry)
        if fd > 2 and fd not in keep:
            try:
                os.close(fd)
            except OSError:
                pass


def child_main(rfd: int, wfd: int, job: dict, transformer) -> None:
    os.setsid()
    close_other_fds({rfd, wfd})
    inbox, outbox = os.fdopen(rfd, "rb"), os.fdopen(wfd, "wb")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.chdir(job["scratch"])
    os.environ["TMPDIR"] = TMP
    capture = os.open(os.path.join(TMP, ".cell-output"), os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing
    missing = apply_limits(job["limits"])
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    sys.path.insert(0, job["scratch"])
    _seed_everything()
    namespace = {"__name__": "__main__", "get_ipython": _Shell}
    write_frame(outbox, {"op": "ready", "missing_limits": missing})
    offset, me = 0, os.getpid()
    while True:
        try:
            header, payload = read_frame(inbox)
        except EOFError:
            os._exit(0)
        reply, data = {"ok": True}, b""
        try:
            if header["op"] == "exec":
                source = transformer.transform_cell(header["source"])
                exec(compile(source, f"<cell {header['cell']}>", "exec"), namespace)
            elif header["op"] == "answers":
                scope = dict(namespace)
                scope.update(decode(payload) if payload else {})
                exec(compile(header["source"], "<test>", "exec"), scope)
                data = encode(scope[header["name"]]())
            elif header["op"] == "bye":
                os._exit(0)
        except BaseException as err:  # the student's code may raise anything, SystemExit included
            reply = {"ok": False, "ename": type(err).__name__, "evalue": _safe_str(err)}
            if (
                header.get("op") == "answers"
                and isinstance(err, TypeError)
                and "is not data" in str(err)
            ):
                reply["ename"] = "AnswerNotData"
            data = b""
        if os.getpid() != me:  # a copy made by os.fork() in the student's code: it must not reply
            os._exit(0)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        size = os.lseek(capture, 0, os.SEEK_END)
        if size > offset:
            with open(capture, "rb", closefd=False) as f:
                f.seek(offset)
                reply["output"] = f.read(OUTPUT_KEEP).decode(errors="replace")
            offset = size
        write_frame(outbox, reply, data)


def _seed_everything() -> None:
    """Every child starts from the same random state, so regrading gives the same scores."""
    import random

    import numpy
    import torch

    random.seed(0)
    numpy.random.seed(0)
    torch.manual_seed(0)


def _safe_str(err) -> str:
    try:
        return str(err)[:2000]
    except BaseException:
        return "(the exception's message could not be printed)"


def kill_leftovers(child_pid: int) -> None:
    """Kill and reap everything the child left running, daemons included.

    The zygote is a child subreaper, so orphans become its children; in a PID namespace
    (bubblewrap) every other process but the namespace's init is the submission's.
    """
    try:
        os.killpg(child_pid, signal.SIGKILL)
    except OSError:
        pass
    for _ in range(50):
        others = []
        if os.getpid() <= 3:
            others = [
                int(e)
                for e in os.listdir("/proc")
                if e.isdigit() and int(e) not in (1, os.getpid())
            ]
        for pid in others:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        reaped = reap_all(block=bool(others))
        if not others and not reaped:
            return


def reap_all(block: bool = False) -> int:
    count = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, 0 if block else os.WNOHANG)
        except ChildProcessError:
            return count
        if pid == 0:
            return count
        count += 1


def become_subreaper() -> None:
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    except (OSError, AttributeError):
        pass


def wipe(path: str) -> None:
    shutil.rmtree(path, ignore_errors=True)


def run_job(job: dict, transformer, stdin_fd: int, out) -> None:
    scratch = os.path.join(SCRATCH, "job")
    wipe(scratch)
    os.makedirs(scratch, mode=0o700)
    for name, text in job.get("files", {}).items():
        with open(os.path.join(scratch, os.path.basename(name)), "wb") as f:
            f.write(base64.b64decode(text))
    if os.getuid() == 0 and job["limits"]["drop_uid"]:
        for root, dirs, files in os.walk(scratch):
            for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                os.chown(name, job["limits"]["uid"], job["limits"]["uid"])
        os.chmod(TMP, 0o1777)
        os.chmod(SCRATCH, 0o755)
    job = {**job, "scratch": scratch}
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            child_main(to_child_r, from_child_w, job, transformer)
        except BaseException:
            traceback.print_exc()  # to the worker's stderr: the grader's log, not the student
        finally:
            os._exit(70)
    os.close(to_child_r)
    os.close(from_child_w)
    inbuf, childbuf, reason, status = bytearray(), bytearray(), None, None

    def forward_replies(chunk: bytes) -> None:
        nonlocal reason
        childbuf.extend(chunk)
        try:
            frames = split_frames(childbuf)
        except Exception:
            reason = "sent a malformed reply"
            childbuf.clear()
            os.killpg(pid, signal.SIGKILL)
            return
        for frame in frames:
            out.write(frame)
            out.flush()

    # Relay until the child itself has exited; processes it forked may still hold the pipe.
    while status is None:
        ready, _, _ = select.select([stdin_fd, from_child_r], [], [], 0.2)
        if stdin_fd in ready:
            chunk = os.read(stdin_fd, 1 << 16)
            if not chunk:  # the grader went away
                os.killpg(pid, signal.SIGKILL)
                sys.exit(0)
            inbuf += chunk
            for frame in split_frames(inbuf):
                if b'"op": "kill"' in frame[:64]:
                    reason = "killed by the grader (time limit)"
                    os.killpg(pid, signal.SIGKILL)
                else:
                    try:
                        os.write(to_child_w, frame)
                    except BrokenPipeError:
                        pass
        if from_child_r in ready:
            chunk = os.read(from_child_r, 1 << 16)
            if chunk:
                forward_replies(chunk)
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
    kill_leftovers(pid)
    os.set_blocking(from_child_r, False)
    try:
        while chunk := os.read(from_child_r, 1 << 16):  # replies written just before exiting
            forward_replies(chunk)
    except BlockingIOError:
        pass
    os.close(to_child_w)
    os.close(from_child_r)
    wipe(scratch)
    for entry in os.listdir(TMP):
        path = os.path.join(TMP, entry)
        wipe(path) if os.path.isdir(path) and not os.path.islink(path) else _unlink(path)
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        reason = reason or f"killed by {sig}" + _why(sig)
    code = os.WEXITSTATUS(status) if os.WIFEXITED(status) else None
    write_frame(
        out, {"op": "ended", "exit_code": code, "reason": reason, "leftover_frame": bool(childbuf)}
    )


def _why(sig: str) -> str:
    return {
        "SIGXCPU": " (CPU time limit)",
        "SIGKILL": " (out of memory, or a limit)",
        "SIGSEGV": " (segmentation fault)",
    }.get(sig, "")


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def main() -> None:
    transformer = preload()
    become_subreaper()
    stdin_fd = sys.stdin.fileno()
    out = sys.stdout.buffer
    inbox = os.fdopen(os.dup(stdin_fd), "rb", buffering=0)
    write_frame(out, {"op": "zygote-ready", "pid": os.getpid()})
    while True:
        try:
            header, _ = read_frame(inbox)
        except EOFError:
            return
        if header.get("op") == "job":
            try:
                run_job(header, transformer, stdin_fd, out)
            except Exception:
                write_frame(
                    out,
                    {
                        "op": "ended",
                        "exit_code": None,
                        "reason": "worker error: " + traceback.format_exc()[-500:],
                    },
                )


if __name__ == "__main__":
    main()
