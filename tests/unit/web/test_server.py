"""WebServer accepting on a listening socket it shares (the web processes): one
connection per wake-up, and a server with connections lets an idle one take the next."""

from __future__ import annotations

import asyncio
import os
import socket

from tests.unit.web.conftest import run_coroutine
from vmail.config import MainConfig
from vmail.web.context import WebContext
from vmail.web.server import WebServer, _listening_socket


def _server(balance: bool) -> WebServer:
    context = WebContext(config=MainConfig({}), admin=None, authenticator=None, secret=b"k" * 32)
    return WebServer(context.config, context, host="127.0.0.1", port=0, balance=balance)


async def _connected(servers: list[WebServer], count: int) -> list[int]:
    for _ in range(200):
        counts = [len(server._state.connections) for server in servers]
        if sum(counts) >= count:
            return counts
        await asyncio.sleep(0.01)
    raise AssertionError(f"only {counts} connections accepted")


async def _share(balance: bool) -> list[int]:
    listening = _listening_socket("127.0.0.1", 0)
    port = listening.getsockname()[1]
    servers = [_server(balance), _server(balance)]
    for server in servers:
        await server.start(sock=socket.socket(fileno=os.dup(listening.fileno())))
    listening.close()
    clients = []
    try:
        for number in range(1, 5):  # one at a time, as keep-alive clients arrive
            clients.append(await asyncio.open_connection("127.0.0.1", port))
            await _connected(servers, number)
        counts = await _connected(servers, 4)
        for _, writer in clients:  # they are served: a request gets an answer
            writer.write(b"GET /static/nonexistent HTTP/1.1\r\nHost: x\r\n\r\n")
        for reader, _ in clients:
            assert (await reader.readline()).startswith(b"HTTP/1.1 404")
        return counts
    finally:
        for _, writer in clients:
            writer.close()
        for server in servers:
            await server.close()


def test_busy_server_lets_the_idle_one_take_connections() -> None:
    assert run_coroutine(_share(balance=True)) == [2, 2]


def test_without_balance_one_server_may_take_them_all() -> None:
    counts = run_coroutine(_share(balance=False))
    assert sum(counts) == 4
