"""The POP3 server over real sockets with poplib: sessions, UIDL, DELE/QUIT, snapshot, auth."""

from __future__ import annotations

import base64
import poplib
import socket
from pathlib import Path

import pytest

from tests.unit.servers.pop3d.support import (
    PASSWORD,
    USER,
    Raw,
    deliver,
    files,
    maildir,
    main_cf,
    serve,
)
from vmail.auth.accounts import Account
from vmail.auth.errors import AccountLookupError
from vmail.auth.service import Authenticator
from vmail.servers.pop3d.server import Pop3Server


def login(server: Pop3Server, user: str = USER) -> poplib.POP3:
    client = poplib.POP3("127.0.0.1", server.port, timeout=10)
    client.user(user)
    client.pass_(PASSWORD)
    return client


def test_session_retr_dele_quit(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = maildir(tmp_path)
    deliver(root, b"Subject: one\n\nline\n.dot\n", "1000.M1P1.host")
    deliver(root, b"Subject: two\r\n\r\nbody\r\n", "1001.M2P2.host")
    caplog.set_level("INFO", "vmail.pop3d")

    def client(server: Pop3Server) -> tuple[object, ...]:
        pop = login(server)
        welcome = pop.getwelcome()
        stat = pop.stat()
        listing = pop.list()[1]
        uidls = pop.uidl()[1]
        retr = pop.retr(1)[1]
        top = pop.top(2, 0)[1]
        dele = pop.dele(2)
        quit_ = pop.quit()
        return welcome, stat, listing, uidls, retr, top, dele, quit_

    welcome, stat, listing, uidls, retr, top, dele, quit_ = serve(main_cf(tmp_path), client)
    assert welcome == b"+OK vmail ready."
    assert stat == (2, 50)
    assert listing == [b"1 28", b"2 22"]
    uidvalidity = int((root / "dovecot-uidlist").read_text().split()[1][1:])
    assert uidls == [f"{n} {n:08x}{uidvalidity:08x}".encode() for n in (1, 2)]
    assert retr == [b"Subject: one", b"", b"line", b".dot"]  # poplib undoes the stuffing
    assert top == [b"Subject: two", b""]
    assert dele == b"+OK Marked to be deleted."
    assert quit_ == b"+OK Logging out, messages deleted."
    assert files(root) == ["1000.M1P1.host:2,S"]
    log = caplog.text
    assert "pop3-login: Login: user=<alice@example.com>, method=PLAIN, rip=127.0.0.1" in log
    assert ", secured" in log
    assert "pop3(alice@example.com): Disconnected: Logged out top=1/" in log
    assert "del=1/2, size=50" in log


def test_dropped_connection_changes_nothing(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    deliver(root, b"Subject: one\n\nx\n", "1000.M1P1.host")

    def client(server: Pop3Server) -> list[bytes]:
        pop = login(server)
        pop.retr(1)
        reply = pop.dele(1)
        pop.close()  # no QUIT
        pop = login(server)
        listing = pop.list()[1]
        pop.quit()
        return [reply, *listing]

    assert serve(main_cf(tmp_path), client) == [b"+OK Marked to be deleted.", b"1 19"]
    assert files(root) == ["1000.M1P1.host:2,"]


def test_mail_arriving_during_a_session_waits_for_the_next(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    deliver(root, b"Subject: one\n\nx\n", "1000.M1P1.host")

    def client(server: Pop3Server) -> tuple[int, int]:
        pop = login(server)
        deliver(root, b"Subject: two\n\ny\n", "1001.M2P2.host")
        first = pop.stat()[0]
        pop.quit()
        pop = login(server)
        second = pop.stat()[0]
        pop.quit()
        return first, second

    assert serve(main_cf(tmp_path), client) == (1, 2)


def test_uidl_file_name_format(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    deliver(root, b"Subject: one\n\nx\n", "1000.M1P1.host,S=17")

    def client(server: Pop3Server) -> list[bytes]:
        pop = login(server)
        uidls = pop.uidl()[1]
        pop.quit()
        return list(uidls)

    assert serve(main_cf(tmp_path, "pop3d_uidl_format = %f\n"), client) == [
        b"1 1000.M1P1.host,S=17"
    ]


def test_wrong_password_and_unknown_user(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> list[str]:
        pop = poplib.POP3("127.0.0.1", server.port, timeout=10)
        errors = []
        for user in (USER, "nobody@example.com"):
            pop.user(user)
            with pytest.raises(poplib.error_proto) as caught:
                pop.pass_("wrong")
            errors.append(str(caught.value))
        pop.quit()
        return errors

    assert serve(main_cf(tmp_path), client) == ["b'-ERR [AUTH] Authentication failed.'"] * 2
    assert "authentication failed: user=<alice@example.com>" in caplog.text


class FailingSource:
    def lookup(self, username: str) -> Account | None:
        raise AccountLookupError("database is down")


def test_temporary_failure(tmp_path: Path) -> None:
    auth = Authenticator(FailingSource(), equalize_timing=False)

    def client(server: Pop3Server) -> str:
        pop = poplib.POP3("127.0.0.1", server.port, timeout=10)
        pop.user(USER)
        with pytest.raises(poplib.error_proto) as caught:
            pop.pass_(PASSWORD)
        return str(caught.value)

    reply = serve(main_cf(tmp_path), client, auth)
    assert reply == "b'-ERR [SYS/TEMP] Temporary authentication failure.'"


def test_auth_plain_with_initial_response_and_capa(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> tuple[list[bytes], bytes, list[bytes]]:
        raw = Raw(server.port)
        assert raw.command(b"CAPA") == b"+OK\r\n"
        before = raw.multiline()
        token = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode())
        reply = raw.command(b"AUTH PLAIN " + token)
        assert raw.command(b"CAPA") == b"+OK\r\n"
        after = raw.multiline()
        raw.close()
        return before, reply, after

    before, reply, after = serve(main_cf(tmp_path), client)
    common = [b"CAPA", b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING", b"AUTH-RESP-CODE"]
    assert before == [c + b"\r\n" for c in [*common, b"USER", b"SASL PLAIN LOGIN"]]
    assert reply == b"+OK Logged in.\r\n"
    assert after == [c + b"\r\n" for c in common]


def test_session_lock(tmp_path: Path) -> None:
    root = maildir(tmp_path)

    def client(server: Pop3Server) -> tuple[str, bool, int]:
        first = login(server)
        second = poplib.POP3("127.0.0.1", server.port, timeout=10)
        second.user(USER)
        with pytest.raises(poplib.error_proto) as caught:
            second.pass_(PASSWORD)
        held = (root / "dovecot-pop3-session.lock").exists()
        first.quit()
        third = login(server)
        count = third.stat()[0]
        third.quit()
        return str(caught.value), held, count

    reply, held, count = serve(main_cf(tmp_path), client, lock_wait=0.2)
    assert reply == "b'-ERR [IN-USE] Mailbox is locked by another POP3 session.'"
    assert held
    assert count == 0
    assert not (root / "dovecot-pop3-session.lock").exists()


def test_a_stale_dovecot_lock_is_broken(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    (root / "dovecot-pop3-session.lock").write_text(f"999999999:{socket.gethostname()}")

    def client(server: Pop3Server) -> int:
        pop = login(server)
        count = pop.stat()[0]
        pop.quit()
        return count

    assert serve(main_cf(tmp_path), client, lock_wait=1.0) == 0
