"""The SMTP/LMTP listener: settings for one master.cf service, and the connection tasks.

:class:`SmtpServer` is built from the service's effective configuration (master.cf ``-o``
already applied) and runs one guarded task per connection, each a
:class:`~vmail.servers.smtpd.connection.Connection` driving a ``ServerSession``. A bug in
one connection ends that connection with ``421 4.3.0`` and is logged; the server and the
other connections carry on. :meth:`SmtpServer.drain` stops accepting and lets messages
being received finish before closing.

What the listener decides once: TLS (:mod:`~vmail.servers.smtpd.tls`; STARTTLS offered at
level ``may``/``encrypt``, SMTPS with ``smtpd_tls_wrappermode``), whether AUTH is offered
(``smtpd_sasl_auth_enable`` and an :class:`~vmail.auth.service.Authenticator`), the
per-client limits (:mod:`~vmail.servers.smtpd.limits`), who may use XCLIENT/XFORWARD, and
for LMTP (``lmtp=True``) that only local recipients are accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging

from vmail.auth.service import Authenticator
from vmail.cleanup import Cleanup
from vmail.config import MainConfig
from vmail.policy.networks import NetworkList
from vmail.policy.restrictions import RecipientPolicy
from vmail.protocol.smtp import SessionConfig
from vmail.rewrite.context import RoutingContext
from vmail.route import Router
from vmail.servers.smtpd.connection import Connection, client_name
from vmail.servers.smtpd.limits import ClientLimits
from vmail.servers.smtpd.rewrite import RewriteClients
from vmail.servers.smtpd.tls import security_level, server_context

__all__ = ["SmtpServer", "client_name", "session_config"]

log = logging.getLogger("vmail.smtpd")
READ_SIZE = 1 << 16

# LMTP takes mail another MTA already accepted: no client/sender checks, no relaying,
# only recipients that exist here.
LMTP_POLICY = {
    "smtpd_client_restrictions": "",
    "smtpd_helo_restrictions": "",
    "smtpd_sender_restrictions": "",
    "smtpd_relay_restrictions": "",
    "smtpd_recipient_restrictions": "",
    "smtpd_reject_unlisted_recipient": "yes",
}


def session_config(config: MainConfig) -> SessionConfig:
    """The session settings from main.cf (the banner says ``vmail`` unless mail_name is set)."""
    if not config.is_set("smtpd_banner"):
        mail_name = config.get("mail_name") if config.is_set("mail_name") else "vmail"
        banner = f"$myhostname ESMTP {mail_name}"
    else:
        banner = config.get("smtpd_banner")
    return SessionConfig(
        myhostname=config.get("myhostname"),
        smtpd_banner=banner or "$myhostname ESMTP",
        message_size_limit=config.get_int("message_size_limit"),
        smtpd_recipient_limit=config.get_int("smtpd_recipient_limit"),
        smtpd_hard_error_limit=config.get_int("smtpd_hard_error_limit"),
        smtpd_soft_error_limit=config.get_int("smtpd_soft_error_limit"),
        smtpd_junk_command_limit=config.get_int("smtpd_junk_command_limit"),
        smtpd_helo_required=config.get_bool("smtpd_helo_required"),
        smtpd_tls_auth_only=config.get_bool("smtpd_tls_auth_only"),
        smtpd_sasl_auth_enable=config.get_bool("smtpd_sasl_auth_enable"),
    )


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
        self.config = config
        self.router = router
        self.cleanup = cleanup
        self.host = host
        self.requested_port = port
        self.peername_lookup = peername_lookup
        self.authenticator = authenticator
        self.lmtp = lmtp
        self.service_name = service_name
        self.timeout = float(config.get_time("smtpd_timeout"))
        self.tls_timeout = float(config.get_time("smtpd_starttls_timeout"))
        self.tls_level = security_level(config)
        self.tls_context = server_context(config)
        self.wrappermode = config.get_bool("smtpd_tls_wrappermode")
        self.tls_received_header = config.get_bool("smtpd_tls_received_header")
        self.sasl_service = config.get("smtpd_sasl_service") or "smtp"
        base = session_config(config)
        self.session_config = dataclasses.replace(
            base,
            lmtp=lmtp,
            tls_available=self.tls_context is not None and not self.wrappermode,
            tls_active=False,
            smtpd_sasl_auth_enable=base.smtpd_sasl_auth_enable and authenticator is not None,
            smtpd_tls_auth_only=base.smtpd_tls_auth_only or self.tls_level == "encrypt",
        )
        table = router.context.table
        self.xclient_hosts = NetworkList(
            "smtpd_authorized_xclient_hosts",
            config.get_list("smtpd_authorized_xclient_hosts"),
            table,
        )
        self.xforward_hosts = NetworkList(
            "smtpd_authorized_xforward_hosts",
            config.get_list("smtpd_authorized_xforward_hosts"),
            table,
        )
        self.limits = ClientLimits(config, table, service_name)
        self.rewrite_clients = RewriteClients(config, router.policy.mynetworks, table)
        self.policy = router.policy
        if lmtp:
            lmtp_config = config.with_overrides(LMTP_POLICY)
            self.policy = RecipientPolicy(
                RoutingContext(lmtp_config), router.resolver, router.canonical
            )
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.connections: set[Connection] = set()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    async def start(self) -> None:
        """Bind and start accepting; when this returns the port is ready for clients."""
        self._server = await asyncio.start_server(
            self._accept, self.host, self.requested_port, limit=READ_SIZE
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

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

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
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
                async with asyncio.timeout(self.timeout):
                    await writer.wait_closed()
