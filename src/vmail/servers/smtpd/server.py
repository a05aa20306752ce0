"""The SMTP/LMTP listener: one guarded task per connection.

:class:`SmtpServer` is built from the service's effective configuration (master.cf ``-o``
already applied, see :class:`~vmail.servers.smtpd.settings.Settings`) and runs one task
per connection (the listener shared with IMAP and POP3,
:class:`~vmail.servers.streams.StreamListener`), each a
:class:`~vmail.servers.smtpd.connection.Connection` driving a
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
from vmail.core.logname import SERVICE_LOG_NAME
from vmail.protocol.smtp import SessionConfig
from vmail.route import Router
from vmail.servers.smtpd.connection import Connection, client_names
from vmail.servers.smtpd.limits import ClientLimits
from vmail.servers.smtpd.settings import Settings, session_config
from vmail.servers.streams import StreamListener

__all__ = ["SmtpServer", "client_names", "session_config"]

LINGER = 2.0  # seconds a closed session waits for the client's end (see _linger)
log = logging.getLogger("vmail.smtpd")


class SmtpServer(StreamListener):
    """Listens on ``host:port`` (port 0: any free port, see :attr:`port`).

    Configuration errors (TLS enabled without a usable certificate, a bad
    ``local_header_rewrite_clients`` item) raise ConfigError here, before any client.
    """

    log = log

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
        settings = Settings(config, router, cleanup, authenticator=authenticator, lmtp=lmtp)
        # SMTPS: the transport does the handshake at accept, so no byte of the client's
        # hello can be read (and lost) as plaintext while the connection starts
        wrap = settings.tls_context if settings.wrappermode else None
        super().__init__(host=host, port=port, ssl_context=wrap)
        self.peername_lookup = peername_lookup
        self.lmtp = lmtp
        self.service_name = service_name
        self.settings = settings
        self.limits = ClientLimits(config, router.context.table, service_name)
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
        self.use(self.configure(config, router, cleanup, authenticator=authenticator))

    def configure(
        self,
        config: MainConfig,
        router: Router,
        cleanup: Cleanup,
        *,
        authenticator: Authenticator | None = None,
    ) -> Settings:
        """The settings of a new snapshot (ConfigError when it is unusable); nothing changes."""
        return Settings(config, router, cleanup, authenticator=authenticator, lmtp=self.lmtp)

    def use(self, settings: Settings) -> None:
        """New connections use ``settings`` (and SMTPS's new certificate)."""
        self.limits.configure(settings.config, settings.router.context.table)
        self.settings = settings
        if settings.wrappermode:
            self.renew_tls(settings.tls_context)

    @property
    def session_config(self) -> SessionConfig:
        return self.settings.session_config

    def busy(self) -> bool:
        """A connection is receiving a message (drain waits for it)."""
        return any(c.busy for c in self.connections)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        if conn.settings.log_name is not None:  # this task's lines only (see core.logname)
            SERVICE_LOG_NAME.set(("smtpd", conn.settings.log_name))
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
            try:
                await conn.finish()
                await _linger(reader, writer)
            finally:
                writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(conn.settings.timeout):
                    await writer.wait_closed()


async def _linger(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """End our side first, then read and drop what the client still sends, for at most
    :data:`LINGER` seconds. Closing with unread input makes the kernel answer with a
    reset, which can destroy the last reply (``221``, ``421 ... too many errors``)
    before the client reads it; Postfix's clients see a clean end of the connection."""
    if writer.transport.is_closing() or not writer.can_write_eof():
        return
    with contextlib.suppress(Exception):
        writer.write_eof()
        async with asyncio.timeout(LINGER):
            while await reader.read(1 << 16):
                pass
