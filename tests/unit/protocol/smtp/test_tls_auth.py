"""STARTTLS (nothing pipelined after it survives) and AUTH handed to a SASL exchange."""

from __future__ import annotations

import base64

from vmail.auth.sasl import Credentials, new_exchange
from vmail.core.reply import Reply
from vmail.protocol.smtp import (
    AuthCredentials,
    Decision,
    MailFrom,
    ServerSession,
    SessionConfig,
    StartTls,
)

from .transcript import HOST, drive

TLS = SessionConfig(myhostname=HOST, tls_available=True)
AUTH = SessionConfig(
    myhostname=HOST, tls_available=True, smtpd_sasl_auth_enable=True, smtpd_tls_auth_only=True
)


def test_starttls_discards_pipelined_commands() -> None:
    session = ServerSession(TLS)
    seen: list[Decision] = []

    def policy(d: Decision) -> None:
        seen.append(d)

    injected = b"STARTTLS\r\nMAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\n"
    run = drive(session, [b"EHLO x\r\n" + injected], policy)
    assert run.tls == 1
    assert [e.discarded for e in run.events if isinstance(e, StartTls)] == [len(injected) - 10]
    assert run.replies()[-1] == "220 2.0.0 Ready to start TLS"
    assert not any(isinstance(d, MailFrom) for d in seen)
    # after the handshake: a fresh session, no STARTTLS offered, second STARTTLS refused
    run = drive(session, [b"MAIL FROM:<a@b>\r\nEHLO y\r\nSTARTTLS\r\n"])
    assert "250-STARTTLS" not in run.lines()
    assert run.replies()[-1] == "554 5.5.1 Error: TLS already active"


def test_plaintext_fed_during_handshake_is_dropped() -> None:
    session = ServerSession(TLS)
    drive(session, [b"EHLO x\r\nSTARTTLS\r\n"], tls_ok=False)
    assert session.receive(b"MAIL FROM:<evil@x>\r\n") == []
    assert session.tls_started() == []
    assert drive(session, [b"NOOP\r\n"]).replies() == ["250 2.0.0 Ok"]


def test_starttls_syntax() -> None:
    assert drive(ServerSession(TLS), [b"STARTTLS now\r\n"]).replies() == [
        "501 5.5.4 Syntax: STARTTLS"
    ]


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _checker(decision: Decision) -> Reply | None:
    if isinstance(decision, AuthCredentials):
        cred = decision.credentials
        assert isinstance(cred, Credentials)
        if (cred.username, cred.password) == ("u@d.test", "secret"):
            return Reply(235, "2.7.0", "Authentication successful")
        return None  # fail closed: 535
    return None


def test_auth_only_after_tls_when_tls_auth_only() -> None:
    session = ServerSession(AUTH, new_exchange)
    run = drive(session, [b"EHLO x\r\nAUTH PLAIN\r\n"])
    assert "250-AUTH PLAIN LOGIN" not in run.lines()
    assert run.replies()[-1] == "503 5.5.1 Error: authentication not enabled"
    run = drive(session, [b"STARTTLS\r\n", b"EHLO x\r\n"])
    assert "250-AUTH PLAIN LOGIN" in run.lines()


def _authed_session() -> ServerSession:
    session = ServerSession(AUTH, new_exchange)
    drive(session, [b"EHLO x\r\nSTARTTLS\r\n", b"EHLO x\r\n"])
    return session


def test_auth_plain_initial_response() -> None:
    session = _authed_session()
    good = _b64(b"\0u@d.test\0secret")
    run = drive(session, [b"AUTH PLAIN " + good + b"\r\nAUTH PLAIN\r\n"], _checker)
    assert run.replies() == [
        "235 2.7.0 Authentication successful",
        "503 5.5.1 Error: already authenticated",
    ]
    assert session.authenticated


def test_auth_login_challenges_and_failure() -> None:
    session = _authed_session()
    run = drive(
        session,
        [b"AUTH LOGIN\r\n", _b64(b"u@d.test") + b"\r\n", _b64(b"wrong") + b"\r\n"],
        _checker,
    )
    assert run.replies() == [
        "334 VXNlcm5hbWU6",
        "334 UGFzc3dvcmQ6",
        "535 5.7.8 Error: authentication failed: authentication failure",
    ]
    assert not session.authenticated


def test_auth_errors() -> None:
    session = _authed_session()
    run = drive(
        session,
        [
            b"AUTH\r\nAUTH FOO\r\nAUTH PLAIN\r\n*\r\nAUTH PLAIN !!!\r\n",
            b"AUTH PLAIN\r\n" + b"A" * 20000 + b"\r\nNOOP\r\n",
            b"MAIL FROM:<a@b>\r\nAUTH PLAIN\r\n",
        ],
        _checker,
    )
    assert run.replies() == [
        "501 5.5.4 Syntax: AUTH mechanism",
        "535 5.7.8 Error: authentication failed: no mechanism available",
        "334 ",
        "501 5.7.0 Authentication aborted",
        "535 5.7.8 Error: authentication failed: authentication failure",
        "334 ",
        "500 5.5.6 SASL response limit exceeded",
        "250 2.0.0 Ok",
        "250 2.1.0 Ok",
        "503 5.5.1 Error: MAIL transaction in progress",
    ]


def test_auth_needs_helo_only_when_required_and_a_sasl_handler() -> None:
    config = SessionConfig(myhostname=HOST, smtpd_sasl_auth_enable=True)
    # Postfix 3.7.11 takes AUTH before EHLO unless smtpd_helo_required = yes
    assert drive(ServerSession(config, new_exchange), [b"AUTH PLAIN\r\n"]).replies() == ["334 "]
    required = SessionConfig(myhostname=HOST, smtpd_sasl_auth_enable=True, smtpd_helo_required=True)
    assert drive(ServerSession(required, new_exchange), [b"AUTH PLAIN\r\n"]).replies() == [
        "503 5.5.1 Error: send HELO/EHLO first"
    ]
    assert drive(ServerSession(config), [b"EHLO x\r\nAUTH PLAIN\r\n"]).replies()[-1] == (
        "503 5.5.1 Error: authentication not enabled"
    )


def test_mail_auth_parameter_is_xtext() -> None:
    session = _authed_session()
    seen: list[Decision] = []

    def policy(d: Decision) -> None:
        seen.append(d)

    drive(
        session,
        [
            b"MAIL FROM:<a@b> AUTH=u+40d.test\r\nRSET\r\nMAIL FROM:<a@b> AUTH=a+00b\r\nRSET\r\n"
            b"MAIL FROM:<a@b> AUTH=<> AUTH=<>\r\n"
        ],
        policy,
    )
    mails = [d for d in seen if isinstance(d, MailFrom)]
    assert [m.params.auth for m in mails] == ["u@d.test", None]  # bad xtext counts as <>
    run = drive(session, [b"RSET\r\nMAIL FROM:<a@b> AUTH=<> AUTH=<>\r\n"])
    assert run.replies()[-1] == "503 5.5.4 Error: multiple AUTH= options"
