"""The POP3 session state machine: every command in every state, with Dovecot's replies."""

from __future__ import annotations

import base64

import pytest

from vmail.auth.sasl import new_exchange
from vmail.protocol.pop3.session import (
    Close,
    Login,
    Maildrop,
    Pop3Session,
    Retrieve,
    SessionConfig,
    StartTls,
    State,
    Update,
)

SECURE = SessionConfig(greeting="vmail ready.", tls_available=True, loopback=True)
INSECURE = SessionConfig(tls_available=True, loopback=False)


def session(config: SessionConfig = SECURE) -> Pop3Session:
    return Pop3Session(config, new_exchange)


def logged_in(sizes: tuple[int, ...] = (10, 20, 30)) -> Pop3Session:
    s = session()
    uidls = [f"u{i}" for i in range(1, len(sizes) + 1)]
    assert s.logged_in("u@d", Maildrop(list(sizes), uidls, [False, True, False][: len(sizes)]))
    return s


def test_greeting_and_capa_before_login() -> None:
    s = session()
    assert s.greeting() == b"+OK vmail ready.\r\n"
    assert s.receive(b"CAPA\r\n") == [
        b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n"
        b"STLS\r\nUSER\r\nSASL PLAIN LOGIN\r\n.\r\n"
    ]


def test_capa_insecure_hides_user_and_mechanisms() -> None:
    s = session(INSECURE)
    capa = s.receive(b"CAPA")[0]
    assert isinstance(capa, bytes)
    assert b"USER" not in capa
    assert capa.endswith(b"STLS\r\nSASL\r\n.\r\n")
    disallowed = (
        b"-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n"
    )
    assert s.receive(b"USER u@d") == [disallowed]
    assert s.receive(b"PASS x") == [disallowed]
    assert s.receive(b"AUTH PLAIN") == [disallowed]
    s.tls_started()
    assert s.receive(b"USER u@d") == [b"+OK\r\n"]
    capa = s.receive(b"CAPA")[0]
    assert isinstance(capa, bytes)
    assert b"STLS" not in capa
    assert b"SASL PLAIN LOGIN" in capa


def test_user_pass() -> None:
    s = session()
    assert s.receive(b"PASS x") == [b"-ERR No username given.\r\n"]
    assert s.receive(b"USER u@d") == [b"+OK\r\n"]
    assert s.receive(b"PASS se cret") == [Login("u@d", "se cret", "PLAIN")]
    assert s.login_failed() == [b"-ERR [AUTH] Authentication failed.\r\n"]
    assert s.receive(b"PASS again") == [b"-ERR No username given.\r\n"]
    assert s.state is State.AUTHORIZATION


def test_auth_plain_initial_response_and_login_exchange() -> None:
    s = session()
    token = base64.b64encode(b"\x00u@d\x00pw")
    assert s.receive(b"AUTH PLAIN " + token) == [Login("u@d", "pw", "PLAIN")]
    assert s.receive(b"AUTH PLAIN") == [b"+ \r\n"]
    assert s.receive(token) == [Login("u@d", "pw", "PLAIN")]
    assert s.receive(b"AUTH login") == [b"+ VXNlcm5hbWU6\r\n"]
    assert s.receive(base64.b64encode(b"u@d")) == [b"+ UGFzc3dvcmQ6\r\n"]
    assert s.receive(base64.b64encode(b"pw")) == [Login("u@d", "pw", "LOGIN")]


def test_auth_failures() -> None:
    s = session()
    assert s.receive(b"AUTH") == [b"+OK\r\nPLAIN\r\nLOGIN\r\n.\r\n"]
    assert s.receive(b"AUTH CRAM-MD5") == [b"-ERR Unsupported authentication mechanism.\r\n"]
    assert s.receive(b"AUTH PLAIN") == [b"+ \r\n"]
    assert s.receive(b"*") == [b"-ERR Authentication aborted by client.\r\n"]
    assert s.receive(b"AUTH PLAIN !!!") == [b"-ERR [AUTH] Authentication failed.\r\n"]
    assert s.receive(b"AUTH PLAIN =") == [b"-ERR [AUTH] Authentication failed.\r\n"]
    assert Pop3Session(SECURE).receive(b"AUTH PLAIN") == [
        b"-ERR Unsupported authentication mechanism.\r\n"
    ]


def test_stls() -> None:
    s = session(INSECURE)
    assert s.receive(b"USER u@d") != [b"+OK\r\n"]
    assert s.receive(b"STLS") == [StartTls()]
    s.tls_started()
    assert s.receive(b"STLS") == [b"-ERR TLS is already active.\r\n"]
    assert session(SessionConfig()).receive(b"STLS") == [b"-ERR TLS support isn't enabled.\r\n"]


def test_apop_is_not_enabled_as_in_dovecot() -> None:
    s = session()
    assert s.receive(b"APOP u@d 0123456789abcdef0123456789abcdef") == [
        b"-ERR APOP not enabled.\r\n"
    ]


def test_bad_commands_before_login() -> None:
    s = session()
    assert s.receive(b"FOO") == [b"-ERR Unknown command.\r\n"]
    assert s.receive(b"STAT") == [b"-ERR Unknown command.\r\n"]
    assert s.receive(b"\x00\xff") == [
        b"-ERR Too many invalid bad commands.\r\n",
        Close("Too many bad commands"),
    ]
    assert s.receive(b"CAPA") == []


def test_quit_before_login() -> None:
    s = session()
    assert s.receive(b"QUIT") == [b"+OK Logging out\r\n", Close("Logged out")]


def test_transaction_listing() -> None:
    s = logged_in()
    assert s.receive(b"STAT") == [b"+OK 3 60\r\n"]
    assert s.receive(b"LIST") == [b"+OK 3 messages:\r\n1 10\r\n2 20\r\n3 30\r\n.\r\n"]
    assert s.receive(b"UIDL") == [b"+OK\r\n1 u1\r\n2 u2\r\n3 u3\r\n.\r\n"]
    assert s.receive(b"LIST 2") == [b"+OK 2 20\r\n"]
    assert s.receive(b"UIDL 3") == [b"+OK 3 u3\r\n"]
    assert s.receive(b"LIST 4") == [b"-ERR There's no message 4.\r\n"]
    assert s.receive(b"CAPA") == [
        b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\n.\r\n"
    ]
    assert s.receive(b"NOOP") == [b"+OK\r\n"]
    assert s.receive(b"USER x") == [b"-ERR Unknown command: USER\r\n"]


def test_dele_rset_and_quit() -> None:
    s = logged_in()
    assert s.receive(b"DELE 1") == [b"+OK Marked to be deleted.\r\n"]
    assert s.receive(b"DELE 1") == [b"-ERR Message is deleted.\r\n"]
    assert s.receive(b"RETR 1") == [b"-ERR Message is deleted.\r\n"]
    assert s.receive(b"LIST 1") == [b"-ERR Message is deleted.\r\n"]
    assert s.receive(b"STAT") == [b"+OK 2 50\r\n"]
    assert s.receive(b"LIST") == [b"+OK 2 messages:\r\n2 20\r\n3 30\r\n.\r\n"]
    assert s.receive(b"UIDL") == [b"+OK\r\n2 u2\r\n3 u3\r\n.\r\n"]
    assert s.receive(b"RSET") == [b"+OK\r\n"]
    assert s.receive(b"STAT") == [b"+OK 3 60\r\n"]
    assert s.receive(b"DELE 3") == [b"+OK Marked to be deleted.\r\n"]
    assert s.receive(b"RETR 1") == [Retrieve(0, None, b"+OK 10 octets\r\n")]
    assert s.receive(b"RETR 2") == [Retrieve(1, None, b"+OK 20 octets\r\n")]
    assert s.receive(b"QUIT") == [Update(deleted=[2], seen=[0])]
    assert s.updated(True) == [b"+OK Logging out, messages deleted.\r\n", Close("Logged out")]
    assert s.stats.retr == 2
    assert s.stats.deleted == 1


def test_quit_without_changes_and_storage_error() -> None:
    s = logged_in()
    assert s.receive(b"QUIT") == [Update([], [])]
    assert s.updated(True) == [b"+OK Logging out.\r\n", Close("Logged out")]
    s = logged_in()
    s.receive(b"QUIT")
    reply = s.updated(False)
    assert isinstance(reply[0], bytes)
    assert reply[0].startswith(b"-ERR [SYS/TEMP]")


def test_top() -> None:
    s = logged_in()
    assert s.receive(b"TOP 1 5") == [Retrieve(0, 5, b"+OK\r\n")]
    assert s.receive(b"TOP 1") == [b"-ERR Noise after message number: \r\n"]
    assert s.receive(b"TOP 1 x") == [b"-ERR Invalid size: x\r\n"]
    assert s.receive(b"QUIT") == [Update([], [])]  # TOP does not mark \Seen


def test_rset_forgets_retrieved() -> None:
    s = logged_in()
    s.receive(b"RETR 3")
    s.receive(b"RSET")
    assert s.receive(b"QUIT") == [Update([], [])]


def test_too_many_bad_commands_after_login() -> None:
    s = logged_in()
    for _ in range(20):
        assert len(s.receive(b"BOGUS")) == 1
    assert s.receive(b"RETR 99") == [
        b"-ERR There's no message 99.\r\n",
        b"-ERR Too many bad commands.\r\n",
        Close("Too many bad commands"),
    ]
    assert s.receive(b"QUIT") == []


def test_timeout_and_long_line() -> None:
    assert session().timed_out() == [
        b"-ERR Disconnected for inactivity.\r\n",
        Close("Disconnected for inactivity"),
    ]
    assert session().line_too_long()[0] == b"-ERR Input line too long.\r\n"


def test_empty_maildrop_and_mismatched_snapshot() -> None:
    s = logged_in(())
    assert s.receive(b"STAT") == [b"+OK 0 0\r\n"]
    assert s.receive(b"LIST") == [b"+OK 0 messages:\r\n.\r\n"]
    assert s.receive(b"RETR 1") == [b"-ERR There's no message 1.\r\n"]
    with pytest.raises(ValueError, match="differ"):
        Maildrop([1], [])
