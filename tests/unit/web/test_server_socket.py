"""The web listener's socket: listening at once, TCP (so asyncio sets TCP_NODELAY)."""

from __future__ import annotations

import socket

from vmail.web.server import _listening_socket


def test_listening_tcp_socket_on_loopback() -> None:
    sock = _listening_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP  # asyncio's nodelay check wants it
        port = sock.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            conn, _ = sock.accept()  # queued before anyone serves: already listening
            conn.close()
    finally:
        sock.close()


def test_all_addresses_when_no_host() -> None:
    sock = _listening_socket("", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        with socket.create_connection(("127.0.0.1", sock.getsockname()[1]), timeout=5):
            pass
    finally:
        sock.close()
