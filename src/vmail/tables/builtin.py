"""Registers the built-in table types with the registry (imported lazily by it)."""

from __future__ import annotations

import vmail.tables.proxy
import vmail.tables.sql_mysql
import vmail.tables.sql_pgsql
import vmail.tables.sql_sqlite  # noqa: F401
from vmail.tables import cidr, indexed, nis, regexp, simple, texthash, unix  # noqa: F401
