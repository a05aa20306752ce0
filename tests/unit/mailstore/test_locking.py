"""Dotlocks: exclusive, Dovecot content, timeouts, stale overriding, safe release."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from vmail.mailstore.errors import LockTimeoutError, MailstoreError
from vmail.mailstore.locking import dotlock


def test_lock_content_and_release(tmp_path: Path) -> None:
    lock = tmp_path / "dovecot-uidlist.lock"
    with dotlock(lock):
        assert lock.read_text() == f"{os.getpid()}:{socket.gethostname()}"
    assert not lock.exists()


def test_held_lock_times_out(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with dotlock(lock):
        start = time.monotonic()
        with pytest.raises(LockTimeoutError, match=r"x\.lock"), dotlock(lock, timeout=0.2):
            pass
        assert time.monotonic() - start < 2
    assert isinstance(LockTimeoutError("x"), MailstoreError)


def test_waiter_gets_lock_after_release(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    order: list[str] = []
    ready = threading.Event()

    def holder() -> None:
        with dotlock(lock):
            ready.set()
            time.sleep(0.2)
            order.append("holder")

    thread = threading.Thread(target=holder)
    thread.start()
    ready.wait()
    with dotlock(lock, timeout=5):
        order.append("waiter")
    thread.join()
    assert order == ["holder", "waiter"]


def test_old_lock_is_stale(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("1:otherhost")
    old = time.time() - 200
    os.utime(lock, (old, old))
    with dotlock(lock, timeout=1, stale_after=120):
        assert lock.read_text().startswith(f"{os.getpid()}:")


def test_lock_of_dead_local_process_is_stale(tmp_path: Path) -> None:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    lock = tmp_path / "x.lock"
    lock.write_text(f"{child.stdout.strip()}:{socket.gethostname()}")
    with dotlock(lock, timeout=1):
        pass


def test_fresh_foreign_lock_is_respected(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    lock.write_text("1:otherhost")
    with pytest.raises(LockTimeoutError), dotlock(lock, timeout=0.1):
        pass
    assert lock.read_text() == "1:otherhost"


def test_release_does_not_remove_someone_elses_lock(tmp_path: Path) -> None:
    lock = tmp_path / "x.lock"
    with dotlock(lock):
        lock.unlink()  # overridden as stale by another process, which now holds it
        lock.write_text("1:otherhost")
    assert lock.read_text() == "1:otherhost"


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with (
        pytest.raises(MailstoreError, match="cannot create lock"),
        dotlock(tmp_path / "nope" / "x.lock", timeout=0.1),
    ):
        pass
