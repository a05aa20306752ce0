"""The POP3 session lock file, compatible with Dovecot's dotlock."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from vmail.servers.pop3d.lock import LOCK_NAME, SessionLock, SessionLockError


def test_acquire_and_release(tmp_path: Path) -> None:
    first, second = SessionLock(tmp_path), SessionLock(tmp_path)
    assert first.acquire(0)
    assert first.held
    content = (tmp_path / LOCK_NAME).read_text()
    assert content == f"{os.getpid()}:{socket.gethostname()}"
    assert not second.acquire(0.1)
    first.release()
    assert not (tmp_path / LOCK_NAME).exists()
    assert second.acquire(0)
    second.release()


def test_release_leaves_a_lock_that_is_not_ours(tmp_path: Path) -> None:
    lock = SessionLock(tmp_path)
    assert lock.acquire(0)
    (tmp_path / LOCK_NAME).unlink()
    (tmp_path / LOCK_NAME).write_text("1:elsewhere")  # someone broke ours and took it
    lock.release()
    assert (tmp_path / LOCK_NAME).read_text() == "1:elsewhere"


def test_stale_locks_are_broken(tmp_path: Path) -> None:
    path = tmp_path / LOCK_NAME
    path.write_text(f"999999999:{socket.gethostname()}")  # a dead process on this host
    assert SessionLock(tmp_path).acquire(0.5)
    path.unlink()
    path.write_text("1:other-host")
    old = time.time() - 400
    os.utime(path, (old, old))  # untouched for longer than Dovecot's 5 minutes
    assert SessionLock(tmp_path).acquire(0.5)


def test_live_foreign_lock_is_respected(tmp_path: Path) -> None:
    (tmp_path / LOCK_NAME).write_text("1:other-host")
    assert not SessionLock(tmp_path).acquire(0.1)


def test_touch_keeps_it_fresh(tmp_path: Path) -> None:
    lock = SessionLock(tmp_path)
    assert lock.acquire(0)
    before = (tmp_path / LOCK_NAME).stat().st_mtime_ns
    lock.touch()  # just taken: nothing to do
    assert (tmp_path / LOCK_NAME).stat().st_mtime_ns == before
    time.sleep(0.01)
    lock._touched = 0.0  # as if the last touch was long ago
    lock.touch()
    assert (tmp_path / LOCK_NAME).stat().st_mtime_ns > before
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SessionLockError, match="cannot create lock"):
        SessionLock(tmp_path / "missing").acquire(0)
