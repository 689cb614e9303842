"""The grader's handle on one sandboxed worker: start it, run a submission's cells, get answers."""

import base64
import json
import os
import select
import subprocess
import tempfile
import time

from autograder.engine.protocol import ProtocolError, decode, encode, split_frames, write_frame
from autograder.engine.sandbox import Launch, Limits

START_TIMEOUT_S = 120  # importing torch on a busy machine


class Crashed(Exception):
    """The child running the submission ended while a request was in flight."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


class WorkerDied(Exception):
    """The zygote itself is gone (or unresponsive); the worker must be restarted."""


class Worker:
    def __init__(self, index: int, launch: Launch, limits: Limits):
        self.index, self.launch, self.limits = index, launch, limits
        self.proc = None
        self.buffer = bytearray()
        self.start()

    def start(self) -> None:
        self.close()
        self.buffer = bytearray()
        self.log = tempfile.TemporaryFile()  # the worker's own errors, for the grader's messages
        self.proc = subprocess.Popen(
            self.launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=self.launch.env or None,
        )
        header, _ = self.read(START_TIMEOUT_S)
        if header.get("op") != "zygote-ready":
            raise WorkerDied(f"worker did not start: {header}")

    def log_tail(self, size: int = 1500) -> str:
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - size))
        return self.log.read().decode(errors="replace").strip() or "(no message)"

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def send(self, header: dict, payload: bytes = b"") -> None:
        try:
            write_frame(self.proc.stdin, header, payload)
        except (BrokenPipeError, OSError) as err:
            raise WorkerDied(f"worker pipe closed: {err}") from None

    def read(self, timeout: float) -> tuple[dict, bytes]:
        deadline = time.monotonic() + timeout
        fd = self.proc.stdout.fileno()
        while True:
            frames = split_frames(self.buffer)
            if frames:
                frame = frames[0]
                # put back any further frames (rare: only the zygote's trailing "ended")
                self.buffer[:0] = b"".join(frames[1:])
                n_header = int.from_bytes(frame[:4], "big")
                header = json.loads(frame[8 : 8 + n_header])
                return header, frame[8 + n_header :]
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    raise WorkerDied(f"worker exited: {self.log_tail()}")
                self.buffer += chunk

    def job(self, files: dict[str, bytes]) -> "Job":
        header = {
            "op": "job",
            "files": {name: base64.b64encode(data).decode() for name, data in files.items()},
            "limits": self.limits.for_worker(self.index),
        }
        self.send(header)
        job = Job(self)
        reply, _ = job.wait(START_TIMEOUT_S)
        job.missing_limits = reply.get("missing_limits", [])
        return job


class Job:
    """One submission's child process."""

    def __init__(self, worker: Worker):
        self.worker = worker
        self.ended = False
        self.missing_limits: list[str] = []

    def wait(self, timeout: float) -> tuple[dict, bytes]:
        try:
            header, payload = self.worker.read(timeout)
        except TimeoutError:
            self.kill()
            raise Crashed(f"did not finish within {timeout:g} s (time limit)") from None
        except (ProtocolError, ValueError) as err:
            self.kill()
            raise Crashed(f"sent a malformed reply ({err})") from None
        if header.get("op") == "ended":
            self.ended = True
            raise Crashed(
                header.get("reason") or f"the process exited (code {header.get('exit_code')})"
            )
        return header, payload

    def kill(self) -> None:
        """Ask the zygote to kill the child, and wait for it to say so."""
        self._end({"op": "kill"})

    def _end(self, request: dict) -> None:
        """Send `request` and wait for the zygote's "ended"; restart the worker if it won't say it."""
        if self.ended:
            return
        self.ended = True
        try:
            self.worker.send(request)
            while self.worker.read(30)[0].get("op") != "ended":
                pass
        except (TimeoutError, WorkerDied, ValueError, ProtocolError):
            self.worker.start()

    def exec(self, source: str, cell: str, timeout: float) -> dict:
        self.worker.send({"op": "exec", "source": source, "cell": cell})
        reply, _ = self.wait(timeout)
        return reply

    def answers(self, source: str, name: str, values: dict, timeout: float):
        """Run an `@answers` function next to the student's code; return (reply, data)."""
        self.worker.send(
            {"op": "answers", "source": source, "name": name}, encode(values) if values else b""
        )
        reply, payload = self.wait(timeout)
        if not reply.get("ok"):
            return reply, None
        return reply, decode(payload)

    def close(self) -> None:
        """The submission is done: let the child exit."""
        self._end({"op": "bye"})
