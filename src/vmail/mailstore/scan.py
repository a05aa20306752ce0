"""Reading many message files at once: date, size, ENVELOPE and Subject, on every core.

The first open of a big folder whose file names carry no ``,W=`` size must read every
message once: for its CRLF size (RFC822.SIZE) and, since clients fetch them next, for
its ENVELOPE and decoded Subject. :func:`scan_files` does that in one read per file.
With many files it splits the work between worker processes (``python -m
vmail.mailstore.scan``, one per core, fed the paths on stdin, answering on stdout with
``marshal``), because parsing headers is CPU work that one Python thread cannot spread;
a worker that cannot start or fails leaves its share to the calling thread, so the
result never depends on them.
"""

from __future__ import annotations

import marshal
import os
import subprocess
import sys
import threading
from collections.abc import Sequence

from vmail.mailstore.message.raw import body_offset
from vmail.mailstore.message.summary import header_summary

ENVELOPE_READ = 1 << 16  # the header of a message is in its first 64 KiB (or it is odd)
PARALLEL_MIN = 2000  # fewer files than this are read in the calling thread
WORKER_TIMEOUT = 600.0

Scanned = tuple[float, int, bytes, str]
"""(mtime, CRLF size or -1 when not asked for, marshalled ENVELOPE, decoded Subject)."""


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
    paths: Sequence[str], sizes: bool, workers: int | None = None, minimum: int = PARALLEL_MIN
) -> list[Scanned | None]:
    """:func:`scan_file` of each path, in order; in ``workers`` processes (default: one per
    core) when there are ``minimum`` paths or more."""
    if workers is None:
        workers = os.cpu_count() or 1
    if len(paths) < minimum or workers < 2:
        return scan_serial(paths, sizes)
    step = -(-len(paths) // workers)
    shares = [paths[i : i + step] for i in range(0, len(paths), step)]
    results: list[list[Scanned | None] | None] = [None] * len(shares)

    def run(n: int) -> None:
        results[n] = _in_worker(shares[n], sizes)

    threads = [threading.Thread(target=run, args=(n,), daemon=True) for n in range(len(shares))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    out: list[Scanned | None] = []
    for share, result in zip(shares, results, strict=True):
        out.extend(scan_serial(share, sizes) if result is None else result)
    return out


def _in_worker(paths: Sequence[str], sizes: bool) -> list[Scanned | None] | None:
    """One worker process's answer for ``paths``; ``None`` if it could not give one."""
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "vmail.mailstore.scan"],
            input=marshal.dumps((sizes, list(paths))),
            capture_output=True,
            timeout=WORKER_TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0:
        return None
    try:
        result = marshal.loads(proc.stdout)
    except (EOFError, ValueError, TypeError):
        return None
    if not isinstance(result, list) or len(result) != len(paths):
        return None
    return result


def main() -> None:
    """The worker: ``marshal`` (sizes, paths) on stdin, a list of results on stdout."""
    sizes, paths = marshal.loads(sys.stdin.buffer.read())
    sys.stdout.buffer.write(marshal.dumps(scan_serial(paths, sizes)))


if __name__ == "__main__":
    main()


__all__ = ["ENVELOPE_READ", "Scanned", "scan_file", "scan_files", "scan_serial"]
