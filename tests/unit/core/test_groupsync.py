"""Group commit of directory fsyncs: sharing, ordering, errors (real files, real threads)."""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from vmail.core import groupsync
from vmail.core.groupsync import GroupSync


def test_single_caller_runs_one_fsync(tmp_path: Path) -> None:
    sync = GroupSync()
    sync.sync_path(tmp_path)
    sync.sync_path(tmp_path)
    assert sync.fsyncs == 2  # sequential callers each need a fresh fsync
    assert sync._dirs == {}  # idle directories are forgotten


def test_concurrent_callers_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sync = GroupSync()
    real_fsync = os.fsync
    first_started = threading.Event()
    release = threading.Event()
    calls = 0

    def slow_fsync(fd: int) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            first_started.set()
            release.wait(5)
        real_fsync(fd)

    monkeypatch.setattr(groupsync.os, "fsync", slow_fsync)
    leader = threading.Thread(target=sync.sync_path, args=(tmp_path,))
    leader.start()
    assert first_started.wait(5)
    # these arrive while fsync 1 runs: it started before their operations, so they need
    # one more fsync, and one is enough for all of them
    followers = [threading.Thread(target=sync.sync_path, args=(tmp_path,)) for _ in range(8)]
    for thread in followers:
        thread.start()
    while sum(s.users for s in sync._dirs.values()) < 9:
        threading.Event().wait(0.001)
    release.set()
    for thread in [leader, *followers]:
        thread.join(5)
    assert sync.fsyncs == 2


def test_waiter_never_relies_on_an_fsync_that_started_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sync = GroupSync()
    order: list[str] = []
    started = threading.Event()
    release = threading.Event()

    def fsync(fd: int) -> None:
        order.append("fsync-start")
        if len(order) == 1:
            started.set()
            release.wait(5)

    monkeypatch.setattr(groupsync.os, "fsync", fsync)
    leader = threading.Thread(target=sync.sync_path, args=(tmp_path,))
    leader.start()
    assert started.wait(5)

    def late() -> None:
        order.append("late-op")
        sync.sync_path(tmp_path)
        order.append("late-done")

    follower = threading.Thread(target=late)
    follower.start()
    while sum(s.users for s in sync._dirs.values()) < 2:
        threading.Event().wait(0.001)
    release.set()
    leader.join(5)
    follower.join(5)
    assert order == ["fsync-start", "late-op", "fsync-start", "late-done"]


def test_directories_are_separate(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    sync = GroupSync()
    fd = os.open(tmp_path / "a", os.O_RDONLY | os.O_DIRECTORY)
    try:
        sync.sync(fd)
    finally:
        os.close(fd)
    sync.sync_path(tmp_path / "b")
    assert sync.fsyncs == 2


def test_failed_fsync_is_raised_to_everyone_relying_on_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(groupsync.os, "fsync", broken)
    sync = GroupSync()
    with pytest.raises(OSError, match="Input/output error") as e:
        sync.sync_path(tmp_path)
    assert e.value.errno == errno.EIO
    assert sync._dirs == {}


def test_sync_dir_uses_the_shared_instance(tmp_path: Path) -> None:
    before = groupsync.DEFAULT.fsyncs
    groupsync.sync_dir(tmp_path)
    assert groupsync.DEFAULT.fsyncs == before + 1
