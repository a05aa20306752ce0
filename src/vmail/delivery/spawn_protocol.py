"""The wire format between vmail and its privileged spawner, and request validation.

Every message is one ``SOCK_SEQPACKET`` datagram: a 4-byte big-endian length, then that
many bytes of UTF-8 JSON (an object), optionally with file descriptors (``SCM_RIGHTS``).
Both sides use the same framing; :func:`parse_request` is the helper's strict check of a
spawn request (see :mod:`vmail.delivery.spawn` for the whole design).
"""

from __future__ import annotations

import contextlib
import json
import math
import socket
import struct
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE = 1 << 20
"""Largest message accepted (argv and environment of one command)."""

REQUEST_FDS = 3
"""A spawn request carries exactly: reply channel, command's stdin, command's stdout."""

MAX_READ = 64 * 1024
"""Largest file a read request returns (TLS certificates and keys; base64 in one reply)."""

_LENGTH = struct.Struct(">I")
_REQUEST_KEYS = frozenset({"argv", "uid", "gid", "env", "cwd", "time_limit"})


class ProtocolError(ValueError):
    """A message that does not follow the protocol."""


@dataclass(frozen=True)
class SpawnRequest:
    """Start ``argv`` as ``uid``/``gid`` with exactly ``env``, in ``cwd``, killed after
    ``time_limit`` seconds."""

    argv: tuple[str, ...]
    uid: int
    gid: int
    env: dict[str, str]
    cwd: str | None
    time_limit: float

    def to_json(self) -> dict[str, Any]:
        return {
            "argv": list(self.argv),
            "uid": self.uid,
            "gid": self.gid,
            "env": dict(self.env),
            "cwd": self.cwd,
            "time_limit": self.time_limit,
        }


def encode(message: dict[str, Any]) -> bytes:
    """One framed message."""
    body = json.dumps(message, separators=(",", ":")).encode()
    if len(body) + _LENGTH.size > MAX_MESSAGE:
        raise ProtocolError(f"message too large ({len(body)} bytes)")
    return _LENGTH.pack(len(body)) + body


def decode(data: bytes) -> dict[str, Any]:
    """The JSON object of one framed message; ProtocolError when malformed."""
    if len(data) < _LENGTH.size:
        raise ProtocolError("short message")
    (length,) = _LENGTH.unpack_from(data)
    if length != len(data) - _LENGTH.size:
        raise ProtocolError("message length does not match its prefix")
    try:
        value = json.loads(data[_LENGTH.size :].decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ProtocolError(f"bad JSON: {e}") from None
    if not isinstance(value, dict):
        raise ProtocolError("message is not a JSON object")
    return value


def send(sock: socket.socket, message: dict[str, Any], fds: tuple[int, ...] = ()) -> None:
    """Send one framed message (with ``fds`` attached)."""
    data = encode(message)
    if fds:
        socket.send_fds(sock, [data], list(fds))
    else:
        sock.send(data)


def receive(sock: socket.socket, max_fds: int = 0) -> tuple[bytes, list[int]]:
    """One raw message and the descriptors that came with it (``b""`` at end of file).

    Descriptors beyond ``max_fds`` are cut off by the kernel; that is reported as a
    ProtocolError after closing the ones received.
    """
    if max_fds:
        data, fds, flags, _addr = socket.recv_fds(sock, MAX_MESSAGE, max_fds)
    else:
        data, _anc, flags, _addr = sock.recvmsg(MAX_MESSAGE)
        fds = []
    if flags & (socket.MSG_CTRUNC | socket.MSG_TRUNC):
        close_all(fds)
        raise ProtocolError("message or descriptors truncated")
    return data, fds


def close_all(fds: list[int]) -> None:
    """Close every descriptor in ``fds`` (errors ignored)."""
    for fd in fds:
        with contextlib.suppress(OSError):
            socket.close(fd)


def _positive_id(value: object, what: str) -> int:
    if type(value) is not int or value <= 0 or value >= 1 << 32:
        raise ProtocolError(f"{what} must be a positive integer (never root): {value!r}")
    return value


def _string(value: object, what: str) -> str:
    if not isinstance(value, str) or "\0" in value:
        raise ProtocolError(f"{what} must be a string without NUL")
    return value


def parse_read(message: dict[str, Any]) -> str:
    """The path of a read request (``{"read": PATH}``); ProtocolError when malformed."""
    if set(message) != {"read"}:
        raise ProtocolError("a read request has exactly one field, read")
    return _string(message["read"], "read")


def parse_request(message: dict[str, Any]) -> SpawnRequest:
    """The validated spawn request in ``message``; ProtocolError says what is wrong."""
    keys = set(message)
    if keys != _REQUEST_KEYS:
        wrong = sorted(keys ^ _REQUEST_KEYS)
        raise ProtocolError(f"request fields wrong: {', '.join(wrong)}")
    argv = message["argv"]
    if not isinstance(argv, list) or not argv:
        raise ProtocolError("argv must be a non-empty list of strings")
    args = tuple(_string(arg, "argv element") for arg in argv)
    if not args[0]:
        raise ProtocolError("argv[0] is empty")
    env = message["env"]
    if not isinstance(env, dict):
        raise ProtocolError("env must be an object of strings")
    environment: dict[str, str] = {}
    for name, value in env.items():
        if not name or "=" in name:
            raise ProtocolError(f"bad environment variable name: {name!r}")
        environment[_string(name, "env name")] = _string(value, "env value")
    cwd = message["cwd"]
    if cwd is not None:
        cwd = _string(cwd, "cwd")
        if not cwd.startswith("/"):
            raise ProtocolError("cwd must be an absolute path")
    limit = message["time_limit"]
    if type(limit) not in (int, float) or not math.isfinite(limit) or limit <= 0:
        raise ProtocolError(f"time_limit must be a positive number: {limit!r}")
    return SpawnRequest(
        argv=args,
        uid=_positive_id(message["uid"], "uid"),
        gid=_positive_id(message["gid"], "gid"),
        env=environment,
        cwd=cwd,
        time_limit=float(limit),
    )


__all__ = [
    "MAX_MESSAGE",
    "REQUEST_FDS",
    "ProtocolError",
    "SpawnRequest",
    "close_all",
    "decode",
    "encode",
    "parse_request",
    "receive",
    "send",
]
