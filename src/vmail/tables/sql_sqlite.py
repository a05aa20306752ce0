"""``sqlite:/path/to/file.cf`` tables (Postfix's sqlite_table(5)).

The ``.cf`` names the database with ``dbpath`` (relative names are resolved against the
config directory). The database is opened read-only on the first lookup; a missing or
unreadable database, or a failing query, makes the lookup fail (TableError) and the next
lookup reopens it. Postfix would create a missing database file and then fail; vmail
never writes to it. As in Postfix, only the first column of each row is used, and
values are turned into text the way SQLite itself does (``sqlite3_column_text``).
"""

from __future__ import annotations

import math
import sqlite3
import urllib.parse
from collections.abc import Iterable, Sequence
from pathlib import Path

from vmail.core.errors import TableError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register
from vmail.tables.sqlbase import QueryBuilder, SqlTable, Value
from vmail.tables.sqlcf import COMMON_PARAMETERS, QuerySettings, SqlCf
from vmail.tables.sqlexpand import AddressParts

PARAMETERS = COMMON_PARAMETERS | {"dbpath"}


def quote(text: str) -> str:
    """Quote for the inside of an SQL string literal: ``'`` is doubled."""
    return text.replace("'", "''")


def column_text(value: object) -> Value:
    """A column value as SQLite's own conversion to text would give it."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, float):
        return _real_text(value)
    return str(value)


def _real_text(value: float) -> Value:
    """SQLite 3.40's ``%!.15g``: always a decimal point, ``Inf`` for infinity."""
    if math.isnan(value):
        return None
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    text = format(value, ".15g")
    mantissa, e, exponent = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + exponent


class SqliteTable(SqlTable):
    """One SQLite database, queried with the ``.cf`` file's query.

    A local file read: ``local`` (smtpd asks it on its event loop). In WAL mode readers do
    not wait for writers; otherwise a reader may wait while a writer commits.
    """

    local = True

    def __init__(self, spec: str, settings: QuerySettings, dbpath: Path) -> None:
        super().__init__(spec, settings)
        self.dbpath = dbpath
        self._connection: sqlite3.Connection | None = None
        self._bound = settings.query.parameterized()

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None:
            uri = "file:" + urllib.parse.quote(str(self.dbpath)) + "?mode=ro"
            self._connection = sqlite3.connect(uri, uri=True, check_same_thread=False)
        return self._connection

    def _run(self, build: QueryBuilder, parts: AddressParts) -> Iterable[Value] | None:
        """Bind the key's parts as parameters when the query allows it (one compiled
        statement for every key); otherwise expand the text with quoting, as Postfix."""
        if self._bound is None:
            return self._query(build)
        sql, directives = self._bound
        values = [parts.get(d.lower()) for d in directives]
        if any(v is None for v in values):
            return None  # a directive with nothing to insert: the query is not sent
        return self._execute(sql, values)

    def _query(self, build: QueryBuilder) -> Iterable[Value] | None:
        sql = build(quote)
        if sql is None:
            return None
        return self._execute(sql, ())

    def _execute(self, sql: str, parameters: Sequence[str | None]) -> Iterable[Value]:
        try:
            rows = self._connect().execute(sql, parameters).fetchall()
        except (sqlite3.Error, ValueError) as e:
            self._disconnect()
            raise TableError(self.spec, f"{self.dbpath}: {e}") from None
        return [column_text(row[0]) for row in rows if row]

    def _disconnect(self) -> None:
        if self._connection is not None:
            connection, self._connection = self._connection, None
            connection.close()


def open_sqlite(spec: str, name: str, context: TableContext) -> Table:
    cf = SqlCf.read(context.resolve(name), PARAMETERS)
    settings = QuerySettings.from_cf(cf, context)
    return SqliteTable(spec, settings, context.resolve(cf.required("dbpath")))


register("sqlite", open_sqlite)
