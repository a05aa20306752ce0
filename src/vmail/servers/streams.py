"""The listener shape every mail-access server shares: bind, one guarded task per client.

:class:`StreamListener` binds ``host:port`` (port 0: any free port, see :attr:`port`),
runs :meth:`StreamListener.serve` in its own task for each connection and keeps the
tasks so :meth:`close` can end them and :meth:`drain` can wait for busy ones. A bug in
one connection is logged and ends that connection only (after :meth:`internal_error`
had a chance to tell the client); the listener and the other connections carry on.
SMTP subclasses it. :class:`SocketListener` is the same shape for the IMAP and POP3
servers, whose sessions run on a bare :class:`~vmail.servers.clientstream.ClientStream`
(the socket, or an ``ssl.SSLSocket`` on it) instead of asyncio's streams: thousands of
idle IMAP sessions are kept open, and asyncio's transports are most of their memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import ssl
from abc import ABC, abstractmethod

from vmail.servers.clientstream import ClientStream

READ_LIMIT = 1 << 16
LISTEN_BACKLOG = 1024  # connections the kernel queues before accept()


class StreamListener(ABC):
    """A TCP listener whose connections are served by :meth:`serve`."""

    log = logging.getLogger("vmail.server")

    def __init__(self, *, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        self.host = host
        self.requested_port = port
        self.wrap_context = ssl_context  # implicit TLS (993/995): handshake at accept
        self._server: asyncio.Server | None = None
        self._port: int | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._gate: asyncio.Event | None = None
        self.busy_count = 0  # connections in the middle of something drain should wait for

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
            limit=READ_LIMIT,
            ssl=self.wrap_context,
            ssl_handshake_timeout=30.0 if self.wrap_context else None,
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
        """Stop accepting; give busy connections up to ``timeout`` seconds; then close."""
        if self._server is not None:
            self._server.close()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self.busy() and loop.time() < deadline:
            await asyncio.sleep(0.02)
        await self.close()

    async def serve_streams(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        """Serve streams that did not come from the listener; returns when the session ends."""
        await self._accept(reader, writer)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            if self._gate is not None:
                await self._gate.wait()  # vmail serve has not dropped root yet
            await self.serve(reader, writer)
        except asyncio.CancelledError:
            pass  # close(): the task ends here (asyncio's stream callback would log it)
        except Exception:
            peer = writer.get_extra_info("peername")
            self.log.exception("connection from %s ended by an internal error", peer)
            with contextlib.suppress(Exception):
                writer.write(self.internal_error())
                async with asyncio.timeout(1):
                    await writer.drain()
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                async with asyncio.timeout(5):
                    await writer.wait_closed()

    def busy(self) -> bool:
        """Whether a connection is in the middle of something :meth:`drain` waits for."""
        return self.busy_count > 0

    def renew_tls(self, context: ssl.SSLContext | None) -> None:
        """Implicit TLS from now on with ``context`` (a reload's new certificate).

        asyncio's server keeps the context it was started with, so that one's SNI callback,
        which OpenSSL calls for every ClientHello (with or without a server name), hands
        each new handshake to ``context``: its certificate and key. Protocol and cipher
        settings stay the bound context's (they change with a restart)."""
        bound = self.wrap_context
        if bound is None or context is None:
            return
        if context is bound:
            bound.sni_callback = None
            return

        def switch(ssl_object: ssl.SSLObject | ssl.SSLSocket, name: str | None, _: object) -> None:
            ssl_object.context = context

        bound.sni_callback = switch

    @abstractmethod
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run one client's session until it ends."""

    def internal_error(self) -> bytes:
        """What the client is sent when :meth:`serve` raised (the protocol's goodbye)."""
        return b""


class SocketListener(StreamListener):
    """A TCP listener whose connections are served by :meth:`serve_client` on a
    :class:`ClientStream`; with ``ssl_context`` the TLS handshake comes first (30 s)."""

    handshake_timeout = 30.0

    def __init__(self, *, host: str, port: int, ssl_context: ssl.SSLContext | None = None) -> None:
        super().__init__(host=host, port=port, ssl_context=ssl_context)
        self._sockets: list[socket.socket] = []
        self._acceptors: list[asyncio.Task[None]] = []

    def renew_tls(self, context: ssl.SSLContext | None) -> None:
        """Implicit TLS from now on with ``context``: each connection's handshake is ours."""
        if self.wrap_context is not None and context is not None:
            self.wrap_context = context

    async def start(self, *, accept: bool = True) -> None:
        """Bind and listen (asyncio's choice of addresses for ``host``); connections wait in
        the kernel's backlog until :meth:`accept` when ``accept`` is False."""
        loop = asyncio.get_running_loop()
        bound = await loop.create_server(
            asyncio.Protocol, self.host or None, self.requested_port, start_serving=False
        )
        for listening in bound.sockets:
            fd = os.dup(listening.fileno())
            sock = socket.socket(listening.family, listening.type, listening.proto, fileno=fd)
            sock.setblocking(False)
            sock.listen(LISTEN_BACKLOG)
            self._sockets.append(sock)
        bound.close()
        self._port = int(self._sockets[0].getsockname()[1])
        if accept:
            await self.accept()

    async def accept(self) -> None:
        if not self._acceptors:
            self._acceptors = [asyncio.create_task(self._accept_loop(s)) for s in self._sockets]

    async def _accept_loop(self, listening: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                sock, _ = await loop.sock_accept(listening)
            except OSError as e:  # EMFILE and the like: wait instead of spinning
                self.log.warning("accept on %s failed: %s", self.host or "*", e)
                await asyncio.sleep(0.1)
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = asyncio.create_task(self._serve_socket(sock))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _stop_accepting(self) -> None:
        for acceptor in self._acceptors:
            acceptor.cancel()
        self._acceptors = []
        for sock in self._sockets:
            sock.close()
        self._sockets = []

    async def close(self) -> None:
        self._stop_accepting()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self, timeout: float) -> None:
        self._stop_accepting()
        await super().drain(timeout)

    async def _serve_socket(self, sock: socket.socket) -> None:
        try:
            stream = ClientStream(sock)
        except OSError:
            sock.close()
            return
        try:
            if self.wrap_context is not None and not await stream.start_tls(
                self.wrap_context, self.handshake_timeout
            ):
                return
            await self.serve_client(stream)
        except asyncio.CancelledError:
            pass  # close(): the session ends here
        except Exception:
            self.log.exception("connection from %s ended by an internal error", stream.address)
            with contextlib.suppress(Exception):
                stream.write(self.internal_error())
                stream.write_timeout = 1
                await stream.flush()
        finally:
            stream.close()

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        raise NotImplementedError("a SocketListener serves sockets, not asyncio streams")

    @abstractmethod
    async def serve_client(self, stream: ClientStream) -> None:
        """Run one client's session until it ends."""


__all__ = ["SocketListener", "StreamListener"]
