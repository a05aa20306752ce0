"""``proxy:type:name`` tables: one shared instance of the inner table.

Postfix sends ``proxy:`` lookups to its proxymap(8) daemon so that many processes share
one open table (one set of database connections) or reach tables outside a chroot. vmail
runs in one process, so ``proxy:`` opens the inner table itself, once per inner spec and
config directory: every ``proxy:mysql:/etc/postfix/x.cf`` shares one table and so one
connection pool. The shared table is closed when the last user closes it. vmail has no
``proxy_read_maps`` approval step: any inner table may be proxied.
"""

from __future__ import annotations

import threading
from pathlib import Path

from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import open_table, register

_lock = threading.RLock()  # reentrant: an inner table may open proxy tables too
_shared: dict[tuple[str, Path | None], tuple[Table, int]] = {}


class ProxyTable(Table):
    """A handle on a shared inner table; it answers exactly as the inner table does."""

    def __init__(self, spec: str, inner: Table, share_key: tuple[str, Path | None]) -> None:
        super().__init__(spec)
        self.inner = inner
        self.pattern = inner.pattern
        self.fold_case = inner.fold_case
        self.local = inner.local
        self._share_key = share_key
        self._closed = False

    def lookup(self, key: str) -> str | None:
        return self.inner.lookup(key)

    def close(self) -> None:
        with _lock:
            if self._closed:
                return
            self._closed = True
            table, users = _shared[self._share_key]
            if users > 1:
                _shared[self._share_key] = (table, users - 1)
                return
            del _shared[self._share_key]
        table.close()


def open_proxy(spec: str, name: str, context: TableContext) -> Table:
    if name.startswith("proxy:"):
        raise ConfigError(f"{spec}: a proxy table cannot proxy another proxy table")
    share_key = (name, context.base_dir)
    with _lock:
        entry = _shared.get(share_key)
        if entry is None:
            inner = open_table(name, context)
            entry = (inner, 0)
        table, users = entry
        _shared[share_key] = (table, users + 1)
    return ProxyTable(spec, table, share_key)


register("proxy", open_proxy)
