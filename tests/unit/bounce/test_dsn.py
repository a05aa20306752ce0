"""The notice builder: Postfix's multipart/report layout, parsed back with ``email``."""

from __future__ import annotations

import pytest

from tests.unit.bounce.helpers import parse, parts, text
from vmail.bounce.dsn import (
    DELAYED,
    FAILED,
    NoticeInfo,
    ReportedRecipient,
    build_notice,
    diagnostic,
    from_header,
    header_only,
    recipient_paragraph,
)
from vmail.cleanup import mail_date

ORIGINAL = b"Subject: hello\r\nFrom: alice@example.org\r\n\r\nbody line\r\n"
NOW = 1_795_766_600.0
ARRIVAL = 1_795_766_555.25


def info(**changes: object) -> NoticeInfo:
    values: dict[str, object] = {
        "queue_id": "4ABCDEFGHJ",
        "notice_id": "4KLMNPQRST",
        "sender": "alice@example.org",
        "arrival_time": ARRIVAL,
        "now": NOW,
        "myhostname": "mx.test",
        "mail_name": "Postfix",
        "subject": "Undelivered Mail Returned to Sender",
        "from_header": "MAILER-DAEMON (Mail Delivery System)",
        "text": "This is the mail system at host mx.test.\n\n          The mail system\n",
    }
    values.update(changes)
    return NoticeInfo(**values)  # type: ignore[arg-type]


UNKNOWN = ReportedRecipient(
    "nobody@example.com", FAILED, "5.1.1", 'unknown user: "nobody@example.com"', "info@example.com"
)


def build(notice: NoticeInfo, rcpts: list[ReportedRecipient], original: bytes = ORIGINAL) -> bytes:
    chunks = [original[i : i + 7] for i in range(0, len(original), 7)]
    return b"".join(build_notice(notice, rcpts, chunks))


def test_failure_layout_headers_and_parts() -> None:
    raw = build(info(), [UNKNOWN])
    assert b"\n" not in raw.replace(b"\r\n", b"")  # CRLF line ends only
    head = raw.split(b"\r\n\r\n", 1)[0].decode()
    boundary = f"4ABCDEFGHJ.{int(NOW)}/mx.test"
    assert head.split("\r\n") == [
        f"Date: {mail_date(NOW)}",
        "From: MAILER-DAEMON@mx.test (Mail Delivery System)",
        "Subject: Undelivered Mail Returned to Sender",
        "To: alice@example.org",
        "Auto-Submitted: auto-replied",
        "MIME-Version: 1.0",
        "Content-Type: multipart/report; report-type=delivery-status;",
        f'\tboundary="{boundary}"',
        "Content-Transfer-Encoding: 8bit",
        "Message-Id: <20261127080320.4KLMNPQRST@mx.test>",
    ]
    msg = parse(raw)
    assert msg.get_content_type() == "multipart/report"
    assert msg.get_param("report-type") == "delivery-status"
    assert msg.get_boundary() == boundary
    notification, report, returned = parts(msg)
    assert notification["Content-Description"] == "Notification"
    assert notification.get_content_type() == "text/plain"
    assert notification.get_param("charset") == "us-ascii"
    body = text(notification)
    assert body.startswith("This is the mail system at host mx.test.\r\n")
    assert body.endswith(
        "\r\n\r\n<nobody@example.com> (expanded from <info@example.com>): unknown user:"
        '\r\n    "nobody@example.com"\r\n'
    )
    assert report["Content-Description"] == "Delivery report"
    assert report.get_content_type() == "message/delivery-status"
    per_message, per_rcpt = parts(report)
    assert per_message.items() == [
        ("Reporting-MTA", "dns; mx.test"),
        ("X-Postfix-Queue-ID", "4ABCDEFGHJ"),
        ("X-Postfix-Sender", "rfc822; alice@example.org"),
        ("Arrival-Date", mail_date(ARRIVAL)),
    ]
    assert per_rcpt.items() == [
        ("Final-Recipient", "rfc822; nobody@example.com"),
        ("Original-Recipient", "rfc822;info@example.com"),
        ("Action", "failed"),
        ("Status", "5.1.1"),
        ("Diagnostic-Code", 'X-Postfix; unknown user: "nobody@example.com"'),
    ]
    assert returned["Content-Description"] == "Undelivered Message"
    assert returned.get_content_type() == "message/rfc822"
    [inner] = parts(returned)
    assert inner["Subject"] == "hello"
    assert text(inner) == "body line\r\n"
    assert raw.endswith(b"body line\r\n\r\n--" + boundary.encode() + b"--\r\n")


def test_several_recipients_smtp_diagnostic_envid_and_orcpt() -> None:
    remote = ReportedRecipient(
        "bob@remote.test",
        FAILED,
        "5.1.1",
        "host mx.remote.test[192.0.2.7] said: 550 5.1.1 <bob@remote.test>: Recipient"
        " address rejected: User unknown (in reply to RCPT TO command)",
        orcpt="rfc822;Bob@Remote.test",
    )
    raw = build(info(envid="ENV-42"), [UNKNOWN, remote])
    msg = parse(raw)
    notification, report, _ = parts(msg)
    per_message, first, second = parts(report)
    assert per_message["Original-Envelope-Id"] == "ENV-42"
    assert list(per_message.keys())[:2] == ["Reporting-MTA", "Original-Envelope-Id"]
    assert first["Final-Recipient"] == "rfc822; nobody@example.com"
    assert second.items() == [
        ("Final-Recipient", "rfc822; bob@remote.test"),
        ("Original-Recipient", "rfc822;Bob@Remote.test"),
        ("Action", "failed"),
        ("Status", "5.1.1"),
        ("Remote-MTA", "dns; mx.remote.test"),
        (
            "Diagnostic-Code",
            "smtp; 550 5.1.1 <bob@remote.test>: Recipient address rejected: User unknown",
        ),
    ]
    body = text(notification)
    assert "\r\n\r\n<bob@remote.test>: host mx.remote.test[192.0.2.7] said: 550 5.1.1\r\n" in body


def test_headers_only_and_delay_fields() -> None:
    delayed = ReportedRecipient(
        "bob@example.com", DELAYED, "4.3.5", "mail system configuration error"
    )
    raw = build(info(headers_only=True, will_retry_until=ARRIVAL + 432000), [delayed])
    _, report, returned = parts(parse(raw))
    assert parts(report)[1]["Will-Retry-Until"] == mail_date(ARRIVAL + 432000)
    assert returned["Content-Description"] == "Undelivered Message Headers"
    assert returned.get_content_type() == "text/rfc822-headers"
    assert b"body line" not in raw
    assert b"Subject: hello\r\nFrom: alice@example.org\r\n\r\n--4ABCDEFGHJ." in raw


def test_seven_bit_and_quoted_sender() -> None:
    raw = build(info(eight_bit=False, sender="a b@example.org"), [UNKNOWN])
    msg = parse(raw)
    assert msg["Content-Transfer-Encoding"] == "7bit"
    assert msg["To"] == '"a b"@example.org'


def test_original_without_final_line_end_still_ends_cleanly() -> None:
    raw = build(info(), [UNKNOWN], b"Subject: x\r\n\r\nno newline")
    assert b"no newline\r\n\r\n--4ABCDEFGHJ." in raw
    assert len(parts(parse(raw))) == 3


@pytest.mark.parametrize(
    ("content", "header"),
    [
        (b"A: 1\r\nB: 2\r\n\r\nbody\r\n\r\nmore", b"A: 1\r\nB: 2\r\n"),
        (b"A: 1\nB: 2\n\nbody", b"A: 1\nB: 2\n"),
        (b"\r\nbody only", b""),
        (b"A: 1\r\nno body", b"A: 1\r\nno body"),
    ],
)
@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_header_only_across_chunk_boundaries(content: bytes, header: bytes, size: int) -> None:
    chunks = [content[i : i + size] for i in range(0, len(content), size)]
    assert b"".join(header_only(chunks)) == header


@pytest.mark.parametrize(
    ("template", "header"),
    [
        ("MAILER-DAEMON (Mail Delivery System)", "MAILER-DAEMON@mx.test (Mail Delivery System)"),
        ("Mail Delivery System <MAILER-DAEMON>", "MAILER-DAEMON@mx.test (Mail Delivery System)"),
        ("bounces@example.org", "bounces@example.org"),
    ],
)
def test_from_header(template: str, header: str) -> None:
    assert from_header(template, "mx.test") == header


def test_diagnostic_and_wrapping() -> None:
    assert diagnostic(
        "host a.test[192.0.2.1]:25 said: 452 4.2.2 full (in reply to end of DATA command)"
    ) == (
        "a.test",
        "smtp",
        "452 4.2.2 full",
    )
    assert diagnostic("connect to a.test[192.0.2.1]:25: Connection refused") == (
        "",
        "X-Postfix",
        "connect to a.test[192.0.2.1]:25: Connection refused",
    )
    lines = recipient_paragraph(ReportedRecipient("x@y.test", FAILED, "5.0.0", "word " * 40))
    assert all(len(line) <= 79 for line in lines)
    assert all(line.startswith("    ") for line in lines[1:])
