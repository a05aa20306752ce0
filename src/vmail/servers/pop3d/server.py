"""The POP3 listener (ports 110 and 995): one :class:`Connection` per client.

:class:`Pop3Server` has the shape of :class:`vmail.servers.smtpd.server.SmtpServer` so
``MailSystem`` can run it beside SMTP: ``start()``, ``port``, ``close()``, ``drain()``,
``reconfigure()``. ``pop3d_tls_wrappermode = yes`` makes it an implicit-TLS listener.
Beyond ``pop3d_client_limit`` connections a client is told ``-ERR [SYS/TEMP]`` and
closed; beyond ``mail_max_userip_connections`` sessions of one user from one address a
login is refused with ``-ERR [LOGIN-DELAY]``, as Dovecot does.
"""

from __future__ import annotations

from collections import Counter

from vmail.auth.service import Authenticator
from vmail.config import MainConfig
from vmail.protocol.pop3 import replies as rp
from vmail.servers.clientstream import ClientStream
from vmail.servers.pop3d.connection import LOCK_WAIT, Connection, OpenStore
from vmail.servers.pop3d.settings import Pop3Settings
from vmail.servers.streams import SocketListener

__all__ = ["Pop3Server"]

TOO_MANY = b"-ERR [SYS/TEMP] Maximum number of connections exceeded.\r\n"


class Pop3Server(SocketListener):
    """Listens on ``host:port`` (port 0: any free port, see :attr:`port`).

    ConfigError (here, before any client) for an unusable TLS setup or UIDL format.
    """

    def __init__(
        self,
        config: MainConfig,
        authenticator: Authenticator | None,
        *,
        host: str = "127.0.0.1",
        port: int = 110,
        service_name: str = "pop3",
        open_store: OpenStore,
        lock_wait: float = LOCK_WAIT,
    ) -> None:
        self.settings = Pop3Settings.from_config(config)
        wrap = self.settings.tls_context if self.settings.wrapper else None
        super().__init__(host=host, port=port, ssl_context=wrap)
        self.authenticator = authenticator
        self.service_name = service_name
        self.open_store = open_store
        self.lock_wait = lock_wait
        self.connections: set[Connection] = set()
        self._userip: Counter[tuple[str, str]] = Counter()

    def reconfigure(self, config: MainConfig, authenticator: Authenticator | None) -> None:
        """New connections use this snapshot (ConfigError keeps the old one)."""
        self.use(self.configure(config), authenticator)

    def configure(self, config: MainConfig) -> Pop3Settings:
        """The settings of a new snapshot (ConfigError when it is unusable); nothing changes."""
        return Pop3Settings.from_config(config)

    def use(self, settings: Pop3Settings, authenticator: Authenticator | None) -> None:
        """New connections use ``settings`` (and 995's new certificate)."""
        self.settings = settings
        self.authenticator = authenticator
        self.renew_tls(settings.tls_context if settings.wrapper else None)

    def internal_error(self) -> bytes:
        return rp.INTERNAL

    async def serve_client(self, stream: ClientStream) -> None:
        settings = self.settings
        stream.write_timeout = settings.timeout
        if len(self.connections) >= settings.client_limit:
            stream.write(TOO_MANY)
            await stream.flush()
            return
        conn = Connection(self, stream, settings)
        self.connections.add(conn)
        try:
            await conn.run()
        finally:
            self.connections.discard(conn)

    def count_userip(self, user: str, address: str) -> bytes | None:
        """Count one more session of ``user`` from ``address``; the refusal if too many."""
        limit = self.settings.userip_limit
        key = (user, address)
        if limit > 0 and self._userip[key] >= limit:
            return rp.line(
                "-ERR [LOGIN-DELAY] Maximum number of connections from user+IP exceeded "
                f"(mail_max_userip_connections={limit})"
            )
        self._userip[key] += 1
        return None

    def uncount_userip(self, key: tuple[str, str]) -> None:
        self._userip[key] -= 1
        if self._userip[key] <= 0:
            del self._userip[key]
