"""``notice`` status records: what the bounce service already queued for a message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.unit.queue.helpers import envelope, queue
from vmail.queue import Spool
from vmail.queue.file import STATUS, CorruptQueueFileError, StatusUpdate, notice_record, record
from vmail.queue.spool import INCOMING


def test_notice_records_survive_a_reload_and_change_no_state(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "q").create()
    qid = queue(spool, envelope("a@x.test", "b@x.test", "c@x.test"))
    qf = spool.load(INCOMING, qid)
    qf.append([StatusUpdate((0, 1), "bounced", "5.1.1", "unknown", time=5.0)])
    qf.append([notice_record("bounce", [0, 1], "NEWID", 6.0)])
    assert qf.notified("bounce") == {0, 1}
    again = spool.load(INCOMING, qid)
    assert again.notified("bounce") == {0, 1}
    assert again.notified("delay") == set()
    assert [s.status for s in again.states] == ["bounced", "bounced", "pending"]
    assert again.status_records[-1] == {
        "t": 6.0,
        "op": "notice",
        "kind": "bounce",
        "rcpt": [0, 1],
        "id": "NEWID",
    }


def test_files_without_notice_records_load_as_before(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "q").create()
    qid = queue(spool)
    assert spool.load(INCOMING, qid).notified("bounce") == set()


@pytest.mark.parametrize(
    "bad",
    [
        {"t": 1.0, "op": "notice", "kind": "other", "rcpt": [0]},
        {"t": 1.0, "op": "notice", "kind": "delay", "rcpt": [5]},
        {"t": 1.0, "op": "notice", "kind": "delay", "rcpt": "0"},
    ],
)
def test_bad_notice_records_make_the_file_corrupt(tmp_path: Path, bad: dict[str, object]) -> None:
    spool = Spool(tmp_path / "q").create()
    qid = queue(spool)
    with open(spool.path(INCOMING, qid), "ab") as f:
        f.write(record(STATUS, json.dumps(bad).encode()))
        f.write(record(STATUS, b'{"t": 2.0, "op": "flush"}'))
    with pytest.raises(CorruptQueueFileError, match="notice record"):
        spool.load(INCOMING, qid)
