"""One web login throttle for all the web processes: the master counts, they ask it.

Failed web logins are counted per username and per client address
(:class:`~vmail.auth.throttle.Throttle`). Connections are spread over several web
processes, so counting in each would let a client make twice the failures before the
lockout when two processes serve. The master keeps the one :class:`Throttle`
(:class:`ThrottleHost`); each web process gets a socket pair (``SOCK_SEQPACKET``: one
datagram per question and per answer) made for its slot before the first fork and kept
across restarts. :class:`RemoteThrottle` sends ``[id, operation, client, username]`` as
JSON and reads answers until the one with its id (an answer meant for a process that
died with a question pending is skipped). If the master does not answer within
:data:`ANSWER_TIMEOUT`, the process counts on its own (logged once): a login is never
refused or left waiting because the counter cannot be reached.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import threading

from vmail.auth.throttle import Throttle

log = logging.getLogger("vmail.web")

ANSWER_TIMEOUT = 2.0  # seconds a web process waits for the master's count
DATAGRAM = 4096  # the longest question (a username is at most 255 characters here)
MAX_NAME = 320  # characters of a username or client address passed on


class ThrottleHost:
    """The master's side: answers the web processes from ``throttle`` (event loop thread)."""

    def __init__(self, throttle: Throttle) -> None:
        self.throttle = throttle
        self._sockets: list[socket.socket] = []

    def open_slot(self) -> socket.socket:
        """A new pair: this side is served from the running loop; the other is returned,
        for a web process to inherit."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        ours.setblocking(False)
        asyncio.get_running_loop().add_reader(ours.fileno(), self._answer, ours)
        self._sockets.append(ours)
        return theirs

    def _answer(self, sock: socket.socket) -> None:
        try:
            question = sock.recv(DATAGRAM)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            question = b""
        if not question:  # cannot happen while we hold the other end's copy
            return
        try:
            number, operation, client, username = json.loads(question)
            value = self._apply(str(operation), str(client), str(username))
            answer = json.dumps([number, value]).encode()
        except (ValueError, TypeError):
            return  # not a question: no answer
        with contextlib.suppress(OSError):
            sock.send(answer)

    def _apply(self, operation: str, client: str, username: str) -> float:
        if operation == "locked":
            return self.throttle.locked_for(client, username)
        if operation == "failed":
            return self.throttle.failed(client, username)
        if operation == "succeeded":
            self.throttle.succeeded(username)
            return 0.0
        raise ValueError(operation)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        for sock in self._sockets:
            loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets = []


class RemoteThrottle(Throttle):
    """A web process's throttle: the master's counts, or (master silent) its own."""

    def __init__(self, sock: socket.socket, local: Throttle) -> None:
        super().__init__()
        self.users, self.ips, self.exempt_ips = local.users, local.ips, local.exempt_ips
        self._sock = sock
        self._sock.settimeout(ANSWER_TIMEOUT)
        self._lock = threading.Lock()
        self._number = 0
        self._warned = False

    def _ask(self, operation: str, client: str, username: str) -> float | None:
        with self._lock:
            self._number += 1
            question = [self._number, operation, client[:MAX_NAME], username[:MAX_NAME]]
            try:
                self._sock.send(json.dumps(question).encode())
                while True:
                    number, value = json.loads(self._sock.recv(DATAGRAM))
                    if number == self._number:
                        return float(value)
            except (OSError, ValueError, TypeError) as e:
                if not self._warned:
                    log.warning("login throttle: the master does not answer (%s); counting here", e)
                    self._warned = True
                return None

    def locked_for(self, client_ip: str, username: str) -> float:
        value = self._ask("locked", client_ip, username)
        return super().locked_for(client_ip, username) if value is None else value

    def failed(self, client_ip: str, username: str) -> float:
        value = self._ask("failed", client_ip, username)
        return super().failed(client_ip, username) if value is None else value

    def succeeded(self, username: str) -> None:
        if self._ask("succeeded", "", username) is None:
            super().succeeded(username)


__all__ = ["ANSWER_TIMEOUT", "RemoteThrottle", "ThrottleHost"]
