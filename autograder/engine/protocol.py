"""The frames exchanged by the grader, the zygote and the child, and the data they carry.

A frame is a JSON header and an optional binary payload, each length-prefixed. `OPS` is the
whole protocol: every op, who may send it, the fields its header carries (all required, no
others), and the op that answers it. Every side parses with one `FrameReader` and checks
every header with `check` before acting on it; a frame that breaks the table is the
sender's fault. Payloads carry data only (tensors, arrays, numbers, strings and containers of
these), written by torch.save and read back with `torch.load(weights_only=True)`, which
refuses anything that could run code.

This file is copied into the sandbox, so it imports nothing from the course.
"""

import io
import json
import struct

MAX_HEADER = 1 << 20  # 1 MiB of JSON
MAX_PAYLOAD = 64 << 20  # 64 MiB of tensors per answer
_LEN = struct.Struct("!II")

_REPLY_FIELDS = {"id": int, "ok": bool, "output": str, "ename": str, "evalue": str}

# op: (sender, header fields and their types, the op of the reply)
OPS = {
    "zygote-ready": ("zygote", {"pid": int}, None),  # once, when the zygote has imported torch
    "job": ("grader", {"id": int, "limits": dict, "files": dict}, "started"),  # fork a child
    "started": ("zygote", {"id": int, "missing_limits": list}, None),  # the child is ready
    "ready": ("child", {"missing_limits": list}, None),  # child -> zygote, once
    "exec": ("grader", {"id": int, "cell": str, "source": str}, "done"),  # run a student cell
    "done": ("child", _REPLY_FIELDS, None),
    "answers": ("grader", {"id": int, "name": str, "source": str}, "answer"),  # + payload
    "answer": ("child", _REPLY_FIELDS, None),  # + payload: the function's return value
    "end": ("grader", {"id": int}, "ended"),  # the zygote ends the child itself
    # The child is gone: the answer to "end", or unasked when it died (id: the request then
    # in flight, or the last one). Only the zygote sends it.
    "ended": ("zygote", {"id": int, "exit_code": (int, type(None)), "reason": str}, None),
}


class ProtocolError(Exception):
    """A frame that is not well formed, or breaks the table of ops."""


def check(header, sender: str) -> dict:
    """`header` as a valid frame of `sender`, or ProtocolError saying what is wrong."""
    if not isinstance(header, dict):
        raise ProtocolError("a frame header that is not an object")
    op = header.get("op")
    if op not in OPS or OPS[op][0] != sender:  # messages name only the table's own words
        raise ProtocolError(f"an op that the {sender} may not send")
    fields = OPS[op][1]
    if set(header) != {"op", *fields}:
        raise ProtocolError(f"a {op} frame with missing or extra fields")
    for name, kind in fields.items():
        value = header[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ProtocolError(f"{op} frame whose {name} is a {type(value).__name__}")
    return header


def reply_op(request_op: str) -> str:
    return OPS[request_op][2]


def frame(header: dict, payload: bytes = b"") -> bytes:
    body = json.dumps(header).encode()
    if len(body) > MAX_HEADER or len(payload) > MAX_PAYLOAD:
        raise ProtocolError(f"frame too large ({len(body)} + {len(payload)} bytes)")
    return _LEN.pack(len(body), len(payload)) + body + payload


def write_frame(stream, header: dict, payload: bytes = b"") -> None:
    stream.write(frame(header, payload))
    stream.flush()


class FrameReader:
    """Turns a byte stream into (header, payload) frames; the only parser of frames."""

    def __init__(self):
        self.buffer = bytearray()

    def feed(self, chunk: bytes) -> list[tuple[dict, bytes]]:
        self.buffer += chunk
        frames = []
        while len(self.buffer) >= _LEN.size:
            n_header, n_payload = _LEN.unpack_from(self.buffer)
            if n_header > MAX_HEADER or n_payload > MAX_PAYLOAD:
                raise ProtocolError(f"frame too large ({n_header} + {n_payload} bytes)")
            end = _LEN.size + n_header + n_payload
            if len(self.buffer) < end:
                break
            try:
                header = json.loads(bytes(self.buffer[_LEN.size : _LEN.size + n_header]))
            except ValueError as err:
                raise ProtocolError(f"bad frame header: {err}") from None
            if not isinstance(header, dict):
                raise ProtocolError("a frame header that is not an object")
            frames.append((header, bytes(self.buffer[_LEN.size + n_header : end])))
            del self.buffer[:end]
        return frames

    @property
    def partial(self) -> bool:
        return bool(self.buffer)


def read_frame(fd: int, reader: FrameReader, pending: list) -> tuple[dict, bytes]:
    """Block until the next frame on `fd` (frames read ahead wait in `pending`)."""
    import os

    while not pending:
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            raise EOFError("stream closed")
        pending.extend(reader.feed(chunk))
    return pending.pop(0)


# ---- data codec -----------------------------------------------------------------------------

DATA_TYPES = "None, bool, int, float, str, tensors, NumPy arrays, torch.Size/dtype/device, and tuples, lists and dicts (string keys) of these"


def _wrap(value, torch, np, depth=0):
    if depth > 20:
        raise TypeError("answer is nested too deeply")
    if value is None or type(value) in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        plain = value.detach().as_subclass(torch.Tensor)
        return {"__tensor__": plain.cpu().clone(), "__device__": str(plain.device)}
    if np is not None and isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufc":
            raise TypeError(f"NumPy arrays of dtype {value.dtype} are not data")
        return {"__ndarray__": torch.from_numpy(value.copy())}
    if np is not None and isinstance(value, np.generic):
        return value.item()
    if type(value) in (torch.Size, torch.dtype, torch.device):
        return value
    if type(value) in (tuple, list):
        return type(value)(_wrap(v, torch, np, depth + 1) for v in value)
    if type(value) is dict:
        if not all(type(k) is str for k in value):
            raise TypeError("dict keys must be strings")
        return {k: _wrap(v, torch, np, depth + 1) for k, v in value.items()}
    raise TypeError(f"{type(value).__name__} is not data; return only {DATA_TYPES}")


def encode(value) -> bytes:
    import torch

    try:
        import numpy as np
    except ImportError:  # pragma: no cover - numpy ships with the course
        np = None
    buf = io.BytesIO()
    torch.save(_wrap(value, torch, np), buf)
    return buf.getvalue()


def _unwrap(value, torch, np, device_ok):
    if type(value) is dict:
        if set(value) == {"__tensor__", "__device__"} and isinstance(
            value["__tensor__"], torch.Tensor
        ):
            device = value["__device__"] if device_ok(value["__device__"]) else "cpu"
            return value["__tensor__"].to(device)
        if set(value) == {"__ndarray__"} and isinstance(value["__ndarray__"], torch.Tensor):
            return value["__ndarray__"].numpy()
        return {k: _unwrap(v, torch, np, device_ok) for k, v in value.items()}
    if type(value) in (tuple, list):
        return type(value)(_unwrap(v, torch, np, device_ok) for v in value)
    return value


def decode(payload: bytes):
    """Read data written by `encode`; refuses anything but plain data (torch's safe loader)."""
    import numpy as np
    import torch

    value = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")

    def device_ok(name: str) -> bool:
        return name == "cpu" or (name.startswith("cuda") and torch.cuda.is_available())

    return _unwrap(value, torch, np, device_ok)
