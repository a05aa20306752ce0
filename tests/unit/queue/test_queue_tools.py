"""vmail.queue.tools, show and history: the queue operations the CLI, web UI and API share
(the CLI's exact output is tested in test_tools.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.queue.helpers import envelope, queue, spool_at
from vmail.queue import StatusUpdate
from vmail.queue.envelope import DEFERRED as STATUS_DEFERRED
from vmail.queue.envelope import DELIVERED
from vmail.queue.history import DeliveryHistory, DeliveryRecord
from vmail.queue.show import message_text
from vmail.queue.spool import ACTIVE, CORRUPT, DEFERRED, HOLD, INCOMING, QueueNotFoundError, Spool
from vmail.queue.tools import (
    DELETE,
    HOLD_OP,
    RELEASE,
    REQUEUE,
    InvalidQueueIdError,
    apply,
    flush,
    flush_all,
    list_queue,
    locate,
    queue_sizes,
)


@pytest.fixture
def spool(tmp_path: Path) -> Spool:
    return spool_at(tmp_path)


def test_list_filters_by_queue_and_text(spool: Spool) -> None:
    a = queue(spool, envelope("bob@example.net", "done@example.net"))
    b = queue(spool, envelope("carol@other.example", sender=""))
    spool.move(b, INCOMING, DEFERRED)
    qf = spool.load(DEFERRED, b)
    qf.append([StatusUpdate((0,), STATUS_DEFERRED, "4.4.1", "Connection refused")])
    spool.load(INCOMING, a).append([StatusUpdate((1,), DELIVERED, "2.0.0", "ok")])
    entries = list(list_queue(spool))
    assert [(e.queue, e.queue_id) for e in entries] == [(INCOMING, a), (DEFERRED, b)]
    assert [r.address for r in entries[0].recipients] == ["bob@example.net"]  # done left out
    assert entries[1].sender == "MAILER-DAEMON"
    assert entries[1].recipients[0].reason == "Connection refused"
    assert [e.queue_id for e in list_queue(spool, (DEFERRED,))] == [b]
    assert [e.queue_id for e in list_queue(spool, text="REFUSED")] == [b]
    assert [e.queue_id for e in list_queue(spool, text=a)] == [a]
    assert list(list_queue(spool, text="nobody")) == []
    assert entries[1].to_json()["recipients"] == [
        {"address": "carol@other.example", "delay_reason": "Connection refused"}
    ]
    assert queue_sizes(spool) == {INCOMING: 1, ACTIVE: 0, DEFERRED: 1, HOLD: 0}


def test_corrupt_file_is_reported_not_moved(spool: Spool) -> None:
    qid = queue(spool)
    path = spool.path(INCOMING, qid)
    path.write_bytes(b"garbage")
    seen: list[str] = []
    assert list(list_queue(spool, on_corrupt=lambda i, reason: seen.append(i))) == []
    assert seen == [qid]
    assert path.exists()
    assert spool.ids(CORRUPT) == []


def test_locate_refuses_bad_ids(spool: Spool) -> None:
    qid = queue(spool)
    assert locate(spool, qid) == INCOMING
    for bad in ("../../etc/passwd", "", "x" * 300, qid + "/"):
        with pytest.raises(InvalidQueueIdError):
            locate(spool, bad)
    spool.remove(INCOMING, qid)
    with pytest.raises(QueueNotFoundError):
        locate(spool, qid)


def test_operations(spool: Spool) -> None:
    qid = queue(spool)
    assert apply(spool, HOLD_OP, qid)
    assert locate(spool, qid) == HOLD
    assert not apply(spool, HOLD_OP, qid)  # already on hold
    assert apply(spool, RELEASE, qid)
    assert locate(spool, qid) == DEFERRED
    assert not apply(spool, RELEASE, qid)
    assert flush(spool, qid)
    assert locate(spool, qid) == INCOMING
    assert not flush(spool, qid)  # not deferred
    spool.move(qid, INCOMING, DEFERRED)
    assert flush_all(spool) == 1
    assert apply(spool, REQUEUE, qid, (INCOMING,))
    ops = [r.get("op") for r in spool.load(INCOMING, qid).status_records]
    assert ops == ["flush", "flush", "requeue"]
    assert not apply(spool, DELETE, qid, (HOLD,))  # limited to another queue
    assert apply(spool, DELETE, qid)
    assert spool.find(qid) is None


def test_message_text_is_capped(spool: Spool) -> None:
    qid = queue(spool, content=b"Subject: hi\r\n\r\n" + b"\xffline\r\n" * 100)
    shown = message_text(spool.load(INCOMING, qid), limit=40)
    assert shown.truncated
    assert shown.content.startswith("Subject: hi\n\n\ufffdline\n")
    assert len(shown.content.encode()) <= 60
    assert any(line.startswith("sender: alice@example.com") for line in shown.envelope)
    whole = message_text(spool.load(INCOMING, qid))
    assert not whole.truncated
    assert whole.content.count("line") == 100


def test_history_is_bounded_and_filtered(tmp_path: Path) -> None:
    history = DeliveryHistory(tmp_path, max_bytes=2000)
    assert history.recent() == []
    for n in range(40):
        domain = "a.example" if n % 2 else "b.example"
        status = "sent" if n % 3 else "deferred"
        history.append([DeliveryRecord(float(n), f"Q{n}", f"u{n}@{domain}", status, text="t")])
    newest = history.recent(5)
    assert [r.queue_id for r in newest] == ["Q39", "Q38", "Q37", "Q36", "Q35"]
    assert [r.queue_id for r in history.recent(2, domains=["A.example"])] == ["Q39", "Q37"]
    assert all(r.status == "deferred" for r in history.recent(50, statuses={"deferred"}))
    assert history.previous.exists()
    assert history.path.stat().st_size + history.previous.stat().st_size < 4500
    assert len(history.recent(1000)) < 40  # the oldest were dropped
    with history.path.open("a") as f:
        f.write("not json\n" + json.dumps({"time": "x"}) + "\n" + json.dumps([1]) + "\n")
    assert history.recent(1)[0].queue_id == "Q39"  # bad lines skipped
