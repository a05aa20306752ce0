"""Crash windows of a commit, full disks, and the start-up recovery scan."""

from __future__ import annotations

import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmail.core.errors import TemporaryError
from vmail.queue import Spool, StatusUpdate
from vmail.queue.envelope import DELIVERED, PENDING
from vmail.queue.file import COMMIT_STEPS, MAGIC, TEMP_PREFIX, FaultHook
from vmail.queue.recovery import recover
from vmail.queue.spool import ACTIVE, CORRUPT, DEFERRED, HOLD, INCOMING

from .helpers import CONTENT, envelope, queue, spool_at


class SimulatedCrash(BaseException):
    """Stands for the process dying: no cleanup code runs (not an Exception)."""


def _write(spool: Spool, chunks: list[bytes], fault: FaultHook | None = None) -> str:
    with spool.writer(envelope("new@example.net"), fault=fault) as w:
        for chunk in chunks:
            w.write(chunk)
        return w.commit()


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid  # reaped: no process has this pid now (barring a reuse in µs)


def _writer_died(spool: Spool) -> None:
    """What the kernel leaves of a crashed writer: its temporary files under its dead pid."""
    dead = _dead_pid()
    for path in spool.temp_files():
        random = path.name.split(".")[-1]
        path.rename(path.with_name(f"{TEMP_PREFIX}{dead}.{random}"))


def _crash_at(step: str) -> FaultHook:
    def fault(name: str) -> None:
        if name == step:
            raise SimulatedCrash(step)

    return fault


@pytest.mark.parametrize("step", COMMIT_STEPS)
def test_crash_at_every_commit_step(tmp_path: Path, step: str) -> None:
    spool = spool_at(tmp_path)
    acknowledged = queue(spool)  # an earlier message that was answered 250
    with pytest.raises(SimulatedCrash):  # commit never returns: SMTP never says 250
        _write(spool, [CONTENT], _crash_at(step))
    _writer_died(spool)
    report = recover(spool)
    ids = spool.ids(INCOMING)
    assert acknowledged in ids  # nothing acknowledged is lost
    assert spool.temp_files() == []
    assert spool.ids(CORRUPT) == []
    if COMMIT_STEPS.index(step) < COMMIT_STEPS.index("link"):
        # before the link nothing but a temporary file exists: nothing will be delivered
        assert ids == [acknowledged]
        assert report.removed_temp
    else:
        # after the link the message is complete and valid; if it survives the crash it
        # is delivered although the client was not told (RFC 1047's duplicate window)
        assert len(ids) == 2
        new = next(i for i in ids if i != acknowledged)
        entry = spool.load(INCOMING, new, verify_content=True)
        assert entry.read_content() == CONTENT


def test_recovery_leaves_the_files_of_live_writers(tmp_path: Path) -> None:
    # the queue manager recovers while SMTP sessions and sendmail already write
    spool = spool_at(tmp_path)
    with spool.writer(envelope("new@example.net")) as writer:
        writer.write(CONTENT)
        assert recover(spool).removed_temp == []
        queue_id = writer.commit()
    assert spool.ids(INCOMING) == [queue_id]


def test_recovery_removes_a_temporary_file_left_for_a_day(tmp_path: Path) -> None:
    # its writer's pid was reused by a live process: the age gives it away
    spool = spool_at(tmp_path)
    path = spool.queue_dir(INCOMING) / f"{TEMP_PREFIX}1.0123456789abcdef"
    path.write_bytes(MAGIC)
    os.utime(path, (1, 1))
    assert recover(spool).removed_temp == [path.name]
    assert spool.temp_files() == []


@pytest.mark.parametrize("length", [0, 5, len(MAGIC) + 10, len(MAGIC) + 28 + 10])
def test_crash_with_a_half_written_file_under_a_final_name(tmp_path: Path, length: int) -> None:
    # cannot happen with link-after-fsync, but a disk/file system may still produce it
    spool = spool_at(tmp_path)
    qid = queue(spool)
    path = spool.path(INCOMING, qid)
    os.truncate(path, length)
    report = recover(spool)
    assert report.corrupt == [qid]
    assert spool.ids(INCOMING) == []
    assert spool.ids(CORRUPT) == [qid]


def test_recovery_requeues_active_and_keeps_states(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool, envelope("a@x", "b@x"))
    spool.move(qid, INCOMING, ACTIVE)
    spool.load(ACTIVE, qid).append([StatusUpdate((0,), DELIVERED, "2.0.0", "ok")])
    held = queue(spool)
    spool.move(held, INCOMING, HOLD)
    deferred = queue(spool)
    spool.move(deferred, INCOMING, DEFERRED)
    (spool.queue_dir(DEFERRED) / "junk").write_text("x")
    report = recover(spool)
    assert report.requeued_active == [qid]
    assert report.corrupt == ["junk"]
    assert report.messages == 3
    assert spool.ids(ACTIVE) == []
    assert spool.ids(HOLD) == [held]
    assert spool.ids(DEFERRED) == [deferred]
    states = spool.load(INCOMING, qid).states
    assert [s.status for s in states] == [DELIVERED, PENDING]
    assert recover(spool).messages == 3  # idempotent


def test_recovery_cuts_torn_status_tail(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool)
    path = spool.path(INCOMING, qid)
    spool.load(INCOMING, qid).append([StatusUpdate((0,), DELIVERED, "2.0.0", "ok")])
    os.truncate(path, path.stat().st_size - 3)  # the append's fsync never happened
    size = path.stat().st_size
    report = recover(spool)
    assert report.repaired == [qid]
    assert path.stat().st_size < size
    assert spool.load(INCOMING, qid).states[0].status == PENDING  # will be redelivered


# ----------------------------------------------------------------------------- ENOSPC


def _no_space_after(limit: int, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    written = 0

    def write(fd: int, data: bytes | memoryview) -> int:
        nonlocal written
        if written + len(data) > limit:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        written += len(data)
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("limit", [0, 100, 5000])
def test_enospc_is_a_clear_temporary_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int
) -> None:
    spool = spool_at(tmp_path)
    _no_space_after(limit, monkeypatch)
    with pytest.raises(TemporaryError) as info:
        _write(spool, [b"x" * 1000] * 10)
    assert str(info.value.reply) == "452 4.3.1 Insufficient system storage"
    assert os.listdir(spool.queue_dir(INCOMING)) == []


def test_other_write_errors_are_451(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spool = spool_at(tmp_path)

    def fail(fd: int) -> None:
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "fsync", fail)
    with pytest.raises(TemporaryError) as info:
        _write(spool, [CONTENT])
    assert str(info.value.reply) == "451 4.3.0 Error: queue file write error"
    assert os.listdir(spool.queue_dir(INCOMING)) == []


def test_failed_status_append_leaves_no_torn_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool)
    entry = spool.load(INCOMING, qid)
    size = entry.path.stat().st_size
    _no_space_after(10, monkeypatch)
    with pytest.raises(TemporaryError):
        entry.append([StatusUpdate((0,), DELIVERED, "2.0.0", "x" * 100)])
    monkeypatch.undo()
    assert entry.path.stat().st_size == size
    assert not spool.load(INCOMING, qid).torn_tail


@pytest.fixture
def tiny_tmpfs(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "tiny"
    mount.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs: {done.stderr.decode().strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_real_full_disk(tiny_tmpfs: Path) -> None:
    spool = Spool(tiny_tmpfs / "spool").create()
    small = queue(spool)
    with pytest.raises(TemporaryError) as info:
        _write(spool, [b"y" * 4096] * 200)  # 800 KB into 64 KB
    assert info.value.reply.code == 452
    assert sorted(os.listdir(spool.queue_dir(INCOMING))) == [small]
    assert queue(spool)  # space is back once the partial file is gone


def test_a_write_error_is_logged_with_its_cause(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def fault(step: str) -> None:
        if step == "fsync":
            raise OSError(errno.EIO, "Input/output error")

    spool = spool_at(tmp_path)
    with pytest.raises(TemporaryError) as raised:
        _write(spool, [CONTENT], fault)
    assert raised.value.reply.code == 451
    assert "queue file write error: Input/output error" in caplog.text
    assert spool.temp_files() == []  # nothing left behind
