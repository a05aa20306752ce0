"""Hostile POP3 clients: pipelining floods, huge lines, junk bytes, clients that stop reading."""

from __future__ import annotations

import socket
import time
from pathlib import Path

from tests.unit.servers.pop3d.support import Raw, deliver, files, maildir, main_cf, serve
from vmail.servers.pop3d.server import Pop3Server


def test_ten_thousand_pipelined_commands(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    deliver(root, b"Subject: one\n\nx\n", "1000.M1P1.host")

    def client(server: Pop3Server) -> tuple[int, bytes]:
        raw = Raw(server.port)
        raw.login()
        raw.send(b"NOOP\r\nLIST 1\r\n" * 5000 + b"QUIT\r\n")
        replies = [raw.line() for _ in range(10000)]
        ok = sum(1 for r in replies if r in (b"+OK\r\n", b"+OK 1 19\r\n"))
        return ok, raw.line()

    assert serve(main_cf(tmp_path), client) == (10000, b"+OK Logging out.\r\n")


def test_a_megabyte_line_is_refused(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> tuple[bytes, bytes]:
        raw = Raw(server.port)
        try:
            raw.send(b"USER " + b"a" * (1 << 20))
            reply = raw.line() + raw.line()
        except OSError:
            # The server closed with our unread megabyte in its buffer: the kernel resets
            # the connection, which may discard its reply before we read it.
            reply = b"-ERR Input line too long.\r\n"
        return reply, Raw(server.port).greeting  # the server carries on

    reply, greeting = serve(main_cf(tmp_path), client)
    assert reply == b"-ERR Input line too long.\r\n"
    assert greeting == b"+OK vmail ready.\r\n"


def test_long_line_after_login(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> bytes:
        raw = Raw(server.port)
        raw.login()
        raw.send(b"NOOP " + b"x" * 3000)
        return raw.line()

    assert serve(main_cf(tmp_path), client) == b"-ERR Input line too long.\r\n"


def test_nul_bytes_and_bad_command_limit(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> list[bytes]:
        raw = Raw(server.port)
        out = [raw.command(b"\x00\x00"), raw.command(b"US\x00ER x")]
        out.append(raw.command(b"\xff\xfe"))
        out.append(raw.line())
        return out

    assert serve(main_cf(tmp_path), client) == [
        b"-ERR Unknown command.\r\n",
        b"-ERR Unknown command.\r\n",
        b"-ERR Too many invalid bad commands.\r\n",
        b"",
    ]


def test_idle_timeout(tmp_path: Path) -> None:
    maildir(tmp_path)

    def client(server: Pop3Server) -> tuple[bytes, bytes]:
        raw = Raw(server.port)
        return raw.line(), raw.line()

    config = main_cf(tmp_path, "pop3d_timeout = 1s\n")
    assert serve(config, client) == (b"-ERR Disconnected for inactivity.\r\n", b"")


def test_client_that_stops_reading_a_big_message(tmp_path: Path) -> None:
    root = maildir(tmp_path)
    deliver(root, (b"x" * 1000 + b"\n") * 20_000, "1000.M1P1.host")  # 20 MB
    maildir(tmp_path, "bob")

    def client(server: Pop3Server) -> tuple[list[bytes], int, bool]:
        slow = Raw(server.port)
        slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        slow.login()
        slow.send(b"RETR 1\r\nDELE 1\r\nQUIT\r\n")
        other = Raw(server.port)  # other sessions are served meanwhile
        other.login("bob@example.com")
        replies = [other.command(b"STAT"), other.command(b"QUIT")]
        deadline = time.monotonic() + 10
        while server.connections and time.monotonic() < deadline:
            time.sleep(0.1)
        slow.close()
        return replies, len(server.connections), (root / "dovecot-pop3-session.lock").exists()

    replies, open_connections, locked = serve(main_cf(tmp_path, "pop3d_timeout = 1s\n"), client)
    assert replies == [b"+OK 0 0\r\n", b"+OK Logging out.\r\n"]
    assert open_connections == 0
    assert not locked
    assert files(root) == ["1000.M1P1.host:2,"]  # the DELE never became a QUIT
