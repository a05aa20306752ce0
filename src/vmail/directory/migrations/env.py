"""Alembic environment: migrate the connection the caller passed in, in its transaction."""

from __future__ import annotations

from alembic import context

from vmail.directory.models import Base


def run_migrations() -> None:
    """Run the pending revisions on ``config.attributes["connection"]`` (online only)."""
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("vmail migrations run only through vmail.directory.schema")
    context.configure(connection=connection, target_metadata=Base.metadata)
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
