"""Shared pieces of the POP3 server tests: accounts, Maildirs, a server on 127.0.0.1:0."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from vmail.auth.accounts import Account, MemoryAccountSource
from vmail.auth.passwords import hash_password
from vmail.auth.service import Authenticator
from vmail.auth.throttle import Throttle
from vmail.config import MainConfig
from vmail.servers.mailboxes import open_store
from vmail.servers.pop3d.server import Pop3Server

T = TypeVar("T")
PASSWORD = "s3cret pw"
USER = "alice@example.com"


class FastSleep:
    async def __call__(self, seconds: float) -> None:
        return None


def authenticator() -> Authenticator:
    stored = hash_password(PASSWORD, "SSHA512")
    source = MemoryAccountSource(
        [
            Account(USER, stored, maildir="example.com/alice/"),
            Account("bob@example.com", stored, maildir="example.com/bob/"),
        ]
    )
    return Authenticator(source, sleep=FastSleep(), throttle=Throttle(), equalize_timing=False)


def main_cf(tmp_path: Path, extra: str = "") -> MainConfig:
    text = (
        f"virtual_mailbox_base = {tmp_path}/mail\nmyhostname = mx.example.com\n"
        "pop3d_tls_security_level = none\n" + extra
    )
    return MainConfig.from_text(text)


def maildir(tmp_path: Path, user: str = "alice") -> Path:
    root = tmp_path / "mail" / "example.com" / user
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    return root


def deliver(root: Path, data: bytes, name: str) -> Path:
    path = root / "new" / name
    path.write_bytes(data)
    return path


def files(root: Path) -> list[str]:
    return sorted(p.name for sub in ("new", "cur") for p in (root / sub).iterdir())


def serve(
    config: MainConfig,
    client: Callable[[Pop3Server], T],
    auth: Authenticator | None = None,
    **kwargs: Any,
) -> T:
    """Run a Pop3Server and ``client(server)`` in a thread; the client's result."""

    async def main() -> T:
        server = Pop3Server(
            config,
            auth or authenticator(),
            port=0,
            open_store=lambda account: open_store(config, account),
            **kwargs,
        )
        await server.start()
        try:
            return await asyncio.to_thread(client, server)
        finally:
            await server.close()

    return asyncio.run(main())


class Raw:
    """A plain socket client for what poplib cannot send (pipelining, junk, no QUIT)."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        self.greeting = self.line()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        return self.file.readline(1 << 20)

    def command(self, text: bytes) -> bytes:
        self.send(text + b"\r\n")
        return self.line()

    def multiline(self) -> list[bytes]:
        lines = []
        while (line := self.line()) not in (b".\r\n", b""):
            lines.append(line)
        return lines

    def login(self, user: str = USER, password: str = PASSWORD) -> None:
        assert self.command(f"USER {user}".encode()) == b"+OK\r\n"
        assert self.command(f"PASS {password}".encode()) == b"+OK Logged in.\r\n"

    def close(self) -> None:
        self.file.close()
        self.sock.close()
