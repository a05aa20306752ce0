"""A privileged spawner: run delivery commands as other users after vmail dropped root.

**Why.** ``vmail serve`` starts as root, binds its ports and then ``setuid``\\ s to the
mail owner. From then on it cannot start pipe(8) commands as ``user=`` nor local(8)
alias commands as ``default_privs``. Postfix has master(8) (root) start pipe(8) and
local(8) as root; vmail has a single process, so before dropping root it forks this
small helper, which stays root and does exactly one thing.

**What the helper does.** On request over a ``SOCK_SEQPACKET`` control socket
(length-prefixed JSON, see :mod:`.spawn_protocol`), it starts one command: argv (executed
directly, never through a shell unless argv itself names one), uid and gid (both > 0:
root is refused), the exact environment and working directory given, with the stdin and
stdout/stderr descriptors passed with the request (``SCM_RIGHTS``). The command gets no
supplementary groups and its own session. The helper enforces the time limit (SIGKILL to
the process group) and reports the exit status or signal, and whether the time limit
struck, on a reply channel: a fresh socketpair end the client sends with each request,
so concurrent delivery threads never share a channel and need no request ids.

**What it will not do.** Run anything not asked for, run as root, keep any descriptor
it does not need (after the fork it closes everything but its control socket and
stderr), run more than :data:`~.spawn_server.MAX_CHILDREN` commands at once, or survive
vmail: it ignores SIGTERM, SIGINT and SIGHUP (vmail's shutdown, or a signal to the
whole process group, must not cut off deliveries still draining), and end of file on
the control socket makes it kill its commands' process groups,
reap them and exit. Malformed requests get an error reply, never a crash.

**The unprivileged side** (:class:`Spawner`, thread-safe) creates the pipes, sends the
request, closes the child's ends and returns a :class:`Spawned`, which looks enough like
a :class:`subprocess.Popen` (``stdin``, ``stdout``, ``wait``, ``kill``) for
:func:`vmail.delivery.command.run_command` to stream the message and read the output
itself. Every failure to reach the helper is a :class:`SpawnError` (an OSError), which
run_command turns into a temporary failure (``4.3.0``), never a hang.
"""

from __future__ import annotations

import base64
import contextlib
import gc
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from types import TracebackType
from typing import IO, Any

from vmail.core.forking import fork
from vmail.delivery.spawn_protocol import (
    ProtocolError,
    SpawnRequest,
    decode,
    encode,
    receive,
    send,
)
from vmail.delivery.spawn_server import MAX_CHILDREN, serve

START_TIMEOUT = 60.0
"""Seconds to wait for the helper to say it started a command."""


_HELPER_SIGNALS = (signal.SIGINT, signal.SIGHUP, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2)


class SpawnError(OSError):
    """The spawner is not running, died, or refused the request."""


class Spawned:
    """A command the helper started: its pipes, its exit status, a way to kill it."""

    def __init__(self, pid: int, channel: socket.socket, stdin: IO[bytes], stdout: IO[bytes]):
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        self.timed_out = False
        self._channel = channel

    def wait(self, timeout: float | None = None) -> int:
        """The exit status (Popen's convention); TimeoutExpired, or SpawnError if the
        helper died."""
        if self.returncode is not None:
            return self.returncode
        self._channel.settimeout(timeout)
        try:
            data, _fds = receive(self._channel)
        except (TimeoutError, BlockingIOError):  # BlockingIOError: timeout 0
            raise subprocess.TimeoutExpired(str(self.pid), timeout or 0.0) from None
        except (OSError, ProtocolError) as e:
            raise SpawnError(f"privileged spawner failed: {e}") from None
        if not data:
            raise SpawnError("privileged spawner died while the command ran")
        try:
            reply = decode(data)
            status = reply["status"]
        except (ProtocolError, KeyError) as e:
            raise SpawnError(f"privileged spawner sent a bad reply: {e}") from None
        if type(status) is not int:
            raise SpawnError(f"privileged spawner sent a bad status: {status!r}")
        self.timed_out = reply.get("timed_out") is True
        self.returncode = status
        return status

    def kill(self) -> None:
        """Ask the helper to SIGKILL the command's process group."""
        with contextlib.suppress(OSError):
            self._channel.send(b"k")

    def close(self) -> None:
        """Close the pipes and the channel (a command still running is killed)."""
        for stream in (self.stdin, self.stdout):
            with contextlib.suppress(OSError):
                stream.close()
        self._channel.close()

    def __enter__(self) -> Spawned:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Spawner:
    """The unprivileged side of the helper; :meth:`start` it while still root."""

    def __init__(self, max_children: int = MAX_CHILDREN, readable: Iterable[str] = ()) -> None:
        self.max_children = max_children
        self.readable = frozenset(readable)  # files read_file() may ask the helper for
        self.pid: int | None = None
        self._control: socket.socket | None = None
        self._lock = threading.Lock()

    def start(self) -> Spawner:
        """Fork the helper (call while root, before threads start); returns self."""
        if self._control is not None:
            raise RuntimeError("spawner already started")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        sys.stdout.flush()
        sys.stderr.flush()
        # blocked until the helper has its own handlers: a signal right after the fork
        # would otherwise find vmail's dispositions (SIGTERM: die)
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, _HELPER_SIGNALS)
        pid = -1
        try:
            pid = fork()
        finally:
            if pid != 0:
                signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        if pid == 0:  # pragma: no cover - runs in the helper (tests see it from outside)
            status = 1
            try:
                ours.close()
                _become_helper(theirs.fileno())
                serve(theirs, self.max_children, self.readable)
                status = 0
            except BaseException:
                with contextlib.suppress(BaseException):
                    traceback.print_exc()  # to vmail's stderr, the one stream kept
            finally:
                os._exit(status)
        theirs.close()
        self.pid = pid
        self._control = ours
        return self

    def fileno(self) -> int:
        """The control socket's descriptor (-1 when not running): a process forked from
        vmail that runs commands must keep it open (and it alone)."""
        control = self._control
        return control.fileno() if control is not None else -1

    def spawn(self, request: SpawnRequest) -> Spawned:
        """Start ``request`` in the helper; SpawnError (with errno when the command
        could not start) on failure."""
        control = self._control
        if control is None:
            raise SpawnError("privileged spawner is not running")
        message = request.to_json()
        try:
            encode(message)
        except ProtocolError as e:
            raise SpawnError(f"privileged spawner refused: {e}") from None
        mine, helper_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        in_read, in_write = os.pipe()
        out_read, out_write = os.pipe()
        try:
            try:
                with self._lock:
                    send(control, message, (helper_end.fileno(), in_read, out_write))
            except (OSError, ProtocolError) as e:
                raise SpawnError(f"privileged spawner is not running: {e}") from None
            finally:
                helper_end.close()
                os.close(in_read)
                os.close(out_write)
            pid = self._started(mine)
        except BaseException:
            mine.close()
            os.close(in_write)
            os.close(out_read)
            raise
        return Spawned(pid, mine, open(in_write, "wb", buffering=0), open(out_read, "rb", 0))

    def read_file(self, path: str) -> bytes:
        """The contents of ``path`` as root reads it: one of the ``readable`` files given
        when the helper started (a TLS key only root may read, loaded again at a
        reload). OSError (SpawnError when the helper cannot be asked) on failure."""
        control = self._control
        if control is None:
            raise SpawnError("privileged spawner is not running")
        mine, helper_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            try:
                with self._lock:
                    send(control, {"read": path}, (helper_end.fileno(),))
            except (OSError, ProtocolError) as e:
                raise SpawnError(f"privileged spawner is not running: {e}") from None
            finally:
                helper_end.close()
            reply = self._reply(mine)
        finally:
            mine.close()
        data = reply.get("data")
        if isinstance(data, str):
            return base64.b64decode(data)
        code = reply.get("errno")
        if type(code) is int:
            raise OSError(code, str(reply.get("strerror") or os.strerror(code)), path)
        raise SpawnError(f"privileged spawner refused: {reply.get('error', reply)}")

    @staticmethod
    def _reply(channel: socket.socket) -> dict[str, Any]:
        channel.settimeout(START_TIMEOUT)
        try:
            data, _fds = receive(channel)
        except (OSError, ProtocolError) as e:
            raise SpawnError(f"privileged spawner did not answer: {e}") from None
        if not data:
            raise SpawnError("privileged spawner died before it answered")
        try:
            return decode(data)
        except ProtocolError as e:
            raise SpawnError(f"privileged spawner sent a bad reply: {e}") from None

    @classmethod
    def _started(cls, channel: socket.socket) -> int:
        reply = cls._reply(channel)
        pid = reply.get("pid")
        if type(pid) is int and pid > 0:
            return pid
        code = reply.get("errno")
        if type(code) is int:
            filename = reply.get("filename")
            raise OSError(code, str(reply.get("strerror") or os.strerror(code)), filename)
        raise SpawnError(f"privileged spawner refused: {reply.get('error', reply)}")

    def close(self, timeout: float = 10.0) -> None:
        """Close the control socket; the helper kills its commands and exits."""
        control, self._control = self._control, None
        if control is not None:
            control.close()
        pid, self.pid = self.pid, None
        if pid is None:
            return
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(ChildProcessError):
                done, _status = os.waitpid(pid, os.WNOHANG)
                if done == 0 and time.monotonic() < deadline:
                    time.sleep(0.01)
                    continue
            return

    def __enter__(self) -> Spawner:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _become_helper(keep: int) -> None:  # pragma: no cover - runs in the helper
    """Drop everything inherited from vmail but the control socket and stderr.

    Objects inherited from vmail (sockets, files) are frozen out of the garbage
    collector: finalising one would close a descriptor number the helper reuses.
    """
    gc.freeze()
    logging.disable(logging.CRITICAL)  # vmail's log handlers' descriptors are closed
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    os.closerange(3, keep)
    os.closerange(keep + 1, _max_fd())
    with contextlib.suppress(ValueError, OSError):
        signal.set_wakeup_fd(-1)
    # vmail's end (its EOF) stops the helper, not a signal meant for vmail or its whole
    # group: deliveries draining at shutdown keep their helper. Caught, not ignored, so
    # that commands start with default dispositions (exec resets caught signals).
    for signum in _HELPER_SIGNALS:
        signal.signal(signum, _ignore)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # Popen restores it in commands
    signal.pthread_sigmask(signal.SIG_SETMASK, [])  # commands inherit the mask
    os.chdir("/")


def _ignore(signum: int, frame: object) -> None:  # pragma: no cover - in the helper
    """A handler that does nothing (see :func:`_become_helper`)."""


def _max_fd() -> int:
    try:
        return max(int(os.sysconf("SC_OPEN_MAX")), 1024)
    except (ValueError, OSError):
        return 65536


__all__ = ["SpawnError", "SpawnRequest", "Spawned", "Spawner"]
