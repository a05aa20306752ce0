"""ClientStream on a bare socket or an ssl.SSLSocket, served by a SocketListener: TLS both
ways, large transfers, a client that stops reading, STARTTLS, COMPRESS over TLS, broken
handshakes, and hibernation (IDLE's wait)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from tests.unit.servers.helpers import certificate, client_context
from vmail.servers.clientstream import ClientGoneError, ClientStream
from vmail.servers.streams import SocketListener

Handler = Callable[[ClientStream], Awaitable[None]]


class Listener(SocketListener):
    """Runs ``handler`` for every connection; remembers what it returned or raised."""

    def __init__(self, handler: Handler, context: ssl.SSLContext | None = None) -> None:
        super().__init__(host="127.0.0.1", port=0, ssl_context=context)
        self.handler = handler
        self.outcomes: asyncio.Queue[object] = asyncio.Queue()

    async def serve_client(self, stream: ClientStream) -> None:
        try:
            await self.handler(stream)
            await self.outcomes.put("done")
        except Exception as e:
            await self.outcomes.put(e)


def server_context(tmp_path: Path) -> ssl.SSLContext:
    certificate(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    return context


async def read_exactly(stream: ClientStream, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        piece = await stream.read(5)
        if not piece:
            break
        data += piece
    return bytes(data)


async def hang_up(reader: asyncio.StreamReader) -> bool:
    """Whether the server closed the connection (a reset when our bytes were unread)."""
    try:
        while await reader.read(65536):
            pass
    except ConnectionResetError:
        pass
    return True


def run(main: Callable[[], Awaitable[object]]) -> object:
    async def bounded() -> object:
        return await asyncio.wait_for(main(), 20)

    return asyncio.run(bounded())


def test_tls_large_transfers_both_ways(tmp_path: Path) -> None:
    upload, download = os.urandom(3_000_000), os.urandom(5_000_000)

    async def handler(stream: ClientStream) -> None:
        assert stream.tls
        assert stream.tls_version.startswith("TLS")
        assert stream.tls_cipher
        got = await read_exactly(stream, len(upload))
        stream.write(hashlib.sha256(got).digest())
        await stream.send(download)
        await stream.flush()

    async def main() -> None:
        server = Listener(handler, server_context(tmp_path))
        await server.start()
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=client_context()
        )
        writer.write(upload)
        await writer.drain()
        assert await reader.readexactly(32) == hashlib.sha256(upload).digest()
        assert await reader.readexactly(len(download)) == download
        assert await server.outcomes.get() == "done"
        assert await reader.read() == b""  # the server closed (close_notify, then EOF)
        writer.close()
        await server.close()

    run(main)


def test_a_client_that_stops_reading_loses_only_its_own_connection(tmp_path: Path) -> None:
    big = b"x" * (16 << 20)

    async def handler(stream: ClientStream) -> None:
        stream.write_timeout = 0.5
        if await stream.read(10) == b"stall":
            stream.write(big)
        else:
            stream.write(b"fine")
        await stream.flush()

    async def main() -> None:
        server = Listener(handler, server_context(tmp_path))
        await server.start()
        _, stalled = await asyncio.open_connection("127.0.0.1", server.port, ssl=client_context())
        stalled.write(b"stall")
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", server.port, ssl=client_context()
        )
        writer.write(b"hello")
        assert await reader.readexactly(4) == b"fine"
        outcomes = {type(await server.outcomes.get()) for _ in range(2)}
        assert outcomes == {str, ClientGoneError}
        stalled.close()
        writer.close()
        await server.close()

    run(main)


def test_starttls_never_reads_pipelined_plaintext_as_secure(tmp_path: Path) -> None:
    context = server_context(tmp_path)

    async def handler(stream: ClientStream) -> None:
        assert await stream.read(10) == b"STARTTLS\r\n"
        await asyncio.sleep(0.2)  # the injected plaintext arrives before the handshake
        assert not await stream.start_tls(context, timeout=5)
        assert stream.closed
        assert not stream.tls

    async def main() -> None:
        server = Listener(handler)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"STARTTLS\r\n")
        await asyncio.sleep(0.1)
        writer.write(b"a LOGIN evil evil\r\n")
        assert await server.outcomes.get() == "done"
        assert await hang_up(reader)
        writer.close()
        await server.close()

    run(main)


def test_starttls_then_compress_both_ways(tmp_path: Path) -> None:
    context = server_context(tmp_path)
    text = b"".join(b"* %d FETCH (FLAGS (\\Seen))\r\n" % i for i in range(20_000))

    async def handler(stream: ClientStream) -> None:
        assert await stream.read(None) == b"STARTTLS\r\n"
        stream.write(b"OK go\r\n")
        assert await stream.start_tls(context)
        assert await stream.read(None) == b"COMPRESS\r\n"
        stream.write(b"OK deflate\r\n")
        stream.start_compress()
        await stream.flush()  # the OK goes out as it is
        assert await read_exactly(stream, len(text)) == text
        await stream.send(text)
        await stream.flush()

    async def main() -> None:
        server = Listener(handler)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(b"STARTTLS\r\n")
        assert await reader.readline() == b"OK go\r\n"
        await writer.start_tls(client_context())
        writer.write(b"COMPRESS\r\n")
        assert await reader.readline() == b"OK deflate\r\n"
        deflate, inflate = zlib.compressobj(wbits=-15), zlib.decompressobj(-15)
        writer.write(deflate.compress(text) + deflate.flush(zlib.Z_SYNC_FLUSH))
        got = b""
        while len(got) < len(text):
            got += inflate.decompress(await reader.read(65536))
        assert got == text
        assert await server.outcomes.get() == "done"
        writer.close()
        await server.close()

    run(main)


@pytest.mark.parametrize(
    ("send", "then_close"),
    [
        (b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", True),  # EOF mid-ClientHello
        (b"a LOGIN user pass\r\n", False),  # garbage instead of a ClientHello
        (b"", False),  # silence: the handshake times out
    ],
)
def test_broken_handshakes_end_the_connection(
    tmp_path: Path, send: bytes, then_close: bool
) -> None:
    served: list[ClientStream] = []

    async def handler(stream: ClientStream) -> None:
        served.append(stream)

    async def main() -> float:
        server = Listener(handler, server_context(tmp_path))
        server.handshake_timeout = 0.5
        await server.start()
        loop = asyncio.get_running_loop()
        started = loop.time()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(send)
        if then_close:
            writer.write_eof()
        assert await hang_up(reader)  # maybe after a TLS alert
        writer.close()
        elapsed = loop.time() - started
        await server.close()
        return elapsed

    elapsed = run(main)
    assert not served
    assert isinstance(elapsed, float)
    assert elapsed < 3


def test_hibernate_wakes_on_input_on_the_future_and_on_the_timer() -> None:
    async def handler(stream: ClientStream) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        assert not await stream.hibernate(None, 0.1)  # the timer
        assert loop.time() - started >= 0.09
        wake: asyncio.Future[None] = loop.create_future()
        loop.call_later(0.05, wake.set_result, None)
        assert not await stream.hibernate(wake, 5)  # the future
        stream.write(b"go\r\n")
        await stream.flush()
        assert await stream.hibernate(None, 5)  # input
        assert await stream.read(1) == b"DONE\r\n"
        assert await stream.hibernate(None, 5)  # end of input counts as input
        assert await stream.read(1) == b""

    async def main() -> None:
        server = Listener(handler)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        assert await reader.readline() == b"go\r\n"
        writer.write(b"DONE\r\n")
        await asyncio.sleep(0.05)
        writer.write_eof()
        assert await server.outcomes.get() == "done"
        writer.close()
        await server.close()

    run(main)


def test_listener_waits_for_accept_and_close_ends_sessions() -> None:
    async def handler(stream: ClientStream) -> None:
        await stream.read(None)  # until close() cancels the session

    async def main() -> None:
        server = Listener(handler)
        await server.start(accept=False)
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        await asyncio.sleep(0.1)
        assert not server._tasks  # connected (kernel backlog) but not served yet
        await server.accept()
        await asyncio.sleep(0.1)
        assert len(server._tasks) == 1
        await server.close()
        assert await reader.read() == b""
        assert not server._tasks
        writer.close()

    run(main)


def test_hibernate_after_a_request_is_not_woken_by_its_stale_readiness() -> None:
    async def handler(stream: ClientStream) -> None:
        for _ in range(20):  # readiness of the request just read must not end the sleep
            assert await stream.read(5) == b"ping\r\n"
            stream.write(b"pong\r\n")
            await stream.flush()
            assert not await stream.hibernate(None, 0.01)

    async def main() -> None:
        server = Listener(handler)
        await server.start()
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        for _ in range(20):
            writer.write(b"ping\r\n")
            assert await reader.readline() == b"pong\r\n"
            await asyncio.sleep(0.05)  # the server's 10 ms sleep is over
        assert await server.outcomes.get() == "done"
        writer.close()
        await server.close()

    run(main)
