"""pid_alive and Dovecot-format dotlocks (``<pid>:<hostname>``)."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from vmail.core.processes import (
    dotlock_content,
    dotlock_owner_gone,
    pid_alive,
    remove_stale_dotlock,
)


def _dead_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_pid_alive() -> None:
    assert pid_alive(os.getpid())
    assert pid_alive(1)  # another user's process (init) exists too
    assert not pid_alive(_dead_pid())
    assert not pid_alive(0)
    assert not pid_alive(-1)


def test_dotlock_owner_gone(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_bytes(dotlock_content())
    assert lock.read_bytes() == f"{os.getpid()}:{socket.gethostname()}".encode()
    assert not dotlock_owner_gone(lock)  # ours, alive
    lock.write_bytes(f"{_dead_pid()}:{socket.gethostname()}".encode())
    assert dotlock_owner_gone(lock)
    for unknowable in (f"{_dead_pid()}:elsewhere.example", "junk", "12\xff:x"):
        lock.write_bytes(unknowable.encode("latin-1"))
        assert not dotlock_owner_gone(lock), unknowable
    assert not dotlock_owner_gone(tmp_path / "missing")


def test_remove_stale_dotlock(tmp_path: Path) -> None:
    lock = tmp_path / "lock"
    lock.write_bytes(dotlock_content())
    remove_stale_dotlock(lock, 60)
    assert lock.exists()  # young, owner alive
    lock.write_bytes(f"{_dead_pid()}:{socket.gethostname()}".encode())
    remove_stale_dotlock(lock, 60)
    assert not lock.exists()  # young, but its owner is gone
    lock.write_bytes(dotlock_content())
    os.utime(lock, (time.time() - 120, time.time() - 120))
    remove_stale_dotlock(lock, 60)
    assert not lock.exists()  # owner alive, but older than stale_after
    remove_stale_dotlock(lock, 60)  # no lock at all: nothing to do
