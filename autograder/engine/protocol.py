"""Frames and data between the grader and the sandboxed worker.

A frame is a JSON header and an optional binary payload, each length-prefixed. Payloads
carry data only (tensors, arrays, numbers, strings and containers of these), serialised with
torch.save and read back with `torch.load(weights_only=True)`, which refuses anything that
could run code: bytes from the student's side are never unpickled freely.

This file is copied into the sandbox, so it imports nothing from the course.
"""

import io
import json
import struct

MAX_HEADER = 1 << 20  # 1 MiB of JSON
MAX_PAYLOAD = 64 << 20  # 64 MiB of tensors per answer
_LEN = struct.Struct("!II")


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed frame."""


def write_frame(stream, header: dict, payload: bytes = b"") -> None:
    body = json.dumps(header).encode()
    stream.write(_LEN.pack(len(body), len(payload)) + body + payload)
    stream.flush()


def read_exact(stream, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("stream closed mid-frame")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(stream) -> tuple[dict, bytes]:
    head = stream.read(_LEN.size)
    if not head:
        raise EOFError("stream closed")
    if len(head) < _LEN.size:
        head += read_exact(stream, _LEN.size - len(head))
    n_header, n_payload = _LEN.unpack(head)
    if n_header > MAX_HEADER or n_payload > MAX_PAYLOAD:
        raise ProtocolError(f"frame too large ({n_header} + {n_payload} bytes)")
    try:
        header = json.loads(read_exact(stream, n_header))
    except ValueError as err:
        raise ProtocolError(f"bad frame header: {err}") from None
    if not isinstance(header, dict):
        raise ProtocolError("frame header is not an object")
    return header, read_exact(stream, n_payload)


def split_frames(buffer: bytearray) -> list[bytes]:
    """Remove and return the complete frames at the start of `buffer` (raw bytes)."""
    frames = []
    while len(buffer) >= _LEN.size:
        n_header, n_payload = _LEN.unpack(buffer[: _LEN.size])
        if n_header > MAX_HEADER or n_payload > MAX_PAYLOAD:
            raise ProtocolError(f"frame too large ({n_header} + {n_payload} bytes)")
        end = _LEN.size + n_header + n_payload
        if len(buffer) < end:
            break
        frames.append(bytes(buffer[:end]))
        del buffer[:end]
    return frames


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
