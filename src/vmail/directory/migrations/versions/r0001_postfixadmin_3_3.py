"""PostfixAdmin 3.3's tables (database version 1847) as vmail uses them.

Each table is created only when it does not exist yet, which is how an existing
PostfixAdmin database is adopted: its tables (already checked to have every column vmail
needs) are left exactly as they are, and only the missing ones are added beside them.
This script is frozen: later schema changes are new revisions, never edits here.

Revision ID: 0001
Revises: (none)
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

EPOCH = sa.text("'2000-01-01 00:00:00'")
FAR_FUTURE = sa.text("'2038-01-18 00:00:00'")


def _timestamp(name: str, default: sa.TextClause | None = EPOCH) -> sa.Column[object]:
    server_default = sa.func.current_timestamp() if default is None else default
    return sa.Column(
        name, sa.DateTime(timezone=True), nullable=False, server_default=server_default
    )


def _active() -> sa.Column[object]:
    return sa.Column("active", sa.Boolean(), nullable=False, server_default="1")


def _flag(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Boolean(), nullable=False, server_default="0")


def _int(name: str, kind: type[sa.Integer] = sa.Integer) -> sa.Column[object]:
    return sa.Column(name, kind(), nullable=False, server_default="0")


def _text(name: str, length: int = 255, default: str | None = None) -> sa.Column[object]:
    return sa.Column(name, sa.String(length), nullable=False, server_default=default)


def _domain() -> None:
    op.create_table(
        "domain",
        sa.Column("domain", sa.String(255), primary_key=True),
        _text("description", default=""),
        _int("aliases"),
        _int("mailboxes"),
        _int("maxquota", sa.BigInteger),
        _int("quota", sa.BigInteger),
        sa.Column("transport", sa.String(255), nullable=True),
        _flag("backupmx"),
        _timestamp("created"),
        _timestamp("modified"),
        _active(),
        sa.Column("password_expiry", sa.Integer(), nullable=True, server_default="0"),
    )


def _mailbox() -> None:
    op.create_table(
        "mailbox",
        sa.Column("username", sa.String(255), primary_key=True),
        _text("password"),
        _text("name", default=""),
        _text("maildir"),
        _int("quota", sa.BigInteger),
        _text("local_part"),
        _text("domain"),
        _timestamp("created"),
        _timestamp("modified"),
        _active(),
        _text("phone", 30, default=""),
        _text("email_other", default=""),
        _text("token", default=""),
        _timestamp("token_validity"),
        _timestamp("password_expiry"),
    )
    op.create_index("ix_mailbox_domain", "mailbox", ["domain"])


def _alias() -> None:
    op.create_table(
        "alias",
        sa.Column("address", sa.String(255), primary_key=True),
        sa.Column("goto", sa.Text(), nullable=False),
        _text("domain"),
        _timestamp("created"),
        _timestamp("modified"),
        _active(),
    )
    op.create_index("ix_alias_domain", "alias", ["domain"])


def _alias_domain() -> None:
    op.create_table(
        "alias_domain",
        sa.Column("alias_domain", sa.String(255), primary_key=True),
        _text("target_domain"),
        _timestamp("created"),
        _timestamp("modified"),
        _active(),
    )
    op.create_index("ix_alias_domain_target_domain", "alias_domain", ["target_domain"])
    op.create_index("ix_alias_domain_active", "alias_domain", ["active"])


def _admin() -> None:
    op.create_table(
        "admin",
        sa.Column("username", sa.String(255), primary_key=True),
        _text("password"),
        _flag("superadmin"),
        _timestamp("created"),
        _timestamp("modified"),
        _active(),
        _text("phone", 30, default=""),
        _text("email_other", default=""),
        _text("token", default=""),
        _timestamp("token_validity"),
    )


def _domain_admins() -> None:
    op.create_table(
        "domain_admins",
        sa.Column("username", sa.String(255), primary_key=True),
        sa.Column("domain", sa.String(255), primary_key=True),
        _timestamp("created"),
        _active(),
    )


def _vacation() -> None:
    op.create_table(
        "vacation",
        sa.Column("email", sa.String(255), primary_key=True),
        _text("subject"),
        sa.Column("body", sa.Text(), nullable=False),
        _timestamp("activefrom"),
        _timestamp("activeuntil", FAR_FUTURE),
        sa.Column("cache", sa.Text(), nullable=False),
        _text("domain"),
        _int("interval_time"),
        _timestamp("created"),
        _timestamp("modified", None),
        _active(),
    )


def _vacation_notification() -> None:
    op.create_table(
        "vacation_notification",
        sa.Column(
            "on_vacation",
            sa.String(255),
            sa.ForeignKey("vacation.email", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("notified", sa.String(255), primary_key=True, server_default=""),
        _timestamp("notified_at", None),
    )


def _quota2() -> None:
    op.create_table(
        "quota2",
        sa.Column("username", sa.String(100), primary_key=True),
        _int("bytes", sa.BigInteger),
        _int("messages"),
    )


def _log() -> None:
    op.create_table(
        "log",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        _timestamp("timestamp"),
        _text("username"),
        _text("domain"),
        _text("action"),
        sa.Column("data", sa.Text(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_log_timestamp", "log", ["timestamp"])
    op.create_index("ix_log_domain_timestamp", "log", ["domain", "timestamp"])


def _config() -> None:
    op.create_table(
        "config",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(20), nullable=False, unique=True, server_default=""),
        _text("value", 20, default=""),
        sqlite_autoincrement=True,
    )


# In creation order: vacation before the table whose foreign key refers to it.
TABLES: dict[str, Callable[[], None]] = {
    "domain": _domain,
    "mailbox": _mailbox,
    "alias": _alias,
    "alias_domain": _alias_domain,
    "admin": _admin,
    "domain_admins": _domain_admins,
    "vacation": _vacation,
    "vacation_notification": _vacation_notification,
    "quota2": _quota2,
    "log": _log,
    "config": _config,
}


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for name, create in TABLES.items():
        if name not in existing:
            create()


def downgrade() -> None:
    raise NotImplementedError("revision 0001 cannot be undone: it may hold PostfixAdmin data")
