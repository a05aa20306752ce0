"""``vmail serve`` end to end: receive over SMTP, queue, deliver to Maildir; signals."""

from __future__ import annotations

import signal
import smtplib
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess

MESSAGE = b"From: alice@example.org\r\nSubject: hello\r\n\r\nhello bob\r\n"


def test_smtp_to_maildir(server: ServerProcess) -> None:
    with server.smtp() as client:
        client.ehlo("client.example.org")
        refused = client.sendmail("alice@example.org", ["bob@example.com"], MESSAGE)
    assert refused == {}
    (delivered,) = server.wait_for("bob@example.com")
    assert delivered.startswith(b"Return-Path: <alice@example.org>\n")
    assert b"Delivered-To: bob@example.com\n" in delivered
    assert b"Received: from client.example.org" in delivered
    assert delivered.endswith(b"\n\nhello bob\n")
    server.wait_log(r"to=<bob@example\.com>, relay=virtual, .*status=sent \(delivered to maildir\)")
    server.wait_log(r": removed")


def test_unknown_user_is_rejected_at_rcpt(server: ServerProcess) -> None:
    with server.smtp() as client, pytest.raises(smtplib.SMTPRecipientsRefused) as e:
        client.sendmail("alice@example.org", ["nobody@example.com"], MESSAGE)
    code, text = e.value.recipients["nobody@example.com"]
    assert code == 550
    assert b"5.1.1 <nobody@example.com>: Recipient address rejected" in text


def test_sighup_reloads_new_mailbox_table_entries(server: ServerProcess) -> None:
    server.vmail("alias", "add", "team@example.com", "--goto", "bob@example.com,carol@example.com")
    server.signal(signal.SIGHUP)
    server.wait_log(r"reload -- version")
    with server.smtp() as client:
        client.sendmail("alice@example.org", ["team@example.com"], MESSAGE)
    server.wait_for("bob@example.com")
    server.wait_for("carol@example.com")


def test_sigterm_stops_cleanly(server: ServerProcess) -> None:
    assert server.stop() == 0
    assert "terminating" in server.log
    pid_file = Path(server.data_dir / "spool" / "pid" / "master.pid")
    assert not pid_file.exists()


def test_vmail_stop_and_reload_commands(server: ServerProcess) -> None:
    assert "refreshing the mail system" in server.vmail("reload")
    server.wait_log(r"reload -- version")
    assert "stopping the mail system" in server.vmail("stop")
    assert server.proc is not None
    assert server.proc.wait(30) == 0
