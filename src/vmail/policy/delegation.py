"""check_policy_service: Postfix's SMTP access policy delegation protocol (client side).

A query is ``name=value`` lines and an empty line, over ``inet:host:port`` or
``unix:/path`` (a relative path is under ``queue_directory``, as Postfix's
``unix:private/policy``); the answer is ``action=...`` and an empty line, an access(5)
action such as ``DUNNO``, ``REJECT text`` or ``DEFER_IF_PERMIT text`` (postgrey,
policyd-spf). A query is tried ``smtpd_policy_service_try_limit`` times,
``smtpd_policy_service_retry_delay`` apart, within ``smtpd_policy_service_timeout``; a
service that cannot be asked gives ``smtpd_policy_service_default_action``.

Connections are kept and reused, as Postfix's smtpd keeps its policy connection: one is
closed after ``smtpd_policy_service_max_idle`` unused, ``smtpd_policy_service_max_ttl``
after it was opened, or after ``smtpd_policy_service_request_limit`` queries (0: no
limit). A kept connection that the service closed meanwhile is replaced at once, without
counting as a failed try. Thread-safe and blocking: run it off the event loop.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vmail.config import MainConfig

log = logging.getLogger("vmail.policy")
RESPONSE_LIMIT = 100_000  # bytes of an answer before the service counts as broken


class PolicyError(Exception):
    """The service could not be asked or gave no usable answer."""


@dataclass
class _Connection:
    """An open connection to a policy service, and its history."""

    sock: socket.socket
    opened: float
    used: float
    queries: int = 0


class _Kept:
    """The idle connections per service, shared by the threads that ask."""

    def __init__(self) -> None:
        self._idle: dict[str, list[_Connection]] = {}
        self._lock = threading.Lock()

    def take(self, key: str, now: float, max_idle: float, max_ttl: float) -> _Connection | None:
        """An idle connection young enough to use (older ones are closed), or None."""
        with self._lock:
            idle = self._idle.get(key, [])
            while idle:
                conn = idle.pop()
                if now - conn.used < max_idle and now - conn.opened < max_ttl:
                    return conn
                conn.sock.close()
        return None

    def give(self, key: str, conn: _Connection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)


_KEPT = _Kept()


def query_policy(config: MainConfig, endpoint: str, attributes: Mapping[str, str]) -> str:
    """The action ``endpoint`` answers for ``attributes`` (default action on failure)."""
    timeout = float(config.get_time("smtpd_policy_service_timeout"))
    tries = max(1, config.get_int("smtpd_policy_service_try_limit"))
    delay = float(config.get_time("smtpd_policy_service_retry_delay"))
    request = "".join(f"{name}={_clean(value)}\n" for name, value in attributes.items()) + "\n"
    deadline = time.monotonic() + timeout
    for attempt in range(tries):
        try:
            return _ask(config, endpoint, request.encode("utf-8", "surrogateescape"), deadline)
        except (OSError, PolicyError) as e:
            log.warning("problem talking to server %s: %s", endpoint, e)
            if attempt + 1 < tries and time.monotonic() + delay < deadline:
                time.sleep(delay)
    return config.get("smtpd_policy_service_default_action")


def _ask(config: MainConfig, endpoint: str, request: bytes, deadline: float) -> str:
    """One try: on a kept connection when there is one (a failure there just means it
    went stale: a new one is opened), else on a new one."""
    now = time.monotonic()
    max_idle = float(config.get_time("smtpd_policy_service_max_idle"))
    max_ttl = float(config.get_time("smtpd_policy_service_max_ttl"))
    kept = _KEPT.take(endpoint, now, max_idle, max_ttl)
    if kept is not None:
        try:
            return _exchange(config, endpoint, kept, request, deadline)
        except (OSError, PolicyError):
            pass  # closed by the service since: ask on a new connection
    conn = _Connection(_connect(config, endpoint, deadline), now, now)
    return _exchange(config, endpoint, conn, request, deadline)


def _exchange(
    config: MainConfig, endpoint: str, conn: _Connection, request: bytes, deadline: float
) -> str:
    """Send the query and read the action; the connection is kept for the next query
    unless it reached ``smtpd_policy_service_request_limit`` or failed."""
    try:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PolicyError("timeout")
        conn.sock.settimeout(left)
        conn.sock.sendall(request)
        action = _read_action(conn.sock, deadline)
    except BaseException:
        conn.sock.close()
        raise
    conn.queries += 1
    conn.used = time.monotonic()
    limit = config.get_int("smtpd_policy_service_request_limit")
    if limit > 0 and conn.queries >= limit:
        conn.sock.close()
    else:
        _KEPT.give(endpoint, conn)
    return action


def _connect(config: MainConfig, endpoint: str, deadline: float) -> socket.socket:
    """A new connection to ``endpoint`` (``inet:host:port`` or ``unix:path``)."""
    kind, _, where = endpoint.partition(":")
    left = deadline - time.monotonic()
    if left <= 0:
        raise PolicyError("timeout")
    if kind == "inet":
        host, _, port = where.rpartition(":")
        if not port.isdigit():
            raise PolicyError(f"bad address: {endpoint}")
        sock = socket.create_connection((host.strip("[]"), int(port)), timeout=left)
    elif kind == "unix":
        path = Path(where)
        if not path.is_absolute():
            path = Path(config.get("queue_directory")) / path
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(left)
        try:
            sock.connect(str(path))
        except OSError:
            sock.close()
            raise
    else:
        raise PolicyError(f"unsupported transport in {endpoint} (use inet: or unix:)")
    return sock


def _read_action(sock: socket.socket, deadline: float) -> str:
    data = b""
    while b"\n\n" not in data:
        left = deadline - time.monotonic()
        if left <= 0:
            raise PolicyError("timeout")
        sock.settimeout(left)
        chunk = sock.recv(4096)
        if not chunk:
            raise PolicyError("connection closed before the end of the answer")
        data += chunk.replace(b"\r\n", b"\n")
        if len(data) > RESPONSE_LIMIT:
            raise PolicyError("answer too long")
    for line in data.split(b"\n\n", 1)[0].decode("utf-8", "replace").split("\n"):
        name, _, value = line.partition("=")
        if name.strip().lower() == "action":
            return value.strip()
    raise PolicyError("answer without action=")


def _clean(value: str) -> str:
    """A value on one line (the protocol has no quoting)."""
    return value.replace("\r", " ").replace("\n", " ")


__all__ = ["PolicyError", "query_policy"]
