"""Spare queue files: finished messages' files reused by new ones, bounded and safe."""

from __future__ import annotations

import os
import threading
from pathlib import Path

from vmail.queue.spare import MAX_SIZE, RECOUNT, SparePool
from vmail.queue.spool import ACTIVE, INCOMING, SPARE

from .helpers import CONTENT, envelope, queue, spool_at


def test_a_finished_file_is_emptied_and_its_inode_reused(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    first = queue(spool)
    spool.move(first, INCOMING, ACTIVE)
    inode = spool.path(ACTIVE, first).stat().st_ino
    assert spool.retire(ACTIVE, first, 1000)
    assert spool.find(first) is None
    spare = spool.root / SPARE / first
    assert spare.stat().st_size == 0  # the content went with the message
    spool.spares._listed = float("-inf")  # the pool was listed empty a moment ago
    second = queue(spool, envelope("carol@example.net"), b"x" * 10)
    assert not spare.exists()
    loaded = spool.load(INCOMING, second, verify_content=True)
    assert loaded.read_content() == b"x" * 10
    assert loaded.envelope.recipients[0].address == "carol@example.net"
    assert spool.path(INCOMING, second).stat().st_ino == inode
    assert spool.path(INCOMING, second).stat().st_mode & 0o777 == 0o600


def test_a_spare_taken_before_it_was_emptied_holds_only_the_new_message(
    tmp_path: Path,
) -> None:
    # a crash between the retire's rename and its truncate leaves a whole old file
    spool = spool_at(tmp_path)
    (spool.root / SPARE / "stale").write_bytes(b"old content " * 1000)
    qid = queue(spool)
    assert spool.load(INCOMING, qid, verify_content=True).read_content() == CONTENT
    assert os.listdir(spool.root / SPARE) == []


def test_without_spares_a_file_is_created(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool)
    assert spool.load(INCOMING, qid).read_content() == CONTENT
    assert not any(n.startswith(".tmp.") for n in os.listdir(spool.root / INCOMING))


def test_large_files_and_a_full_pool_are_unlinked(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    spool.spares = SparePool(spool.root / SPARE, limit=2)
    ids = [queue(spool) for _ in range(5)]
    gone = ids.pop()
    spool.remove(INCOMING, gone)
    assert not spool.retire(INCOMING, gone, 10)  # not there (and not counted as kept)
    assert spool.retire(INCOMING, ids[0], MAX_SIZE + 1)  # removed, not kept
    for qid in ids[1:]:
        assert spool.retire(INCOMING, qid, 100)
    assert spool.ids(INCOMING) == []
    assert len(os.listdir(spool.root / SPARE)) == 2


def test_the_pool_is_recounted_so_other_processes_takes_make_room(tmp_path: Path) -> None:
    directory = tmp_path / "spare"
    directory.mkdir()
    pool = SparePool(directory, limit=1)
    for n in range(RECOUNT + 1):
        (tmp_path / f"f{n}").write_bytes(b"x")
    assert pool.retire(str(tmp_path / "f0"), "a", 1)
    assert not pool.retire(str(tmp_path / "f1"), "b", 1)  # full
    os.unlink(directory / "a")  # taken by another process
    for n in range(2, RECOUNT + 1):
        pool.retire(str(tmp_path / f"f{n}"), f"n{n}", 1)
    assert len(os.listdir(directory)) == 1  # counted again after RECOUNT retires


def test_concurrent_writers_never_share_a_spare(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    for n in range(20):
        (spool.root / SPARE / f"s{n}").write_bytes(b"")
    ids: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        qid = queue(spool, envelope(f"r{n}@example.net"), f"message {n}".encode())
        with lock:
            ids.append(qid)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    contents = {spool.load(INCOMING, qid).read_content() for qid in ids}
    assert contents == {f"message {n}".encode() for n in range(40)}
    inodes = {spool.path(INCOMING, qid).stat().st_ino for qid in ids}
    assert len(inodes) == 40


def test_a_pool_found_empty_is_not_listed_again_at_once(tmp_path: Path) -> None:
    directory = tmp_path / "spare"
    directory.mkdir()
    pool = SparePool(directory)
    assert not pool.take(str(tmp_path / "t1"))
    (directory / "late").write_bytes(b"")
    assert not pool.take(str(tmp_path / "t2"))  # within RELIST_S of the empty listing
    pool._listed = float("-inf")
    assert pool.take(str(tmp_path / "t3"))
    assert (tmp_path / "t3").exists()
