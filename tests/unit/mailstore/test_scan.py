"""Reading many message files at once, in this thread or in worker processes."""

from __future__ import annotations

import marshal
import os
import subprocess
from pathlib import Path

import pytest

from vmail.mailstore import scan
from vmail.mailstore.message import crlf_size, envelope_summary, header_summary


def _message(n: int, eol: bytes = b"\n") -> bytes:
    lines = [b"From: Sender %d <s%d@example.org>" % (n, n), b"Subject: number %d" % n, b"", b"body"]
    return eol.join(lines) + eol


def _files(tmp_path: Path, count: int) -> list[str]:
    paths = []
    for n in range(count):
        path = tmp_path / f"m{n}"
        path.write_bytes(_message(n, b"\r\n" if n % 2 else b"\n"))
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
        paths.append(str(path))
    return paths


def test_scan_file_gives_date_crlf_size_envelope_and_subject(tmp_path: Path) -> None:
    (path,) = _files(tmp_path, 1)
    data = Path(path).read_bytes()
    mtime, size, envelope, subject = scan.scan_file(path, sizes=True)  # type: ignore[misc]
    assert mtime == 1_000_000
    assert size == crlf_size(data)
    assert marshal.loads(envelope) == envelope_summary(data)
    assert subject == header_summary(data)[1] == "number 0"
    assert scan.scan_file(path, sizes=False)[1] == -1  # type: ignore[index]


def test_a_vanished_file_is_none(tmp_path: Path) -> None:
    assert scan.scan_file(str(tmp_path / "gone"), sizes=True) is None


def test_a_header_longer_than_the_first_read_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "long"
    filler = b"".join(b"X-Filler-%d: %s\n" % (n, b"x" * 60) for n in range(2000))
    path.write_bytes(filler + b"Subject: at the end\n\nbody\n")
    assert path.stat().st_size > scan.ENVELOPE_READ
    got = scan.scan_file(str(path), sizes=False)
    assert got is not None
    assert got[3] == "at the end"


def test_many_files_are_read_by_workers_with_the_same_result(tmp_path: Path) -> None:
    paths = _files(tmp_path, 50)
    paths.insert(7, str(tmp_path / "vanished"))
    serial = scan.scan_serial(paths, sizes=True)
    assert serial[7] is None
    assert scan.scan_files(paths, sizes=True, workers=2, minimum=10) == serial
    assert scan.scan_files(paths, sizes=False, workers=3, minimum=10) == scan.scan_serial(
        paths, sizes=False
    )
    assert scan.scan_files(paths, sizes=True) == serial  # fewer than PARALLEL_MIN: here


def test_a_failing_worker_leaves_its_share_to_the_caller(tmp_path: Path) -> None:
    paths = _files(tmp_path, 20)
    (tmp_path / "adir").mkdir()
    paths.append(str(tmp_path / "adir"))  # the second worker fails on it: so does the caller
    with pytest.raises(IsADirectoryError):
        scan.scan_files(paths, sizes=True, workers=2, minimum=10)


@pytest.mark.parametrize("workers", [2, 3])
def test_chunks_cover_every_path_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(scan, "CHUNK", 7)
    paths = _files(tmp_path, 50)
    seen: list[int] = []
    for offset, results in scan.scan_chunks(paths, sizes=True, workers=workers, minimum=10):
        seen.extend(range(offset, offset + len(results)))
    assert sorted(seen) == list(range(50))


def test_a_worker_answering_nonsense_is_stopped_and_its_chunks_left_to_the_caller() -> None:
    child = subprocess.Popen(["sleep", "60"])  # stands for the forked worker
    read_fd, write_fd = os.pipe()
    frame = marshal.dumps((3, [None]))  # not the start of a chunk
    os.write(write_fd, len(frame).to_bytes(4, "big") + frame)
    os.close(write_fd)
    ready: scan._Ready = scan.queue.SimpleQueue()
    scan._read_answers(child.pid, read_fd, 10, ready)
    assert ready.get_nowait() == (0, None)  # done, with nothing passed on
    assert ready.empty()
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(child.pid, 0)
    child.poll()  # (Popen learns it is gone)
