"""The grader's client of one zygote: start it, start a child, run cells, call `@answers`.

Every frame from the zygote is checked against the protocol's table, must answer the request
in flight (by its id) with the op the table names, and must come before the exchange's
deadline. A child that misses a deadline or breaks the protocol is ended (StudentFault); a
zygote that does not answer, or answers out of turn, is restarted (SandboxFault).
"""

import base64
import os
import select
import subprocess
import tempfile
import time

from autograder.engine.config import Config
from autograder.engine.faults import SandboxFault, StudentFault
from autograder.engine.protocol import FrameReader, ProtocolError, check, decode, encode, frame
from autograder.engine.protocol import reply_op as expected_reply
from autograder.engine.sandbox import Launch


class AnswerFailed(Exception):
    """The student's side raised inside an `@answers` function (or returned what is not data)."""

    def __init__(self, ename: str, evalue: str):
        super().__init__(f"{ename}: {evalue}")
        self.ename, self.evalue = ename, evalue


class ZygoteClient:
    def __init__(self, index: int, launch: Launch, config: Config, wait: bool = True):
        """Start the zygote; with wait=False its start overlaps the caller's own work."""
        self.index, self.launch, self.config = index, launch, config
        self.proc = None
        self.next_id = 0
        self.children = 0
        self.start(wait)

    # ---- the zygote -----------------------------------------------------------------------
    def start(self, wait: bool = True) -> None:
        self.close()
        self.reader, self.pending = FrameReader(), []
        self.log = tempfile.TemporaryFile()  # the zygote's own errors, for the grader's messages
        self.proc = subprocess.Popen(
            self.launch.argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log,
            env=self.launch.env or None,
        )
        self.ready = False
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        if not self.ready:
            header, _ = self._read(time.monotonic() + self.config.start_timeout_s)
            if header["op"] != "zygote-ready":
                raise SandboxFault(f"the zygote did not start: {header['op']}")
            self.ready = True

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def log_tail(self, size: int = 1500) -> str:
        self.log.seek(0, os.SEEK_END)
        self.log.seek(max(0, self.log.tell() - size))
        return self.log.read().decode(errors="replace").strip() or "(no message)"

    def _send(self, header: dict, payload: bytes = b"") -> None:
        try:
            self.proc.stdin.write(frame(header, payload))
            self.proc.stdin.flush()
        except OSError as err:
            raise SandboxFault(f"the zygote's pipe closed: {err}; {self.log_tail()}") from None

    def _read(self, deadline: float) -> tuple[dict, bytes]:
        """The next frame from the zygote, checked; TimeoutError at `deadline`."""
        fd = self.proc.stdout.fileno()
        while not self.pending:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    raise SandboxFault(f"the zygote exited: {self.log_tail()}")
                try:
                    self.pending.extend(self.reader.feed(chunk))
                except ProtocolError as err:
                    raise SandboxFault(f"the zygote sent a malformed frame: {err}") from None
        header, payload = self.pending.pop(0)
        op = header.get("op")
        try:
            check(header, "child" if op in ("done", "answer") else "zygote")
        except ProtocolError as err:
            raise SandboxFault(f"the zygote relayed a bad frame: {err}") from None
        return header, payload

    def request(self, header: dict, payload: bytes, timeout: float) -> tuple[dict, bytes]:
        """Send one request; return its reply. StudentFault when the child ends or is too slow."""
        self.wait_ready()
        self.next_id += 1
        rid = header["id"] = self.next_id
        self._send(header, payload)
        deadline = time.monotonic() + timeout
        try:
            while True:
                reply, data = self._read(deadline)
                if reply["op"] == "ended" and reply["id"] <= rid:
                    if reply["id"] == rid:
                        raise StudentFault(reply["reason"])
                    continue  # it ended between requests; the answer to this one follows
                if reply["id"] != rid or reply["op"] != expected_reply(header["op"]):
                    raise SandboxFault(f"the zygote answered {reply['op']} {reply['id']} to {rid}")
                return reply, data
        except TimeoutError:
            self.end_child()
            raise StudentFault(f"did not finish within {timeout:g} s (time limit)") from None

    def end_child(self) -> str:
        """Have the zygote end the current child; restart the zygote if it does not."""
        self.next_id += 1
        rid = self.next_id
        self._send({"op": "end", "id": rid})
        deadline = time.monotonic() + self.config.end_timeout_s
        try:
            while True:
                reply, _ = self._read(deadline)
                if reply["op"] == "ended" and reply["id"] == rid:
                    return reply["reason"]
        except (TimeoutError, SandboxFault):
            self.start()
            return "ended by restarting the sandbox"

    # ---- a child --------------------------------------------------------------------------
    def new_child(self, files: dict[str, bytes], timeout: float) -> "Child":
        uid = self.config.uid_base + self.index * self.config.uids_per_worker
        uid += self.children % self.config.uids_per_worker  # a uid of its own (as root)
        self.children += 1
        header = {
            "op": "job",
            "limits": self.config.child_limits(uid, self.launch.drop_uid),
            "files": {name: base64.b64encode(data).decode() for name, data in files.items()},
        }
        reply, _ = self.request(header, b"", timeout)
        return Child(self, reply["missing_limits"])


class Child:
    """One submission's child process, reached through its zygote."""

    def __init__(self, client: ZygoteClient, missing_limits: list):
        self.client = client
        self.missing_limits = [str(m) for m in missing_limits]
        self.alive = True

    def _request(self, header: dict, payload: bytes, timeout: float) -> tuple[dict, bytes]:
        if not self.alive:
            raise StudentFault("the process had already ended")
        try:
            return self.client.request(header, payload, timeout)
        except StudentFault:
            self.alive = False
            raise

    def exec(self, source: str, cell: str, timeout: float) -> dict:
        reply, _ = self._request({"op": "exec", "cell": cell, "source": source}, b"", timeout)
        return reply

    def answers(self, source: str, name: str, values: dict, timeout: float):
        """Run an `@answers` function next to the student's code; its data, or AnswerFailed."""
        payload = encode(values) if values else b""
        reply, data = self._request(
            {"op": "answers", "name": name, "source": source}, payload, timeout
        )
        if not reply["ok"]:
            raise AnswerFailed(reply["ename"], reply["evalue"])
        try:
            return decode(data)
        except Exception as err:  # the payload comes from the student's process
            raise AnswerFailed(
                "AnswerNotData", f"the answer could not be read ({type(err).__name__})"
            ) from None

    def end(self) -> None:
        """The submission is done: the zygote ends the child."""
        if self.alive:
            self.alive = False
            self.client.end_child()
