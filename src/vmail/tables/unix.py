"""``unix:passwd.byname`` and ``unix:group.byname``: the system's user and group database.

Postfix's default ``local_recipient_maps`` is ``proxy:unix:passwd.byname $alias_maps``.
Values are formatted as the passwd(5)/group(5) lines Postfix returns:
``name:passwd:uid:gid:gecos:dir:shell`` and ``name:passwd:gid:member,member``.
Keys are folded to lower case (Postfix's default for this type).
"""

from __future__ import annotations

import grp
import pwd

from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register


class PasswdTable(Table):
    """``unix:passwd.byname``."""

    def lookup(self, key: str) -> str | None:
        try:
            p = pwd.getpwnam(key)
        except (KeyError, ValueError):
            return None
        return ":".join(
            (p.pw_name, p.pw_passwd, str(p.pw_uid), str(p.pw_gid), p.pw_gecos, p.pw_dir, p.pw_shell)
        )


class GroupTable(Table):
    """``unix:group.byname``."""

    def lookup(self, key: str) -> str | None:
        try:
            g = grp.getgrnam(key)
        except (KeyError, ValueError):
            return None
        return f"{g.gr_name}:{g.gr_passwd}:{g.gr_gid}:{','.join(g.gr_mem)}"


_MAPS: dict[str, type[Table]] = {"passwd.byname": PasswdTable, "group.byname": GroupTable}


def _open_unix(spec: str, name: str, context: TableContext) -> Table:
    cls = _MAPS.get(name)
    if cls is None:
        raise ConfigError(f"unknown table: {spec}")
    return cls(spec)


register("unix", _open_unix)
