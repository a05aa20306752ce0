"""Bytes in and out of one mail-access connection: timeouts, TLS upgrade, COMPRESS=DEFLATE.

:class:`ClientStream` wraps asyncio's streams for the IMAP (and POP3) sessions:

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

import asyncio
import asyncio.sslproto
import ipaddress
import logging
import ssl
import zlib
from typing import Any

log = logging.getLogger("vmail.server")

READ_SIZE = 1 << 16

# asyncio's TLS transport (SSLProtocol) gives every connection its own staging buffer for
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


class ClientGoneError(Exception):
    """The client disconnected, or did not read what we sent in time."""


class ClientStream:
    """One client connection's byte streams."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        *,
        write_timeout: float = 60.0,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.write_timeout = write_timeout
        peer = writer.get_extra_info("peername") or ("", 0)
        local = writer.get_extra_info("sockname") or ("", 0)
        self.address: str = str(peer[0]) if isinstance(peer, tuple) else "local"
        self.port: int = int(peer[1]) if isinstance(peer, tuple) and len(peer) > 1 else 0
        self.local_address: str = str(local[0]) if isinstance(local, tuple) else ""
        self.local_port: int = int(local[1]) if isinstance(local, tuple) and len(local) > 1 else 0
        self.tls = writer.get_extra_info("ssl_object") is not None
        self._out: list[bytes] = []
        self._out_size = 0
        self._deflate: zlib._Compress | None = None
        self._inflate: zlib._Decompress | None = None
        self._plain = b""  # input inflated ahead of time (pipelined behind COMPRESS)
        self.closed = False
        self.bytes_in = 0  # what the client sent (inflated), for the logout log line
        self.bytes_out = 0  # what we sent (before compression)

    @property
    def secure(self) -> bool:
        """TLS, or a loopback client (Dovecot treats those as secure too)."""
        return self.tls or _loopback(self.address)

    @property
    def compressed(self) -> bool:
        return self._deflate is not None

    @property
    def tls_version(self) -> str:
        ssl_object = self.writer.get_extra_info("ssl_object")
        return str(ssl_object.version()) if ssl_object is not None else ""

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
        try:
            async with asyncio.timeout(timeout):
                data = await self.reader.read(READ_SIZE)
        except (ConnectionError, ssl.SSLError):
            return b""
        if inflate is not None and data:
            try:
                out = inflate.decompress(data, INFLATE_PIECE)
            except zlib.error:
                return b""  # a corrupt stream ends the session, as in Dovecot
            return out if out or not data else await self._read(timeout)
        return data

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
        """Push everything queued and wait (bounded) until the client has taken it."""
        if self._out:
            data = b"".join(self._out)
            self._out.clear()
            self._out_size = 0
            if self._deflate is not None:
                data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
            if self.closed:
                raise ClientGoneError
            self.writer.write(data)
        transport = self.writer.transport
        if not transport.get_write_buffer_size() and not transport.is_closing():
            return
        try:
            async with asyncio.timeout(self.write_timeout):
                await self.writer.drain()
        except (TimeoutError, ConnectionError, ssl.SSLError, RuntimeError) as e:
            self.abort()
            raise ClientGoneError from e

    def abort(self) -> None:
        self.closed = True
        self.writer.transport.abort()

    # -- upgrades ----------------------------------------------------------------------

    async def start_tls(self, context: ssl.SSLContext, timeout: float = 30.0) -> bool:
        """Upgrade to TLS (after the OK was flushed); False if the handshake failed."""
        await self.flush()
        buffered: bytearray = getattr(self.reader, "_buffer")  # noqa: B009
        buffered.clear()  # plaintext pipelined after STARTTLS is never read as if secure
        try:
            await self.writer.start_tls(context, ssl_handshake_timeout=timeout)
        except (OSError, ssl.SSLError, TimeoutError, EOFError) as e:
            log.info("TLS handshake with %s failed: %s", self.address, e or type(e).__name__)
            self.abort()
            return False
        self.tls = True
        return True

    def start_compress(self, early: bytes = b"") -> None:
        """Everything after the tagged OK (already queued) is raw DEFLATE both ways.

        ``early`` is compressed input the caller had already taken off the socket (the
        client may pipeline compressed commands right behind COMPRESS)."""
        # The OK itself must go out uncompressed: compress only what is queued later.
        pending = b"".join(self._out)
        self._out.clear()
        self._out_size = 0
        self.writer.write(pending)
        self._deflate = zlib.compressobj(6, zlib.DEFLATED, -15, 8)
        self._inflate = zlib.decompressobj(-15)
        buffered: bytearray = getattr(self.reader, "_buffer")  # noqa: B009
        early += bytes(buffered)
        buffered.clear()
        if early:
            try:
                self._plain = self._inflate.decompress(early, INFLATE_PIECE)
            except zlib.error:
                self._plain = b""
                self.abort()


def _loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return address == "local"


__all__ = ["ClientGoneError", "ClientStream"]
