"""The HTTP listener of a ``webd`` service: uvicorn's protocol in the running event loop.

:class:`WebServer` has the shape of the mail listeners (:mod:`vmail.servers.streams`):
:meth:`start` binds (maybe as root) and, with ``accept=False``, serves nothing until
:meth:`accept`; :meth:`close` ends every connection; :meth:`drain` lets requests in
progress finish first; :meth:`reconfigure` swaps the application for new requests (a
reload). uvicorn's ``Server.serve`` is not used: it installs its own signal handlers.
Its HTTP protocol class (httptools) is put on each connection :class:`WebServer` accepts
itself (one per wake-up, see :meth:`WebServer._accept_one`), with
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
HANDSHAKE_TIMEOUT = 30.0  # seconds for a TLS handshake
ACCEPT_RETRY_DELAY = 1.0  # seconds without accepting after EMFILE and the like
BALANCE_DELAY = 0.001  # seconds per open connection a shared listener waits before accepting
BALANCE_MAX = 10  # connections counted at most (a busy process still accepts within 10 ms)
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
        balance: bool = False,
    ) -> None:
        self.host = host
        self.requested_port = port
        self.ssl_context = ssl_context
        self.service_name = service_name
        self.balance = balance  # processes share the listening socket (see _readable)
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
        self._sock: socket.socket | None = None
        self._accepting = False
        self._handshakes: set[asyncio.Task[None]] = set()
        self._port: int | None = None

    async def _dispatch(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("server not started")
        return self._port

    @property
    def listening_fd(self) -> int:
        """The listening socket's descriptor (after :meth:`start`)."""
        if self._sock is None:
            raise RuntimeError("server not started")
        return self._sock.fileno()

    def reconfigure(
        self, config: MainConfig, context: WebContext, tls: ssl.SSLContext | None = None
    ) -> None:
        """Serve new requests with a new application (requests in progress keep theirs)
        and new connections with ``tls`` when given (a renewed certificate)."""
        self.app = create_app(context)
        if tls is not None and self.ssl_context is not None:
            self.ssl_context = tls

    async def start(self, *, accept: bool = True, sock: socket.socket | None = None) -> None:
        """Bind and listen; with ``accept`` False, connections wait until :meth:`accept`.

        With ``sock``, serve that listening socket instead (a web process serves the one
        its master bound)."""
        self._sock = sock or _listening_socket(self.host, self.requested_port)
        self._sock.setblocking(False)
        self._port = int(self._sock.getsockname()[1])
        if accept:
            await self.accept()

    async def accept(self) -> None:
        """Serve connections (those that arrived since :meth:`start` included)."""
        if self._sock is not None and not self._accepting:
            asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)
            self._accepting = True

    def _protocol(self) -> asyncio.Protocol:
        made: asyncio.Protocol = self._uvicorn.http_protocol_class(  # type: ignore[call-arg]
            config=self._uvicorn,
            server_state=self._state,
            app_state={},
            _loop=asyncio.get_running_loop(),
        )
        return made

    def _readable(self) -> None:
        """A connection waits. With ``balance`` (processes share the socket), one that
        already serves connections lets an idle one take it first: it looks again after
        a millisecond per connection it has (keep-alive connections stay with the process
        that accepted them, so this is what spreads a browser's or a client's connections)."""
        busy = len(self._state.connections)
        if not self.balance or not busy:
            self._accept_one()
            return
        assert self._sock is not None
        loop = asyncio.get_running_loop()
        loop.remove_reader(self._sock.fileno())
        loop.call_later(BALANCE_DELAY * min(busy, BALANCE_MAX), self._accept_deferred)

    def _accept_deferred(self) -> None:
        if self._listening and self._accept_one():  # EAGAIN when another process took it
            self._resume_accepting()

    def _accept_one(self) -> bool:
        """Take one connection per wake-up (asyncio's servers take up to 100). The web
        processes share the listening socket and all wake up: one that is busy with a
        request is not here, so the idle ones take the connections, by load. False when
        accepting pauses (out of descriptors)."""
        assert self._sock is not None
        try:
            connection, _ = self._sock.accept()
        except (BlockingIOError, InterruptedError, ConnectionAbortedError):
            return True  # another process took it
        except OSError as e:  # EMFILE, ENFILE, ENOBUFS: wait a little, as asyncio does
            log.error("%s: cannot accept a connection: %s", self.service_name, e.strerror)
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._sock.fileno())
            loop.call_later(ACCEPT_RETRY_DELAY, self._resume_accepting)
            return False
        connection.setblocking(False)
        task = asyncio.get_running_loop().create_task(self._connect(connection))
        self._handshakes.add(task)
        task.add_done_callback(self._handshakes.discard)
        return True

    @property
    def _listening(self) -> bool:
        """Still accepting (a delayed accept may run after :meth:`close`)."""
        return self._accepting and self._sock is not None and self._sock.fileno() >= 0

    def _resume_accepting(self) -> None:
        if self._listening:
            assert self._sock is not None
            asyncio.get_running_loop().add_reader(self._sock.fileno(), self._readable)

    async def _connect(self, connection: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                self._protocol,
                connection,
                ssl=self.ssl_context,
                ssl_handshake_timeout=HANDSHAKE_TIMEOUT if self.ssl_context else None,
            )
        except (OSError, ssl.SSLError, TimeoutError) as e:  # a failed TLS handshake
            log.debug("%s: connection failed: %s", self.service_name, e)
            connection.close()

    async def close(self) -> None:
        """Stop accepting and end every connection."""
        await self._shutdown(0.0)

    async def drain(self, timeout: float) -> None:
        """Stop accepting; let requests in progress finish for up to ``timeout``; close."""
        await self._shutdown(timeout)

    async def _shutdown(self, timeout: float) -> None:
        if self._sock is not None:
            if self._accepting:
                asyncio.get_running_loop().remove_reader(self._sock.fileno())
                self._accepting = False
            self._sock.close()
        for handshake in list(self._handshakes):
            handshake.cancel()
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
        if self._handshakes:
            await asyncio.gather(*self._handshakes, return_exceptions=True)


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
