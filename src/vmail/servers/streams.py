"""The listener shape every mail-access server shares: bind, one guarded task per client.

:class:`StreamListener` binds ``host:port`` (port 0: any free port, see :attr:`port`),
runs :meth:`StreamListener.serve` in its own task for each connection and keeps the
tasks so :meth:`close` can end them and :meth:`drain` can wait for busy ones. A bug in
one connection is logged and ends that connection only (after :meth:`internal_error`
had a chance to tell the client); the listener and the other connections carry on.
The IMAP and POP3 servers subclass it; so could any line-based protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from abc import ABC, abstractmethod

READ_LIMIT = 1 << 16


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

    @abstractmethod
    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Run one client's session until it ends."""

    def internal_error(self) -> bytes:
        """What the client is sent when :meth:`serve` raised (the protocol's goodbye)."""
        return b""


__all__ = ["StreamListener"]
