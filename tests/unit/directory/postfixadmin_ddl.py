"""A PostfixAdmin 3.3 database built the way PostfixAdmin's setup builds it, per dialect.

Written from the schema facts of PostfixAdmin's ``upgrade.php`` (database version 1847):
MySQL ``tinyint(1)`` flags and ``datetime`` columns defaulting to 2000-01-01, PostgreSQL
``boolean`` and nullable ``timestamp with time zone``, a surrogate ``id`` on
``domain_admins`` except on SQLite, plus tables vmail does not use (``fetchmail``,
``quota``). Used to test that vmail adopts such a database without altering it.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

_TYPES = {
    "mysql": {
        "T": "tinyint(1) NOT NULL DEFAULT '1'",
        "F": "tinyint(1) NOT NULL DEFAULT '0'",
        "DT": "datetime NOT NULL DEFAULT '2000-01-01 00:00:00'",
        "FUTURE": "datetime NOT NULL DEFAULT '2038-01-18 00:00:00'",
        "NOW": "timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP",
        "AUTO": "int NOT NULL AUTO_INCREMENT PRIMARY KEY",
    },
    "sqlite": {
        "T": "tinyint(1) NOT NULL DEFAULT '1'",
        "F": "tinyint(1) NOT NULL DEFAULT '0'",
        "DT": "datetime NOT NULL DEFAULT '2000-01-01'",
        "FUTURE": "datetime NOT NULL DEFAULT '2038-01-18'",
        "NOW": "datetime NOT NULL DEFAULT CURRENT_TIMESTAMP",
        "AUTO": "integer PRIMARY KEY AUTOINCREMENT NOT NULL",
    },
    "pgsql": {
        "T": "boolean NOT NULL DEFAULT true",
        "F": "boolean NOT NULL DEFAULT false",
        "DT": "timestamp with time zone DEFAULT '2000-01-01'",
        "FUTURE": "timestamp with time zone DEFAULT '2038-01-18'",
        "NOW": "timestamp with time zone DEFAULT now()",
        "AUTO": "SERIAL PRIMARY KEY",
    },
}

_V = "varchar(255) NOT NULL"
_CONTACT = "phone varchar(30) NOT NULL DEFAULT '', email_other varchar(255) NOT NULL DEFAULT '',"
_CONTACT += " token varchar(255) NOT NULL DEFAULT '', token_validity {DT}"

TABLES = {
    "domain": (
        f"domain {_V} PRIMARY KEY, description {_V}, aliases int NOT NULL DEFAULT 0,"
        " mailboxes int NOT NULL DEFAULT 0, maxquota bigint NOT NULL DEFAULT 0,"
        f" quota bigint NOT NULL DEFAULT 0, transport {_V}, backupmx {{F}},"
        " created {DT}, modified {DT}, active {T}, password_expiry int DEFAULT 0"
    ),
    "mailbox": (
        f"username {_V} PRIMARY KEY, password {_V}, name {_V}, maildir {_V},"
        f" quota bigint NOT NULL DEFAULT 0, local_part {_V}, domain {_V},"
        f" created {{DT}}, modified {{DT}}, active {{T}}, {_CONTACT}, password_expiry {{DT}}"
    ),
    "alias": (
        f"address {_V} PRIMARY KEY, goto text NOT NULL, domain {_V},"
        " created {DT}, modified {DT}, active {T}"
    ),
    "alias_domain": (
        f"alias_domain {_V} PRIMARY KEY, target_domain {_V},"
        " created {DT}, modified {DT}, active {T}"
    ),
    "admin": (
        f"username {_V} PRIMARY KEY, password {_V}, superadmin {{F}},"
        f" created {{DT}}, modified {{DT}}, active {{T}}, {_CONTACT}"
    ),
    "domain_admins": f"username {_V}, domain {_V}, created {{DT}}, active {{T}}{{ADMIN_ID}}",
    "vacation": (
        f"email {_V} PRIMARY KEY, subject {_V}, body text NOT NULL, activefrom {{DT}},"
        f" activeuntil {{FUTURE}}, cache text NOT NULL, domain {_V},"
        " interval_time int NOT NULL DEFAULT 0, created {DT}, modified {NOW}, active {T}"
    ),
    "vacation_notification": (
        f"on_vacation {_V} REFERENCES vacation(email) ON DELETE CASCADE, notified {_V},"
        " notified_at {NOW}, PRIMARY KEY (on_vacation, notified)"
    ),
    "quota2": (
        "username varchar(100) NOT NULL PRIMARY KEY, bytes bigint NOT NULL DEFAULT 0,"
        " messages int NOT NULL DEFAULT 0"
    ),
    "log": (
        f"timestamp {{DT}}, username {_V}, domain {_V}, action {_V}, data text NOT NULL,"
        " id {AUTO}"
    ),
    "config": "id {AUTO}, name varchar(20) NOT NULL UNIQUE, value varchar(20) NOT NULL",
    # PostfixAdmin's own tables that vmail does not use (abridged)
    "fetchmail": f"id {{AUTO}}, mailbox {_V}, src_server {_V}, poll_time int NOT NULL DEFAULT 10",
    "quota": (
        "username varchar(255) NOT NULL, path varchar(100) NOT NULL,"
        " current bigint NOT NULL DEFAULT 0, PRIMARY KEY (username, path)"
    ),
}

ROWS = [
    "INSERT INTO config (name, value) VALUES ('version', '1847')",
    "INSERT INTO domain (domain, description, transport) VALUES ('example.com', 'Ex', 'virtual')",
    "INSERT INTO mailbox (username, password, name, maildir, local_part, domain)"
    " VALUES ('ann@example.com', '{PLAIN}x', 'Ann', 'example.com/ann/', 'ann', 'example.com')",
    "INSERT INTO alias (address, goto, domain)"
    " VALUES ('ann@example.com', 'ann@example.com', 'example.com')",
    "INSERT INTO fetchmail (mailbox, src_server) VALUES ('ann@example.com', 'pop.example.net')",
]


def create(
    connection: Connection,
    dialect: str,
    omit: tuple[str, ...] = (),
    drop_columns: dict[str, str] | None = None,
) -> None:
    """Create PostfixAdmin's tables (less ``omit``) and a few rows on ``connection``.

    ``drop_columns`` maps a table to a column left out, to imitate an older PostfixAdmin.
    """
    types = dict(_TYPES[dialect])
    types["ADMIN_ID"] = "" if dialect == "sqlite" else f", id {types['AUTO']}"
    for name, columns in TABLES.items():
        if name in omit:
            continue
        spec = columns.format(**types)
        if drop_columns and name in drop_columns:
            parts = [p for p in spec.split(", ") if not p.startswith(drop_columns[name] + " ")]
            spec = ", ".join(parts)
        connection.execute(text(f"CREATE TABLE {name} ({spec})"))
    for statement in ROWS:
        connection.execute(text(statement))
