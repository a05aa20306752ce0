"""An ordered list of tables searched as one, like Postfix's maps(3).

The first table that has the key wins. A failing table stops the search with TableError:
"not found" must never be concluded from a table that could not answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from vmail.core.errors import TableError
from vmail.tables import memo
from vmail.tables.base import LookupEvent, Table, Trace


class Maps:
    """Tables named by a list parameter such as ``virtual_alias_maps``."""

    def __init__(self, parameter: str, tables: Sequence[Table]) -> None:
        self.parameter = parameter
        self.tables = tuple(tables)

    def __bool__(self) -> bool:
        return bool(self.tables)

    def find(self, key: str, *, partial: bool = False, trace: Trace | None = None) -> str | None:
        """Search every table for ``key``.

        ``partial`` marks a derived key (``user``, ``@domain``, ``user@domain`` without the
        extension): pattern tables are skipped for those, as in Postfix.
        """
        for table in self.tables:
            if partial and table.pattern:
                continue
            result = query(table, key, trace)
            if result is not None:
                return result
        return None


def query(table: Table, key: str, trace: Trace | None = None) -> str | None:
    """Ask one table, folding the key as the table wants and recording the query.

    Without a trace, the answer comes from the active :class:`~vmail.tables.memo.LookupMemo`
    when the transaction asked the same already.
    """
    key = key.lower() if table.fold_case else key
    if trace is None:
        active = memo.current.get()
        if active is not None:
            return active.lookup(table, key)
    try:
        result = table.lookup(key)
    except TableError as e:
        if trace is not None:
            trace.add(LookupEvent(table.spec, key, None, e.message))
        raise
    if trace is not None:
        trace.add(LookupEvent(table.spec, key, result))
    return result
