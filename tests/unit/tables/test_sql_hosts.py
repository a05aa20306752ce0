"""hosts parsing and the failover order of MySQL/PostgreSQL tables (no server needed)."""

from __future__ import annotations

import pytest

from vmail.core.errors import ConfigError, Location, TableError
from vmail.tables.sqlhosts import HostAddress, HostPool, parse_hosts

HERE = Location("t.cf", 1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", [HostAddress("inet", "localhost")]),
        ("db1", [HostAddress("inet", "db1")]),
        ("db1:3307", [HostAddress("inet", "db1", 3307)]),
        ("inet:db1:3307", [HostAddress("inet", "db1", 3307)]),
        ("inet:db1", [HostAddress("inet", "db1")]),
        ("unix:/run/mysqld/mysqld.sock", [HostAddress("unix", "/run/mysqld/mysqld.sock")]),
        ("[::1]:5432", [HostAddress("inet", "::1", 5432)]),
        ("inet:[2001:db8::1]", [HostAddress("inet", "2001:db8::1")]),
        (
            "a, b:1 unix:/s",
            [HostAddress("inet", "a"), HostAddress("inet", "b", 1), HostAddress("unix", "/s")],
        ),
    ],
)
def test_parse_hosts(value: str, expected: list[HostAddress]) -> None:
    assert parse_hosts(value, HERE) == expected


def test_uri_only_for_pgsql() -> None:
    uri = "postgresql://u@db/x?sslmode=require"
    assert parse_hosts(uri, HERE, allow_uri=True) == [HostAddress("uri", uri)]
    with pytest.raises(ConfigError):
        parse_hosts(uri, HERE)


@pytest.mark.parametrize("value", ["db:0", "db:99999", "db:x", "[::1", ":5432"])
def test_bad_hosts(value: str) -> None:
    with pytest.raises(ConfigError):
        parse_hosts(value, HERE)


class DownError(Exception):
    pass


class FakeServers:
    """Connections are names; a server in ``down`` refuses connections and queries."""

    def __init__(self) -> None:
        self.down: set[str] = set()
        self.connects: list[str] = []
        self.closed: list[str] = []
        self.now = 1000.0

    def pool(self, *hosts: str) -> HostPool[str]:
        addresses = [parse_hosts(h, HERE)[0] for h in hosts]
        return HostPool(
            "mysql:t.cf",
            "mysql",
            addresses,
            self.connect,
            self.closed.append,
            (DownError,),
            clock=lambda: self.now,
        )

    def connect(self, address: HostAddress) -> str:
        self.connects.append(str(address))
        if str(address) in self.down:
            raise DownError(f"{address} refused")
        return str(address)

    def work(self, connection: str) -> str:
        if connection in self.down:
            raise DownError(f"{connection} gone")
        return connection


def test_failover_and_retry_interval() -> None:
    servers = FakeServers()
    pool = servers.pool("unix:/a", "b:1")  # the UNIX socket is tried first
    servers.down = {"/a"}
    assert {pool.run(servers.work) for _ in range(20)} == {"b:1"}
    assert servers.connects.count("/a") == 1  # a failed server is left alone...
    servers.down = {"b:1"}
    servers.now += 30
    with pytest.raises(TableError):  # ...while it rests, even when the others fail
        pool.run(servers.work)
    servers.down = set()
    servers.now += 31  # ...until the retry interval has passed
    assert pool.run(servers.work) == "/a"


def test_all_down_is_a_failure_and_no_retry_storm() -> None:
    servers = FakeServers()
    pool = servers.pool("a:1", "b:1")
    servers.down = {"a:1", "b:1"}
    with pytest.raises(TableError, match="a:1 refused"):
        pool.run(servers.work)
    connects = len(servers.connects)
    with pytest.raises(TableError, match="all failed recently"):
        pool.run(servers.work)
    assert len(servers.connects) == connects
    servers.down = set()
    servers.now += 60
    assert pool.run(servers.work) in {"a:1", "b:1"}


def test_kept_connection_is_reused_and_reopened_once_after_failure() -> None:
    servers = FakeServers()
    pool = servers.pool("a:1")
    for _ in range(5):
        assert pool.run(servers.work) == "a:1"
    assert servers.connects == ["a:1"]
    # The server closed our connection; the next lookup reconnects transparently.
    pool.slots[0].connection = "stale"
    servers.down = {"stale"}
    assert pool.run(servers.work) == "a:1"
    assert servers.connects == ["a:1", "a:1"]
    assert servers.closed == ["stale"]


def test_idle_connection_is_reopened() -> None:
    servers = FakeServers()
    pool = servers.pool("a:1")
    pool.run(servers.work)
    servers.now += 61
    pool.run(servers.work)
    assert servers.connects == ["a:1", "a:1"]


def test_unix_sockets_first_and_random_among_equals() -> None:
    servers = FakeServers()
    pool = servers.pool("a:1", "unix:/s", "b:1", "c:1")
    assert pool.run(servers.work) == "/s"
    firsts = set()
    for _ in range(50):
        servers2 = FakeServers()
        p = servers2.pool("a:1", "b:1", "c:1")
        firsts.add(p.run(servers2.work))
    assert firsts == {"a:1", "b:1", "c:1"}


def test_close_closes_connections() -> None:
    servers = FakeServers()
    pool = servers.pool("a:1", "b:1")
    pool.run(servers.work)
    pool.close()
    assert len(servers.closed) == 1
    assert all(slot.connection is None for slot in pool.slots)
