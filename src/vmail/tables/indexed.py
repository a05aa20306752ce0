"""Indexed file tables ``hash:``, ``btree:``, ``lmdb:``, ``cdb:`` and ``dbm:``.

All five read the postmap source format and answer from vmail's compiled file
``SOURCE.vmdb`` (see :mod:`vmail.tables.compiled`); the type names exist so that Postfix
configurations work unchanged. Postfix's own ``.db``/``.cdb``/``.lmdb`` files are never
read or written.

Freshness: at open, and then at most once per :data:`CHECK_INTERVAL` seconds during
lookups, the source is compared with the state recorded in the compiled file. When the
compiled file is missing or stale it is rebuilt (atomically; the ``-f`` setting of the
previous build is kept). When the directory is not writable the source itself is read
into memory instead, with a warning — slower to open, same answers. When another process
replaces the compiled file (``vmail postmap``), it is reopened.

A missing source *and* compiled file is a ConfigError naming the path, at open time; an
error while reloading during a lookup is a TableError (a temporary failure).
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from vmail.core.errors import ConfigError, Location, TableError
from vmail.tables.base import Table, TableContext
from vmail.tables.compiled import CompiledFile, SourceState, compile_source, compiled_path
from vmail.tables.registry import register
from vmail.tables.source import load_entries, read_source, warn

INDEXED_TYPES = ("hash", "btree", "lmdb", "cdb", "dbm")
CHECK_INTERVAL = 1.0


class IndexedTable(Table):
    """A compiled postmap table, rebuilt from its source when that changes."""

    local = True

    def __init__(self, spec: str, source: Path, *, alias_syntax: bool = False) -> None:
        super().__init__(spec)
        self.source = source
        self.alias_syntax = alias_syntax
        self.compiled = compiled_path(source)
        self._lock = threading.Lock()
        self._file: CompiledFile | None = None
        self._memory: dict[str, str] | None = None
        self._memory_state: SourceState | None = None
        self._checked = 0.0
        self._fold_case = True  # the -f setting of the last build seen
        self._load()

    # -- loading -------------------------------------------------------------------

    def _load(self) -> None:
        """Make the table current: reopen, rebuild or read the source as needed."""
        self._checked = time.monotonic()
        state = SourceState.of(self.source)
        if state is None:
            self._load_without_source()
            return
        current = self._open_current(state)
        if current is not None:
            self._swap(current, None)
            return
        if self._memory is not None and self._memory_state == state:
            return
        fold = self._file.fold_case if self._file is not None else self._fold_case
        if os.access(self.source.parent, os.W_OK):
            compile_source(self.source, fold_case=fold, alias_syntax=self.alias_syntax)
            self._swap(CompiledFile(self.compiled, self.spec), None)
        else:
            warn(
                Location(str(self.source)),
                f"directory not writable, cannot update {self.compiled.name}: "
                "reading the source directly",
            )
            entries = load_entries(
                read_source(self.source),
                str(self.source),
                fold_case=fold,
                alias_syntax=self.alias_syntax,
            )
            self._memory_state = state
            self._swap(None, entries)

    def _load_without_source(self) -> None:
        """Only the compiled file exists (the source was removed): use it as is."""
        if self._file is not None and self._same_file(self._file):
            return
        if not self.compiled.exists():
            raise ConfigError(
                f"open database {self.compiled}: No such file or directory",
                Location(str(self.source)),
            )
        self._swap(CompiledFile(self.compiled, self.spec), None)

    def _open_current(self, state: SourceState) -> CompiledFile | None:
        """The compiled file if it matches ``state`` (reusing the open one if unchanged)."""
        if self._file is not None and self._same_file(self._file):
            return self._file if self._fresh(self._file, state) else None
        if not self.compiled.exists():
            return None
        try:
            candidate = CompiledFile(self.compiled, self.spec)
        except ConfigError:
            return None  # unreadable or foreign: rebuild it
        if self._fresh(candidate, state):
            return candidate
        self._fold_case = candidate.fold_case
        candidate.close()
        return None

    def _fresh(self, f: CompiledFile, state: SourceState) -> bool:
        return f.source_state() == state and f.alias_syntax == self.alias_syntax

    def _same_file(self, f: CompiledFile) -> bool:
        try:
            st = self.compiled.stat()
        except OSError:
            return False
        return (st.st_ino, st.st_mtime_ns, st.st_size) == f.identity

    def _swap(self, new_file: CompiledFile | None, memory: dict[str, str] | None) -> None:
        old = self._file
        self._file, self._memory = new_file, memory
        if old is not None and old is not new_file:
            old.close()

    def _refresh(self) -> None:
        if time.monotonic() - self._checked < CHECK_INTERVAL:
            return
        with self._lock:
            if time.monotonic() - self._checked < CHECK_INTERVAL:
                return
            try:
                self._load()
            except ConfigError as e:
                raise TableError(self.spec, str(e)) from None

    # -- Table interface -----------------------------------------------------------

    def lookup(self, key: str) -> str | None:
        self._refresh()
        f = self._file
        if f is not None:
            return f.get(key)
        memory = self._memory
        return None if memory is None else memory.get(key)

    def items(self) -> list[tuple[str, str]]:
        """Every entry, sorted by key (``postmap -s``)."""
        self._refresh()
        if self._file is not None:
            return list(self._file.items())
        return sorted((self._memory or {}).items())

    def close(self) -> None:
        self._swap(None, None)


def _open_indexed(spec: str, name: str, context: TableContext) -> Table:
    if not name:
        raise ConfigError(f'open dictionary: expecting "type:name" form instead of "{spec}"')
    return IndexedTable(spec, context.resolve(name), alias_syntax=context.alias_syntax)


for _type in INDEXED_TYPES:
    register(_type, _open_indexed)
