"""``vmail serve`` end to end: receive over SMTP, queue, deliver to Maildir; signals."""

from __future__ import annotations

import os
import signal
import smtplib
import socket
import ssl
from pathlib import Path

import pytest

from tests.e2e.harness import ServerProcess, make_config, running
from vmail.cli.init_tls import self_signed

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


def _served_certificate(port: int) -> bytes:
    """The DER certificate an implicit-TLS listener presents now."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    with context.wrap_socket(raw) as tls:
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return der


@pytest.mark.skipif(os.geteuid() != 0, reason="vmail serve drops root only when started as root")
def _install_certificate(keys: Path, hostname: str, key_mode: int) -> None:
    """A new self-signed certificate for ``hostname`` in ``keys`` (a renewal)."""
    cert, key = self_signed(hostname, 2048)
    (keys / "cert.pem").write_bytes(cert)
    (keys / "key.pem").write_bytes(key)
    (keys / "key.pem").chmod(key_mode)


def _with_certificate(tmp_path: Path, keys: Path, hostname: str, key_mode: int) -> Path:
    """A configuration whose listeners use a certificate in ``keys``."""
    _install_certificate(keys, hostname, key_mode)
    return make_config(
        tmp_path,
        {"smtpd_tls_cert_file": f"{keys}/cert.pem", "smtpd_tls_key_file": f"{keys}/key.pem"},
    )


def test_reload_loads_a_renewed_certificate_only_root_may_read(tmp_path: Path) -> None:
    """As after a certbot renewal: the key is root's alone (0600 in a 0700 directory),
    the files change, `vmail reload` runs as the mail owner. SMTPS and IMAPS present the
    new certificate to new clients (Postfix and Dovecot read keys as root in each process;
    vmail asks its privileged helper, which reads the files main.cf named at start)."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o700)

    config_dir = _with_certificate(tmp_path, keys, "old.example.net", 0o600)
    for server in running(config_dir):
        before = {name: _served_certificate(server.port(name)) for name in ("submissions", "imaps")}
        _install_certificate(keys, "new.example.net", 0o600)
        server.signal(signal.SIGHUP)
        server.wait_log(r"reload -- version")
        for name, old in before.items():
            new = _served_certificate(server.port(name))
            assert new != old, name
            assert b"new.example.net" in new
        assert "reload failed" not in server.log


def test_reload_gives_the_web_listener_a_renewed_certificate(tmp_path: Path) -> None:
    """The admin UI's HTTPS listener (its web processes reload themselves) presents a
    renewed certificate too, when its key is readable to the mail owner; a web process
    has no root helper, so a root-only key keeps the certificate it has (warned)."""
    keys = tmp_path / "keys"
    keys.mkdir(mode=0o755)

    config_dir = _with_certificate(tmp_path, keys, "old.example.net", 0o644)
    for server in running(config_dir):
        old = _served_certificate(server.port("web"))
        _install_certificate(keys, "new.example.net", 0o644)
        server.signal(signal.SIGHUP)
        server.wait_log(r"web process reloaded")
        new = _served_certificate(server.port("web"))
        assert new != old
        assert b"new.example.net" in new


def test_a_reload_that_cannot_load_a_listener_changes_nothing(server: ServerProcess) -> None:
    """A certificate that does not load fails the whole reload, logged, and the running
    listeners keep their settings (a reload used to stop half-way, without a word)."""
    main_cf = server.config_dir / "main.cf"
    main_cf.write_text(main_cf.read_text() + "smtpd_tls_cert_file = /nonexistent/cert.pem\n")
    server.signal(signal.SIGHUP)
    server.wait_log(r"error: reload failed, keeping the running configuration: .*/nonexistent/")
    with server.smtp() as client:
        client.ehlo("client.example.org")
        assert client.has_extn("starttls")
        assert client.sendmail("alice@example.org", ["bob@example.com"], MESSAGE) == {}
    server.wait_for("bob@example.com")
