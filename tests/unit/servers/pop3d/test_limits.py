"""Connection limits, reconfiguration, drain, and messages that vanish during a session."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.unit.servers.pop3d.support import Raw, authenticator, deliver, maildir, main_cf, serve
from vmail.servers.mailboxes import open_store
from vmail.servers.pop3d.server import Pop3Server


def test_client_limit(tmp_path: Path) -> None:
    config = main_cf(tmp_path, "pop3d_client_limit = 1\n")

    def client(server: Pop3Server) -> bytes:
        first = Raw(server.port)
        second = Raw(server.port)
        first.close()
        return second.greeting

    assert serve(config, client) == b"-ERR [SYS/TEMP] Maximum number of connections exceeded.\r\n"


def test_userip_limit(tmp_path: Path) -> None:
    maildir(tmp_path)
    config = main_cf(tmp_path, "mail_max_userip_connections = 1\npop3d_lock_session = no\n")

    def client(server: Pop3Server) -> bytes:
        first = Raw(server.port)
        first.login()
        second = Raw(server.port)
        second.command(b"USER alice@example.com")
        reply = second.command(b"PASS s3cret pw")
        first.close()
        return reply

    assert serve(config, client) == (
        b"-ERR [LOGIN-DELAY] Maximum number of connections from user+IP exceeded "
        b"(mail_max_userip_connections=1)\r\n"
    )


def test_message_expunged_by_someone_else(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    deliver(root, b"Subject: one\n\nx\n", "1000.M1P1.host")

    def client(server: Pop3Server) -> list[bytes]:
        raw = Raw(server.port)
        raw.login()
        for path in (root / "cur").iterdir():
            path.unlink()
        return [raw.command(b"RETR 1"), raw.command(b"QUIT")]

    assert serve(main_cf(tmp_path), client) == [
        b"-ERR Message 1 expunged.\r\n",
        b"+OK Logging out.\r\n",
    ]


def test_reconfigure_and_drain(tmp_path: Path) -> None:
    maildir(tmp_path)
    config = main_cf(tmp_path)

    async def main() -> tuple[bytes, bytes]:
        server = Pop3Server(
            config, None, port=0, open_store=lambda account: open_store(config, account)
        )
        await server.start()
        first = await asyncio.to_thread(lambda: Raw(server.port).greeting)
        server.reconfigure(main_cf(tmp_path, "pop3d_banner = Changed\n"), authenticator())
        raw = await asyncio.to_thread(Raw, server.port)
        await asyncio.to_thread(raw.login)
        await server.drain(1.0)
        end = await asyncio.to_thread(raw.line)
        return first + raw.greeting, end

    greetings, end = asyncio.run(main())
    assert greetings == b"+OK vmail ready.\r\n+OK Changed\r\n"
    assert end == b""


def test_failed_opens_do_not_count_against_the_user(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    (root / "dovecot-pop3-session.lock").mkdir()  # looks held for ever
    config = main_cf(tmp_path, "mail_max_userip_connections = 1\n")

    def client(server: Pop3Server) -> list[bytes]:
        raw = Raw(server.port)
        replies = []
        for _ in range(2):
            raw.command(b"USER alice@example.com")
            replies.append(raw.command(b"PASS s3cret pw"))
        return replies

    assert (
        serve(config, client, lock_wait=0.1)
        == [b"-ERR [IN-USE] Mailbox is locked by another POP3 session.\r\n"] * 2
    )
