"""The ``hosts`` of a MySQL or PostgreSQL table, and failover between them.

``hosts`` lists servers as ``unix:/path``, ``inet:host[:port]``, ``host[:port]`` or
(pgsql only) a ``postgresql://`` URI; ``[v6addr]:port`` is accepted too. Like Postfix,
each query tries the servers in this order until one answers:

1. servers with an open connection, then servers not tried yet, then servers that failed
   more than :attr:`HostPool.retry_seconds` ago;
2. within each group, UNIX-domain sockets before TCP;
3. within that, in random order (spreading the load).

A kept connection that fails is reopened once and the query retried (the server may have
closed it). A server whose connection or query still fails is closed and left alone for
``retry_seconds``; when no server is left to try, the lookup fails (TableError). A
connection idle for longer than ``idle_seconds`` is closed and reopened before use.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from vmail.config.values import split_list
from vmail.core.errors import ConfigError, Location, TableError

C = TypeVar("C")
T = TypeVar("T")


@dataclass(frozen=True)
class HostAddress:
    """One server: ``kind`` unix (``host`` is the path), inet, or uri (``host`` is the URI)."""

    kind: Literal["unix", "inet", "uri"]
    host: str
    port: int | None = None

    def __str__(self) -> str:
        if self.kind == "inet" and self.port is not None:
            return f"{self.host}:{self.port}"
        return self.host


def parse_hosts(value: str, location: Location, *, allow_uri: bool = False) -> list[HostAddress]:
    """Parse a ``hosts`` value; an empty one means ``localhost``."""
    hosts: list[HostAddress] = []
    for word in split_list(value) or ["localhost"]:
        if allow_uri and word.startswith(("postgresql://", "postgres://")):
            hosts.append(HostAddress("uri", word))
        elif word.startswith("unix:"):
            hosts.append(HostAddress("unix", word[5:]))
        else:
            hosts.append(_parse_inet(word.removeprefix("inet:"), location))
    return hosts


def _parse_inet(text: str, location: Location) -> HostAddress:
    host, port_text = text, ""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise ConfigError(f'bad host address "{text}"', location)
        host, rest = text[1:end], text[end + 1 :]
        port_text = rest.removeprefix(":")
    elif text.count(":") == 1:
        host, port_text = text.split(":")
    if not host:
        raise ConfigError(f'bad host address "{text}"', location)
    if not port_text:
        return HostAddress("inet", host)
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f'bad port in host address "{text}"', location)
    return HostAddress("inet", host, int(port_text))


@dataclass
class _Slot(Generic[C]):
    address: HostAddress
    connection: C | None = None
    failed_at: float | None = None
    last_used: float = 0.0


class HostPool(Generic[C]):
    """Connections to the servers of one table; not thread-safe (the table holds a lock).

    ``connect`` opens a connection (raising one of ``errors`` on failure), ``close``
    closes one quietly. ``describe`` names the server type in messages ("mysql").
    """

    retry_seconds = 60.0
    idle_seconds = 60.0

    def __init__(
        self,
        spec: str,
        describe: str,
        hosts: list[HostAddress],
        connect: Callable[[HostAddress], C],
        close: Callable[[C], None],
        errors: tuple[type[BaseException], ...],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.spec = spec
        self.describe = describe
        self.slots = [_Slot[C](h) for h in hosts]
        self._connect = connect
        self._close = close
        self._errors = errors
        self._clock = clock

    def run(self, work: Callable[[C], T]) -> T:
        """Run ``work`` on the first server that can do it; TableError if none can."""
        problems: list[str] = []
        for slot in self._candidates():
            now = self._clock()
            if slot.connection is not None and now - slot.last_used > self.idle_seconds:
                self._drop(slot)
            # A kept connection may have been closed by the server meanwhile: when it
            # fails, reconnect once before giving up on this server.
            attempts = 2 if slot.connection is not None else 1
            for attempt in range(attempts):
                if slot.connection is None:
                    try:
                        slot.connection = self._connect(slot.address)
                    except self._errors as e:
                        problems.append(f"connect to {self.describe} server {slot.address}: {e}")
                        break
                try:
                    result = work(slot.connection)
                except self._errors as e:
                    self._drop(slot)
                    if attempt == attempts - 1:
                        problems.append(f"{self.describe} query failed on {slot.address}: {e}")
                    continue
                slot.failed_at = None
                slot.last_used = self._clock()
                return result
            self._fail(slot, now)
        if not problems:
            problems.append(f"no {self.describe} server available (all failed recently)")
        raise TableError(self.spec, "; ".join(problems))

    def close(self) -> None:
        for slot in self.slots:
            self._drop(slot)

    def _candidates(self) -> list[_Slot[C]]:
        now = self._clock()

        def rank(slot: _Slot[C]) -> tuple[int, int, float]:
            if slot.connection is not None:
                group = 0
            elif slot.failed_at is None:
                group = 1
            else:
                group = 2
            return (group, 0 if slot.address.kind == "unix" else 1, random.random())

        usable = [
            s for s in self.slots if s.failed_at is None or now - s.failed_at >= self.retry_seconds
        ]
        return sorted(usable, key=rank)

    def _fail(self, slot: _Slot[C], now: float) -> None:
        self._drop(slot)
        slot.failed_at = now

    def _drop(self, slot: _Slot[C]) -> None:
        if slot.connection is not None:
            connection, slot.connection = slot.connection, None
            self._close(connection)
