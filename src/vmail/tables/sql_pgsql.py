"""``pgsql:/path/to/file.cf`` tables (Postfix's pgsql_table(5)), with psycopg 3.

psycopg is used at the libpq level (``PQexec``, ``PQgetvalue``, ``PQescapeStringConn``)
because that is what Postfix does: every column of every row comes back as the server's
text, NULL is skipped like an empty value, several statements in one query answer with
the last one's rows, and keys are quoted by libpq for this connection (``'`` doubled, and
``\\`` too when ``standard_conforming_strings`` is off). Connections are opened on the first
lookup, kept, and spread over ``hosts`` as :mod:`vmail.tables.sqlhosts` describes;
``unix:/dir`` names the socket directory, and a ``postgresql://`` URI is used as given.
The legacy ``select_function`` parameter is supported.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register
from vmail.tables.sqlbase import QueryBuilder, SqlTable, Value
from vmail.tables.sqlcf import COMMON_PARAMETERS, QuerySettings, SqlCf
from vmail.tables.sqlhosts import HostAddress, HostPool, parse_hosts

PARAMETERS = COMMON_PARAMETERS | {"hosts", "user", "password", "dbname", "select_function"}

DEFAULT_PORT = 5432
CONNECT_TIMEOUT = 10

Connection = Any  # psycopg.Connection; psycopg ships no type information mypy can use here


@dataclass(frozen=True)
class PgsqlLogin:
    user: str
    password: str
    dbname: str


class QueryFailedError(Exception):
    """The server answered a query with an error."""


class PgsqlTable(SqlTable):
    def __init__(
        self, spec: str, settings: QuerySettings, hosts: list[HostAddress], login: PgsqlLogin
    ) -> None:
        super().__init__(spec, settings)
        self.login = login
        import psycopg

        self.pool: HostPool[Connection] = HostPool(
            spec, "pgsql", hosts, self._connect, _close, (psycopg.Error, QueryFailedError)
        )

    def _connect(self, address: HostAddress) -> Connection:
        import psycopg

        if address.kind == "uri":
            return psycopg.connect(address.host, autocommit=True)
        params: dict[str, Any] = {
            "host": address.host,
            "dbname": self.login.dbname,
            "connect_timeout": CONNECT_TIMEOUT,
        }
        if address.port is not None:
            params["port"] = address.port
        if self.login.user:
            params["user"] = self.login.user
        if self.login.password:
            params["password"] = self.login.password
        return psycopg.connect(autocommit=True, **params)

    def _query(self, build: QueryBuilder) -> Iterable[Value] | None:
        def work(connection: Connection) -> list[Value] | None:
            sql = build(_quoter(connection))
            if sql is None:
                return None
            from psycopg import pq

            result = connection.pgconn.exec_(sql.encode("utf-8"))
            status = pq.ExecStatus(result.status)
            if status == pq.ExecStatus.COMMAND_OK:
                return []
            if status != pq.ExecStatus.TUPLES_OK:
                message = (result.error_message or b"").decode("utf-8", errors="replace")
                raise QueryFailedError(message.strip() or status.name)
            values: list[Value] = []
            for row in range(result.ntuples):
                for column in range(result.nfields):
                    value = result.get_value(row, column)
                    values.append(None if value is None else value.decode("utf-8", "replace"))
            return values

        return self.pool.run(work)

    def _disconnect(self) -> None:
        self.pool.close()


def _quoter(connection: Connection) -> Callable[[str], str]:
    from psycopg import pq

    escaping = pq.Escaping(connection.pgconn)

    def quote(text: str) -> str:
        escaped: bytes = escaping.escape_string(text.encode("utf-8"))
        return escaped.decode("utf-8")

    return quote


def _close(connection: Connection) -> None:
    with contextlib.suppress(Exception):  # already closed or broken: nothing to release
        connection.close()


def open_pgsql(spec: str, name: str, context: TableContext) -> Table:
    try:
        import psycopg  # noqa: F401
    except ImportError:  # pragma: no cover - psycopg is a dependency
        raise ConfigError(f"{spec}: the psycopg package is not installed") from None
    cf = SqlCf.read(context.resolve(name), PARAMETERS)
    settings = QuerySettings.from_cf(cf, context, select_function=True)
    hosts = parse_hosts(cf.get("hosts"), cf.location("hosts"), allow_uri=True)
    login = PgsqlLogin(cf.get("user"), cf.get("password"), cf.required("dbname"))
    return PgsqlTable(spec, settings, hosts, login)


register("pgsql", open_pgsql)
