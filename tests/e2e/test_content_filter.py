"""An after-queue content filter as FILTER_README sets it up, through a real ``vmail serve``.

``content_filter = scan:[127.0.0.1]:PORT`` sends every message received on the SMTP
listener to a filter (here an SMTP sink; the test plays the filter and sends what the sink
got back to the reinjection listener with a header added). ``receive_override_options =
no_address_mappings`` in main.cf keeps aliases for after the filter; the reinjection
listener's ``-o content_filter=`` and ``-o receive_override_options=...`` make its mail go
to the mailboxes, expanded, without header_checks.
"""

from __future__ import annotations

import re
import smtplib
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, make_config, running
from tests.unit.delivery.smtp_sink import SmtpSink

MESSAGE = b"From: alice@example.org\r\nSubject: filter me\r\n\r\nhello\r\n"
REINJECT = (
    "scan      unix  -       -       n       -       10      smtp\n"
    "127.0.0.1:0 inet n      -       n       -       -       smtpd\n"
    "    -o syslog_name=postfix/reinject\n"
    "    -o content_filter=\n"
    "    -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks\n"
    "    -o smtpd_recipient_restrictions=permit_mynetworks,reject\n"
)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(name="filter.test") as running_sink:
        yield running_sink


def _filtered_server(tmp_path: Path, sink: SmtpSink) -> Iterator[ServerProcess]:
    checks = tmp_path / "header_checks"
    checks.write_text("/^X-Filtered:/ REJECT filtered mail must not come back here\n")
    config_dir = make_config(
        tmp_path,
        {
            "content_filter": f"scan:[127.0.0.1]:{sink.port}",
            "receive_override_options": "no_address_mappings",
            "header_checks": f"regexp:{checks}",
        },
        REINJECT,
    )
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        server.add_mailbox("carol@example.com")
        yield server


def _reinject(server: ServerProcess, sink: SmtpSink) -> None:
    """The filter's work: send what the sink received back, with a header added."""
    (session,) = [s for s in sink.sessions if s.messages]
    sender = re.search(r"MAIL FROM:<([^>]*)>", " ".join(session.commands))
    assert sender is not None
    recipients = re.findall(r"RCPT TO:<([^>]*)>", " ".join(session.commands))
    (message,) = session.messages
    with smtplib.SMTP("127.0.0.1", server.port("reinject"), timeout=30) as client:
        client.sendmail(sender.group(1), recipients, b"X-Filtered: yes\r\n" + message)


def test_content_filter_and_reinjection(tmp_path: Path, sink: SmtpSink) -> None:
    for server in _filtered_server(tmp_path, sink):
        server.vmail(
            "alias", "add", "team@example.com", "--goto", "bob@example.com,carol@example.com"
        )
        with server.smtp() as client:
            client.sendmail("alice@example.org", ["team@example.com"], MESSAGE)
        server.wait_log(
            r"to=<team@example\.com>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*status=sent"
        )
        # the alias is left for after the filter (no_address_mappings before it)
        assert "RCPT TO:<team@example.com>" in sink.commands
        assert sink.messages[0].endswith(b"hello\r\n")
        _reinject(server, sink)
        (to_bob,) = server.wait_for("bob@example.com")
        (to_carol,) = server.wait_for("carol@example.com")
        # reinjected mail is expanded, and neither filtered again nor header-checked
        assert to_bob.startswith(b"Return-Path: <alice@example.org>\n")
        assert b"\nX-Filtered: yes\n" in to_bob
        assert b"X-Original-To: team@example.com\n" in to_carol
        assert len(sink.messages) == 1


def test_reinjection_listener_accepts_unknown_recipients(tmp_path: Path, sink: SmtpSink) -> None:
    # no_unknown_recipient_checks: the first smtpd checked them; the mail bounces later
    for server in _filtered_server(tmp_path, sink):
        with smtplib.SMTP("127.0.0.1", server.port("reinject"), timeout=30) as client:
            refused = client.sendmail("alice@example.org", ["nobody@example.com"], MESSAGE)
        assert refused == {}
        with server.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            client.sendmail("alice@example.org", ["nobody@example.com"], MESSAGE)
        assert e.value.recipients["nobody@example.com"][0] == 550
