"""The HTTP listener of a ``webd`` service: uvicorn's protocol in the running event loop.

:class:`WebServer` has the shape of the mail listeners (:mod:`vmail.servers.streams`):
:meth:`start` binds (maybe as root) and, with ``accept=False``, serves nothing until
:meth:`accept`; :meth:`close` ends every connection; :meth:`drain` lets requests in
progress finish first; :meth:`reconfigure` swaps the application for new requests (a
reload). uvicorn's ``Server.serve`` is not used: it installs its own signal handlers.
Its HTTP protocol class (httptools) is put on ``loop.create_server`` directly, with
``lifespan="off"``, no logging configuration of its own (access lines are
:class:`~vmail.web.middleware.WebMiddleware`'s, in vmail's log) and no proxy-header trust.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from typing import Any

from uvicorn import Config
from uvicorn.server import ServerState

from vmail.config import MainConfig
from vmail.web.app import create_app
from vmail.web.context import WebContext

log = logging.getLogger("vmail.web")

BACKLOG = 128
KEEP_ALIVE = 5  # seconds an idle keep-alive connection is kept
SHUTDOWN_GRACE = 0.1  # seconds idle connections get to close before tasks are awaited

ASGIApp = Any  # uvicorn accepts any ASGI 3 callable


class WebServer:
    """One bound HTTP(S) listener serving :func:`~vmail.web.app.create_app`."""

    def __init__(
        self,
        config: MainConfig,
        context: WebContext,
        *,
        host: str,
        port: int,
        ssl_context: ssl.SSLContext | None = None,
        service_name: str = "webd",
    ) -> None:
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        self.service_name = service_name
        self.app: ASGIApp = create_app(context)
        self._uvicorn = Config(
            self._dispatch,
            http="httptools",
            ws="none",
            lifespan="off",
            interface="asgi3",
            log_config=None,
            access_log=False,  # WebMiddleware logs each request to vmail.web
            proxy_headers=False,
            server_header=False,
            timeout_keep_alive=KEEP_ALIVE,
            limit_concurrency=config.get_int("web_client_limit") or None,
        )
        self._uvicorn.load()
        self._state = ServerState()
        self._server: asyncio.Server | None = None
        self._port: int | None = None

    async def _dispatch(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    def reconfigure(self, config: MainConfig, context: WebContext) -> None:
        """Serve new requests with a new application (requests in progress keep theirs)."""
        self.app = create_app(context)

    async def start(self, *, accept: bool = True) -> None:
        """Bind and listen; with ``accept`` False, connections wait until :meth:`accept`."""
        loop = asyncio.get_running_loop()
        protocol_class = self._uvicorn.http_protocol_class

        def protocol() -> asyncio.Protocol:
            made: asyncio.Protocol = protocol_class(  # type: ignore[call-arg]
                config=self._uvicorn, server_state=self._state, app_state={}, _loop=loop
            )
            return made

        self._server = await loop.create_server(
            protocol,
            sock=_listening_socket(self.host, self.requested_port),
            ssl=self.ssl_context,
            ssl_handshake_timeout=30.0 if self.ssl_context else None,
            start_serving=accept,
        )
        self._port = int(self._server.sockets[0].getsockname()[1])

    async def accept(self) -> None:
        """Serve connections (those that arrived since :meth:`start` included)."""
        if self._server is not None:
            await self._server.start_serving()

    async def close(self) -> None:
        """Stop accepting and end every connection."""
        await self._shutdown(0.0)

    async def drain(self, timeout: float) -> None:
        """Stop accepting; let requests in progress finish for up to ``timeout``; close."""
        await self._shutdown(timeout)

    async def _shutdown(self, timeout: float) -> None:
        if self._server is not None:
            self._server.close()
        for connection in list(self._state.connections):
            connection.shutdown()  # idle: closed now; busy: closed after its response
        tasks = set(self._state.tasks)
        if tasks and timeout > 0:
            await asyncio.wait(tasks, timeout=timeout)
        for task in self._state.tasks:
            task.cancel()
        if self._state.tasks:
            await asyncio.gather(*self._state.tasks, return_exceptions=True)
        for connection in list(self._state.connections):
            transport = getattr(connection, "transport", None)
            if transport is not None:
                transport.abort()
        if self._server is not None:
            await self._server.wait_closed()


def _listening_socket(host: str, port: int) -> socket.socket:
    """A socket already listening on (host, port), so that clients arriving before
    :meth:`WebServer.accept` wait in the backlog instead of being refused (asyncio's
    ``create_server`` with ``start_serving=False`` would not call ``listen``).

    It is made with ``IPPROTO_TCP`` as its protocol, as asyncio's own are: asyncio sets
    ``TCP_NODELAY`` only on connections of such sockets, and without it a keep-alive
    request waits ~40 ms for a delayed ACK (Nagle) before its answer's second segment.
    """
    if host:
        family, _, _, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    elif socket.has_dualstack_ipv6():
        family, address = socket.AF_INET6, ("::", port)
    else:
        family, address = socket.AF_INET, ("", port)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6 and not host:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        sock.bind(address[:2])
        sock.listen(BACKLOG)
    except BaseException:
        sock.close()
        raise
    return sock


__all__ = ["WebServer"]
