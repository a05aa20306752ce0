"""Reading many message files at once: date, size, ENVELOPE and Subject, on every core.

The first open of a big folder whose file names carry no ``,W=`` size must read every
message once: for its CRLF size (RFC822.SIZE) and, since clients fetch them next, for
its ENVELOPE and decoded Subject. :func:`scan_files` does that in one read per file.
With many files it splits the work between worker processes (forked, one per core,
answering through a pipe with ``marshal``), because parsing headers is CPU work that one
Python thread cannot spread. They are forked, not started with ``python -m``: a server
that has dropped root may not be able to run its own interpreter (a Python installed
under a 0700 home directory), and a fork needs no imports. The child only reads files
and parses them with code already loaded, then exits; a worker that cannot start or
fails leaves the chunks it did not answer to the calling thread, so the result never
depends on them.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import marshal
import os
import queue
import signal
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import NoReturn

from vmail.core.fileio import write_all
from vmail.mailstore.message.raw import body_offset
from vmail.mailstore.message.summary import header_summary

ENVELOPE_READ = 1 << 16  # the header of a message is in its first 64 KiB (or it is odd)
PARALLEL_MIN = 2000  # fewer files than this are read in the calling thread
CHUNK = 2000  # files per answer of a worker
_PIPE_SIZE = 1 << 16  # what a Linux pipe holds by default
_ANSWER_PIPE_SIZE = 1 << 20
"""A worker's answer pipe is made this big (the most an unprivileged process may ask
for by default) so that an answer (about 700 KB for a chunk of typical mail) fits
whole: in a 64 KiB pipe the worker waited for each 64 KiB read by the caller's reader
thread, itself waiting for the GIL the caller held, 0.1-0.17 s per worker in a
100,000-message scan."""

Scanned = tuple[float, int, bytes, str]
"""(mtime, CRLF size or -1 when not asked for, marshalled ENVELOPE, decoded Subject)."""
_Ready = queue.SimpleQueue[tuple[int, list[Scanned | None] | None]]
"""Answers of the workers: (offset, results), or (0, None) when one is done."""


def scan_file(path: str, sizes: bool) -> Scanned | None:
    """One file's scan; ``None`` when it vanished. ``sizes`` False reads only the header."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:  # os-level calls: half the cost of open() for files of a few KiB
        st = os.fstat(fd)
        mtime = st.st_mtime
        data = os.read(fd, st.st_size + 1 if sizes else min(st.st_size + 1, ENVELOPE_READ))
        if len(data) > st.st_size or (
            not sizes and len(data) == ENVELOPE_READ and body_offset(data) == len(data)
        ):  # grew meanwhile, or a header longer than ENVELOPE_READ: read the rest
            data += _read_rest(fd)
    finally:
        os.close(fd)
    size = -1
    if sizes:
        # len - len(replace) counts the LFs in 3.8 us for 5 KiB against count's 5.3 us
        size = 2 * len(data) - len(data.replace(b"\n", b""))
        if b"\r" in data:
            size -= data.count(b"\r\n")
    envelope, subject = header_summary(data)
    return mtime, size, marshal.dumps(envelope), subject


def _read_rest(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def scan_serial(paths: Sequence[str], sizes: bool) -> list[Scanned | None]:
    """:func:`scan_file` of each path, in this thread."""
    return [scan_file(path, sizes) for path in paths]


def scan_files(
    paths: Sequence[str], sizes: bool, workers: int | None = None, minimum: int | None = None
) -> list[Scanned | None]:
    """:func:`scan_file` of each path, in order (see :func:`scan_chunks`)."""
    out: list[Scanned | None] = [None] * len(paths)
    for offset, results in scan_chunks(paths, sizes, workers, minimum):
        out[offset : offset + len(results)] = results
    return out


def scan_chunks(
    paths: Sequence[str], sizes: bool, workers: int | None = None, minimum: int | None = None
) -> Iterator[tuple[int, list[Scanned | None]]]:
    """(offset, results of ``paths[offset:offset + len(results)]``) as they are ready, in
    no particular order, every path exactly once: in ``workers`` processes (default: one
    per core) when there are ``minimum`` (default :data:`PARALLEL_MIN`) paths or more,
    else in this thread. The caller can use each chunk while the workers read on. They
    start at once, before the first chunk is asked for (so the caller can do other work
    meanwhile); the chunks must then be taken to the end, or the workers run on unread.

    The workers take chunks of :data:`CHUNK` paths from a shared queue (a pipe holding
    their offsets) rather than a fixed share each, so that one slowed down by other
    work on its core does not leave the other cores idle at the end; and chunks are
    taken in order, so the results come in nearly in order."""
    if workers is None:
        workers = os.cpu_count() or 1
    if len(paths) < (PARALLEL_MIN if minimum is None else minimum) or workers < 2:
        return _serial_chunks(paths, sizes, range(0, len(paths), CHUNK))
    offsets = range(0, len(paths), CHUNK)
    ready: _Ready = queue.SimpleQueue()
    started = 0
    try:
        todo = _chunk_queue(offsets)
    except OSError:
        return _serial_chunks(paths, sizes, offsets)
    try:
        for _ in range(min(workers, len(offsets))):
            with contextlib.suppress(OSError):
                pid, answers = _fork_worker(todo, paths, sizes)
                threading.Thread(
                    target=_read_answers, args=(pid, answers, len(paths), ready), daemon=True
                ).start()
                started += 1
    finally:
        os.close(todo)
    return _gathered(paths, sizes, offsets, started, ready)


def _serial_chunks(
    paths: Sequence[str], sizes: bool, offsets: Iterable[int]
) -> Iterator[tuple[int, list[Scanned | None]]]:
    """The chunks at ``offsets``, read in this thread."""
    for offset in offsets:
        yield offset, scan_serial(paths[offset : offset + CHUNK], sizes)


def _chunk_queue(offsets: range) -> int:
    """A pipe's read end holding ``offsets`` as 4-byte numbers, its write end closed
    (a worker reading 4 bytes takes one whole offset: the pipe hands out each once).
    OSError (BlockingIOError) if the pipe cannot hold them all."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
    try:
        data = b"".join(offset.to_bytes(4, "big") for offset in offsets)
        if len(data) > _PIPE_SIZE:  # more than 32 million paths: ask for a bigger pipe
            with contextlib.suppress(OSError):
                fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, len(data))
        write_all(write_fd, data)
    except BaseException:
        os.close(read_fd)
        raise
    finally:
        os.close(write_fd)
    return read_fd


def _gathered(
    paths: Sequence[str], sizes: bool, offsets: range, running: int, ready: _Ready
) -> Iterator[tuple[int, list[Scanned | None]]]:
    """The workers' chunks as they come; then, here, those no worker answered for."""
    answered: set[int] = set()
    while running:
        offset, results = ready.get()
        if results is None:
            running -= 1
        elif offset not in answered:
            answered.add(offset)
            yield offset, results
    yield from _serial_chunks(paths, sizes, [at for at in offsets if at not in answered])


def _fork_worker(todo: int, paths: Sequence[str], sizes: bool) -> tuple[int, int]:
    """A forked worker taking its chunks from ``todo``: (its pid, its answers' read end)."""
    read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
    with contextlib.suppress(OSError):  # room for a whole answer: see _ANSWER_PIPE_SIZE
        fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, _ANSWER_PIPE_SIZE)
    try:
        # not core.forking.fork: its gc.freeze() is for long-lived children; these live
        # seconds, and each freeze would keep the parent's cyclic garbage of the moment
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        raise
    if pid == 0:
        _worker(todo, read_fd, write_fd, paths, sizes)
    os.close(write_fd)
    return pid, read_fd


def _read_answers(pid: int, read_fd: int, total: int, ready: _Ready) -> None:
    """Pass on a worker's answers as ``(offset, results)``, then ``(0, None)`` when it is
    done; an answer that is not a whole chunk of ``total`` paths ends it."""
    try:
        with open(read_fd, "rb") as answers:
            while len(header := answers.read(4)) == 4:
                offset, results = marshal.loads(answers.read(int.from_bytes(header, "big")))
                if (
                    not isinstance(offset, int)
                    or not isinstance(results, list)
                    or offset % CHUNK
                    or not 0 <= offset < total
                    or len(results) != min(CHUNK, total - offset)
                ):
                    break
                ready.put((offset, results))
    except (OSError, ValueError, EOFError, TypeError):
        pass
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)  # gone already, or answering nonsense
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)
        ready.put((0, None))


def _worker(todo: int, read_fd: int, write_fd: int, paths: Sequence[str], sizes: bool) -> NoReturn:
    """The forked worker: for each offset it takes from ``todo``, the results of the
    :data:`CHUNK` paths from there on ``write_fd`` as a length-prefixed ``marshal`` of
    ``(offset, results)``; then it exits (never returns into the parent's code: only
    this thread was copied)."""
    status = 1
    try:
        gc.disable()  # a collection would touch (and copy) every page shared with the parent
        os.close(read_fd)
        with contextlib.suppress(ValueError):  # the parent's signal handling is not ours
            signal.set_wakeup_fd(-1)
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
                signal.signal(number, signal.SIG_DFL)
        with open(write_fd, "wb") as out:
            while len(taken := os.read(todo, 4)) == 4:
                offset = int.from_bytes(taken, "big")
                results = scan_serial(paths[offset : offset + CHUNK], sizes)
                frame = marshal.dumps((offset, results))
                out.write(len(frame).to_bytes(4, "big") + frame)
                out.flush()
        status = 0
    finally:
        os._exit(status)


__all__ = [
    "ENVELOPE_READ",
    "Scanned",
    "scan_chunks",
    "scan_file",
    "scan_files",
    "scan_serial",
]
