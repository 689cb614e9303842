"""The sandboxed side of grading: a zygote that forks one child per submission.

Started once per grading process (inside bubblewrap when available) with torch imported, so
a submission costs a fork, not a Python start. The zygote owns each child's whole life:

- it forks the child into a PID namespace of its own (and, when the zygote is not root, a
  user namespace of its own), so the child cannot see, signal or ptrace the zygote, and
  everything the child starts dies with it; as root the child also gets a uid of its own;
- the zygote itself is not dumpable, so its memory cannot be read through /proc;
- it relays to the grader only the one reply the protocol expects from the child, the
  answer to the request in flight; any other frame ends the child;
- it ends the child itself ("end": close its input, a short grace, SIGKILL) and wipes the
  scratch space and /tmp, and only it tells the grader that a child has ended.

This file is copied into the sandbox next to protocol.py and imports nothing else of the course.
"""

import base64
import ctypes
import gc
import os
import resource
import select
import shutil
import signal
import sys
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protocol import (  # noqa: E402
    FrameReader,
    ProtocolError,
    check,
    decode,
    encode,
    frame,
    read_frame,
    reply_op,
)

SCRATCH = os.environ.get("GRADER_SCRATCH", "/scratch")
TMP = os.environ.get("GRADER_TMP", "/tmp")  # private to the sandbox: wiped around every child
CLONE_NEWUSER, CLONE_NEWPID = 0x10000000, 0x20000000
PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS = 4, 36, 38
_libc = ctypes.CDLL(None, use_errno=True)


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
    # The first backward given its gradient (`y.backward(dout)`) imports torch.fx's symbolic
    # shapes and sympy (0.6 s, 500 modules), which every child doing so would pay again.
    x = torch.ones(2, requires_grad=True)
    (x * 2).backward(torch.ones(2))
    return TransformerManager()


# ---- the child ------------------------------------------------------------------------------


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
        ("RLIMIT_NOFILE", (limits["open_files"],) * 2),
        ("RLIMIT_CORE", (0, 0)),
        ("RLIMIT_NPROC", (limits["processes"],) * 2),
    ):
        try:
            resource.setrlimit(getattr(resource, name), value)
        except (ValueError, OSError):
            missing.append(name)
    return missing


def _isolate() -> list[str]:
    """Run in the first child: a PID (and user) namespace for the child proper, forked next.

    Returns what could not be isolated. The process forked after this is PID 1 of the new
    namespace: it cannot name any process outside it, and when it exits every process it
    started is killed by the kernel.
    """
    uid, gid = os.geteuid(), os.getegid()
    _libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # else /proc/self/uid_map is not ours to write
    flags = CLONE_NEWPID | (0 if uid == 0 else CLONE_NEWUSER)
    if _libc.unshare(flags) != 0:
        return [f"own PID namespace ({os.strerror(ctypes.get_errno())})"]
    if uid != 0:
        for name, text in (("setgroups", "deny"), ("uid_map", f"{uid} {uid} 1"), ("gid_map", f"{gid} {gid} 1")):  # fmt: skip
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
    return []


def _drop_privileges(limits: dict) -> list[str]:
    """In the child proper: as root, become the child's own uid; in any case keep no capabilities."""
    missing = []
    if os.getuid() == 0:
        if limits["drop_uid"]:
            os.setgroups([])
            os.setgid(limits["uid"])
            os.setuid(limits["uid"])
        else:
            missing.append("own uid (Python is not readable by other users)")
    _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3, this process
    data = (ctypes.c_uint32 * 6)()  # no effective, permitted or inheritable capabilities
    _libc.capset(header, data)  # fails only where there was nothing to drop
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
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


def child_main(rfd: int, wfd: int, job: dict, transformer, missing: list[str]) -> None:
    """The child proper: runs the student's cells and the tests' @answers functions."""
    run, compile_ = exec, compile  # taken before any student code can replace them
    close_other_fds({rfd, wfd})
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.chdir(job["scratch"])
    os.environ["TMPDIR"] = TMP
    # What cells print goes to a file in memory outside /tmp, so a full /tmp cannot silence it.
    capture = os.memfd_create("cell-output")
    os.set_blocking(capture, True)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # an oversized write fails instead of killing
    limits = job["limits"]
    missing = missing + _drop_privileges(limits) + apply_limits(limits)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(capture, 1)
    os.dup2(capture, 2)
    sys.path.insert(0, job["scratch"])
    _seed_everything()
    namespace = {"__name__": "__main__", "get_ipython": _Shell}
    keep = limits["output_keep"]
    write_all(wfd, frame({"op": "ready", "missing_limits": missing}))
    reader, pending, me = FrameReader(), [], os.getpid()
    while True:
        try:
            header, payload = read_frame(rfd, reader, pending)
        except (EOFError, ProtocolError, OSError):
            os._exit(0)
        op = header["op"]  # the zygote relays only checked "exec" and "answers" frames
        reply = {"op": reply_op(op), "id": header["id"], "ok": True, "ename": "", "evalue": ""}
        data = b""
        try:
            if op == "exec":
                source = transformer.transform_cell(header["source"])
                run(compile_(source, f"<cell {header['cell']}>", "exec"), namespace)
            else:
                scope = dict(namespace)
                scope.update(decode(payload) if payload else {})
                run(compile_(header["source"], "<test>", "exec"), scope)
                data = encode(scope[header["name"]]())
        except BaseException as err:  # the student's code may raise anything, SystemExit included
            reply.update(ok=False, ename=_safe_str(type(err).__name__), evalue=_safe_str(err))
            if op == "answers" and isinstance(err, TypeError) and "is not data" in str(err):
                reply["ename"] = "AnswerNotData"
            data = b""
        if os.getpid() != me:  # a copy made by os.fork() in the student's code: it must not reply
            os._exit(0)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:
            pass
        # What the cell printed: the start of the capture file, which is then emptied and
        # rewound, so that the next cell's output starts at its start again.
        reply["output"] = os.pread(capture, keep, 0).decode(errors="replace")[:keep]
        os.ftruncate(capture, 0)
        os.lseek(capture, 0, os.SEEK_SET)
        try:
            raw = frame(reply, data)
        except ProtocolError as err:  # an answer over the size limit
            reply.update(ok=False, ename="AnswerTooLarge", evalue=_safe_str(err))
            raw = frame(reply)
        write_all(wfd, raw)


# ---- the zygote -----------------------------------------------------------------------------


def wipe_contents(folder: str) -> None:
    """Empty `folder`, but never descend into a mount point: the sandbox's read-only binds (a
    .venv under /tmp, say) stay, with the folders that lead to them."""
    with os.scandir(folder) as entries:
        for entry in list(entries):
            path = entry.path
            try:
                if entry.is_dir(follow_symlinks=False):
                    if os.path.ismount(path):
                        continue
                    wipe_contents(path)
                    os.rmdir(path)  # fails, and stays, while a mount point is below it
                else:
                    os.unlink(path)
            except OSError:
                pass


def reap_all() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _why(status: int) -> tuple[int | None, str]:
    """(exit code, reason) of a child's wait status."""
    if os.WIFSIGNALED(status):
        sig = signal.Signals(os.WTERMSIG(status)).name
        extra = {
            "SIGXCPU": " (CPU time limit)",
            "SIGKILL": " (out of memory, or a limit)",
            "SIGSEGV": " (segmentation fault)",
        }.get(sig, "")
        return None, f"killed by {sig}{extra}"
    code = os.WEXITSTATUS(status)
    return code, f"the process exited (code {code})"


class Child:
    """One submission's process, as the zygote sees it."""

    def __init__(self, job: dict, transformer):
        self.last_id = job["id"]
        self.pending: tuple[int, str] | None = (job["id"], "ready")  # (request id, reply op)
        self.reader = FrameReader()
        self.outbox = bytearray()  # frames for the child, written as it reads them
        self.reason = ""
        self.status: int | None = None
        self.eof = False
        self._start(job, transformer)

    def _start(self, job: dict, transformer) -> None:
        scratch = os.path.join(SCRATCH, "job")
        shutil.rmtree(scratch, ignore_errors=True)
        wipe_contents(TMP)
        os.makedirs(scratch, mode=0o700)
        limits = job["limits"]
        for name, text in job["files"].items():
            with open(os.path.join(scratch, os.path.basename(str(name))), "wb") as f:
                f.write(base64.b64decode(text))
        if os.getuid() == 0 and limits["drop_uid"]:
            for root, dirs, files in os.walk(scratch):
                for name in [root, *(os.path.join(root, n) for n in dirs + files)]:
                    os.chown(name, limits["uid"], limits["uid"])
            os.chmod(TMP, 0o1777)
            os.chmod(SCRATCH, 0o755)
        job = {**job, "scratch": scratch}
        to_child_r, self.to_child = os.pipe()
        self.from_child, from_child_w = os.pipe()
        pid_r, pid_w = os.pipe()
        first = os.fork()
        if first == 0:  # the first child: namespaces, then the child proper, then exit
            try:
                os.setsid()
                missing = _isolate()
                proper = os.fork()
                if proper == 0:
                    os.close(pid_r)
                    os.close(pid_w)
                    child_main(to_child_r, from_child_w, job, transformer, missing)
                os.write(pid_w, str(proper).encode())
            except BaseException:
                traceback.print_exc()  # to the zygote's stderr: the grader's log, not the student
            finally:
                os._exit(0)
        for fd in (to_child_r, from_child_w, pid_w):
            os.close(fd)
        os.waitpid(first, 0)
        text = os.read(pid_r, 32)
        os.close(pid_r)
        if not text:
            os.close(self.to_child)
            os.close(self.from_child)
            raise RuntimeError("the child could not be started (see the worker's log)")
        self.pid = int(text)  # reparented to the zygote (a subreaper) when the first child exited
        os.set_blocking(self.from_child, False)
        os.set_blocking(self.to_child, False)

    def send(self, raw: bytes) -> None:
        self.outbox += raw
        self.flush()

    def flush(self) -> None:
        try:
            while self.outbox:
                del self.outbox[: os.write(self.to_child, self.outbox)]
        except BlockingIOError:
            pass
        except OSError:
            self.outbox.clear()  # the child is gone: its exit is noticed by the loop

    def poll(self) -> bool:
        """Has the child proper exited?"""
        if self.status is None:
            try:
                pid, status = os.waitpid(self.pid, os.WNOHANG)
            except ChildProcessError:
                pid, status = self.pid, 0
            if pid:
                self.status = status
        return self.status is not None

    def kill(self, reason: str) -> None:
        self.reason = self.reason or reason
        try:
            os.kill(self.pid, signal.SIGKILL)  # PID 1 of its namespace: everything in it dies
        except OSError:
            pass

    def end(self, grace: float) -> None:
        """Close its input, let it exit within `grace`, then kill it; reap; wipe its space."""
        os.close(self.to_child)
        deadline = time.monotonic() + grace
        while not self.poll() and time.monotonic() < deadline:
            time.sleep(0.005)
        if not self.poll():
            self.kill("")
            try:
                _, self.status = os.waitpid(self.pid, 0)
            except ChildProcessError:
                self.status = 0
        os.close(self.from_child)
        reap_all()
        shutil.rmtree(os.path.join(SCRATCH, "job"), ignore_errors=True)
        wipe_contents(TMP)


class Zygote:
    def __init__(self, transformer, out_fd: int):
        self.transformer = transformer
        self.out = out_fd
        self.child: Child | None = None

    def tell(self, header: dict, payload: bytes = b"", sender: str = "zygote") -> None:
        write_all(self.out, frame(check(header, sender), payload))

    def ended(self, request_id: int, grace: float = 0.0) -> None:
        """End the child (if any) and tell the grader why it ended."""
        child, self.child = self.child, None
        code, reason = None, "no child running"
        if child is not None:
            child.end(grace)
            code, why = _why(child.status or 0)
            reason = child.reason or why
        self.tell({"op": "ended", "id": request_id, "exit_code": code, "reason": reason})

    def from_grader(self, header: dict, payload: bytes) -> None:
        header = check(header, "grader")
        op, rid = header["op"], header["id"]
        child = self.child
        if op == "job":
            if child is not None:
                self.ended(child.last_id)
            try:
                self.child = Child(header, self.transformer)
            except Exception:
                reason = "worker error: " + traceback.format_exc()[-500:]
                self.tell({"op": "ended", "id": rid, "exit_code": None, "reason": reason})
        elif op == "end":
            self.ended(rid, GRACE_S)
        elif child is None or child.pending is not None:
            self.ended(rid)  # no child (the grader has been told it ended), or a request in flight
        else:
            child.pending = (rid, reply_op(op))
            child.last_id = rid
            child.send(frame(header, payload))

    def from_child(self, header: dict, payload: bytes) -> None:
        child = self.child
        try:
            header = check(header, "child")
            rid, op = child.pending or (None, None)
            if header["op"] != op or header.get("id", rid) != rid:
                raise ProtocolError(f"a {header['op']} frame out of turn")
        except ProtocolError as err:
            child.kill(f"it sent the grader a frame it did not ask for ({err})")
            self.ended(child.last_id)
            return
        child.pending = None
        if header["op"] == "ready":
            self.tell({"op": "started", "id": rid, "missing_limits": header["missing_limits"]})
        else:
            self.tell(header, payload, sender="child")  # re-encoded from the checked header

    def child_output(self) -> None:
        child = self.child
        try:
            while chunk := os.read(child.from_child, 1 << 16):
                for header, payload in child.reader.feed(chunk):
                    self.from_child(header, payload)
                    if self.child is not child:
                        return
            child.eof = True  # it closed its end; its exit is noticed by the loop
        except BlockingIOError:
            return
        except ProtocolError as err:
            child.kill(f"it sent a malformed frame ({err})")
            self.ended(child.last_id)

    def run(self, in_fd: int) -> None:
        reader = FrameReader()
        while True:
            child = self.child
            reads = [in_fd] + ([child.from_child] if child and not child.eof else [])
            writes = [child.to_child] if child and child.outbox else []
            readable, writable, _ = select.select(reads, writes, [], 0.05)
            if writable:
                child.flush()
            if child is not None and child.from_child in readable:
                self.child_output()
            if in_fd in readable:
                chunk = os.read(in_fd, 1 << 20)
                if not chunk:  # the grader went away
                    if self.child is not None:
                        self.child.kill("")
                        self.child.end(0)
                    return
                for header, payload in reader.feed(chunk):  # a grader bug ends the zygote
                    self.from_grader(header, payload)
            child = self.child
            if child is not None and child.poll():
                self.child_output()  # replies written just before it exited
                if self.child is child:
                    self.ended(child.pending[0] if child.pending else child.last_id)


GRACE_S = 0.5  # an asked-for end: time to exit on its own once its input is closed


def write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def main() -> None:
    transformer = preload()
    # What torch and the rest left is shared with every child; frozen, a child's garbage
    # collections never write to those objects, so their pages are not copied into each child.
    gc.collect()
    gc.freeze()
    _libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    _libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # no ptrace, no /proc/<pid>/mem by the same uid
    shutil.rmtree(os.path.join(SCRATCH, "job"), ignore_errors=True)
    zygote = Zygote(transformer, sys.stdout.fileno())
    zygote.tell({"op": "zygote-ready", "pid": os.getpid()})
    zygote.run(sys.stdin.fileno())


if __name__ == "__main__":
    main()
