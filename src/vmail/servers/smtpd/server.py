"""The SMTP/LMTP listener: one guarded task per connection.

:class:`SmtpServer` is built from the service's effective configuration (master.cf ``-o``
already applied, see :class:`~vmail.servers.smtpd.settings.Settings`) and runs one task
per connection, each a :class:`~vmail.servers.smtpd.connection.Connection` driving a
``ServerSession``. A bug in one connection ends that connection with ``421 4.3.0`` and is
logged; the server and the other connections carry on. :meth:`SmtpServer.reconfigure`
gives new connections a new snapshot; :meth:`SmtpServer.drain` stops accepting and lets
messages being received finish before closing. The per-client limits
(:mod:`~vmail.servers.smtpd.limits`) live as long as the listener.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from vmail.auth.service import Authenticator
from vmail.cleanup import Cleanup
from vmail.config import MainConfig
from vmail.protocol.smtp import SessionConfig
from vmail.route import Router
from vmail.servers.smtpd.connection import Connection, client_name
from vmail.servers.smtpd.limits import ClientLimits
from vmail.servers.smtpd.settings import Settings, session_config

__all__ = ["SmtpServer", "client_name", "session_config"]

log = logging.getLogger("vmail.smtpd")
READ_SIZE = 1 << 16


class SmtpServer:
    """Listens on ``host:port`` (port 0: any free port, see :attr:`port`).

    Configuration errors (TLS enabled without a usable certificate, a bad
    ``local_header_rewrite_clients`` item) raise ConfigError here, before any client.
    """

    def __init__(
        self,
        config: MainConfig,
        router: Router,
        cleanup: Cleanup,
        *,
        host: str = "127.0.0.1",
        port: int = 25,
        peername_lookup: bool = True,
        authenticator: Authenticator | None = None,
        lmtp: bool = False,
        service_name: str = "smtp",
    ) -> None:
        self.host = host
        self.requested_port = port
        self.peername_lookup = peername_lookup
        self.lmtp = lmtp
        self.service_name = service_name
        self.settings = Settings(config, router, cleanup, authenticator=authenticator, lmtp=lmtp)
        self.limits = ClientLimits(config, router.context.table, service_name)
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._gate: asyncio.Event | None = None
        self.connections: set[Connection] = set()

    def reconfigure(
        self,
        config: MainConfig,
        router: Router,
        cleanup: Cleanup,
        *,
        authenticator: Authenticator | None = None,
    ) -> None:
        """New connections use this snapshot; open ones finish with theirs.

        Raises ConfigError (and keeps the old snapshot) if the new one is unusable.
        """
        settings = Settings(config, router, cleanup, authenticator=authenticator, lmtp=self.lmtp)
        self.limits.configure(config, router.context.table)
        self.settings = settings

    @property
    def session_config(self) -> SessionConfig:
        return self.settings.session_config

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    async def start(self, *, accept: bool = True) -> None:
        """Bind and listen; when this returns the port is ready for clients. With
        ``accept`` False, connections wait (unserved) until :meth:`accept`."""
        if not accept:
            self._gate = asyncio.Event()
        self._server = await asyncio.start_server(
            self._accept,
            self.host,
            self.requested_port,
            limit=READ_SIZE,
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def accept(self) -> None:
        """Serve connections (those that arrived since :meth:`start` included)."""
        if self._gate is not None:
            self._gate.set()

    async def close(self) -> None:
        """Stop accepting and end every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def drain(self, timeout: float) -> None:
        """Stop accepting; let connections that are receiving a message finish (at most
        ``timeout`` seconds), then :meth:`close`."""
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while any(c.busy for c in self.connections) and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await self.close()

    async def serve_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Run one session over streams that did not come from the listener (``vmail
        sendmail -bs`` on standard input and output); returns when it ends."""
        await self._accept(reader, writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self._gate is not None:
                await self._gate.wait()  # vmail serve has not dropped root yet
            await self._guarded(reader, writer)
        except asyncio.CancelledError:
            pass  # close(): the connection task ends here (asyncio's stream callback would log it)
        finally:
            self._tasks.discard(task)

    async def _guarded(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        self.connections.add(conn)
        try:
            await conn.run()
        except Exception:
            log.exception("smtpd: connection from %s ended by an internal error", conn.peer)
            with contextlib.suppress(Exception):
                host = self.session_config.myhostname
                writer.write(f"421 4.3.0 {host} Error: internal error\r\n".encode())
                async with asyncio.timeout(1):
                    await writer.drain()
        finally:
            self.connections.discard(conn)
            await conn.finish()
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(conn.settings.timeout):
                    await writer.wait_closed()
