"""Domain lists such as ``mydestination`` or ``relay_domains``, matched as Postfix does.

A list holds domain names, ``.domain`` patterns (any subdomain), ``type:table`` lookups,
``/file/name`` files of further patterns, and ``!pattern`` exclusions; the first pattern
that matches decides. When the parameter is listed in ``parent_domain_matches_subdomains``,
``example.com`` also matches ``sub.example.com``.

A list that names tables remembers each answer for :data:`CACHE_TTL` seconds (SMTP,
cleanup and the queue manager ask about the same domain for every message; Postfix's
trivial-rewrite has the same kind of short-lived cache). A domain added to or removed from a
table is therefore seen at most that long after the change; a reload starts afresh.
Failed lookups and traced queries (``vmail route``) are never cached.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from vmail.config.values import split_list
from vmail.core.address import parent_domains
from vmail.core.errors import ConfigError
from vmail.core.ttlcache import TtlCache
from vmail.tables import Table
from vmail.tables.base import Trace
from vmail.tables.maps import query

CACHE_TTL = 1.0  # seconds a table-backed answer is reused
CACHE_SIZE = 1024  # domains remembered per list; more start the cache over


def _is_table(pattern: str) -> bool:
    kind, sep, _ = pattern.partition(":")
    return bool(sep) and kind.isidentifier() and not pattern.startswith("[")


class DomainList:
    """A compiled domain list; :meth:`match` answers whether a domain is on it."""

    def __init__(
        self,
        parameter: str,
        patterns: list[str],
        open_table: Callable[[str], Table],
        *,
        parent_style: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.parameter = parameter
        self.parent_style = parent_style
        self.patterns = list(self._flatten(patterns))
        # open tables now, so a bad table spec is reported when the list is built
        self._tables = {
            bare: open_table(bare)
            for bare in (p.lstrip("!") for p in self.patterns)
            if _is_table(bare)
        }
        self._cache: TtlCache[str, bool] = TtlCache(CACHE_TTL, CACHE_SIZE, clock)

    def _flatten(self, patterns: list[str]) -> Iterator[str]:
        for pattern in patterns:
            bare = pattern.lstrip("!")
            if bare.startswith("/"):
                negate = pattern.startswith("!")
                for item in self._read_file(bare):
                    yield "!" + item if negate else item
            else:
                yield pattern

    def _read_file(self, path: str) -> list[str]:
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
        except OSError as e:
            raise ConfigError(f"{self.parameter}: cannot read {path}: {e.strerror}") from None
        words: list[str] = []
        for line in text.splitlines():
            line = line.strip()
            if line and not line.startswith("#"):
                words.extend(split_list(line))
        return words

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match(self, domain: str, trace: Trace | None = None) -> bool:
        """True if ``domain`` is on the list. A failing table raises TableError."""
        name = domain.lower().rstrip(".")
        if not self._tables or trace is not None:
            return self._match(name, trace)
        cached = self._cache.get(name, None)
        if cached is not None:
            return cached
        found = self._match(name, None)
        self._cache.put(name, found)
        return found

    def _match(self, name: str, trace: Trace | None) -> bool:
        for pattern in self.patterns:
            negate = pattern.startswith("!")
            bare = pattern.lstrip("!")
            if self._match_one(name, bare, trace):
                return not negate
        return False

    def _match_one(self, name: str, pattern: str, trace: Trace | None) -> bool:
        if _is_table(pattern):
            return self._match_table(name, self._tables[pattern], trace)
        pattern = pattern.lower()
        if name == pattern:
            return True
        if pattern.startswith("."):
            return name.endswith(pattern)
        return self.parent_style and name.endswith("." + pattern)

    def _match_table(self, name: str, table: Table, trace: Trace | None) -> bool:
        return any(query(table, key, trace) is not None for key in self._table_keys(name, table))

    def _table_keys(self, name: str, table: Table) -> list[str]:
        """The name, then (fixed-string tables only) each parent domain."""
        if table.pattern:
            return [name]
        return [name, *parent_domains(name, dotted=not self.parent_style)]
