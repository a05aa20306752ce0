"""Mail that leaves ``vmail serve``: LMTP into a real Dovecot, relay to an SMTP server,
bounces, retries and expiry, driven with swaks and smtplib."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, make_config, running
from tests.unit.delivery.smtp_sink import SmtpSink
from tests.unit.delivery.test_smtp_dovecot import dovecot_lmtp  # noqa: F401 (fixture)

MESSAGE = b"From: bob@example.com\r\nSubject: out\r\n\r\nleaving\r\n"
FAST_RETRY = {
    "queue_run_delay": "1s",
    "minimal_backoff_time": "1s",
    "maximal_backoff_time": "1s",
}


def swaks(server: ServerProcess, *args: str) -> str:
    """Run swaks against the server's port 25 listener; its output."""
    if shutil.which("swaks") is None:
        pytest.skip("swaks is not installed (CI installs it)")
    done = subprocess.run(
        ["swaks", "--server", f"127.0.0.1:{server.port()}", "--helo", "client.test", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout + done.stderr


def test_lmtp_into_real_dovecot(tmp_path: Path, dovecot_lmtp: tuple[Path, Path]) -> None:  # noqa: F811
    socket_path, mail = dovecot_lmtp
    config_dir = make_config(tmp_path, {"virtual_transport": f"lmtp:unix:{socket_path}"})
    for server in running(config_dir):
        server.add_mailbox("bob@x.test")
        output = swaks(server, "--to", "bob@x.test", "--from", "alice@example.org")
        assert "<-  250 2.0.0 Ok: queued as" in output
        server.wait_log(r"to=<bob@x\.test>, relay=mx\.test\[.*lmtp\].*status=sent \(250 2\.0\.0")
        new = mail / "bob" / "Maildir" / "new"
        (stored,) = list(new.iterdir())
        assert b"Received: from client.test" in stored.read_bytes()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    with SmtpSink(name="relay.test") as running_sink:
        yield running_sink


def _relaying(tmp_path: Path, sink: SmtpSink, **extra: str) -> Path:
    return make_config(tmp_path, {"relayhost": f"[127.0.0.1]:{sink.port}", **FAST_RETRY, **extra})


def test_relay_to_smtp_server(tmp_path: Path, sink: SmtpSink) -> None:
    for server in running(_relaying(tmp_path, sink)):
        with server.smtp() as client:  # 127.0.0.1 is in mynetworks: may relay
            client.sendmail("bob@example.com", ["friend@elsewhere.example"], MESSAGE)
        server.wait_log(
            r"to=<friend@elsewhere\.example>, relay=127\.0\.0\.1\[127\.0\.0\.1\]:\d+, .*"
            r"status=sent \(250 2\.0\.0 Ok: queued as 4ABC\)"
        )
        (received,) = sink.messages
        assert received.endswith(b"\r\n\r\nleaving\r\n")
        assert "RCPT TO:<friend@elsewhere.example>" in sink.commands


def test_unknown_remote_user_bounces_to_sender(tmp_path: Path, sink: SmtpSink) -> None:
    sink.replies["RCPT"] = "550 5.1.1 <nobody@elsewhere.example>: Recipient address rejected"
    for server in running(_relaying(tmp_path, sink)):
        server.add_mailbox("bob@example.com")
        with server.smtp() as client:
            client.sendmail("bob@example.com", ["nobody@elsewhere.example"], MESSAGE)
        (bounce,) = server.wait_for("bob@example.com")
        assert b"Return-Path: <>" in bounce
        assert b"Subject: Undelivered Mail Returned to Sender" in bounce
        assert b"Status: 5.1.1" in bounce
        assert b"Remote-MTA: dns; 127.0.0.1" in bounce
        assert (
            b"Diagnostic-Code: smtp; 550 5.1.1 <nobody@elsewhere.example>: Recipient address "
            b"rejected\n" in bounce
        )
        server.wait_log(r"sender non-delivery notification: \w+")


def test_retry_after_4xx(tmp_path: Path, sink: SmtpSink) -> None:
    answers = iter(["450 4.2.0 try again later"])
    sink.replies["RCPT"] = lambda _arg: next(answers, "250 2.1.5 Ok")
    for server in running(_relaying(tmp_path, sink)):
        with server.smtp() as client:
            client.sendmail("bob@example.com", ["later@elsewhere.example"], MESSAGE)
        server.wait_log(r"to=<later@elsewhere\.example>.*status=deferred \(host .* said: 450")
        server.wait_log(r"to=<later@elsewhere\.example>.*status=sent", timeout=30)
        assert len(sink.messages) == 1


def test_queue_expiry_bounces(tmp_path: Path, sink: SmtpSink) -> None:
    sink.replies["RCPT"] = "451 4.3.0 still not"
    config_dir = _relaying(tmp_path, sink, maximal_queue_lifetime="3s")
    for server in running(config_dir):
        server.add_mailbox("bob@example.com")
        with server.smtp() as client:
            client.sendmail("bob@example.com", ["stuck@elsewhere.example"], MESSAGE)
        server.wait_log(r"to=<stuck@elsewhere\.example>.*status=expired", timeout=40)
        (bounce,) = server.wait_for("bob@example.com")
        assert b"Undelivered Mail Returned to Sender" in bounce
        assert b"still not" in bounce
        time.sleep(0.5)
        assert sink.messages == []
