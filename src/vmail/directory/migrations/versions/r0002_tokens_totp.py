"""API tokens, TOTP: PostfixAdmin 3.4's ``totp_secret`` columns and vmail's own tables.

* ``admin.totp_secret`` and ``mailbox.totp_secret`` (VARCHAR(255) NULL), as PostfixAdmin
  3.4 adds them — only when missing, so a 3.4 database keeps its own;
* ``vmail_api_token``: REST API tokens (secret stored as SHA-256);
* ``vmail_totp_state``: pending TOTP secrets and the last accepted step of each admin.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _columns(table: str) -> set[str]:
    return {c["name"].lower() for c in sa.inspect(op.get_bind()).get_columns(table)}


def upgrade() -> None:
    for table in ("admin", "mailbox"):
        if "totp_secret" not in _columns(table):
            op.add_column(table, sa.Column("totp_secret", sa.String(255), nullable=True))
    op.create_table(
        "vmail_api_token",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("domains", sa.Text(), nullable=False),
        sa.Column("admin", sa.String(255), nullable=True),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked", sa.DateTime(timezone=True), nullable=True),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_vmail_api_token_admin", "vmail_api_token", ["admin"])
    op.create_table(
        "vmail_totp_state",
        sa.Column("username", sa.String(255), primary_key=True),
        sa.Column("pending", sa.String(255), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("vmail_totp_state")
    op.drop_index("ix_vmail_api_token_admin", "vmail_api_token")
    op.drop_table("vmail_api_token")
