"""The ``domain`` parameter of SQL tables: which address domains are worth a query.

The value is a Postfix string list: domain names (compared without regard to case),
``/file/name`` (whose words are read as more list items), ``type:table`` (the domain is
looked up in it) and ``!item`` (a match means "no"). The first item that matches
decides; nothing matching means "no". Only keys ``user@domain`` with a non-empty local part
can pass: ``user``, ``@domain`` and bare domains are never looked up when the list is set.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmail.config.values import split_list
from vmail.core.errors import ConfigError, Location
from vmail.tables.base import Table, TableContext


@dataclass(frozen=True)
class _Item:
    negated: bool
    name: str | None = None  # a domain name, lower-case
    table: Table | None = None

    def matches(self, domain: str) -> bool:
        if self.table is not None:
            query = domain.lower() if self.table.fold_case else domain
            return self.table.lookup(query) is not None
        return self.name == domain.lower()


class DomainFilter:
    """A parsed ``domain =`` list."""

    def __init__(self, items: list[_Item]) -> None:
        self.items = items

    @classmethod
    def parse(cls, value: str, context: TableContext, location: Location) -> DomainFilter:
        from vmail.tables.registry import open_table  # the registry imports the SQL tables

        items: list[_Item] = []
        for word in split_list(value):
            negated = word.startswith("!")
            word = word.removeprefix("!")
            if word.startswith("/"):
                for name in _read_words(word, location):
                    items.append(_Item(negated, name=name.lower()))
            elif ":" in word:
                items.append(_Item(negated, table=open_table(word, context)))
            else:
                items.append(_Item(negated, name=word.lower()))
        return cls(items)

    def allows(self, key: str) -> bool:
        """Whether ``key`` is ``user@domain`` with a listed domain; TableError if unsure."""
        at = key.rfind("@")
        if at <= 0 or at == len(key) - 1:
            return False
        domain = key[at + 1 :]
        for item in self.items:
            if item.matches(domain):
                return not item.negated
        return False

    def close(self) -> None:
        for item in self.items:
            if item.table is not None:
                item.table.close()


def _read_words(path: str, location: Location) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            lines = f.read().splitlines()
    except OSError as e:
        raise ConfigError(f"open {path}: {e.strerror}", location) from None
    words: list[str] = []
    for line in lines:
        line = line.strip()
        if line and not line.startswith("#"):
            words.extend(split_list(line))
    return words
