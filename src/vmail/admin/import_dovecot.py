"""Reading a Dovecot passwd-file into an :class:`ImportPlan`.

Each line is ``user:password:uid:gid:gecos:home:shell:extra fields`` (only the first two
fields are required). ``user`` must be a full address; the password is a stored hash in
Dovecot's ``{SCHEME}`` form and is kept as it is. An ``userdb_quota_rule=*:bytes=N`` (or
``*:storage=N``) extra field becomes the mailbox quota. Comments (``#``) and empty lines
are ignored; malformed lines are reported as skipped with their line number.
"""

from __future__ import annotations

import re
from pathlib import Path

from vmail.admin.importing import ImportPlan, MailboxImport
from vmail.tables.source import read_source

_QUOTA = re.compile(r"^(?:userdb_)?quota_rule=\*:(bytes|storage)=(\d+)([kKmMgGtT]?)$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def plan_from_passwd_file(path: Path) -> ImportPlan:
    """Mailboxes with their password hashes; ConfigError if the file cannot be read."""
    plan = ImportPlan()
    for number, line in enumerate(read_source(path).splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split(":")
        where = f"{path}:{number}"
        if len(fields) < 2 or not fields[0]:
            plan.skip("mailbox", where, "not a passwd-file line (user:password:...)")
            continue
        user, password = fields[0].strip(), fields[1]
        if "@" not in user:
            plan.skip("mailbox", user, f"{where}: a virtual user needs a full address")
            continue
        extra = fields[7].split() if len(fields) > 7 else []
        plan.mailboxes.append(
            MailboxImport(user, password=password or None, quota=_quota(extra), name=_gecos(fields))
        )
    return plan


def _gecos(fields: list[str]) -> str:
    return fields[4].split(",")[0].strip() if len(fields) > 4 else ""


def _quota(extra: list[str]) -> int:
    for item in extra:
        m = _QUOTA.match(item)
        if m:
            return int(m.group(2)) * _UNITS[m.group(3).lower()]
    return 0
