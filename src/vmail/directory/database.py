"""Opening the directory database from a URL (SQLite by default, PostgreSQL, MySQL)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, event

from vmail.directory.models import Base


def open_database(url: str) -> Engine:
    """An engine for ``url``: ``sqlite:///path``, ``postgresql+psycopg://…``, ``mysql+pymysql://…``."""
    engine = create_engine(url, pool_pre_ping=True)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_schema(engine: Engine) -> None:
    """Create every table that does not exist yet (migrations will replace this)."""
    Base.metadata.create_all(engine)
