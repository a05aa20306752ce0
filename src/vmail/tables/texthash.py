"""``texthash:FILE``: a postmap source read into memory at open, never compiled.

Keys are folded to lower case; of duplicate keys the first wins (with a warning), as in
Postfix. The file is read once: like Postfix, a changed file takes effect when the table
is opened again.
"""

from __future__ import annotations

from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register
from vmail.tables.simple import DictTable
from vmail.tables.source import load_entries, read_source


class TextHashTable(DictTable):
    """An in-memory postmap table."""

    def items(self) -> list[tuple[str, str]]:
        return sorted(self.entries.items())


def _open_texthash(spec: str, name: str, context: TableContext) -> Table:
    if not name:
        raise ConfigError(f'open dictionary: expecting "type:name" form instead of "{spec}"')
    path = context.resolve(name)
    text = read_source(path)
    return TextHashTable(spec, load_entries(text, str(path), alias_syntax=context.alias_syntax))


register("texthash", _open_texthash)
