"""The dashboard: overview counts, quota, queue sizes (superadmin), and recent deliveries
and errors from the delivery history (domain admins: their domains only)."""

from __future__ import annotations

from tests.unit.web.queue.conftest import QueueWeb
from vmail.queue.history import DeliveryHistory, DeliveryRecord
from vmail.web.pages.home import size_text


def test_counts_queue_and_history(qweb: QueueWeb) -> None:
    qweb.queue("dash@remote.example")
    DeliveryHistory(qweb.spool.root).append(
        [
            DeliveryRecord(
                1_800_000_000.0,
                "QIDSENT",
                "user@example.org",
                "sent",
                dsn="2.0.0",
                text="delivered to maildir",
            ),
            DeliveryRecord(
                1_800_000_001.0,
                "QIDDEFER",
                "other@other.test",
                "deferred",
                dsn="4.2.2",
                text="mailbox full",
            ),
        ]
    )
    page = qweb.superadmin.get("/")
    assert page.status_code == 200
    text = page.text
    assert "Mailboxes" in text
    assert "Mail queue" in text
    assert 'href="/queue?queue=incoming"' in text
    assert "QIDSENT" in text
    assert "QIDDEFER" in text
    assert "mailbox full" in text
    domain = qweb.domain_admin.get("/").text
    assert "QIDSENT" in domain
    assert "QIDDEFER" not in domain  # other.test is not theirs
    assert "Mail queue" not in domain
    assert qweb.user.get("/").status_code == 403


def test_size_text() -> None:
    assert size_text(None) == "unknown"
    assert size_text(512) == "512 bytes"
    assert size_text(3 * 1024 * 1024) == "3.0 MiB"
