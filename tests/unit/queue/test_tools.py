"""vmail postqueue / postsuper / postcat: golden output in Postfix 3.7's formats.

The expected listings were taken from a real Postfix 3.7 (``enable_long_queue_ids =
yes``) holding the same messages; only the queue IDs differ.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from vmail.cli.main import main
from vmail.queue import Envelope, Recipient, Spool, StatusUpdate
from vmail.queue.envelope import DEFERRED as STATUS_DEFERRED
from vmail.queue.envelope import DELIVERED
from vmail.queue.spool import ACTIVE, DEFERRED, HOLD, INCOMING

ARRIVAL = 1_795_766_555  # Fri Nov 27 08:02:35 2026 UTC
REFUSED = "connect to 127.0.0.1[127.0.0.1]:9: Connection refused"
LONG = (
    "this is a deliberately very long deferral reason text that goes well beyond the"
    " width of one line of mailq output, to see wrapping"
)


@pytest.fixture(autouse=True)
def utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    (tmp_path / "main.cf").write_text(f"queue_directory = {tmp_path / 'spool'}\n")
    return tmp_path


def _spool(config: Path) -> Spool:
    return Spool(config / "spool").create()


def _queue(spool: Spool, sender: str, rcpts: list[str], size: int, queue: str) -> str:
    env = Envelope(sender, tuple(Recipient(r, r) for r in rcpts), ARRIVAL)
    with spool.writer(env) as w:
        w.write(b"Subject: t\r\n\r\n" + b"x" * (size - 14))
        qid = w.commit()
    if queue != INCOMING:
        spool.move(qid, INCOMING, queue)
    return qid


def _defer(spool: Spool, queue: str, qid: str, rcpts: tuple[int, ...], reason: str) -> None:
    entry = spool.load(queue, qid)
    entry.append([StatusUpdate(rcpts, STATUS_DEFERRED, "4.4.1", reason, next_attempt=1e10)])


def _run(capsys: pytest.CaptureFixture[str], config: Path, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(main([argv[0], "-c", str(config), *argv[1:]]))
    out, err = capsys.readouterr()
    return int(exit_info.value.code or 0), out, err


def test_empty_queue(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    _spool(config)
    assert _run(capsys, config, "postqueue", "-p") == (0, "Mail queue is empty\n", "")
    assert _run(capsys, config, "postqueue", "-j") == (0, "", "")


def test_mailq_listing(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    spool = _spool(config)
    a = _queue(
        spool, "alice@example.com", ["bob@remote.example", "carol@remote.example"], 3301, DEFERRED
    )
    _defer(spool, DEFERRED, a, (0, 1), REFUSED)
    b = _queue(spool, "", ["dave@remote.example"], 316, ACTIVE)
    c = _queue(spool, "eve@example.com", ["frank@remote.example"], 320, HOLD)
    d = _queue(
        spool,
        "x@example.com",
        ["u1@a.example", "u2@b.example", "u3@c.example", "u4@a.example", "done@x"],
        261,
        DEFERRED,
    )
    _defer(spool, DEFERRED, d, (2,), LONG[:60])
    _defer(spool, DEFERRED, d, (1,), LONG)
    _defer(spool, DEFERRED, d, (0, 3), "short")
    spool.load(DEFERRED, d).append([StatusUpdate((4,), DELIVERED, "2.0.0", "ok")])
    code, out, err = _run(capsys, config, "postqueue", "-p")
    assert (code, err) == (0, "")
    assert (
        out
        == f"""\
----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------
{b}*       316 Fri Nov 27 08:02:35 MAILER-DAEMON
                                               dave@remote.example

{a}       3301 Fri Nov 27 08:02:35 alice@example.com
                       (connect to 127.0.0.1[127.0.0.1]:9: Connection refused)
                                               bob@remote.example
                                               carol@remote.example

{d}        261 Fri Nov 27 08:02:35 x@example.com
                (this is a deliberately very long deferral reason text that g)
                                               u3@c.example
({LONG})
                                               u2@b.example
                                                                       (short)
                                               u1@a.example
                                               u4@a.example

{c}!       320 Fri Nov 27 08:02:35 eve@example.com
                                               frank@remote.example

-- 4 Kbytes in 4 Requests.
"""
    )
    code, out, _ = _run(capsys, config, "postqueue", "-j")
    lines = out.splitlines()
    assert lines[1] == json.dumps(
        {
            "queue_name": "deferred",
            "queue_id": a,
            "arrival_time": ARRIVAL,
            "message_size": 3301,
            "forced_expire": False,
            "sender": "alice@example.com",
            "recipients": [
                {"address": "bob@remote.example", "delay_reason": REFUSED},
                {"address": "carol@remote.example", "delay_reason": REFUSED},
            ],
        }
    )
    assert [json.loads(line)["queue_name"] for line in lines] == [
        "active", "deferred", "deferred", "hold"
    ]  # fmt: skip
    assert json.loads(lines[0])["sender"] == "MAILER-DAEMON"
    assert len(json.loads(lines[2])["recipients"]) == 4  # the delivered one is not listed


def test_single_request_footer(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    _queue(_spool(config), "a@x", ["b@y"], 320, DEFERRED)
    assert _run(capsys, config, "postqueue", "-p")[1].endswith("\n-- 0 Kbytes in 1 Request.\n")


def test_flush(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    spool = _spool(config)
    qid = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    _defer(spool, DEFERRED, qid, (0,), REFUSED)
    assert _run(capsys, config, "postqueue", "-f") == (0, "", "")
    assert spool.ids(INCOMING) == [qid]
    state = spool.load(INCOMING, qid).states[0]
    assert (state.next_attempt, state.reason) == (0.0, REFUSED)


def test_flush_one(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    spool = _spool(config)
    qid = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    other = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    assert _run(capsys, config, "postqueue", "-i", qid) == (0, "", "")
    assert spool.ids(INCOMING) == [qid]
    assert spool.ids(DEFERRED) == [other]
    assert _run(capsys, config, "postqueue", "-i", "4jbQrC6PdLzJC10") == (0, "", "")
    assert _run(capsys, config, "postqueue", "-i", "../x") == (
        69,
        "",
        'postqueue: fatal: Cannot flush queue ID - invalid name: "../x"\n',
    )


def test_postsuper_delete(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    spool = _spool(config)
    a = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    b = _queue(spool, "a@x", ["b@y"], 100, HOLD)
    c = _queue(spool, "a@x", ["b@y"], 100, INCOMING)
    assert _run(capsys, config, "postsuper", "-d", a) == (
        0, "", f"postsuper: {a}: removed\npostsuper: Deleted: 1 message\n"
    )  # fmt: skip
    assert _run(capsys, config, "postsuper", "-d", "4jbQrC6PdLzJC10") == (
        0, "", "postsuper: Deleted: 0 messages\n"
    )  # fmt: skip
    assert _run(capsys, config, "postsuper", "-d", "../x") == (
        0, "", "postsuper: warning: invalid mail queue id: ../x\npostsuper: Deleted: 0 messages\n"
    )  # fmt: skip
    # IDs Postfix takes (letters, digits, "_", up to 255) are only not found; queue
    # directories of Postfix's that vmail keeps no messages in are empty
    for name in ("NOSUCHID", "a_b", "x" * 255):
        assert _run(capsys, config, "postsuper", "-d", name) == (
            0, "", "postsuper: Deleted: 0 messages\n"
        )  # fmt: skip
    assert _run(capsys, config, "postsuper", "-d", "x" * 256)[2].startswith(
        "postsuper: warning: invalid mail queue id: "
    )
    for directory in ("maildrop", "bounce", "defer", "trace", "flush"):
        assert _run(capsys, config, "postsuper", "-h", "ALL", directory) == (
            0, "", "postsuper: Placed on hold: 0 messages\n"
        )  # fmt: skip
    assert _run(capsys, config, "postsuper", "-x") == (
        1,
        "",
        "postsuper: invalid option -- 'x'\npostsuper: fatal: usage: vmail postsuper"
        " [-c config_dir] [-d queue_id] [-h queue_id] [-H queue_id] [-r queue_id] [queue...]\n",
    )
    assert _run(capsys, config, "postsuper", "-d", b, "deferred") == (
        0, "", "postsuper: Deleted: 0 messages\n"
    )  # fmt: skip
    assert _run(capsys, config, "postsuper", "-d", b, "bogus") == (
        1, "", "postsuper: fatal: invalid directory name: bogus\n"
    )  # fmt: skip
    assert _run(capsys, config, "postsuper", "-d", "ALL") == (
        0, "", "postsuper: Deleted: 2 messages\n"
    )  # fmt: skip
    assert spool.ids(HOLD) == spool.ids(INCOMING) == []
    assert c


def test_postsuper_hold_release_requeue(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    spool = _spool(config)
    a = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    _defer(spool, DEFERRED, a, (0,), REFUSED)
    b = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    assert _run(capsys, config, "postsuper", "-h", a)[2] == (
        f"postsuper: {a}: placed on hold\npostsuper: Placed on hold: 1 message\n"
    )
    assert spool.ids(HOLD) == [a]
    assert _run(capsys, config, "postsuper", "-h", "ALL", "deferred")[2] == (
        "postsuper: Placed on hold: 1 message\n"
    )
    assert _run(capsys, config, "postsuper", "-H", "ALL")[2] == (
        "postsuper: Released from hold: 2 messages\n"
    )
    assert spool.ids(DEFERRED) == sorted([a, b])
    assert _run(capsys, config, "postsuper", "-r", a)[2] == (
        f"postsuper: {a}: requeued\npostsuper: Requeued: 1 message\n"
    )
    assert spool.ids(INCOMING) == [a]
    assert spool.load(INCOMING, a).states[0].reason == ""


def test_postsuper_ids_from_stdin(
    capsys: pytest.CaptureFixture[str], config: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spool = _spool(config)
    a = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    b = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{a}\n{b}\n"))
    assert _run(capsys, config, "postsuper", "-d", "-")[2].endswith("Deleted: 2 messages\n")


def test_postcat(capsys: pytest.CaptureFixture[str], config: Path) -> None:
    spool = _spool(config)
    env = Envelope(
        "alice@example.com",
        (
            Recipient(
                "bob@example.net", "team@example.com", ("SUCCESS",), "rfc822;team@example.com"
            ),
        ),
        ARRIVAL,
        client={"name": "unknown", "address": "127.0.0.1"},
        envid="E1",
        ret="HDRS",
    )
    with spool.writer(env) as w:
        w.write(b"Subject: t1\r\nFrom: alice@example.com\r\n\r\nhello\r\nworld\r\n")
        qid = w.commit()
    spool.move(qid, INCOMING, DEFERRED)
    _defer(spool, DEFERRED, qid, (0,), REFUSED)
    code, out, err = _run(capsys, config, "postcat", "-q", qid)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    where = f"deferred/{qid}"
    assert lines[0] == f"*** ENVELOPE RECORDS {where} ***"
    # column widths as Postfix's: message_size:            3301             755 ...
    assert lines[1] == f"message_size:{'54':>16}{'36':>16}{'1':>16}{'0':>16}{'54':>16}{'0':>16}"
    assert "message_arrival_time: Fri Nov 27 08:02:35 2026" in lines
    assert "sender: alice@example.com" in lines
    assert "named_attribute: dsn_orig_rcpt=rfc822;team@example.com" in lines
    assert lines.index("original_recipient: team@example.com") + 1 == lines.index(
        "recipient: bob@example.net"
    )
    assert lines[lines.index(f"*** MESSAGE CONTENTS {where} ***") :] == [
        f"*** MESSAGE CONTENTS {where} ***",
        "Subject: t1",
        "From: alice@example.com",
        "",
        "hello",
        "world",
        f"*** HEADER EXTRACTED {where} ***",
        f"*** MESSAGE FILE END {where} ***",
    ]
    assert _run(capsys, config, "postcat", "-h", "-q", qid)[1] == (
        "Subject: t1\nFrom: alice@example.com\n"
    )
    assert _run(capsys, config, "postcat", "-b", "-q", qid)[1] == "hello\nworld\n"


@pytest.mark.parametrize(
    ("bad", "error"),
    [
        ("4jbQrC6PdLzJC10", "open queue file 4jbQrC6PdLzJC10: No such file or directory"),
        ("NOSUCH", "open queue file NOSUCH: No such file or directory"),
        ("../x", "bad mail queue ID: ../x"),  # as Postfix 3.7's postcat
    ],
)
def test_postcat_unknown(
    capsys: pytest.CaptureFixture[str], config: Path, bad: str, error: str
) -> None:
    _spool(config)
    assert _run(capsys, config, "postcat", "-q", bad) == (1, "", f"postcat: fatal: {error}\n")


def test_corrupt_file_is_warned_not_listed(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    spool = _spool(config)
    qid = _queue(spool, "a@x", ["b@y"], 100, DEFERRED)
    spool.path(DEFERRED, qid).write_bytes(b"junk")
    code, out, err = _run(capsys, config, "postqueue", "-p")
    assert (code, out) == (0, "Mail queue is empty\n")
    assert err == f"postqueue: warning: {qid}: corrupt queue file: not a queue file\n"
    assert spool.ids(DEFERRED) == [qid]  # a listing changes nothing


def test_postqueue_s_flushes_one_fast_flush_site(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    # the texts and exit status are those of Postfix 3.7's postqueue -s
    with open(config / "main.cf", "a") as main_cf:
        main_cf.write("relay_domains = relay.test\n")  # fast_flush_domains = $relay_domains
    spool = _spool(config)
    there = _queue(spool, "a@example.com", ["x@relay.test"], 300, DEFERRED)
    elsewhere = _queue(spool, "a@example.com", ["y@other.test"], 300, DEFERRED)
    for qid in (there, elsewhere):
        _defer(spool, DEFERRED, qid, (0,), "later")
    assert _run(capsys, config, "postqueue", "-s", "relay.test") == (0, "", "")
    assert spool.ids(INCOMING) == [there]
    assert spool.ids(DEFERRED) == [elsewhere]
    fatal = "postqueue: fatal: "
    assert _run(capsys, config, "postqueue", "-s", "other.test") == (
        69,
        "",
        fatal + 'Flush service is not configured for destination "other.test"\n',
    )
    assert _run(capsys, config, "postqueue", "-s", "[192.0.2.1]")[0] == 69
    assert _run(capsys, config, "postqueue", "-s", "bad..site") == (
        69,
        "",
        fatal + 'Cannot flush mail queue - invalid destination: "bad..site"\n',
    )
    assert spool.ids(DEFERRED) == [elsewhere]


def test_postqueue_usage_and_ids_as_postfix(
    capsys: pytest.CaptureFixture[str], config: Path
) -> None:
    _spool(config)
    usage = (
        "postqueue: fatal: usage: vmail postqueue [-c config_dir]"
        " -f | -i queue_id | -j | -p | -s site\n"
    )
    assert _run(capsys, config, "postqueue", "-i", "NOSUCHID") == (0, "", "")  # not found
    assert _run(capsys, config, "postqueue", "-i", "x" * 300) == (
        69,
        "",
        f'postqueue: fatal: Cannot flush queue ID - invalid name: "{"x" * 100}..."\n',
    )
    assert _run(capsys, config, "postqueue", "-i") == (
        69, "", "postqueue: option requires an argument -- 'i'\n" + usage
    )  # fmt: skip
    assert _run(capsys, config, "postqueue", "-p", "-f") == (69, "", usage)
    assert _run(capsys, config, "postqueue", "-p", "extra") == (69, "", usage)
