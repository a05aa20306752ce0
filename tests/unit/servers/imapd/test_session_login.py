"""IMAP sessions before and at login: greeting, CAPABILITY, LOGIN, AUTHENTICATE (SASL-IR,
cancellation), ID, ENABLE, NAMESPACE, state errors and LOGOUT, over real sockets."""

from __future__ import annotations

import base64
import imaplib
import time
from pathlib import Path

from tests.unit.servers.imapd.session_support import (
    PASSWORD,
    USER,
    Raw,
    imap,
    maildir,
    main_cf,
    serve,
)
from vmail.servers.imapd.server import ImapServer

PLAIN = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())


def test_greeting_and_capabilities_before_and_after_login(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> tuple[bytes, list[bytes], list[bytes]]:
        raw = Raw(server.port)
        before = raw.command(b"a", b"CAPABILITY")
        raw.login()
        after = raw.command(b"b", b"CAPABILITY")
        return raw.greeting, before, after

    greeting, before, after = serve(main_cf(tmp_path), client)
    assert greeting.startswith(b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE")
    assert greeting.endswith(b"] vmail ready.\r\n")
    assert b"AUTH=PLAIN AUTH=LOGIN" in before[0]
    assert b"STARTTLS" not in before[0]  # no certificate, level none
    assert (
        before[1] == b"a OK Pre-login capabilities listed, post-login capabilities have more.\r\n"
    )
    caps = after[0].split()
    for cap in (b"MOVE", b"CONDSTORE", b"QRESYNC", b"COMPRESS=DEFLATE", b"SPECIAL-USE"):
        assert cap in caps
    assert b"AUTH=PLAIN" not in caps


def test_login_disabled_when_tls_is_required_and_the_client_is_not_secure(
    tmp_path: Path,
) -> None:
    maildir(tmp_path)
    config = main_cf(tmp_path, "imapd_tls_auth_only = yes\n")

    def client(server: ImapServer) -> tuple[list[bytes], list[bytes], list[bytes]]:
        raw = Raw(server.port)
        # Loopback counts as secure (as in Dovecot): pretend the peer is remote.
        [conn] = server.connections
        conn.stream.address = "192.0.2.1"
        caps = raw.command(b"a", b"CAPABILITY")
        login = raw.command(b"b", f'LOGIN {USER} "{PASSWORD}"'.encode())
        auth = raw.command(b"c", b"AUTHENTICATE PLAIN " + PLAIN)
        return caps, login, auth

    caps, login, auth = serve(config, client)
    assert b"LOGINDISABLED" in caps[0]
    assert b"AUTH=" not in caps[0]
    privacy = b"NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure"
    assert login[-1].startswith(b"b " + privacy)
    assert auth[-1].startswith(b"c " + privacy)


def test_login_success_failure_and_state_errors(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        out = [raw.command(b"a", b"SELECT INBOX")[-1]]
        out.append(raw.command(b"b", b'LOGIN alice@example.com "wrong"')[-1])
        out.append(raw.command(b"c", b"LOGIN nobody@example.com x")[-1])
        ok = raw.command(b"d", f'LOGIN {USER.upper()} "{PASSWORD}"'.encode())
        out.append(ok[-1])
        out.append(raw.command(b"e", b"LOGIN x y")[-1])
        out.append(raw.command(b"f", b"FETCH 1 FLAGS")[-1])
        out.append(raw.command(b"g", b"FROB")[-1])
        out += raw.command(b"h", b"LOGOUT")
        out.append(raw.line())
        return out

    out = serve(main_cf(tmp_path), client)
    assert out[0] == b"a BAD Error in IMAP command received by server.\r\n"
    assert out[1] == b"b NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
    assert out[2] == b"c NO [AUTHENTICATIONFAILED] Authentication failed.\r\n"
    assert out[3].startswith(b"d OK [CAPABILITY IMAP4rev1 ")
    assert out[3].endswith(b"Logged in\r\n")
    assert out[4] == b"e BAD Error in IMAP command LOGIN: Unknown command\r\n"  # as Dovecot
    assert out[5] == b"f BAD No mailbox selected.\r\n"
    assert out[6].startswith(b"g BAD ")
    assert out[7:] == [b"* BYE Logging out\r\n", b"h OK Logout completed.\r\n", b""]


def test_authenticate_plain_with_and_without_initial_response_and_login(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[list[bytes]]:
        results = []
        raw = Raw(server.port)
        results.append(raw.command(b"a", b"AUTHENTICATE PLAIN " + PLAIN))
        raw = Raw(server.port)
        raw.send(b"b AUTHENTICATE PLAIN\r\n")
        results.append([raw.line()])
        raw.send(PLAIN + b"\r\n")  # a SASL response line has no tag
        results.append(raw.until(b"b")[-1:])
        raw = Raw(server.port)
        raw.send(b"c AUTHENTICATE LOGIN\r\n")
        first = raw.line()
        raw.send(base64.b64encode(USER.encode()) + b"\r\n")
        second = raw.line()
        raw.send(base64.b64encode(PASSWORD.encode()) + b"\r\n")
        results.append([first, second, *raw.until(b"c")])
        return results

    ir, (cont,), (deferred,), login = serve(main_cf(tmp_path), client)
    assert ir[-1].startswith(b"a OK [CAPABILITY ")
    assert cont == b"+ \r\n"
    assert deferred.startswith(b"b OK [CAPABILITY ")
    assert login[0] == b"+ " + base64.b64encode(b"Username:") + b"\r\n"
    assert login[1] == b"+ " + base64.b64encode(b"Password:") + b"\r\n"
    assert login[2].startswith(b"c OK [CAPABILITY ")


def test_authenticate_cancel_bad_base64_and_unknown_mechanism(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.send(b"a AUTHENTICATE PLAIN\r\n")
        raw.line()
        raw.send(b"*\r\n")
        out = raw.until(b"a")
        raw.send(b"b AUTHENTICATE PLAIN\r\n")
        raw.line()
        raw.send(b"!!!notbase64\r\n")
        out += raw.until(b"b")
        out += raw.command(b"c", b"AUTHENTICATE GSSAPI")
        out += raw.command(b"d", b"AUTHENTICATE PLAIN " + base64.b64encode(b"\0x\0y"))
        out += raw.command(b"e", b"NOOP")
        return out

    out = serve(main_cf(tmp_path), client)
    assert out == [
        b"a BAD Authentication aborted by client.\r\n",
        b"b BAD Invalid base64 data in continued response\r\n",
        b"c NO [ALERT] Unsupported authentication mechanism.\r\n",
        b"d NO [AUTHENTICATIONFAILED] Authentication failed.\r\n",
        b"e OK NOOP completed.\r\n",
    ]


def test_id_enable_namespace(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        out = raw.command(b"a", b'ID ("name" "test" "version" "1")')
        out += raw.command(b"b", b"ENABLE CONDSTORE")  # not yet authenticated
        raw.login()
        out += raw.command(b"c", b"ENABLE QRESYNC X-UNKNOWN")
        out += raw.command(b"d", b"ENABLE CONDSTORE")
        out += raw.command(b"e", b"NAMESPACE")
        out += raw.command(b"f", b"ID NIL")
        return out

    out = serve(main_cf(tmp_path), client)
    assert out[0].startswith(b'* ID ("name" "vmail" "version" ')
    assert out[1] == b"a OK ID completed.\r\n"
    assert out[2] == b"b BAD Error in IMAP command received by server.\r\n"
    # Dovecot: only the capabilities named, an already enabled one repeated
    assert out[3:5] == [b"* ENABLED QRESYNC\r\n", b"c OK Enabled.\r\n"]
    assert out[5:7] == [b"* ENABLED CONDSTORE\r\n", b"d OK Enabled.\r\n"]
    assert out[7:9] == [b'* NAMESPACE (("" ".")) NIL NIL\r\n', b"e OK Namespace completed.\r\n"]
    assert out[10] == b"f OK ID completed.\r\n"


def test_imaplib_login_and_logout_counts_sessions(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> tuple[str, int, int]:
        c = imap(server)
        during = sum(server.user_sessions.values())
        typ, _ = c.noop()
        c.logout()
        for _ in range(100):
            if not server.connections:
                break
            time.sleep(0.01)
        return typ, during, sum(server.user_sessions.values())

    assert serve(main_cf(tmp_path), client) == ("OK", 1, 0)


def test_login_with_a_literal_password(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.send(f"a LOGIN {USER} {{{len(PASSWORD)}}}\r\n".encode())
        cont = raw.line()
        raw.send(PASSWORD.encode() + b"\r\n")
        return [cont, *raw.until(b"a")]

    cont, done = serve(main_cf(tmp_path), client)
    assert cont == b"+ OK\r\n"
    assert done.startswith(b"a OK [CAPABILITY ")


def test_imaplib_rejects_bad_password(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: ImapServer) -> str:
        c = imap(server, login=False)
        try:
            c.login(USER, "nope")
        except imaplib.IMAP4.error as e:
            return str(e)
        return "logged in"

    assert "AUTHENTICATIONFAILED" in serve(main_cf(tmp_path), client)


def test_login_phase_errors_are_dovecots(tmp_path: Path) -> None:
    """imap-login gives no details, and its third bad command gets BYE alone."""
    maildir(tmp_path)

    def client(server: ImapServer) -> list[bytes]:
        raw = Raw(server.port)
        raw.send(b"a FOO\r\nb LOGIN x\r\n\r\n")
        return [raw.line() for _ in range(3)]

    assert serve(main_cf(tmp_path), client) == [
        b"a BAD Error in IMAP command received by server.\r\n",
        b"b BAD Error in IMAP command received by server.\r\n",
        b"* BYE Too many invalid IMAP commands.\r\n",
    ]
