"""The delivery process: a forked child of ``vmail serve`` that runs the queue manager.

The parent (SMTP side) holds a :class:`DeliveryProcess`. It forks the child, which runs
``body(wake_fd)`` with a fresh event loop and exits with its return value. The parent
wakes it with :meth:`DeliveryProcess.poke` (the committed queue ID, one line into a
non-blocking pipe, so the child takes that message without listing ``incoming``; when
the pipe is full, the child is told to list ``incoming`` instead), forwards signals with
:meth:`DeliveryProcess.signal`, restarts it when it dies unexpectedly (logged), and stops
it with :meth:`DeliveryProcess.stop` (SIGTERM; SIGKILL after the timeout).

In the child, :func:`detach_child` makes the kernel send it SIGTERM when the parent dies
(a ``kill -9`` of ``vmail serve``): it then records the deliveries in progress and exits,
so that no recipient's mailbox write is left without its status record. A new
``vmail serve`` started meanwhile waits for it (the queue manager's spool lock,
:meth:`vmail.qmgr.QueueManager.run`), so there is never a second queue manager. It resets the
parent's signal handling, and replaces the parent's inherited sockets (listeners, SMTP
sessions, the event loop's self-pipe) with ``/dev/null``: the child must not keep a
closed session or a removed listener open. The descriptor numbers stay taken, so a stale
object of the parent closing "its" socket in the child cannot close someone else's file.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import stat
import threading
from collections.abc import Callable

from vmail.core.forking import fork
from vmail.delivery.command import spawner_fds

log = logging.getLogger("vmail.master")

PIPE_READ = 1 << 16
PIPE_FULL = (1 << 16) - 64  # Linux's default pipe capacity, less a line
RESTART_DELAY = 1.0  # seconds between an unexpected exit and the restart
PR_SET_PDEATHSIG = 1
CHILD_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGINT, signal.SIGCHLD)

ChildBody = Callable[[int], int]
"""The child's main function: gets the read end of the wake pipe, returns the exit code."""


class DeliveryProcess:
    """Parent-side handle of the delivery child (used from the event loop's thread;
    :meth:`poke` is thread-safe).

    The web processes (:mod:`vmail.servers.app`) are children of the same kind: ``name``
    is what the log calls them, ``keep`` the inherited descriptors they keep (the
    delivery process: the command spawner's; a web process: the listening sockets).
    """

    def __init__(
        self,
        body: ChildBody,
        *,
        restart_delay: float = RESTART_DELAY,
        name: str = "delivery process",
        keep: Callable[[], tuple[int, ...]] = spawner_fds,
    ) -> None:
        self._body = body
        self._restart_delay = restart_delay
        self.name = name
        self._keep = keep
        self._lock = threading.Lock()  # guards _wake_fd against a concurrent restart
        self._wake_fd: int | None = None
        self._overflow = False  # a line was dropped: the next one asks for a full pass
        self.pid: int | None = None
        self.restarts = 0
        self._stopping = False
        self._watcher: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Fork the child and watch it (call from a running event loop)."""
        self._fork()
        self._watcher = asyncio.get_running_loop().create_task(self._watch(), name="delivery")

    def _fork(self) -> None:
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        os.set_blocking(write_fd, False)
        parent = os.getpid()
        pid = fork()
        if pid == 0:  # the child: never returns into the parent's code
            code = 70  # EX_SOFTWARE
            try:
                os.close(write_fd)
                detach_child(parent, keep=(read_fd, *self._keep()))
                code = self._body(read_fd)
            except BaseException:
                log.exception("%s failed", self.name)
            finally:
                for handler in logging.getLogger("vmail").handlers:
                    with contextlib.suppress(Exception):
                        handler.flush()
                os._exit(code)
        os.close(read_fd)
        with self._lock:
            self._wake_fd, self.pid = write_fd, pid
        log.info("%s %d started", self.name, pid)

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            pid = self.pid
            if pid is None:
                return
            _, status = await loop.run_in_executor(None, os.waitpid, pid, 0)
            self._close_pipe()
            if self._stopping:
                return
            log.warning(
                "%s %d %s; restarting in %gs",
                self.name,
                pid,
                describe_status(status),
                self._restart_delay,
            )
            await asyncio.sleep(self._restart_delay)
            if self._stopping:
                return
            self.restarts += 1
            self._fork()

    def _close_pipe(self) -> None:
        with self._lock:
            fd, self._wake_fd, self.pid = self._wake_fd, None, None
        if fd is not None:
            os.close(fd)

    def poke(self, queue_id: str = "") -> None:
        """Tell the child that ``queue_id`` was committed (empty: look at the whole queue).

        Thread-safe, never blocks. One line per call (shorter than ``PIPE_BUF``, so
        lines never interleave). When the pipe is full the line is dropped and the next
        one is preceded by an empty line: the child then lists ``incoming``.
        """
        line = queue_id.encode("ascii", "replace") + b"\n"
        with self._lock:
            if self._wake_fd is None:
                return  # restarting: the new child's first pass will see the message
            if self._overflow:
                line = b"\n" + line
            try:
                os.write(self._wake_fd, line)
                self._overflow = False
            except BlockingIOError:
                self._overflow = True
            except BrokenPipeError:
                pass

    def signal(self, sig: signal.Signals) -> None:
        """Forward ``sig`` to the child, if it is running."""
        with self._lock:
            pid = self.pid if self._wake_fd is not None else None
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)

    async def stop(self, timeout: float) -> None:
        """SIGTERM the child (it finishes deliveries in progress) and wait; SIGKILL after
        ``timeout`` seconds."""
        self._stopping = True
        watcher = self._watcher
        if watcher is None:
            return
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(asyncio.shield(watcher), timeout)
        except TimeoutError:
            log.warning("%s %s did not stop in %gs; killing it", self.name, self.pid, timeout)
            with self._lock:
                pid = self.pid
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await watcher


def describe_status(status: int) -> str:
    """``exited with status N`` or ``killed by signal NAME``."""
    if os.WIFSIGNALED(status):
        number = os.WTERMSIG(status)
        try:
            name = signal.Signals(number).name
        except ValueError:
            name = str(number)
        return f"killed by signal {name}"
    return f"exited with status {os.waitstatus_to_exitcode(status)}"


def detach_child(parent: int, keep: tuple[int, ...] = ()) -> None:
    """Prepare a freshly forked child (see the module doc)."""
    _die_with_parent(parent)
    with contextlib.suppress(ValueError):
        signal.set_wakeup_fd(-1)
    for sig in CHILD_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)
    asyncio.events._set_running_loop(None)  # the parent's loop does not run here
    _blank_sockets(keep)


def _die_with_parent(parent: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _blank_sockets(keep: tuple[int, ...]) -> None:
    """Point every inherited socket descriptor at /dev/null."""
    null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
    try:
        for name in os.listdir("/proc/self/fd"):
            fd = int(name)
            if fd in keep or fd == null:
                continue
            try:
                if stat.S_ISSOCK(os.fstat(fd).st_mode):
                    os.dup2(null, fd, inheritable=False)
            except OSError:
                continue
    finally:
        os.close(null)


class WakeReader:
    """The child's end of the wake pipe: queue IDs, or "look at the whole queue"."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self._partial = b""
        os.set_blocking(fd, False)

    def read(self) -> tuple[list[str], bool] | None:
        """(queue IDs, full pass wanted), or None at end of file (the parent is gone)."""
        chunks = []
        while True:
            try:
                data = os.read(self.fd, PIPE_READ)
            except BlockingIOError:
                break
            if not data:
                return None
            chunks.append(data)
        data = self._partial + b"".join(chunks)
        lines = data.split(b"\n")
        self._partial = lines.pop()
        ids = [line.decode("ascii", "replace") for line in lines if line]
        # an empty line, or a read as large as a full pipe (lines may have been dropped)
        full = len(ids) < len(lines) or len(data) >= PIPE_FULL
        return ids, full


__all__ = [
    "DeliveryProcess",
    "WakeReader",
    "describe_status",
    "detach_child",
]
