"""What ``sqlite:``, ``mysql:`` and ``pgsql:`` tables share: one lookup, from key to result.

A lookup

1. finds nothing for an empty key, or when ``domain`` is set and rejects the key;
2. finds nothing when ``result_format`` needs a part of the key the key lacks
   (``%D`` for a key without ``@``);
3. expands ``query`` with the driver's SQL quoting; nothing when the expansion is
   suppressed (``%d`` for a key without ``@``...), without asking the database;
4. runs the query; each non-NULL, non-empty value (every column of every row; only the
   first column for SQLite) is put through ``result_format``, skipping values it has no
   text for;
5. fails (TableError) when more than ``expansion_limit`` values came out, and otherwise
   joins them with ``,``; an empty result is "not found".

Drivers implement :meth:`SqlTable._query`; they must raise TableError when the database
cannot answer, never return "nothing".
"""

from __future__ import annotations

import threading
from abc import abstractmethod
from collections.abc import Callable, Iterable

from vmail.core.errors import TableError
from vmail.tables.base import Table
from vmail.tables.sqlcf import QuerySettings
from vmail.tables.sqlexpand import AddressParts, Quote, no_quote

Value = str | None
"""A column value as text, None for NULL."""

QueryBuilder = Callable[[Quote], str | None]
"""Given the connection's quoting function, the SQL to run (None: suppressed)."""


class SqlTable(Table):
    """A lookup table answered by an SQL query; thread-safe (one query at a time)."""

    def __init__(self, spec: str, settings: QuerySettings) -> None:
        super().__init__(spec)
        self.settings = settings
        self._lock = threading.Lock()

    def lookup(self, key: str) -> str | None:
        settings = self.settings
        if not key or "\0" in key or not _encodable(key):
            return None  # such keys cannot exist in Postfix (C strings, UTF-8 checks)
        if settings.domain is not None and not settings.domain.allows(key):
            return None
        parts = AddressParts.of(key)
        if not settings.result_format.key_complete(parts):
            return None

        def build(quote: Quote) -> str | None:
            return settings.query.expand(parts, None, quote)

        with self._lock:
            values = self._run(build, parts)
        if values is None:
            return None
        return self._format(key, parts, values)

    def _format(self, key: str, parts: AddressParts, values: Iterable[Value]) -> str | None:
        results: list[str] = []
        limit = self.settings.expansion_limit
        for value in values:
            if not value:
                continue
            text = self.settings.result_format.expand(parts, AddressParts.of(value), no_quote)
            if text is None:
                continue
            results.append(text)
            if limit and len(results) > limit:
                raise TableError(self.spec, f"expansion limit exceeded for key '{key}'")
        return ",".join(results) or None

    def _run(self, build: QueryBuilder, parts: AddressParts) -> Iterable[Value] | None:
        """Run the query for a key; drivers that can bind parameters may override this."""
        return self._query(build)

    @abstractmethod
    def _query(self, build: QueryBuilder) -> Iterable[Value] | None:
        """Run the query ``build`` makes; its values in order, or None when suppressed."""

    def close(self) -> None:
        with self._lock:
            self._disconnect()
        if self.settings.domain is not None:
            self.settings.domain.close()

    @abstractmethod
    def _disconnect(self) -> None:
        """Close the database connection(s), if open."""


def _encodable(key: str) -> bool:
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
