"""``nis:`` tables: NIS is not available, so every lookup finds nothing.

Postfix's built-in default ``alias_maps = hash:/etc/aliases, nis:mail.aliases`` names a NIS
map; on a host without NIS, Postfix warns once and its lookups find nothing. vmail does
the same, so the default configuration works unchanged.
"""

from __future__ import annotations

import logging

from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register

log = logging.getLogger("vmail.tables")


class NisTable(Table):
    """A NIS map on a host without NIS: always "not found"."""

    def lookup(self, key: str) -> str | None:
        return None


def _open_nis(spec: str, name: str, context: TableContext) -> Table:
    log.warning("%s: NIS domain name not set - NIS lookups disabled", spec)
    return NisTable(spec)


register("nis", _open_nis)
