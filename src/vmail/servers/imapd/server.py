"""The IMAP listener (143, or 993 with ``imapd_tls_wrappermode = yes``).

:class:`ImapServer` is built from a master.cf service's effective configuration and runs
one :class:`~vmail.servers.imapd.connection.ImapConnection` per client. The settings of
a snapshot live in :class:`~vmail.servers.imapd.settings.ImapSettings`;
:meth:`ImapServer.reconfigure` gives new connections a new snapshot while open ones keep
theirs. Folders are shared by every session of the process (one in-memory view per
folder) and watched for changes made by other processes (delivery, an external Dovecot)
so IDLE sessions hear of new mail within a second.
"""

from __future__ import annotations

import logging

from vmail.auth.service import Authenticator
from vmail.config import MainConfig
from vmail.mailstore.watch import FolderWatcher
from vmail.servers.clientstream import ClientStream
from vmail.servers.imapd.connection import ImapConnection
from vmail.servers.imapd.settings import ImapSettings
from vmail.servers.streams import SocketListener

log = logging.getLogger("vmail.imapd")


class ImapServer(SocketListener):
    """Listens on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    log = log

    def __init__(
        self,
        config: MainConfig,
        authenticator: Authenticator | None,
        *,
        host: str = "127.0.0.1",
        port: int = 143,
        service_name: str = "imap",
    ) -> None:
        settings = ImapSettings.from_config(config, authenticator, service_name)
        super().__init__(
            host=host,
            port=port,
            ssl_context=settings.tls_context if settings.wrappermode else None,
        )
        self.settings = settings
        self.service_name = service_name
        self.watcher = FolderWatcher()
        self.connections: set[ImapConnection] = set()
        self.user_sessions: dict[tuple[str, str], int] = {}  # (user, ip) -> open sessions

    def reconfigure(self, config: MainConfig, authenticator: Authenticator | None) -> None:
        """New connections use this snapshot; open ones finish with theirs."""
        self.use(self.configure(config, authenticator))

    def configure(self, config: MainConfig, authenticator: Authenticator | None) -> ImapSettings:
        """The settings of a new snapshot (ConfigError when it is unusable); nothing changes."""
        return ImapSettings.from_config(config, authenticator, self.service_name)

    def use(self, settings: ImapSettings) -> None:
        """New connections use ``settings`` (and 993's new certificate)."""
        self.settings = settings
        self.renew_tls(settings.tls_context if settings.wrappermode else None)

    async def serve_client(self, stream: ClientStream) -> None:
        settings = self.settings
        stream.write_timeout = settings.write_timeout
        if len(self.connections) >= settings.client_limit:
            log.warning("%s: client limit %d reached", self.service_name, settings.client_limit)
            stream.write(b"* BYE Too many connections, try again later\r\n")
            await stream.flush()
            return
        connection = ImapConnection(self, settings, stream)
        self.connections.add(connection)
        try:
            await connection.run()
        finally:
            self.connections.discard(connection)
            connection.finish()

    def internal_error(self) -> bytes:
        return b"* BYE Internal error occurred. Refer to server log for more information.\r\n"

    async def close(self) -> None:
        await super().close()
        await self.watcher.close()


__all__ = ["ImapServer"]
