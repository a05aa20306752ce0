"""Shared pieces of the IMAP session tests: accounts, Maildirs, an in-process server on
127.0.0.1:0 driven from a client thread, and a raw-socket client for what imaplib cannot
send (pipelining, junk, literals, clients that stop reading)."""

from __future__ import annotations

import asyncio
import dataclasses
import imaplib
import re
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vmail.auth.accounts import Account, MemoryAccountSource
from vmail.auth.passwords import hash_password
from vmail.auth.service import Authenticator
from vmail.auth.throttle import Throttle
from vmail.config import MainConfig
from vmail.servers.imapd.server import ImapServer

T = TypeVar("T")
PASSWORD = "s3cret pw"
USER = "alice@example.com"
MESSAGE = (
    b"From: Bob <bob@example.com>\r\nTo: alice@example.com\r\nSubject: {subject}\r\n"
    b"Date: Fri, 27 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{n}@example.com>\r\n\r\n"
    b"Hello {n}.\r\n"
)
MULTIPART = (
    b"From: bob@example.com\r\nSubject: parts\r\nMIME-Version: 1.0\r\n"
    b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n'
    b"--b1\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nfirst part\r\n"
    b"--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
    b"\r\nAAEC/w==\r\n--b1--\r\n"
)


class FastSleep:
    """Records authentication failure delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def authenticator(
    sleep: FastSleep | None = None, throttle: Throttle | None = None, quota_bytes: int = 0
) -> Authenticator:
    stored = hash_password(PASSWORD, "SSHA512")
    source = MemoryAccountSource(
        [
            Account(USER, stored, maildir="example.com/alice/", quota_bytes=quota_bytes),
            Account("bob@example.com", stored, maildir="example.com/bob/"),
        ]
    )
    return Authenticator(
        source, sleep=sleep or FastSleep(), throttle=throttle or Throttle(), equalize_timing=False
    )


def main_cf(tmp_path: Path, extra: str = "") -> MainConfig:
    text = (
        f"virtual_mailbox_base = {tmp_path}/mail\nmyhostname = mx.example.com\n"
        "imapd_tls_security_level = none\n" + extra
    )
    return MainConfig.from_text(text)


def maildir(tmp_path: Path, user: str = "alice") -> Path:
    root = tmp_path / "mail" / "example.com" / user
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def message(n: int, subject: str = "") -> bytes:
    return MESSAGE.replace(b"{n}", str(n).encode()).replace(
        b"{subject}", (subject or f"message {n}").encode()
    )


def deliver(root: Path, count: int, start: int = 1) -> None:
    """``count`` messages in new/ (numbered from ``start``)."""
    for n in range(start, start + count):
        (root / "new" / f"{1700000000 + n}.M{n}P1.host").write_bytes(message(n))


def serve(
    config: MainConfig,
    client: Callable[[ImapServer], T],
    auth: Authenticator | None = None,
    **settings: Any,
) -> T:
    """Run an ImapServer and ``client(server)`` in a thread; the client's result.
    ``settings`` replace fields of the server's :class:`ImapSettings` (e.g. write_timeout)."""

    async def main() -> T:
        server = ImapServer(config, auth or authenticator(), port=0)
        if settings:
            server.settings = dataclasses.replace(server.settings, **settings)
        await server.start()
        try:
            return await asyncio.to_thread(client, server)
        finally:
            await server.close()

    return asyncio.run(main())


def imap(server: ImapServer, login: bool = True) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", server.port, timeout=10)
    if login:
        client.login(USER, PASSWORD)
    return client


class Raw:
    """A plain socket IMAP client that sends exactly the bytes it is given."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        return self.file.readline(1 << 22)

    def read(self, size: int) -> bytes:
        return self.file.read(size)

    def until(self, tag: bytes) -> list[bytes]:
        """Lines up to and including the one starting with ``tag`` + space (literals inline)."""
        lines: list[bytes] = []
        while True:
            line = self.line()
            if not line:
                raise EOFError(b"".join(lines))
            literal = re.search(rb"\{(\d+)\}\r\n$", line)
            if literal:
                line += self.read(int(literal.group(1)))
                line += self.line()
            lines.append(line)
            if line.startswith(tag + b" "):
                return lines

    def command(self, tag: bytes, text: bytes) -> list[bytes]:
        self.send(tag + b" " + text + b"\r\n")
        return self.until(tag)

    def login(self) -> None:
        reply = self.command(b"L", f'LOGIN {USER} "{PASSWORD}"'.encode())
        assert reply[-1].startswith(b"L OK"), reply

    def close(self) -> None:
        self.file.close()
        self.sock.close()
