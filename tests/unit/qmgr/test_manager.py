"""The queue manager: spool in, Maildir and log lines out, with a fake clock."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from vmail.config import MainConfig
from vmail.config.master import MasterConfig
from vmail.core.errors import TemporaryError
from vmail.delivery.request import (
    ContentSource,
    DeliveryRequest,
    DeliveryResult,
    PerRecipient,
    sent,
)
from vmail.delivery.virtual import VirtualAgent
from vmail.qmgr import QueueManager, default_agents
from vmail.qmgr.agents import agent_programs
from vmail.qmgr.backoff import backoff
from vmail.queue import Envelope, QueueFile, Recipient, Spool
from vmail.queue.file import WRITE_ERROR
from vmail.queue.ids import QueueId
from vmail.queue.recovery import recover
from vmail.queue.spool import ACTIVE, DEFERRED, INCOMING
from vmail.queue.tools import flush

ARRIVAL = 1_795_766_555.25
CONTENT = b"Subject: hello\r\nFrom: alice@example.org\r\n\r\nbody line\r\n"
MAILBOXES = "inline:{ bob@example.com=example.com/bob/, carol@example.com=example.com/carol/ }"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def config(tmp_path: Path, **settings: str) -> MainConfig:
    (tmp_path / "mail").mkdir(exist_ok=True)
    values = {
        "myhostname": "mx.test",
        "mydestination": "localhost",
        "queue_directory": str(tmp_path / "spool"),
        "virtual_mailbox_base": str(tmp_path / "mail"),
        "virtual_mailbox_domains": "example.com",
        "virtual_alias_domains": "alias.test",
        "virtual_mailbox_maps": MAILBOXES,
        "virtual_uid_maps": f"static:{os.getuid() or 5000}",
        "virtual_gid_maps": f"static:{os.getgid() or 5000}",
        "transport_maps": "inline:{ discard.test=discard: }",
        "minimal_backoff_time": "300s",
        "maximal_backoff_time": "4000s",
        "maximal_queue_lifetime": "5d",
        **settings,
    }
    return MainConfig.from_text("".join(f"{k} = {v}\n" for k, v in values.items()))


def queue(
    spool: Spool,
    *recipients: str | tuple[str, str],
    sender: str = "alice@example.org",
    arrival: float = ARRIVAL,
) -> QueueId:
    rcpts = tuple(
        Recipient(r, original=r) if isinstance(r, str) else Recipient(r[0], original=r[1])
        for r in recipients
    )
    env = Envelope(sender=sender, recipients=rcpts, arrival_time=arrival)
    with spool.writer(env) as w:
        w.write(CONTENT)
        return w.commit()


def manager(tmp_path: Path, clock: FakeClock, **settings: str) -> tuple[QueueManager, Spool]:
    cfg = config(tmp_path, **settings)
    spool = Spool.from_config(cfg).create()
    return QueueManager(cfg, spool, default_agents(cfg), clock=clock), spool


def run(qmgr: QueueManager, now: float) -> int:
    return asyncio.run(qmgr.run_once(now))


def new_mail(tmp_path: Path, user: str) -> list[Path]:
    directory = tmp_path / "mail" / "example.com" / user / "new"
    return sorted(directory.iterdir()) if directory.exists() else []


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "vmail.qmgr"]


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "vmail.qmgr")


def test_delivers_to_maildir_logs_and_removes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(ARRIVAL + 5)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(spool, ("bob@example.com", "info@example.com"))
    assert run(qmgr, clock.now) == 1
    [mail] = new_mail(tmp_path, "bob")
    assert mail.read_bytes().endswith(b"Subject: hello\nFrom: alice@example.org\n\nbody line\n")
    assert b"X-Original-To: info@example.com\n" in mail.read_bytes()
    assert not any(spool.entries())
    assert lines(caplog) == [
        f"{qid}: from=<alice@example.org>, size={len(CONTENT)}, nrcpt=1 (queue active)",
        f"{qid}: to=<bob@example.com>, orig_to=<info@example.com>, relay=virtual, delay=5,"
        " delays=5/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)",
        f"{qid}: removed",
    ]


def test_deliveries_are_logged_under_the_agents_program(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Postfix logs a delivery under its agent (postfix/virtual, postfix/smtp for relay,
    postfix/error for retry) and the rest under qmgr; vmail's loggers do the same."""
    caplog.set_level(logging.INFO, "vmail")
    clock = FakeClock(ARRIVAL + 5)
    cfg = config(tmp_path)
    spool = Spool.from_config(cfg).create()
    master = MasterConfig.from_text(
        "relay unix - - n - - smtp\nretry unix - - n - - error\nmybox unix - n n - - virtual\n"
    )
    programs = agent_programs(master)
    assert programs["relay"] == "smtp"
    assert programs["retry"] == "error"
    assert programs["mybox"] == "virtual"
    qmgr = QueueManager(cfg, spool, default_agents(cfg), clock=clock, programs=programs)
    qid = queue(spool, "bob@example.com")
    run(qmgr, clock.now)
    names = [
        (r.name, r.getMessage().split(",")[0]) for r in caplog.records if qid in r.getMessage()
    ]
    assert names == [
        ("vmail.qmgr", f"{qid}: from=<alice@example.org>"),
        ("vmail.virtual", f"{qid}: to=<bob@example.com>"),
        ("vmail.qmgr", f"{qid}: removed"),
    ]


def test_unknown_user_bounces_and_removes(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(spool, "nobody@example.com")
    run(qmgr, clock.now)
    assert not any(spool.entries())
    assert (
        f"{qid}: to=<nobody@example.com>, relay=virtual, delay=0, delays=0/0/0/0,"
        ' dsn=5.1.1, status=bounced (unknown user: "nobody@example.com")'
    ) in lines(caplog)
    assert lines(caplog)[-1] == f"{qid}: removed"


def test_temporary_failure_defers_then_retries(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock, virtual_uid_maps="fail:down")
    qid = queue(spool, "bob@example.com")
    run(qmgr, clock.now)
    assert spool.find(qid) == DEFERRED
    [state] = spool.load(DEFERRED, qid).states
    assert (state.status, state.dsn, state.next_attempt) == ("deferred", "4.3.5", ARRIVAL + 300)
    assert "status=deferred (mail system configuration error)" in lines(caplog)[-1]

    # not due yet: nothing happens
    clock.now = ARRIVAL + 299
    assert run(qmgr, clock.now) == 0
    assert spool.find(qid) == DEFERRED

    # due, still failing: the wait doubles
    clock.now = ARRIVAL + 300
    run(qmgr, clock.now)
    [state] = spool.load(DEFERRED, qid).states
    assert state.next_attempt == ARRIVAL + 300 + 600

    # the table is back: delivered on the next due pass
    good = config(tmp_path)
    qmgr.agents["virtual"] = PerRecipient(VirtualAgent(good))
    clock.now = ARRIVAL + 900
    run(qmgr, clock.now)
    assert len(new_mail(tmp_path, "bob")) == 1
    assert spool.find(qid) is None
    assert lines(caplog)[-2].endswith(
        "delay=900, delays=900/0/0/0, dsn=2.0.0, status=sent (delivered to maildir)"
    )


def test_read_only_mailbox_defers(tmp_path: Path) -> None:
    if os.getuid() == 0:
        pytest.skip("root ignores directory permissions")
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    base = tmp_path / "mail" / "example.com"
    base.mkdir(parents=True)
    base.chmod(0o500)
    try:
        qid = queue(spool, "bob@example.com")
        run(qmgr, clock.now)
        [state] = spool.load(DEFERRED, qid).states
        assert state.status == "deferred"
        assert state.dsn.startswith("4.")
    finally:
        base.chmod(0o700)


def test_expired_message_bounces(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(ARRIVAL + 5 * 86400 + 1)
    qmgr, spool = manager(tmp_path, clock, virtual_uid_maps="fail:down")
    qid = queue(spool, "bob@example.com", "carol@example.com")
    run(qmgr, clock.now)
    assert spool.find(qid) is None
    expired = [line for line in lines(caplog) if "status=expired" in line]
    assert len(expired) == 2
    assert expired[0] == (
        f"{qid}: to=<bob@example.com>, relay=virtual, delay=432001,"
        " delays=432001/0/0/0, dsn=4.3.5, status=expired (mail system configuration error)"
    )


def test_null_sender_uses_bounce_queue_lifetime(tmp_path: Path) -> None:
    clock = FakeClock(ARRIVAL + 3601)
    qmgr, spool = manager(tmp_path, clock, virtual_uid_maps="fail:down", bounce_queue_lifetime="1h")
    bounce = queue(spool, "bob@example.com", sender="")
    normal = queue(spool, "bob@example.com")
    run(qmgr, clock.now)
    assert spool.find(bounce) is None
    assert spool.find(normal) == DEFERRED


def test_mixed_recipients(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(
        spool,
        "bob@example.com",
        "nobody@example.com",
        "someone@remote.test",  # default_transport smtp: no agent yet
        "x@discard.test",
        "y@alias.test",
        "carol@example.com",
    )
    run(qmgr, clock.now)
    assert spool.find(qid) == DEFERRED
    states = spool.load(DEFERRED, qid).states
    assert [(s.status, s.dsn) for s in states] == [
        ("delivered", "2.0.0"),
        ("bounced", "5.1.1"),
        ("deferred", "4.3.0"),
        ("delivered", "2.0.0"),
        ("bounced", "5.1.1"),
        ("delivered", "2.0.0"),
    ]
    log = "\n".join(lines(caplog))
    assert (
        "to=<someone@remote.test>, relay=none, delay=0, delays=0/0/0/0, dsn=4.3.0,"
        " status=deferred (mail transport unavailable: smtp)" in log
    )
    assert (
        "to=<x@discard.test>, relay=none, delay=0, delays=0/0/0/0, dsn=2.0.0,"
        " status=sent (discarded)" in log
    )
    assert (
        "to=<y@alias.test>, relay=none, delay=0, delays=0/0/0/0, dsn=5.1.1,"
        " status=bounced (User unknown in virtual alias table)" in log
    )

    # the retry tries only the unfinished recipient
    clock.now = ARRIVAL + 300
    run(qmgr, clock.now)
    assert len(new_mail(tmp_path, "bob")) == 1
    assert len(new_mail(tmp_path, "carol")) == 1
    assert spool.load(DEFERRED, qid).states[2].next_attempt == ARRIVAL + 300 + 600


@pytest.mark.parametrize("read_meanwhile", [False, True])
def test_crash_before_status_record_neither_loses_nor_duplicates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, read_meanwhile: bool
) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(spool, "bob@example.com")
    real_append = QueueFile.append

    def failing_append(self: QueueFile, updates: object) -> None:
        raise TemporaryError(WRITE_ERROR)

    monkeypatch.setattr(QueueFile, "append", failing_append)
    run(qmgr, clock.now)
    # the Maildir has the message, the queue file does not know: it stays
    (delivered,) = new_mail(tmp_path, "bob")
    assert spool.find(qid) == ACTIVE
    assert spool.load(ACTIVE, qid).pending == [0]
    if read_meanwhile:  # a client read it while vmail was down: new/X -> cur/X:2,S
        cur = delivered.parent.parent / "cur"
        delivered.rename(cur / f"{delivered.name}:2,S")

    monkeypatch.setattr(QueueFile, "append", real_append)
    recover(spool)
    assert spool.find(qid) == INCOMING
    assert spool.load(INCOMING, qid).recovered
    run(qmgr, clock.now)
    assert spool.find(qid) is None
    maildir = tmp_path / "mail" / "example.com" / "bob"
    files = list((maildir / "new").iterdir()) + list((maildir / "cur").iterdir())
    assert len(files) == 1  # delivered exactly once


def test_delivered_recipient_is_not_redelivered_after_restart(tmp_path: Path) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(spool, "bob@example.com", "someone@remote.test")
    run(qmgr, clock.now)
    spool.move(qid, DEFERRED, ACTIVE)  # as if the crash came while it was active
    recover(spool)
    run(qmgr, clock.now)
    assert len(new_mail(tmp_path, "bob")) == 1


def test_backoff_doubles_within_bounds() -> None:
    assert [backoff(n, 300, 4000) for n in (1, 2, 3, 4, 5, 100)] == [
        300,
        600,
        1200,
        2400,
        4000,
        4000,
    ]
    assert backoff(1, 300, 100) == 300


def test_concurrency_limit_per_transport(tmp_path: Path) -> None:
    qmgr, _ = manager(
        tmp_path,
        FakeClock(ARRIVAL),
        default_process_limit="3",
        virtual_destination_concurrency_limit="2",
    )
    assert qmgr._limit("virtual")._value == 2
    assert qmgr._limit("pipe-ish")._value == 3


def test_run_loop_wakes_on_notify(tmp_path: Path) -> None:
    cfg = config(tmp_path, queue_run_delay="1000s")
    spool = Spool.from_config(cfg).create()
    qmgr = QueueManager(cfg, spool, default_agents(cfg))

    async def scenario() -> None:
        task = asyncio.create_task(qmgr.run())
        for _ in range(200):  # the first pass (empty spool) is done when it waits
            await asyncio.sleep(0.01)
            if qmgr._wakeup is not None and not qmgr._wakeup.is_set():
                break
        qid = await asyncio.to_thread(queue, spool, "bob@example.com")
        qmgr.notify()
        for _ in range(500):
            if spool.find(qid) is None:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert spool.find(qid) is None

    asyncio.run(scenario())
    assert len(new_mail(tmp_path, "bob")) == 1


def test_damaged_content_goes_to_corrupt(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(spool, "bob@example.com")
    path = spool.path(INCOMING, qid)
    data = bytearray(path.read_bytes())
    data[data.index(b"body line")] = ord("B")
    path.write_bytes(bytes(data))
    run(qmgr, clock.now)
    assert spool.find(qid) is None
    assert (spool.root / "corrupt" / qid).exists()
    assert new_mail(tmp_path, "bob") == []
    assert any("content checksum mismatch" in line for line in lines(caplog))


def test_finished_file_back_after_power_loss_is_removed_not_redelivered(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a finished message's file is retired (kept as a spare, or unlinked) without an
    # fsync: a power loss may bring it back (with its fsynced "delivered" record); the
    # next pass must only remove it again
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    qid = queue(spool, "bob@example.com")
    saved: list[bytes] = []
    real_retire = spool.retire

    def retire(queue_name: str, queue_id: QueueId, size: int) -> bool:
        saved.append(spool.path(queue_name, queue_id).read_bytes())
        return real_retire(queue_name, queue_id, size)

    monkeypatch.setattr(spool, "retire", retire)
    run(qmgr, clock.now)
    assert spool.find(qid) is None
    spool.path(INCOMING, qid).write_bytes(saved[0])  # the undone unlink (and move)
    recover(spool)
    run(qmgr, clock.now)
    assert spool.find(qid) is None
    assert len(new_mail(tmp_path, "bob")) == 1


def test_one_thread_call_per_single_batch_message(tmp_path: Path) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock)
    for _ in range(3):
        queue(spool, "bob@example.com")
    calls: list[str] = []
    real = qmgr._thread

    async def counted(func, *args):  # type: ignore[no-untyped-def]
        calls.append(func.__name__)
        return await real(func, *args)

    qmgr._thread = counted  # type: ignore[method-assign]
    assert run(qmgr, clock.now) == 3
    assert calls == ["_prepare"] * 3
    assert len(new_mail(tmp_path, "bob")) == 3


def test_second_queue_manager_waits_for_the_spool_lock(tmp_path: Path) -> None:
    cfg = config(tmp_path, queue_run_delay="1000s")
    spool = Spool.from_config(cfg).create()
    first = QueueManager(cfg, spool, default_agents(cfg))
    second = QueueManager(cfg, spool, default_agents(cfg))

    async def scenario() -> None:
        one = asyncio.create_task(first.run())
        await asyncio.sleep(0.2)
        qid = await asyncio.to_thread(queue, spool, "bob@example.com")
        spool.move(qid, INCOMING, ACTIVE)  # as if the first one were delivering it
        two = asyncio.create_task(second.run())
        await asyncio.sleep(0.3)
        assert spool.find(qid) == ACTIVE  # the second has not run recovery
        one.cancel()
        with pytest.raises(asyncio.CancelledError):
            await one
        for _ in range(300):
            if spool.find(qid) is None:
                break
            await asyncio.sleep(0.01)
        assert spool.find(qid) is None  # the second took over and delivered it
        two.cancel()
        with pytest.raises(asyncio.CancelledError):
            await two

    asyncio.run(scenario())
    assert len(new_mail(tmp_path, "bob")) == 1


def test_notify_with_a_queue_id_takes_it_without_listing_incoming(tmp_path: Path) -> None:
    cfg = config(tmp_path, queue_run_delay="1000s")
    spool = Spool.from_config(cfg).create()
    qmgr = QueueManager(cfg, spool, default_agents(cfg))
    listed: list[str] = []
    real_ids = spool.ids

    def ids(queue_name: str) -> list[QueueId]:
        listed.append(queue_name)
        return real_ids(queue_name)

    spool.ids = ids  # type: ignore[method-assign]

    async def scenario() -> None:
        task = asyncio.create_task(qmgr.run())
        for _ in range(200):  # the first pass (a full one) is done when it waits
            await asyncio.sleep(0.01)
            if qmgr._wakeup is not None and not qmgr._wakeup.is_set() and listed:
                break
        listed.clear()
        qid = await asyncio.to_thread(queue, spool, "bob@example.com")
        qmgr.notify(qid)
        for _ in range(500):
            if spool.find(qid) is None:
                break
            await asyncio.sleep(0.01)
        assert spool.find(qid) is None
        assert INCOMING not in listed
        qmgr.notify("not/an-id")  # a bad name means: list incoming
        for _ in range(200):
            if INCOMING in listed:
                break
            await asyncio.sleep(0.01)
        assert INCOMING in listed
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert len(new_mail(tmp_path, "bob")) == 1


def test_notified_messages_go_straight_to_the_worker_threads(tmp_path: Path) -> None:
    cfg = config(tmp_path, queue_run_delay="1000s", default_process_limit="2")
    spool = Spool.from_config(cfg).create()
    qmgr = QueueManager(cfg, spool, default_agents(cfg))

    async def scenario() -> None:
        task = asyncio.create_task(qmgr.run())
        for _ in range(200):  # the first pass (empty spool) is done when it waits
            await asyncio.sleep(0.01)
            if qmgr._wakeup is not None and not qmgr._wakeup.is_set():
                break
        single = [await asyncio.to_thread(queue, spool, "bob@example.com") for _ in range(3)]
        multi = await asyncio.to_thread(queue, spool, "bob@example.com", "x@discard.test")
        for qid in [*single, multi]:  # more than the 2 slots: some wait in a task
            qmgr.notify(qid)
        for _ in range(500):
            if all(spool.find(q) is None for q in [*single, multi]) and not qmgr._in_flight:
                break
            await asyncio.sleep(0.01)
        assert all(spool.find(q) is None for q in [*single, multi])
        assert not qmgr._in_flight
        assert qmgr._messages._value == 2  # every slot given back
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert len(new_mail(tmp_path, "bob")) == 4


def test_defer_transports_hold_mail_until_a_flush(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vmail.qmgr")
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(tmp_path, clock, defer_transports="virtual")
    held = queue(spool, "bob@example.com", "x@discard.test")
    run(qmgr, clock.now)
    assert spool.ids(DEFERRED) == [held]
    assert new_mail(tmp_path, "bob") == []
    assert (
        "to=<bob@example.com>, relay=none, delay=0, delays=0/0/0/0, dsn=4.3.2,"
        " status=deferred (deferred transport)" in "\n".join(lines(caplog))
    )
    assert "status=sent (discarded)" in "\n".join(lines(caplog))  # other transports go
    clock.now = ARRIVAL + 3600  # a queue run, due by its backoff: still held
    run(qmgr, clock.now)
    assert spool.ids(DEFERRED) == [held]
    flush(spool, held)  # postqueue -f, -i, sendmail -q, ETRN
    later = queue(spool, "bob@example.com")
    run(qmgr, clock.now)
    assert len(new_mail(tmp_path, "bob")) == 1  # the flushed one; new mail waits
    assert spool.ids(DEFERRED) == [later]


class RecordingAgent:
    """An agent that accepts everything and remembers where each recipient was sent."""

    def __init__(self) -> None:
        self.routes: list[tuple[str, str, str]] = []

    def deliver_batch(
        self, requests: Sequence[DeliveryRequest], content: ContentSource
    ) -> list[DeliveryResult]:
        self.routes += [(r.transport, r.nexthop, r.recipient) for r in requests]
        return [sent("filtered") for _ in requests]


@pytest.mark.parametrize(
    ("content_filter", "settings", "nexthop"),
    [
        ("scan:[127.0.0.1]:10024", {}, "[127.0.0.1]:10024"),
        ("scan:", {}, "example.com"),  # Postfix 2.7+: the recipient domain
        ("scan", {"default_filter_nexthop": "filter.test"}, "filter.test"),
    ],
)
def test_a_content_filter_takes_every_recipient(
    tmp_path: Path, content_filter: str, settings: dict[str, str], nexthop: str
) -> None:
    clock = FakeClock(ARRIVAL)
    cfg = config(tmp_path, **settings)
    spool = Spool.from_config(cfg).create()
    scan = RecordingAgent()
    qmgr = QueueManager(cfg, spool, {**default_agents(cfg), "scan": scan}, clock=clock)
    env = Envelope(
        "alice@example.org",
        (Recipient("bob@example.com"), Recipient("x@discard.test")),
        ARRIVAL,
        filter=content_filter,
    )
    with spool.writer(env) as w:
        w.write(CONTENT)
        w.commit()
    run(qmgr, clock.now)
    hops = {
        "bob@example.com": nexthop,
        "x@discard.test": nexthop.replace("example.com", "discard.test"),
    }
    assert sorted(scan.routes) == sorted(("scan", hops[r], r) for r in hops)
    assert new_mail(tmp_path, "bob") == []  # the filter reinjects; not delivered here


def test_relocated_recipients_bounce_with_the_new_address(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(ARRIVAL)
    qmgr, spool = manager(
        tmp_path, clock, relocated_maps="inline:{ bob@example.com=bob@new.example }"
    )
    queue(spool, "bob@example.com")
    run(qmgr, clock.now)
    assert new_mail(tmp_path, "bob") == []
    assert any(
        "to=<bob@example.com>" in line
        and "dsn=5.1.6, status=bounced (User has moved to bob@new.example)" in line
        for line in lines(caplog)
    ), lines(caplog)
