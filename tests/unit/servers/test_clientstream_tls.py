"""TLS connections share one staging buffer for ciphertext (clientstream patches asyncio's
SSLProtocol): concurrent connections receiving large data each get exactly their own bytes."""

from __future__ import annotations

import asyncio
import hashlib
import os
import ssl
from pathlib import Path

from tests.unit.servers.helpers import certificate, client_context
from vmail.servers import clientstream


def test_concurrent_tls_uploads_are_not_mixed(tmp_path: Path) -> None:
    certificate(tmp_path)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    payloads = [os.urandom(300_000) for _ in range(4)]
    received: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.readexactly(300_000)
        received.append(hashlib.sha256(data).hexdigest())
        writer.write(b"ok")
        await writer.drain()
        writer.close()

    async def upload(port: int, payload: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(), server_hostname="mail.example.net"
        )
        for start in range(0, len(payload), 7_000):  # many small records, interleaved
            writer.write(payload[start : start + 7_000])
            await writer.drain()
        answer = await reader.read(2)
        writer.close()
        return answer

    async def main() -> list[bytes]:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_context)
        port = server.sockets[0].getsockname()[1]
        async with server:
            return await asyncio.wait_for(asyncio.gather(*(upload(port, p) for p in payloads)), 30)

    assert asyncio.run(main()) == [b"ok"] * 4
    assert sorted(received) == sorted(hashlib.sha256(p).hexdigest() for p in payloads)
    assert clientstream.TLS_READ_BUFFER == clientstream.READ_SIZE
