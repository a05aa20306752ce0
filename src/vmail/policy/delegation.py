"""check_policy_service: Postfix's SMTP access policy delegation protocol (client side).

A query is ``name=value`` lines and an empty line, over ``inet:host:port`` or
``unix:/path`` (a relative path is under ``queue_directory``, as Postfix's
``unix:private/policy``); the answer is ``action=...`` and an empty line, an access(5)
action such as ``DUNNO``, ``REJECT text`` or ``DEFER_IF_PERMIT text`` (postgrey,
policyd-spf). Each query opens its own connection and is tried
``smtpd_policy_service_try_limit`` times, ``smtpd_policy_service_retry_delay`` apart,
within ``smtpd_policy_service_timeout``; a service that cannot be asked gives
``smtpd_policy_service_default_action``. Blocking: run it off the event loop.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Mapping
from pathlib import Path

from vmail.config import MainConfig

log = logging.getLogger("vmail.policy")
RESPONSE_LIMIT = 100_000  # bytes of an answer before the service counts as broken


class PolicyError(Exception):
    """The service could not be asked or gave no usable answer."""


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
    with sock:
        sock.sendall(request)
        return _read_action(sock, deadline)


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
