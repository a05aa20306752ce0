"""Throwaway directory databases for tests: a SQLite file, or a fresh PostgreSQL/MariaDB db.

Server databases are named ``vmail_test_dir_<random>`` (dev/services.sh lets the
``vmail_test`` user create ``vmail_test_*`` databases) and dropped afterwards, so the
tables other tests share in ``vmail_test`` are never touched. Without the server's
environment variable the test skips, or fails when ``CI`` is set (see sql_support).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from tests.unit.tables.sql_support import server

KINDS = [
    "sqlite",
    pytest.param("pgsql", marks=pytest.mark.pgsql),
    pytest.param("mysql", marks=pytest.mark.mysql),
]
SERVER_KINDS = KINDS[1:]

_SERVERS = {
    "pgsql": ("VMAIL_TEST_PGSQL", "postgresql+psycopg"),
    "mysql": ("VMAIL_TEST_MYSQL", "mysql+pymysql"),
}


def server_url(kind: str, database: str | None = None, **changes: object) -> URL:
    """The URL of the test server of ``kind`` (its shared database unless ``database``)."""
    variable, driver = _SERVERS[kind]
    s = server(variable)
    url = URL.create(
        driver,
        username=s["user"],
        password=s["password"],
        host=s["host"],
        port=int(s["port"]),
        database=database or s["dbname"],
    )
    return url.set(**changes) if changes else url  # type: ignore[arg-type]


@contextmanager
def throwaway_database(kind: str, tmp_path: Path) -> Iterator[URL]:
    """A new, empty database of ``kind``; dropped (or left in tmp_path) afterwards."""
    if kind == "sqlite":
        yield URL.create("sqlite", database=str(tmp_path / f"dir-{secrets.token_hex(3)}.db"))
        return
    name = f"vmail_test_dir_{secrets.token_hex(4)}"
    admin = create_engine(server_url(kind), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        yield server_url(kind, name)
    finally:
        with admin.connect() as connection:
            drop = f"DROP DATABASE IF EXISTS {name}"
            if kind == "pgsql":
                drop += " WITH (FORCE)"
            connection.execute(text(drop))
        admin.dispose()
