"""The queue file format: round trips, status appends, torn tails and corruption."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from vmail.queue import Envelope, QueueFile, Recipient, StatusUpdate
from vmail.queue.envelope import BOUNCED, DEFERRED, DELIVERED, PENDING
from vmail.queue.file import MAGIC, CorruptQueueFileError
from vmail.queue.spool import CORRUPT, INCOMING, QueueNotFoundError

from .helpers import CONTENT, envelope, queue, spool_at


def test_round_trip(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    env = Envelope(
        sender="",
        recipients=(
            Recipient("bob@example.net", "team@example.com", ("SUCCESS", "DELAY"), "rfc822;x@y"),
            Recipient("j\u00f6rg@example.net"),
        ),
        arrival_time=12.5,
        client={"address": "2001:db8::1", "port": "4711"},
        envid="abc+2B",
        ret="FULL",
        attributes={"smtputf8": "yes"},
    )
    qid = queue(spool, env, b"a" * 100_000)
    entry = spool.load(INCOMING, qid, verify_content=True)
    assert entry.envelope == env
    assert entry.message_size == 100_000
    assert entry.read_content() == b"a" * 100_000
    assert [s.status for s in entry.states] == [PENDING, PENDING]
    assert entry.queue_id == qid


def test_streams_in_chunks(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    with spool.writer(envelope()) as w:
        for i in range(100):
            w.write(bytes([65 + i % 26]) * 10_000)
        qid = w.commit()
    entry = spool.load(INCOMING, qid)
    chunks = list(entry.content_chunks(4096))
    assert sum(map(len, chunks)) == 1_000_000
    assert max(map(len, chunks)) == 4096


def test_status_updates_persist_and_apply_in_order(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool, envelope("a@x", "b@x", "c@x"))
    entry = spool.load(INCOMING, qid)
    entry.append([StatusUpdate((0,), DELIVERED, "2.0.0", "ok", "virtual", time=5)])
    entry.append([StatusUpdate((1, 2), DEFERRED, "4.4.1", "refused", next_attempt=99, time=6)])
    entry.append([StatusUpdate((2,), BOUNCED, "5.1.1", "unknown user", time=7)])
    again = spool.load(INCOMING, qid)
    assert [s.status for s in again.states] == [DELIVERED, DEFERRED, BOUNCED]
    assert again.states[1].reason == "refused"
    assert again.states[1].next_attempt == 99
    assert again.pending == [1]
    again.append([{"t": 8, "op": "flush"}])
    assert spool.load(INCOMING, qid).states[1].next_attempt == 0
    again.append([{"t": 9, "op": "requeue"}])
    final = spool.load(INCOMING, qid)
    assert [s.status for s in final.states] == [DELIVERED, PENDING, BOUNCED]
    assert final.states[1].reason == ""


def test_appenders_see_each_other(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool, envelope(*(f"r{i}@x" for i in range(40))))
    one, two = spool.load(INCOMING, qid), spool.load(INCOMING, qid)

    def deliver(entry: QueueFile, indexes: range) -> None:
        for i in indexes:
            entry.append([StatusUpdate((i,), DELIVERED, "2.0.0", "ok")])

    threads = [
        threading.Thread(target=deliver, args=(one, range(0, 40, 2))),
        threading.Thread(target=deliver, args=(two, range(1, 40, 2))),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert spool.load(INCOMING, qid).pending == []
    assert len(spool.load(INCOMING, qid).status_records) == 40


def test_torn_status_tail_is_ignored_then_cut(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool)
    entry = spool.load(INCOMING, qid)
    entry.append([StatusUpdate((0,), DEFERRED, "4.4.1", "first", time=1)])
    size = entry.path.stat().st_size
    entry.append([StatusUpdate((0,), DELIVERED, "2.0.0", "second", time=2)])
    full = entry.path.stat().st_size
    for cut in (size + 1, size + 20, full - 1):
        os.truncate(entry.path, cut)
        torn = spool.load(INCOMING, qid)
        assert torn.torn_tail
        assert torn.states[0].reason == "first"
        torn.append([StatusUpdate((0,), DELIVERED, "2.0.0", "third", time=3)])
        repaired = spool.load(INCOMING, qid)
        assert not repaired.torn_tail
        assert repaired.states[0].reason == "third"
        os.truncate(entry.path, size)
    with open(entry.path, "ab") as f:  # a crash after the file grew but before data landed
        f.write(b"\0" * 100)
    assert spool.load(INCOMING, qid).torn_tail


def _damage(path: Path, offset: int, data: bytes) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(data)


@pytest.mark.parametrize(
    "how",
    ["empty", "magic", "version", "content-crc", "truncated-content", "envelope", "no-envelope",
     "mid-status", "bad-json-status", "unknown-record"],
)  # fmt: skip
def test_corrupt_files_go_to_corrupt(tmp_path: Path, how: str) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool)
    path = spool.path(INCOMING, qid)
    size = path.stat().st_size
    content_at = len(MAGIC) + 28
    envelope_at = content_at + len(CONTENT) + 1
    if how == "empty":
        path.write_bytes(b"")
    elif how == "magic":
        _damage(path, 0, b"X")
    elif how == "version":
        _damage(path, 0, b"VMAILQ9")
    elif how == "content-crc":
        _damage(path, content_at + 3, b"#")
    elif how == "truncated-content":
        os.truncate(path, content_at + 5)
    elif how == "envelope":
        _damage(path, envelope_at + 30, b"#")
    elif how == "no-envelope":
        os.truncate(path, envelope_at)
    elif how == "mid-status":
        entry = spool.load(INCOMING, qid)
        entry.append([StatusUpdate((0,), DEFERRED, "4.4.1", "one")])
        entry.append([StatusUpdate((0,), DEFERRED, "4.4.1", "two")])
        _damage(path, size + 40, b"#")
    elif how == "bad-json-status":
        with open(path, "ab") as f:
            f.write(b"S %016x %08x\n{}\n" % (2, 0x58A5D7B5))  # crc32(b"{}")
    elif how == "unknown-record":
        with open(path, "ab") as f:
            f.write(b"Q %016x %08x\n\n" % (0, 0))
    with pytest.raises(CorruptQueueFileError):
        spool.load(INCOMING, qid, verify_content=True)
    assert spool.ids(INCOMING) == []
    assert spool.ids(CORRUPT) == [qid]


def test_content_checksum_checked_while_reading(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    qid = queue(spool)
    entry = spool.load(INCOMING, qid)  # without verify_content: envelope only
    _damage(entry.path, len(MAGIC) + 28, b"#")
    with pytest.raises(CorruptQueueFileError):
        entry.read_content()


def test_missing_file(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    with pytest.raises(QueueNotFoundError):
        spool.load(INCOMING, "4jbQrC6PdLzJC10")
