"""The bounce service end to end: real cleanup, spool and queue manager, a fake clock."""

from __future__ import annotations

import asyncio
import logging
import os
from email.message import Message
from pathlib import Path

import pytest

from tests.unit.bounce.helpers import parse, parts, text
from vmail.bounce import BounceService, NoticeDeferredError
from vmail.bounce.service import success_action, wants
from vmail.cleanup import Cleanup, Rcpt, Submission
from vmail.config import MainConfig
from vmail.core.errors import TemporaryError
from vmail.qmgr import QueueManager, default_agents
from vmail.queue import Spool
from vmail.queue.file import WRITE_ERROR
from vmail.queue.ids import QueueId
from vmail.queue.spool import ACTIVE, DEFERRED
from vmail.route import Router

ARRIVAL = 1_795_766_555.25
CONTENT = b"Subject: hello\r\nFrom: alice@example.com\r\n\r\nbody line\r\n"
MAILBOXES = "inline:{ alice@example.com=example.com/alice/, bob@example.com=example.com/bob/ }"


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class System:
    """cleanup + spool + queue manager + bounce service over one tmp_path."""

    def __init__(self, tmp_path: Path, clock: FakeClock, **settings: str) -> None:
        (tmp_path / "mail").mkdir(exist_ok=True)
        values = {
            "myhostname": "mx.test",
            "mydestination": "localhost",
            "queue_directory": str(tmp_path / "spool"),
            "virtual_mailbox_base": str(tmp_path / "mail"),
            "virtual_mailbox_domains": "example.com",
            "virtual_mailbox_maps": MAILBOXES,
            "virtual_alias_maps": "inline:{ info@example.com=nobody@example.com }",
            "virtual_uid_maps": f"static:{os.getuid() or 5000}",
            "virtual_gid_maps": f"static:{os.getgid() or 5000}",
            "minimal_backoff_time": "300s",
            "maximal_backoff_time": "4000s",
            "maximal_queue_lifetime": "5d",
            **settings,
        }
        text = "".join(f"{k} = {v}\n" for k, v in values.items())
        self.tmp_path = tmp_path
        self.clock = clock
        self.config = MainConfig.from_text(text)
        self.spool = Spool.from_config(self.config).create()
        self.cleanup = Cleanup(self.config, Router(self.config), self.spool)
        self.bounce = BounceService(self.config, self.cleanup, clock=clock)
        self.qmgr = QueueManager(
            self.config,
            self.spool,
            default_agents(self.config),
            clock=clock,
            notifier=self.bounce,
        )

    def submit(
        self,
        *rcpts: Rcpt,
        sender: str = "alice@example.com",
        content: bytes = CONTENT,
        **envelope: str,
    ) -> QueueId:
        message = self.cleanup.open(
            Submission(sender=sender, recipients=rcpts, arrival_time=ARRIVAL, **envelope)  # type: ignore[arg-type]
        )
        message.write(content)
        return message.commit()

    def run(self) -> int:
        return asyncio.run(self.qmgr.run_once(self.clock.now))

    def mailbox(self, user: str) -> list[Message]:
        directory = self.tmp_path / "mail" / "example.com" / user / "new"
        if not directory.exists():
            return []
        return [parse(path.read_bytes()) for path in sorted(directory.iterdir())]


def bounce_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "vmail.bounce"]


@pytest.fixture(autouse=True)
def _capture(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "vmail.bounce")


def test_unknown_user_bounces_to_a_local_sender(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(ARRIVAL + 1)
    system = System(tmp_path, clock)
    qid = system.submit(Rcpt("info@example.com"), Rcpt("bob@example.com"))
    system.run()  # bob delivered, nobody bounced, the bounce queued
    assert system.spool.find(qid) is None
    [line] = bounce_lines(caplog)
    assert line.startswith(f"{qid}: sender non-delivery notification: ")
    notice_id = line.rsplit(" ", 1)[1]
    assert system.spool.find(notice_id) is not None

    system.run()  # the bounce reaches alice
    [bounce] = system.mailbox("alice")
    assert bounce["Return-Path"] == "<>"
    assert bounce["From"] == "MAILER-DAEMON@mx.test (Mail Delivery System)"
    assert bounce["Subject"] == "Undelivered Mail Returned to Sender"
    assert bounce["To"] == "alice@example.com"
    assert bounce["Auto-Submitted"] == "auto-replied"
    assert bounce["Message-Id"].endswith(f".{notice_id}@mx.test>")
    assert bounce.get_boundary() is not None
    assert bounce.get_boundary().startswith(f"{qid}.")  # type: ignore[union-attr]
    assert "Received" not in bounce
    notification, report, returned = parts(bounce)
    assert (
        '<nobody@example.com> (expanded from <info@example.com>): unknown user:\n    "nobody@example.com"'
    ) in text(notification)
    assert "bob@example.com" not in text(notification)
    per_message, per_rcpt = parts(report)
    assert per_message["X-vmail-Queue-ID"] == qid
    assert per_message["X-vmail-Sender"] == "rfc822; alice@example.com"
    assert per_rcpt["Final-Recipient"] == "rfc822; nobody@example.com"
    assert per_rcpt["Original-Recipient"] == "rfc822;info@example.com"
    assert (per_rcpt["Action"], per_rcpt["Status"]) == ("failed", "5.1.1")
    assert returned.get_content_type() == "message/rfc822"
    assert text(parts(returned)[0]) == "body line\n"
    assert not any(system.spool.entries())


def test_expired_message_bounces_with_the_deferral_reason(tmp_path: Path) -> None:
    clock = FakeClock(ARRIVAL + 5 * 86400 + 1)
    system = System(tmp_path, clock, virtual_uid_maps="fail:down")
    qid = system.submit(Rcpt("bob@example.com"))
    system.run()
    assert system.spool.find(qid) is None
    system.qmgr.agents = default_agents(MainConfig.from_text(system_text(system)))
    system.run()
    [bounce] = system.mailbox("alice")
    _, report, _ = parts(bounce)
    per_rcpt = parts(report)[1]
    assert (per_rcpt["Action"], per_rcpt["Status"]) == ("failed", "4.3.5")
    assert per_rcpt["Diagnostic-Code"] == "X-Postfix; mail system configuration error"


def system_text(system: System) -> str:
    """The system's main.cf with working uid maps."""
    return (
        f"myhostname = mx.test\nvirtual_mailbox_base = {system.tmp_path / 'mail'}\n"
        f"virtual_mailbox_domains = example.com\nvirtual_mailbox_maps = {MAILBOXES}\n"
        f"virtual_uid_maps = static:{os.getuid() or 5000}\n"
        f"virtual_gid_maps = static:{os.getgid() or 5000}\n"
    )


@pytest.mark.parametrize(
    ("notify", "bounced"),
    [((), True), (("FAILURE",), True), (("NEVER",), False), (("SUCCESS", "DELAY"), False)],
)
def test_notify_controls_the_bounce(tmp_path: Path, notify: tuple[str, ...], bounced: bool) -> None:
    clock = FakeClock(ARRIVAL)
    system = System(tmp_path, clock)
    qid = system.submit(Rcpt("nobody@example.com", notify=notify))
    system.run()
    assert system.spool.find(qid) is None
    system.run()
    assert len(system.mailbox("alice")) == (1 if bounced else 0)


def test_null_sender_is_never_bounced(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(ARRIVAL)
    system = System(tmp_path, clock)
    qid = system.submit(Rcpt("nobody@example.com"), sender="")
    system.run()
    assert not any(system.spool.entries())
    assert bounce_lines(caplog) == [f"{qid}: undeliverable bounce from <> discarded"]


def test_success_notice_with_notify_success(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(ARRIVAL)
    system = System(tmp_path, clock)
    qid = system.submit(
        Rcpt("bob@example.com", notify=("SUCCESS",), orcpt="rfc822;Bob@Example.com"),
        envid="ENV-7",
        ret="FULL",
    )
    system.run()
    [line] = bounce_lines(caplog)
    assert line.startswith(f"{qid}: sender delivery status notification: ")
    system.run()
    [notice] = system.mailbox("alice")
    assert notice["Subject"] == "Successful Mail Delivery Report"
    notification, report, returned = parts(notice)
    assert "<bob@example.com>: delivered to maildir" in text(notification)
    per_message, per_rcpt = parts(report)
    assert per_message["Original-Envelope-Id"] == "ENV-7"
    assert per_rcpt["Original-Recipient"] == "rfc822;Bob@Example.com"
    assert (per_rcpt["Action"], per_rcpt["Status"]) == ("delivered", "2.0.0")
    assert returned.get_content_type() == "text/rfc822-headers"
    assert len(system.mailbox("bob")) == 1


@pytest.mark.parametrize(("settings", "ret"), [({}, "HDRS"), ({"bounce_size_limit": "10"}, "")])
def test_headers_only_for_ret_hdrs_or_large_messages(
    tmp_path: Path, settings: dict[str, str], ret: str
) -> None:
    clock = FakeClock(ARRIVAL)
    system = System(tmp_path, clock, **settings)
    system.submit(Rcpt("nobody@example.com"), ret=ret)
    system.run()
    system.run()
    [bounce] = system.mailbox("alice")
    returned = parts(bounce)[2]
    assert returned.get_content_type() == "text/rfc822-headers"
    assert returned["Content-Description"] == "Undelivered Message Headers"
    assert "body line" not in bounce.as_string()


def test_delay_warning_is_sent_once(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock(ARRIVAL)
    settings = {"virtual_uid_maps": "fail:down", "delay_warning_time": "1h"}
    system = System(tmp_path, clock, **settings)
    qid = system.submit(Rcpt("bob@example.com"), Rcpt("alice@example.com", notify=("FAILURE",)))
    system.run()  # deferred, too early to warn
    assert bounce_lines(caplog) == []
    clock.now = ARRIVAL + 3600
    system.run()
    [line] = bounce_lines(caplog)
    assert line.startswith(f"{qid}: sender delay notification: ")
    notice_id = QueueId(line.rsplit(" ", 1)[1])
    warning = system.spool.load(system.spool.find(notice_id) or ACTIVE, notice_id).read_content()
    assert b"Subject: Delayed Mail (still being retried)\r\n" in warning
    assert b"Action: delayed\r\nStatus: 4.3.5\r\n" in warning
    assert b"Final-Recipient: rfc822; alice@example.com" not in warning  # NOTIFY=FAILURE
    assert b"more than 1 hour(s).\r\nIt will be retried until it is 5 day(s) old." in warning
    assert b"Content-Type: text/rfc822-headers" in warning
    # later passes, and a fresh service after a restart, do not warn again
    clock.now = ARRIVAL + 3600 + 900
    system.run()
    restarted = System(tmp_path, clock, **settings)
    clock.now = ARRIVAL + 3600 + 5000
    restarted.run()
    assert len(bounce_lines(caplog)) == 1
    assert restarted.spool.find(qid) == DEFERRED


def test_a_notice_that_cannot_be_queued_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(ARRIVAL)
    system = System(tmp_path, clock)
    qid = system.submit(Rcpt("nobody@example.com"))
    real_open = system.cleanup.open

    def failing_open(sub: Submission) -> object:
        raise TemporaryError(WRITE_ERROR)

    monkeypatch.setattr(system.cleanup, "open", failing_open)
    system.run()  # bounced; the bounce cannot be queued: the message waits in deferred
    assert system.spool.find(qid) == DEFERRED
    assert bounce_lines(caplog)[-1] == (
        f"{qid}: sender non-delivery notification failed: Error: queue file write error"
    )
    with pytest.raises(NoticeDeferredError):
        system.bounce.report(system.spool.load(DEFERRED, qid), [], clock.now)
    monkeypatch.setattr(system.cleanup, "open", real_open)
    system.run()  # the next pass queues the bounce and removes the message
    assert system.spool.find(qid) is None
    system.run()
    assert len(system.mailbox("alice")) == 1


def test_helpers() -> None:
    assert wants((), "failure")
    assert wants((), "delay")
    assert not wants((), "success")
    assert not wants(("NEVER",), "failure")
    assert wants(("success", "failure"), "success")
    assert success_action("virtual") == "delivered"
    assert success_action("mx.remote.test[192.0.2.1]:25") == "relayed"
    assert success_action("127.0.0.1[127.0.0.1]:24") == "delivered"
    assert success_action("mail.test[private/dovecot-lmtp]") == "delivered"
