"""smtpd STARTTLS, SMTPS, AUTH and sender login checks over real loopback sockets."""

from __future__ import annotations

import base64
import logging
import smtplib
import socket
from pathlib import Path

import pytest

from tests.unit.servers.helpers import (
    MESSAGE,
    PASSWORD,
    FastSleep,
    authenticator,
    certificate,
    client_context,
    queued,
    serve,
    setup,
)

SUBMISSION = """\
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_sasl_auth_enable = yes
smtpd_tls_received_header = yes
smtpd_relay_restrictions = permit_sasl_authenticated, reject_unauth_destination
local_header_rewrite_clients = permit_mynetworks, permit_sasl_authenticated
"""


@pytest.fixture(scope="module")
def cert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("tls")


def submission(tmp_path: Path, cert_dir: Path, extra: str = "") -> str:
    if not (cert_dir / "cert.pem").exists():
        certificate(cert_dir)
    return (
        SUBMISSION
        + (f"smtpd_tls_cert_file = {cert_dir}/cert.pem\nsmtpd_tls_key_file = {cert_dir}/key.pem\n")
        + extra
    )


def test_starttls_then_auth_plain_relays_with_esmtpsa_and_added_headers(
    tmp_path: Path, cert_dir: Path
) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))

    def client(port: int) -> tuple[str, str, tuple[int, bytes], dict[str, object]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            before = s.esmtp_features.copy()
            refused = s.docmd("AUTH PLAIN " + base64.b64encode(b"\0a\0b").decode())
            s.starttls(context=client_context())
            s.ehlo("client.example")
            after = s.esmtp_features
            login = s.login("alice@example.com", PASSWORD)
            result = s.sendmail("alice@example.com", ["someone@elsewhere.example"], MESSAGE)
            return (
                str(sorted(before)),
                str(after.get("auth")),
                login,
                {"refused": refused, **result},
            )

    before, auth, login, result = serve(router, spool, client, authenticator=authenticator())
    assert "auth" not in before  # smtpd_tls_auth_only
    assert "starttls" in before
    assert result["refused"] == (503, b"5.5.1 Error: authentication not enabled")
    assert auth.strip() == "PLAIN LOGIN"
    assert login == (235, b"2.7.0 Authentication successful")
    [qf] = queued(spool)
    assert qf.envelope.client["sasl_username"] == "alice@example.com"
    lines = qf.read_content().split(b"\r\n")
    assert lines[0] == b"Received: from client.example (unknown [127.0.0.1])"
    assert lines[1].startswith(b"\t(using TLSv1.3 with cipher TLS_")
    assert lines[1].endswith(b" bits))")
    assert lines[2] == b"\t(No client certificate requested)"
    assert lines[3].startswith(b"\tby mail.example.net (vmail) with ESMTPSA id ")
    assert lines[5] == b"Subject: hi"
    assert lines[6].startswith(b"Message-Id: <")
    assert lines[6].endswith(b"." + qf.queue_id.encode() + b"@mail.example.net>")
    assert lines[7].startswith(b"Date: ")
    assert lines[8] == b"From: alice@example.com"


def test_auth_login_and_wrong_password(
    tmp_path: Path, cert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))
    sleep = FastSleep()

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.starttls(context=client_context())
            s.ehlo("c")
            s.user, s.password = "bob@example.com", "wrong"
            bad = s.auth("LOGIN", s.auth_login, initial_response_ok=False)
        return bad, (0, b"")

    def client_ok(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.starttls(context=client_context())
            s.ehlo("c")
            s.user, s.password = "bob@example.com", PASSWORD
            return s.auth("LOGIN", s.auth_login, initial_response_ok=False)

    caplog.set_level(logging.INFO)
    with pytest.raises(smtplib.SMTPAuthenticationError) as info:
        serve(router, spool, client, authenticator=authenticator(sleep))
    assert info.value.smtp_code == 535
    assert info.value.smtp_error == b"5.7.8 Error: authentication failed: authentication failure"
    assert (
        "unknown[127.0.0.1]: SASL LOGIN authentication failed: authentication failure, "
        "sasl_username=bob@example.com" in caplog.messages
    )
    assert serve(router, spool, client_ok, authenticator=authenticator()) == (
        235,
        b"2.7.0 Authentication successful",
    )


def test_relay_refused_without_auth(tmp_path: Path, cert_dir: Path) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))

    def client(port: int) -> tuple[int, bytes]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.starttls(context=client_context())
            s.ehlo("c")
            s.mail("x@elsewhere.example")
            return s.rcpt("someone@elsewhere.example")

    got = serve(router, spool, client, authenticator=authenticator())
    assert got == (554, b"5.7.1 <someone@elsewhere.example>: Relay access denied")


def test_encrypt_level_requires_starttls_before_mail(tmp_path: Path, cert_dir: Path) -> None:
    main_cf = submission(tmp_path, cert_dir, "smtpd_tls_security_level = encrypt\n")
    router, spool = setup(tmp_path, main_cf)

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes], bool]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("c")
            plain = s.docmd("MAIL FROM:<a@example.com>")
            s.starttls(context=client_context())
            s.ehlo("c")
            return plain, s.docmd("MAIL FROM:<a@example.com>"), s.has_extn("auth")

    plain, tls, auth = serve(router, spool, client, authenticator=authenticator())
    assert plain == (530, b"5.7.0 Must issue a STARTTLS command first")
    assert tls[0] == 250
    assert auth


def test_smtps_wrapper_mode(tmp_path: Path, cert_dir: Path) -> None:
    main_cf = submission(tmp_path, cert_dir, "smtpd_tls_wrappermode = yes\n")
    router, spool = setup(tmp_path, main_cf)

    def client(port: int) -> tuple[bool, bool]:
        with smtplib.SMTP_SSL("127.0.0.1", port, context=client_context()) as s:
            s.ehlo("c")
            s.login("alice@example.com", PASSWORD)
            s.sendmail("alice@example.com", ["bob@example.com"], MESSAGE)
            return s.has_extn("starttls"), s.has_extn("auth")

    assert serve(router, spool, client, authenticator=authenticator()) == (False, True)
    [qf] = queued(spool)
    assert b"with ESMTPSA id" in qf.read_content()


def test_plaintext_pipelined_after_starttls_is_discarded(tmp_path: Path, cert_dir: Path) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))

    def client(port: int) -> list[bytes]:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"EHLO c\r\n")
            while f.readline()[3:4] == b"-":
                pass
            raw.sendall(b"STARTTLS\r\nMAIL FROM:<evil@example.org>\r\n")
            ready = f.readline()
            with client_context().wrap_socket(raw) as tls:
                g = tls.makefile("rb")
                tls.sendall(b"EHLO c\r\n")
                while g.readline()[3:4] == b"-":
                    pass
                tls.sendall(b"RCPT TO:<alice@example.com>\r\nQUIT\r\n")
                return [ready, g.readline(), g.readline()]

    ready, rcpt, bye = serve(router, spool, client, authenticator=authenticator())
    assert ready == b"220 2.0.0 Ready to start TLS\r\n"
    assert rcpt == b"503 5.5.1 Error: need MAIL command\r\n"
    assert bye == b"221 2.0.0 Bye\r\n"


def test_failed_handshake_ends_the_connection_and_is_logged(
    tmp_path: Path, cert_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))

    def client(port: int) -> bytes:
        with socket.create_connection(("127.0.0.1", port)) as raw:
            f = raw.makefile("rb")
            f.readline()
            raw.sendall(b"EHLO c\r\nSTARTTLS\r\n")
            while f.readline()[3:4] == b"-":
                pass
            f.readline()
            raw.sendall(b"this is not a TLS client hello\r\n" * 4)
            return f.read()

    assert serve(router, spool, client, authenticator=authenticator()) == b""
    assert any(m.startswith("SSL_accept error from unknown[127.0.0.1]") for m in caplog.messages)


LOGINS = (
    "smtpd_sender_login_maps = inline:{ alice@example.com=alice@example.com, "
    "bob@example.com=bob@example.com }\n"
    "smtpd_sender_restrictions = reject_sender_login_mismatch\n"
)


def test_sender_login_mismatch_is_rejected_at_rcpt(tmp_path: Path, cert_dir: Path) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir, LOGINS))

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.starttls(context=client_context())
            s.ehlo("c")
            anonymous = [s.docmd("MAIL FROM:<alice@example.com>")]
            anonymous.append(s.docmd("RCPT TO:<bob@example.com>"))
            s.rset()
            s.login("alice@example.com", PASSWORD)
            s.mail("bob@example.com")
            wrong = s.rcpt("bob@example.com")
            s.rset()
            s.mail("alice@example.com")
            return [*anonymous, wrong, s.rcpt("bob@example.com")]

    mail, anon_rcpt, wrong, right = serve(router, spool, client, authenticator=authenticator())
    assert mail[0] == 250  # smtpd_delay_reject: sender restrictions run at RCPT time
    assert anon_rcpt == (553, b"5.7.1 <alice@example.com>: Sender address rejected: not logged in")
    assert wrong == (
        553,
        b"5.7.1 <bob@example.com>: Sender address rejected: not owned by user alice@example.com",
    )
    assert right == (250, b"2.1.5 Ok")


def test_anonymous_port_25_mail_gets_no_added_headers(tmp_path: Path, cert_dir: Path) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))

    def client(port: int) -> None:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.sendmail("x@elsewhere.example", ["bob@example.com"], MESSAGE)

    serve(router, spool, client, authenticator=authenticator())
    [qf] = queued(spool)
    content = qf.read_content()
    assert content.endswith(b"\r\n" + MESSAGE)
    assert b"Message-Id:" not in content
    assert b"with ESMTP id" in content


def test_mail_from_auth_parameter_is_accepted(tmp_path: Path, cert_dir: Path) -> None:
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir))

    def client(port: int) -> list[tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.starttls(context=client_context())
            s.ehlo("c")
            s.login("alice@example.com", PASSWORD)
            first = s.docmd("MAIL FROM:<alice@example.com> AUTH=<>")
            s.rset()
            return [first, s.docmd("MAIL FROM:<alice@example.com> AUTH=alice+40example.com")]

    assert serve(router, spool, client, authenticator=authenticator()) == [
        (250, b"2.1.0 Ok"),
        (250, b"2.1.0 Ok"),
    ]


def test_reject_plaintext_session_until_starttls(tmp_path: Path, cert_dir: Path) -> None:
    extra = "smtpd_recipient_restrictions = reject_plaintext_session, permit\n"
    router, spool = setup(tmp_path, submission(tmp_path, cert_dir, extra))

    def client(port: int) -> tuple[tuple[int, bytes], tuple[int, bytes]]:
        with smtplib.SMTP("127.0.0.1", port) as s:
            s.ehlo("client.example")
            s.mail("a@example.com")
            plain = s.rcpt("bob@example.com")
            s.rset()
            s.starttls(context=client_context())
            s.ehlo("client.example")
            s.mail("a@example.com")
            return plain, s.rcpt("bob@example.com")

    plain, encrypted = serve(router, spool, client)
    # Postfix 3.7.11's reply (plaintext_reject_code = 450)
    assert plain == (450, b"4.7.1 Session encryption is required")
    assert encrypted == (250, b"2.1.5 Ok")


def test_no_auth_advertised_to_sasl_exception_networks(tmp_path: Path, cert_dir: Path) -> None:
    # smtpd_sasl_exceptions_networks: EHLO leaves AUTH out; the command itself still works
    main_cf = submission(
        tmp_path,
        cert_dir,
        "smtpd_tls_wrappermode = yes\nsmtpd_sasl_exceptions_networks = 127.0.0.0/8\n",
    )
    router, spool = setup(tmp_path, main_cf)

    def client(port: int) -> tuple[bool, int]:
        with smtplib.SMTP_SSL("127.0.0.1", port, context=client_context()) as s:
            s.ehlo("c")
            auth = b"\0alice@example.com\0" + PASSWORD.encode()
            code, _ = s.docmd("AUTH PLAIN " + base64.b64encode(auth).decode())
            return s.has_extn("auth"), code

    assert serve(router, spool, client, authenticator=authenticator()) == (False, 235)
