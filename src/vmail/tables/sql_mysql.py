"""``mysql:/path/to/file.cf`` tables (Postfix's mysql_table(5)), with PyMySQL.

Connections are opened on the first lookup, kept, and spread over ``hosts`` as
:mod:`vmail.tables.sqlhosts` describes; ``localhost`` means the server's UNIX-domain
socket, as with the MySQL client library. Every column of every row is used, as text
exactly as the server sends it (no Python type conversion). Keys are quoted like
``mysql_real_escape_string`` (backslash escapes, or doubled quotes when the server runs
with ``NO_BACKSLASH_ESCAPES``). Each query runs in autocommit mode, so a lookup always sees
committed changes.

``option_file``/``option_group`` are read only when ``option_file`` is given (Postfix
would also read the ``[client]`` group of the default my.cnf), and only for settings the
``.cf`` leaves empty: user, password, host, port, socket, database,
default-character-set and ssl-ca/ssl-capath/ssl-cert/ssl-key.
"""

from __future__ import annotations

import configparser
import contextlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register
from vmail.tables.sqlbase import QueryBuilder, SqlTable, Value
from vmail.tables.sqlcf import COMMON_PARAMETERS, QuerySettings, SqlCf
from vmail.tables.sqlhosts import HostAddress, HostPool, parse_hosts

PARAMETERS = COMMON_PARAMETERS | {
    "hosts",
    "user",
    "password",
    "dbname",
    "option_file",
    "option_group",
    "require_result_set",
    "tls_cert_file",
    "tls_key_file",
    "tls_CAfile",
    "tls_CApath",
    "tls_verify_cert",
    "tls_ciphers",
}

DEFAULT_PORT = 3306
DEFAULT_SOCKET = "/run/mysqld/mysqld.sock"
CONNECT_TIMEOUT = 10
READ_TIMEOUT = 60
_NO_BACKSLASH_ESCAPES = 512  # SERVER_STATUS_NO_BACKSLASH_ESCAPES

Connection = Any  # pymysql.connections.Connection; its stubs disagree with its real options


@dataclass(frozen=True)
class MysqlLogin:
    """Everything needed to connect, apart from the host."""

    user: str
    password: str
    database: str
    charset: str = "utf8mb4"
    socket: str = DEFAULT_SOCKET
    ssl: dict[str, Any] | None = None
    options: dict[str, str] = field(default_factory=dict)


def quoter(connection: Connection) -> Callable[[str], str]:
    """The quoting ``mysql_real_escape_string`` would do on this connection."""
    from pymysql.converters import escape_string

    if connection.server_status & _NO_BACKSLASH_ESCAPES:
        return lambda text: text.replace("'", "''")
    return escape_string


class MysqlTable(SqlTable):
    def __init__(
        self,
        spec: str,
        settings: QuerySettings,
        hosts: list[HostAddress],
        login: MysqlLogin,
        require_result_set: bool = True,
    ) -> None:
        super().__init__(spec, settings)
        self.login = login
        self.require_result_set = require_result_set
        import pymysql

        self.pool: HostPool[Connection] = HostPool(
            spec, "mysql", hosts, self._connect, _close, (pymysql.Error,)
        )

    def _connect(self, address: HostAddress) -> Connection:
        import pymysql
        import pymysql.converters

        # Keep the encoders, drop the decoders: values stay the server's text.
        conv = {k: v for k, v in pymysql.converters.conversions.items() if not isinstance(k, int)}
        where: dict[str, Any]
        if address.kind == "unix":
            where = {"unix_socket": address.host}
        elif address.host == "localhost":
            where = {"unix_socket": self.login.socket}
        else:
            where = {"host": address.host, "port": address.port or DEFAULT_PORT}
        options: dict[str, Any] = {
            **where,
            "user": self.login.user or None,
            "password": self.login.password,
            "database": self.login.database,
            "charset": self.login.charset,
            "ssl": self.login.ssl,
            "conv": conv,
            "autocommit": True,
            "connect_timeout": CONNECT_TIMEOUT,
            "read_timeout": READ_TIMEOUT,
            "write_timeout": READ_TIMEOUT,
        }
        return pymysql.connect(**options)

    def _query(self, build: QueryBuilder) -> Iterable[Value] | None:
        def work(connection: Connection) -> list[Value] | None:
            sql = build(quoter(connection))
            if sql is None:
                return None
            with connection.cursor() as cursor:
                cursor.execute(sql)
                if cursor.description is None:
                    if self.require_result_set:
                        raise _no_result_set()
                    return []
                rows = cursor.fetchall()
                while cursor.nextset():
                    if cursor.description is not None:
                        raise _multiple_result_sets()
            return [_text(value) for row in rows for value in row]

        return self.pool.run(work)

    def _disconnect(self) -> None:
        self.pool.close()


def _no_result_set() -> Exception:
    import pymysql

    return pymysql.ProgrammingError("query returned no result set (require_result_set = yes)")


def _multiple_result_sets() -> Exception:
    import pymysql

    return pymysql.ProgrammingError("query returned more than one result set")


def _text(value: object) -> Value:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def _close(connection: Connection) -> None:
    with contextlib.suppress(Exception):  # already closed or broken: nothing to release
        connection.close()


def _option_file(cf: SqlCf, context: TableContext) -> dict[str, str]:
    name = cf.get("option_file")
    if not name:
        return {}
    parser = configparser.ConfigParser(allow_no_value=True, strict=False, interpolation=None)
    path = context.resolve(name)
    try:
        with open(path, encoding="utf-8") as f:
            parser.read_file(line for line in f if not line.lstrip().startswith("!"))
    except (OSError, configparser.Error) as e:
        raise ConfigError(f"option_file {path}: {e}", cf.location("option_file")) from None
    options: dict[str, str] = {}
    for group in ("client", cf.get("option_group", "client")):
        if group and parser.has_section(group):
            for key, value in parser.items(group):
                options[key.replace("_", "-")] = (value or "").strip().strip("\"'")
    return options


def open_mysql(spec: str, name: str, context: TableContext) -> Table:
    try:
        import pymysql  # noqa: F401
    except ImportError:  # pragma: no cover - pymysql is a dependency
        raise ConfigError(f"{spec}: the pymysql package is not installed") from None
    cf = SqlCf.read(context.resolve(name), PARAMETERS)
    settings = QuerySettings.from_cf(cf, context)
    options = _option_file(cf, context)
    hosts_value = cf.get("hosts") or options.get("host", "")
    if options.get("port") and hosts_value and ":" not in hosts_value:
        hosts_value = f"{hosts_value}:{options['port']}"
    hosts = parse_hosts(hosts_value, cf.location("hosts"))
    database = cf.get("dbname") or options.get("database", "")
    if not database:
        cf.required("dbname")
    ssl = _ssl_settings(cf, options)
    login = MysqlLogin(
        user=cf.get("user") or options.get("user", ""),
        password=cf.get("password") or options.get("password", ""),
        database=database,
        charset=options.get("default-character-set", "utf8mb4"),
        socket=options.get("socket", DEFAULT_SOCKET),
        ssl=ssl,
        options=options,
    )
    return MysqlTable(spec, settings, hosts, login, cf.boolean("require_result_set", True))


def _ssl_settings(cf: SqlCf, options: dict[str, str]) -> dict[str, Any] | None:
    files = {
        "cert": cf.get("tls_cert_file") or options.get("ssl-cert", ""),
        "key": cf.get("tls_key_file") or options.get("ssl-key", ""),
        "ca": cf.get("tls_CAfile") or options.get("ssl-ca", ""),
        "capath": cf.get("tls_CApath") or options.get("ssl-capath", ""),
    }
    ssl: dict[str, Any] = {k: v for k, v in files.items() if v}
    if not ssl:
        return None
    verify = cf.boolean("tls_verify_cert", False)
    ssl["check_hostname"] = verify  # tls_verify_cert: the server's name must match
    ssl["verify_mode"] = verify or "ca" in ssl or "capath" in ssl  # a given CA is used
    return ssl


register("mysql", open_mysql)
