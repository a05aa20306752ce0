"""Shared pieces of the smtpd tests: a router and spool, a TLS certificate, an account
source, and ``serve()`` that runs an SmtpServer on 127.0.0.1:0 for a client thread."""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from tests.routing_helpers import make_router
from vmail.auth.accounts import Account, MemoryAccountSource
from vmail.auth.passwords import hash_password
from vmail.auth.service import Authenticator
from vmail.auth.throttle import Throttle
from vmail.cleanup import Cleanup
from vmail.cli.init_tls import self_signed
from vmail.queue import QueueFile, Spool
from vmail.route import Router
from vmail.servers.smtpd import SmtpServer

T = TypeVar("T")
PASSWORD = "s3cret pw"
VIRTUAL = """\
queue_directory = {dir}/queue
virtual_mailbox_domains = example.com
virtual_mailbox_maps = inline:{ alice@example.com=example.com/alice/, \
bob@example.com=example.com/bob/ }
smtpd_timeout = 5s
mynetworks = 192.0.2.0/24
"""
MESSAGE = b"Subject: hi\r\n\r\nbody\r\n"


class FastSleep:
    """Records the authentication failure delays instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def certificate(directory: Path) -> str:
    """Write a self-signed cert + key for mail.example.net; main.cf lines naming them."""
    cert, key = self_signed("mail.example.net", 2048)
    (directory / "cert.pem").write_bytes(cert)
    (directory / "key.pem").write_bytes(key)
    return f"smtpd_tls_cert_file = {directory}/cert.pem\nsmtpd_tls_key_file = {directory}/key.pem\n"


def client_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def authenticator(sleep: FastSleep | None = None) -> Authenticator:
    stored = hash_password(PASSWORD, "SSHA512")
    source = MemoryAccountSource(
        [Account("alice@example.com", stored), Account("bob@example.com", stored)]
    )
    return Authenticator(
        source, sleep=sleep or FastSleep(), throttle=Throttle(), equalize_timing=False
    )


def setup(tmp_path: Path, main_cf: str) -> tuple[Router, Spool]:
    router = make_router(tmp_path, VIRTUAL + main_cf)
    spool = Spool(tmp_path / "queue").create()
    return router, spool


def serve(router: Router, spool: Spool, client: Callable[[int], T], **kwargs: Any) -> T:
    """Run an SmtpServer (``kwargs`` to its constructor) and ``client(port)`` in a thread."""

    async def main() -> T:
        cleanup = Cleanup(router.config, router, spool)
        kwargs.setdefault("peername_lookup", False)
        server = SmtpServer(router.config, router, cleanup, port=0, **kwargs)
        await server.start()
        try:
            return await asyncio.to_thread(client, server.port)
        finally:
            await server.close()

    return asyncio.run(main())


def queued(spool: Spool) -> list[QueueFile]:
    return [spool.load("incoming", qid) for qid in spool.ids("incoming")]


def dialogue(port: int, commands: list[bytes]) -> list[str]:
    """The greeting and the reply to each command, one line each (multi-line joined)."""
    with socket.create_connection(("127.0.0.1", port)) as s, s.makefile("rb") as f:

        def reply() -> str:
            lines = []
            while True:
                line = f.readline().decode().rstrip("\r\n")
                lines.append(line)
                if line[3:4] != "-":
                    return " | ".join(lines)

        replies = [reply()]
        for command in commands:
            s.sendall(command + b"\r\n")
            replies.append(reply())
        return replies
