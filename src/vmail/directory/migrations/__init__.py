"""Alembic migrations of the directory schema, run programmatically (no alembic.ini).

``env.py`` takes the open connection from ``config.attributes["connection"]``;
:func:`vmail.directory.schema.upgrade_database` is the only caller. Revision scripts live
in ``versions/`` and ship with the package. To write a new one, copy the newest script,
give it a new ``revision`` and set ``down_revision`` to the previous head; a test
compares the migrated database with :mod:`vmail.directory.models`.
"""
