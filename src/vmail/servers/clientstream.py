"""Bytes in and out of one mail-access connection: timeouts, TLS upgrade, COMPRESS=DEFLATE.

:class:`ClientStream` is the IMAP (and POP3) session's view of its socket — the socket
itself, non-blocking, or an :class:`ssl.SSLSocket` on it, without asyncio's transports
(an idle IMAPS session costs a third of the memory, see docs/bench.md "IDLE memory"):

* :meth:`ClientStream.read` returns what the client sent (inflated once COMPRESS is on),
  waiting at most the session's current timeout;
* :meth:`ClientStream.write` buffers, and flushes by itself past :data:`FLUSH_AT` bytes so
  a large FETCH never piles up in memory; :meth:`ClientStream.flush` waits for the client
  to take the data for at most ``write_timeout`` seconds — a client that stops reading
  loses its connection (:class:`ClientGoneError`) and never blocks the others;
* :meth:`ClientStream.start_tls` upgrades in place and throws away whatever plaintext the
  client pipelined after STARTTLS (CVE-2011-0411);
* :meth:`ClientStream.start_compress` switches both directions to raw DEFLATE (RFC 4978),
  with every flush ending in a sync flush so the client can decode what it got; inflated
  input is produced in bounded pieces, so a compression bomb costs nothing.
"""

from __future__ import annotations

import _socket
import asyncio
import asyncio.sslproto
import contextlib
import ipaddress
import logging
import socket
import ssl
import zlib
from collections.abc import Callable
from typing import Any

log = logging.getLogger("vmail.server")

READ_SIZE = 1 << 16

# (SMTP still runs on asyncio's streams.) asyncio's TLS transport (SSLProtocol) gives every
# connection its own staging buffer for
# the ciphertext it receives: a 256 KiB zero-filled bytearray (resident) in Python 3.11,
# most of the memory of an idle IMAPS session. The buffer only lives between the socket's
# recv_into() and buffer_updated(), which copies it into the connection's incoming
# MemoryBIO at once, with no other code in between (one event loop thread), so one buffer
# per process serves every connection. ``max_size`` stays the largest decrypted read.
# Measured with 1,000 idle IDLE sessions over TLS, in process: 43.8 KiB PSS each with a
# 4 KiB buffer per connection, see docs/bench.md ("IDLE memory").
TLS_READ_BUFFER = READ_SIZE
_tls_staging = memoryview(bytearray(TLS_READ_BUFFER))
_sslprotocol_init = asyncio.sslproto.SSLProtocol.__init__


def _shared_staging_init(self: asyncio.sslproto.SSLProtocol, *args: Any, **kwargs: Any) -> None:
    self.max_size = 0  # type: ignore[misc]  # __init__ allocates nothing ...
    _sslprotocol_init(self, *args, **kwargs)
    del self.max_size  # ... and decrypted reads take up to the class's max_size
    self._ssl_buffer = _tls_staging.obj  # type: ignore[attr-defined]
    self._ssl_buffer_view = _tls_staging  # type: ignore[attr-defined]


def _shared_staging(self: asyncio.sslproto.SSLProtocol, n: int) -> memoryview:
    return _tls_staging


asyncio.sslproto.SSLProtocol.max_size = READ_SIZE
asyncio.sslproto.SSLProtocol.__init__ = _shared_staging_init  # type: ignore[method-assign]
asyncio.sslproto.SSLProtocol.get_buffer = _shared_staging  # type: ignore[method-assign]
FLUSH_AT = 1 << 16  # buffered output that triggers a flush
INFLATE_PIECE = 1 << 16  # most inflated bytes produced per read
SEND_CHUNK = 1 << 16  # most bytes handed to one SSL_write


class ClientGoneError(Exception):
    """The client disconnected, or did not read what we sent in time."""


class ClientStream:
    """One client connection's byte streams, straight on its (non-blocking) socket.

    No asyncio transport, protocol or StreamReader: bytes are read with ``recv`` when the
    session asks for them (waiting on a one-off read-ready callback) and sent with
    ``send`` (waiting on a write-ready callback while the kernel buffer is full). TLS is an
    :class:`ssl.SSLSocket` on the same file descriptor, so OpenSSL reads and writes the
    socket itself: no memory BIOs, which keep their high-water size for the whole session.
    """

    __slots__ = (
        "_deflate",
        "_fd",
        "_head",
        "_inflate",
        "_loop",
        "_out",
        "_out_size",
        "_plain",
        "_read_waiter",
        "_sock",
        "_watching",
        "_write_waiter",
        "address",
        "bytes_in",
        "bytes_out",
        "closed",
        "local_address",
        "local_port",
        "port",
        "tls",
        "write_timeout",
    )

    def __init__(self, sock: socket.socket, *, write_timeout: float = 60.0) -> None:
        sock.setblocking(False)
        self._sock: socket.socket = sock
        self._fd = sock.fileno()
        self._loop = asyncio.get_running_loop()
        self.write_timeout = write_timeout
        peer = _name(sock.getpeername)
        local = _name(sock.getsockname)
        self.address: str = str(peer[0]) if isinstance(peer, tuple) else "local"
        self.port: int = int(peer[1]) if isinstance(peer, tuple) and len(peer) > 1 else 0
        self.local_address: str = str(local[0]) if isinstance(local, tuple) else ""
        self.local_port: int = int(local[1]) if isinstance(local, tuple) and len(local) > 1 else 0
        self.tls = isinstance(sock, ssl.SSLSocket)
        self._out: list[bytes] = []
        self._out_size = 0
        self._deflate: zlib._Compress | None = None
        self._inflate: zlib._Decompress | None = None
        self._plain = b""  # input inflated ahead of time (pipelined behind COMPRESS)
        self._head = b""  # output to send as it is before the next flush's (COMPRESS's OK)
        self.closed = False
        self.bytes_in = 0  # what the client sent (inflated), for the logout log line
        self.bytes_out = 0  # what we sent (before compression)
        self._read_waiter: asyncio.Future[Any] | None = None
        self._write_waiter: asyncio.Future[Any] | None = None
        self._watching = False  # the read-ready callback is registered

    @property
    def secure(self) -> bool:
        """TLS, or a loopback client (Dovecot treats those as secure too)."""
        return self.tls or _loopback(self.address)

    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    @property
    def tls_version(self) -> str:
        sock = self._sock
        return str(sock.version() or "") if isinstance(sock, ssl.SSLSocket) else ""

    @property
    def tls_cipher(self) -> str:
        sock = self._sock
        cipher = sock.cipher() if isinstance(sock, ssl.SSLSocket) else None
        return str(cipher[0]) if cipher else ""

    # -- waiting -----------------------------------------------------------------------

    async def _ready(self, write: bool) -> None:
        """Wait (no task, one future) until the socket is readable / writable."""
        if self.closed:
            return
        future: asyncio.Future[Any] = self._loop.create_future()
        if write:
            self._write_waiter = future
            self._loop.add_writer(self._fd, _wake, future)
            try:
                await future
            finally:
                self._write_waiter = None
                if not self.closed:
                    self._loop.remove_writer(self._fd)
            return
        self._read_waiter = future
        self._watch_reads()
        try:
            await future
        finally:
            self._read_waiter = None

    def _watch_reads(self) -> None:
        # The read-ready callback stays registered after a wait (a request/response
        # exchange then costs no epoll_ctl() per read); it unregisters itself the first
        # time it fires with nobody waiting, so unread input never spins the loop.
        if not self._watching:
            self._loop.add_reader(self._fd, self._on_readable)
            self._watching = True

    def _on_readable(self) -> None:
        waiter = self._read_waiter
        if waiter is None:
            self._loop.remove_reader(self._fd)
            self._watching = False
        elif not waiter.done():
            waiter.set_result(True)

    def has_input(self) -> bool:
        """Whether input is already waiting in this process (no need to poll the socket)."""
        inflate = self._inflate
        sock = self._sock
        return bool(
            self._plain
            or (inflate is not None and inflate.unconsumed_tail)
            or (isinstance(sock, ssl.SSLSocket) and not self.closed and sock.pending())
        )

    async def hibernate(self, wake: asyncio.Future[None] | None, timeout: float) -> bool:
        """Sleep until input arrives (True), or ``wake`` is done or ``timeout`` passes
        (False): one future, one read-ready callback, one timer and no task — what an idle
        IDLE session costs while it waits."""
        loop = self._loop
        deadline = loop.time() + timeout
        while not (self.has_input() or self.closed):
            future: asyncio.Future[bool] = loop.create_future()
            self._read_waiter = future
            self._watch_reads()
            timer = loop.call_at(deadline, _settle, future, False)
            if wake is not None:
                wake.add_done_callback(lambda _, f=future: _settle(f, False))  # type: ignore[misc]
            try:
                readable = await future
            finally:
                timer.cancel()
                self._read_waiter = None
            if not readable:
                return self.closed
            if self._peek():
                return True
            # else a stale readiness event (of input read since): sleep on
        return True

    def _peek(self) -> bool:
        """Whether the socket has bytes (or the end of input) to read, without reading."""
        try:
            _socket.socket.recv(self._sock, 1, socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            pass
        return True

    # -- input -------------------------------------------------------------------------

    async def read(self, timeout: float | None) -> bytes:
        """The next bytes from the client; b"" at end of input. TimeoutError when idle."""
        data = await self._read(timeout)
        self.bytes_in += len(data)
        return data

    async def _read(self, timeout: float | None) -> bytes:
        if self._plain:
            data, self._plain = self._plain, b""
            return data
        inflate = self._inflate
        if inflate is not None and inflate.unconsumed_tail:
            return inflate.decompress(inflate.unconsumed_tail, INFLATE_PIECE)
        async with asyncio.timeout(timeout):
            data = await self._recv()
        if inflate is not None and data:
            try:
                out = inflate.decompress(data, INFLATE_PIECE)
            except zlib.error:
                return b""  # a corrupt stream ends the session, as in Dovecot
            return out if out or not data else await self._read(timeout)
        return data

    async def _recv(self) -> bytes:
        while not self.closed:
            try:
                return self._sock.recv(READ_SIZE)
            except (BlockingIOError, ssl.SSLWantReadError):
                await self._ready(write=False)
            except ssl.SSLWantWriteError:
                await self._ready(write=True)
            except (OSError, ssl.SSLError):
                return b""
        return b""

    # -- output ------------------------------------------------------------------------

    def write(self, data: bytes) -> None:
        """Queue ``data``; call :meth:`flush` (or :meth:`send`) to push it out."""
        self._out.append(data)
        self._out_size += len(data)
        self.bytes_out += len(data)

    async def send(self, data: bytes) -> None:
        """Queue ``data``, flushing if enough is waiting."""
        self.write(data)
        if self._out_size >= FLUSH_AT:
            await self.flush()

    async def flush(self) -> None:
        """Push everything queued and wait (bounded) until the kernel has taken it."""
        if not self._out and not self._head:
            return
        data = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        if self._deflate is not None and data:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        if self._head:
            data, self._head = self._head + data, b""
        if self.closed:
            raise ClientGoneError
        view = memoryview(data)
        sent = self._send_now(view)  # usually all of it, without waiting
        if sent == len(view):
            return
        try:
            async with asyncio.timeout(self.write_timeout):
                await self._send_rest(view, sent)
        except (TimeoutError, OSError, ssl.SSLError) as e:
            self.abort()
            raise ClientGoneError from e

    def _send_now(self, view: memoryview) -> int:
        """Send what the kernel takes right away; ClientGoneError if the peer is gone."""
        try:
            return self._send_some(view, 0)
        except (OSError, ssl.SSLError) as e:
            self.abort()
            raise ClientGoneError from e

    def _send_some(self, view: memoryview, sent: int) -> int:
        sock = self._sock
        try:
            while sent < len(view):
                # OpenSSL wants a retry with the same bytes after WANT_WRITE: fixed chunks.
                n = sock.send(view[sent : sent + SEND_CHUNK] if self.tls else view[sent:])
                if n <= 0:
                    break
                sent += n
        except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
            pass
        return sent

    async def _send_rest(self, view: memoryview, sent: int) -> None:
        while sent < len(view):
            if self.closed:
                raise ConnectionResetError("connection aborted")
            await self._ready(write=True)
            sent = self._send_some(view, sent)

    def abort(self) -> None:
        """Close the connection now (nothing more is sent); waiting reads see the end."""
        if self.closed:
            return
        self.closed = True
        if self._watching:
            self._loop.remove_reader(self._fd)
            self._watching = False
        if self._write_waiter is not None:
            self._loop.remove_writer(self._fd)
            _wake(self._write_waiter)
        if self._read_waiter is not None:
            _wake(self._read_waiter)
        self._sock.close()

    def close(self) -> None:
        """End the session: TLS says close_notify (if the socket takes it), then close."""
        if self.closed:
            return
        sock = self._sock
        if isinstance(sock, ssl.SSLSocket):
            with contextlib.suppress(OSError, ValueError):
                sock.unwrap()  # sends close_notify; does not wait for the client's
        self.abort()

    # -- upgrades ----------------------------------------------------------------------

    async def start_tls(self, context: ssl.SSLContext, timeout: float = 30.0) -> bool:
        """Upgrade to TLS (after the OK was flushed); False if the handshake failed.

        Plaintext the client pipelined after STARTTLS is never read as if secure
        (CVE-2011-0411): what was read before is the caller's to drop, what is still in
        the kernel reaches OpenSSL as (bad) handshake bytes."""
        await self.flush()
        self._plain = b""
        try:
            sock = context.wrap_socket(self._sock, server_side=True, do_handshake_on_connect=False)
            self._sock = sock
            async with asyncio.timeout(timeout):
                while not self.closed:
                    try:
                        sock.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        await self._ready(write=False)
                    except ssl.SSLWantWriteError:
                        await self._ready(write=True)
        except (OSError, ssl.SSLError, TimeoutError, ValueError) as e:
            log.info("TLS handshake with %s failed: %s", self.address, e or type(e).__name__)
            self.abort()
            return False
        if self.closed:
            return False
        self.tls = True
        return True

    def start_compress(self, early: bytes = b"") -> None:
        """Everything after the tagged OK (already queued) is raw DEFLATE both ways.

        ``early`` is compressed input the caller had already taken off the socket (the
        client may pipeline compressed commands right behind COMPRESS)."""
        # The OK itself must go out uncompressed: compress only what is queued later.
        self._head += b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
        self._inflate = zlib.decompressobj(-15)
        if early:
            try:
                self._plain = self._inflate.decompress(early, INFLATE_PIECE)
            except zlib.error:
                self._plain = b""
                self.abort()


def _wake(future: asyncio.Future[Any]) -> None:
    if not future.done():
        future.set_result(None)


def _settle(future: asyncio.Future[bool], value: bool) -> None:
    if not future.done():
        future.set_result(value)


def _name(get: Callable[[], Any]) -> Any:
    try:
        return get()
    except OSError:
        return None


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address == "local"


__all__ = ["ClientGoneError", "ClientStream"]
