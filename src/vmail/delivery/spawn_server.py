"""The privileged spawner's process: start commands as other users, nothing else.

:func:`serve` is the helper's whole life (see :mod:`vmail.delivery.spawn` for why it
exists). One selector loop watches the control socket, each running command's pidfd and
its reply channel, and the nearest time limit:

* a request (JSON + reply channel, stdin, stdout) is validated by
  :func:`~vmail.delivery.spawn_protocol.parse_request`; a bad one, or one over the
  concurrency limit, gets ``{"error": ...}`` on its channel (or is dropped when it has
  none) and the loop goes on;
* a good one is started with :class:`subprocess.Popen`: ``setgroups([])``, ``setgid``,
  ``setuid``, a new session, exactly the given environment and directory, the passed
  descriptors as stdin and stdout/stderr, every other descriptor closed; the reply is
  ``{"pid": N}``, or ``{"error", "errno", "strerror", "filename"}`` when it could not
  start;
* when the command exits the reply is ``{"status": returncode, "timed_out": bool}``
  (Popen's convention: negative = killed by that signal);
* the time limit, anything readable on a reply channel (the client's kill request) and
  the channel's end of file (the client is gone) SIGKILL the command's process group;
* end of file on the control socket (vmail exited or closed it) kills every command's
  process group, reaps them all, and ends the loop.
"""

from __future__ import annotations

import base64
import contextlib
import os
import selectors
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from vmail.delivery.spawn_protocol import (
    MAX_READ,
    REQUEST_FDS,
    ProtocolError,
    SpawnRequest,
    close_all,
    decode,
    parse_read,
    parse_request,
    receive,
    send,
)

MAX_CHILDREN = 100


@dataclass(eq=False)
class _Child:
    proc: subprocess.Popen[bytes]
    pidfd: int
    channel: socket.socket | None
    deadline: float
    timed_out: bool = False
    killed: bool = field(default=False)

    def kill(self) -> None:
        """SIGKILL the command's process group (once)."""
        if not self.killed:
            self.killed = True
            with contextlib.suppress(OSError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def _reply(channel: socket.socket | None, message: dict[str, Any]) -> None:
    if channel is None:
        return
    with contextlib.suppress(OSError, ProtocolError):
        send(channel, message)


def _drain(channel: socket.socket) -> None:
    """Read what the client sent (a kill request): a UNIX socket closed with unread
    data makes the client's next read fail with ECONNRESET instead of the reply."""
    with contextlib.suppress(OSError):
        while channel.recv(64):
            pass


class _Helper:
    def __init__(self, control: socket.socket, max_children: int, readable: frozenset[str]) -> None:
        self.control = control
        self.max_children = max_children
        self.readable = readable
        self.sel = selectors.DefaultSelector()
        self.children: list[_Child] = []
        self.running = True

    def run(self) -> None:
        self.sel.register(self.control, selectors.EVENT_READ, None)
        while self.running or self.children:
            timeout = self._timeout()
            for key, _events in self.sel.select(timeout):
                if key.data is None:
                    self._control()
                else:
                    kind, child = key.data
                    if kind == "exit":
                        self._exited(child)
                    else:
                        self._channel(child)
            now = time.monotonic()
            for child in self.children:
                if now >= child.deadline and not child.killed:
                    child.timed_out = True
                    child.kill()

    def _timeout(self) -> float | None:
        pending = [c.deadline for c in self.children if not c.killed]
        return max(0.0, min(pending) - time.monotonic()) if pending else None

    def _control(self) -> None:
        try:
            data, fds = receive(self.control, REQUEST_FDS + 1)
        except ProtocolError:
            return
        except OSError:
            data, fds = b"", []
        if not data and not fds:  # vmail is gone: stop everything
            self.running = False
            self.sel.unregister(self.control)
            for child in self.children:
                child.kill()
            return
        channel: socket.socket | None = None
        try:
            if fds:
                try:
                    channel = socket.socket(fileno=fds.pop(0))
                    channel.setblocking(False)
                except OSError:
                    channel = None
            if channel is None:
                raise ProtocolError("the first descriptor is not a socket")
            message = decode(data)
            if "read" in message:  # a file vmail's user may not read (a TLS key)
                if fds:
                    raise ProtocolError("a read request carries its reply channel only")
                _reply(channel, self._read(parse_read(message)))
                return
            if len(fds) != REQUEST_FDS - 1:
                raise ProtocolError(f"a request carries {REQUEST_FDS} descriptors")
            request = parse_request(message)
            if len(self.children) >= self.max_children:
                raise ProtocolError(f"too many commands running (limit {self.max_children})")
            if not self.running:
                raise ProtocolError("spawner is stopping")
            self._start(request, channel, fds[0], fds[1])
            channel = None  # now owned by the child record
        except ProtocolError as e:
            _reply(channel, {"error": str(e)})
        except Exception as e:  # a bug must fail this request, not every later one
            _reply(channel, {"error": f"internal error: {type(e).__name__}: {e}"})
        finally:
            close_all(fds)
            if channel is not None:
                channel.close()

    def _read(self, path: str) -> dict[str, Any]:
        """The contents of ``path``, one of the files vmail named when it started the
        helper (its TLS certificates and keys), and nothing else."""
        if path not in self.readable:
            return {"error": f"not a file the spawner reads for vmail: {path}"}
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_READ + 1)
        except OSError as e:
            return {"errno": e.errno, "strerror": e.strerror or str(e), "filename": path}
        if len(data) > MAX_READ:
            return {"error": f"{path}: larger than {MAX_READ} bytes"}
        return {"data": base64.b64encode(data).decode("ascii")}

    def _start(self, request: SpawnRequest, channel: socket.socket, stdin: int, out: int) -> None:
        try:
            proc = subprocess.Popen(
                list(request.argv),
                stdin=stdin,
                stdout=out,
                stderr=out,
                env=request.env,
                cwd=request.cwd,
                start_new_session=True,
                close_fds=True,
                user=request.uid,
                group=request.gid,
                extra_groups=[],
            )
        except OSError as e:
            _reply(
                channel,
                {
                    "error": str(e),
                    "errno": e.errno,
                    "strerror": e.strerror,
                    "filename": e.filename if isinstance(e.filename, str) else None,
                },
            )
            channel.close()
            return
        except (ValueError, subprocess.SubprocessError) as e:
            _reply(channel, {"error": str(e)})
            channel.close()
            return
        try:
            pidfd = os.pidfd_open(proc.pid)
        except OSError:  # cannot watch it: take it back at once
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            _reply(channel, {"error": "cannot watch the command (pidfd_open)"})
            channel.close()
            return
        child = _Child(proc, pidfd, channel, time.monotonic() + request.time_limit)
        self.children.append(child)
        self.sel.register(pidfd, selectors.EVENT_READ, ("exit", child))
        self.sel.register(channel, selectors.EVENT_READ, ("channel", child))
        _reply(channel, {"pid": proc.pid})

    def _channel(self, child: _Child) -> None:
        """The client asked to kill the command, or went away."""
        if child.channel is None:  # stale: the command's exit came first in this batch
            return
        try:
            data = child.channel.recv(64)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        child.kill()
        if not data:
            self.sel.unregister(child.channel)
            child.channel.close()
            child.channel = None

    def _exited(self, child: _Child) -> None:
        if child not in self.children:  # stale event
            return
        status = child.proc.wait()
        self.sel.unregister(child.pidfd)
        os.close(child.pidfd)
        self.children.remove(child)
        if child.channel is not None:
            _reply(child.channel, {"status": status, "timed_out": child.timed_out})
            self.sel.unregister(child.channel)
            _drain(child.channel)
            child.channel.close()
            child.channel = None


def serve(
    control: socket.socket,
    max_children: int = MAX_CHILDREN,
    readable: frozenset[str] = frozenset(),
) -> None:
    """Answer spawn requests (and reads of the ``readable`` files) on ``control`` until
    its end of file; all children reaped."""
    helper = _Helper(control, max_children, readable)
    try:
        helper.run()
    finally:
        for child in helper.children:
            child.kill()
            child.proc.wait()
        helper.sel.close()


__all__ = ["MAX_CHILDREN", "serve"]
