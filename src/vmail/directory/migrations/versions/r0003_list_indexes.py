"""Indexes for the admin lists' sort orders, so a page deep into 100,000 mailboxes does
not sort the whole table.

The lists (:mod:`vmail.admin.listing`) order by the chosen column and then the key, and
fetch a page's keys first: with an index on ``(column, key)`` that is a walk of the
index. Without them, sorting 100,000 mailboxes by name took ~270 ms per page in SQLite.
PostfixAdmin's own schema has none of these; they change no column and PostfixAdmin
ignores them. ``alias.goto`` (TEXT) is left out: MySQL cannot index it whole.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_mailbox_name": ("mailbox", ["name", "username"]),
    "ix_mailbox_quota": ("mailbox", ["quota", "username"]),
    "ix_mailbox_created": ("mailbox", ["created", "username"]),
    "ix_mailbox_modified": ("mailbox", ["modified", "username"]),
    "ix_mailbox_domain_username": ("mailbox", ["domain", "username"]),
    "ix_mailbox_active": ("mailbox", ["active", "username"]),
    "ix_alias_created": ("alias", ["created", "address"]),
    "ix_alias_modified": ("alias", ["modified", "address"]),
    "ix_alias_domain_address": ("alias", ["domain", "address"]),
    "ix_alias_active": ("alias", ["active", "address"]),
}


def _indexes(table: str) -> set[str]:
    return {str(i["name"]).lower() for i in sa.inspect(op.get_bind()).get_indexes(table)}


def upgrade() -> None:
    for name, (table, columns) in INDEXES.items():
        if name not in _indexes(table):
            op.create_index(name, table, columns)


def downgrade() -> None:
    for name, (table, _columns) in INDEXES.items():
        op.drop_index(name, table)
