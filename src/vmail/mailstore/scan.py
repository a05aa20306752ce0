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
fails leaves its share to the calling thread, so the result never depends on them.
"""

from __future__ import annotations

import contextlib
import gc
import marshal
import os
import queue
import signal
import threading
from collections.abc import Iterator, Sequence
from typing import NoReturn

from vmail.mailstore.message.raw import body_offset
from vmail.mailstore.message.summary import header_summary

ENVELOPE_READ = 1 << 16  # the header of a message is in its first 64 KiB (or it is odd)
PARALLEL_MIN = 2000  # fewer files than this are read in the calling thread
CHUNK = 2000  # files per answer of a worker

Scanned = tuple[float, int, bytes, str]
"""(mtime, CRLF size or -1 when not asked for, marshalled ENVELOPE, decoded Subject)."""
_Ready = queue.SimpleQueue[tuple[int, int, list[Scanned | None] | None]]
"""Answers of the workers: (start of the share, offset, results or None when done)."""


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
        size = len(data) + data.count(b"\n")
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
    meanwhile); the chunks must then be taken to the end, or the workers run on unread."""
    if workers is None:
        workers = os.cpu_count() or 1
    if len(paths) < (PARALLEL_MIN if minimum is None else minimum) or workers < 2:
        return _serial_chunks(paths, sizes)
    step = -(-len(paths) // workers)
    ready: _Ready = queue.SimpleQueue()
    shares = [(start, paths[start : start + step]) for start in range(0, len(paths), step)]
    for start, share in shares:
        threading.Thread(target=_run_worker, args=(start, share, sizes, ready), daemon=True).start()
    return _gathered(paths, sizes, step, len(shares), ready)


def _serial_chunks(paths: Sequence[str], sizes: bool) -> Iterator[tuple[int, list[Scanned | None]]]:
    for offset in range(0, len(paths), CHUNK):
        yield offset, scan_serial(paths[offset : offset + CHUNK], sizes)


def _gathered(
    paths: Sequence[str], sizes: bool, step: int, running: int, ready: _Ready
) -> Iterator[tuple[int, list[Scanned | None]]]:
    """The workers' chunks as they come; the share a worker left unanswered, read here."""
    while running:
        start, offset, results = ready.get()
        if results is None:  # a worker finished; the rest of its share (if any) is ours
            running -= 1
            end = min(start + step, len(paths))
            for at in range(offset, end, CHUNK):
                yield at, scan_serial(paths[at : min(at + CHUNK, end)], sizes)
        else:
            yield offset, results


def _run_worker(
    start: int,
    paths: Sequence[str],
    sizes: bool,
    ready: _Ready,
) -> None:
    """Have a forked worker read ``paths`` (the share starting at ``start``) and pass on
    its chunks as ``(start, offset, results)``; then ``(start, offset, None)`` with the
    offset of the first path it did not answer for."""
    done = 0
    try:
        read_fd, write_fd = os.pipe2(os.O_CLOEXEC)
        # not core.forking.fork: its gc.freeze() is for long-lived children; these live
        # seconds, and each freeze would keep the parent's cyclic garbage of the moment
        pid = os.fork()
        if pid == 0:
            _worker(read_fd, write_fd, paths, sizes)
        os.close(write_fd)
        try:
            with open(read_fd, "rb") as answers:
                while done < len(paths):
                    header = answers.read(4)
                    if len(header) < 4:
                        break
                    results = marshal.loads(answers.read(int.from_bytes(header, "big")))
                    if not isinstance(results, list) or not results:
                        break
                    results = results[: len(paths) - done]
                    ready.put((start, start + done, results))
                    done += len(results)
        finally:
            if done < len(paths):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    except (OSError, ValueError, EOFError, TypeError):
        pass
    finally:
        ready.put((start, start + done, None))


def _worker(read_fd: int, write_fd: int, paths: Sequence[str], sizes: bool) -> NoReturn:
    """The forked worker: the results of ``paths`` on ``write_fd``, a length-prefixed
    ``marshal`` list per :data:`CHUNK` paths, in order; then it exits (never returns
    into the parent's code: only this thread was copied)."""
    status = 1
    try:
        gc.disable()  # a collection would touch (and copy) every page shared with the parent
        os.close(read_fd)
        with contextlib.suppress(ValueError):  # the parent's signal handling is not ours
            signal.set_wakeup_fd(-1)
            for number in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
                signal.signal(number, signal.SIG_DFL)
        with open(write_fd, "wb") as out:
            for offset in range(0, len(paths), CHUNK):
                frame = marshal.dumps(scan_serial(paths[offset : offset + CHUNK], sizes))
                out.write(len(frame).to_bytes(4, "big") + frame)
                out.flush()
        status = 0
    finally:
        os._exit(status)


__all__ = ["ENVELOPE_READ", "Scanned", "scan_chunks", "scan_file", "scan_files", "scan_serial"]
