"""Fixtures: the admin service on a fresh directory database — SQLite always, and
PostgreSQL / MariaDB when ``VMAIL_TEST_PGSQL`` / ``VMAIL_TEST_MYSQL`` are set.

Each server test gets its own throwaway database ``vmail_test_admin_<random>`` (dev/
services.sh lets ``vmail_test`` create ``vmail_test_*`` databases), so the shared
``vmail_test`` tables other tests use are never touched.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import URL

from tests.unit.tables.sql_support import server
from vmail.admin import Actor, AdminService
from vmail.directory.database import open_database
from vmail.directory.schema import upgrade_database

DRIVERS = {
    "pgsql": ("VMAIL_TEST_PGSQL", "postgresql+psycopg"),
    "mysql": ("VMAIL_TEST_MYSQL", "mysql+pymysql"),
}


def _server_url(kind: str, database: str) -> URL:
    variable, driver = DRIVERS[kind]
    s = server(variable)
    return URL.create(
        driver,
        username=s["user"],
        password=s["password"],
        host=s["host"],
        port=int(s["port"]),
        database=database,
    )


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("pgsql", marks=pytest.mark.pgsql),
        pytest.param("mysql", marks=pytest.mark.mysql),
    ]
)
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    if request.param == "sqlite":
        eng = open_database(f"sqlite:///{tmp_path / 'vmail.db'}")
        upgrade_database(eng)
        yield eng
        eng.dispose()
        return
    name = f"vmail_test_admin_{secrets.token_hex(4)}"
    admin_engine = create_engine(
        _server_url(request.param, server(DRIVERS[request.param][0])["dbname"]),
        isolation_level="AUTOCOMMIT",
    )
    with admin_engine.connect() as c:
        c.execute(text(f"CREATE DATABASE {name}"))
    eng = open_database(_server_url(request.param, name))
    try:
        upgrade_database(eng)
        yield eng
    finally:
        eng.dispose()
        with admin_engine.connect() as c:
            c.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        admin_engine.dispose()


@pytest.fixture
def svc(engine: Engine) -> AdminService:
    return AdminService(engine)


@pytest.fixture
def cli() -> Actor:
    return Actor.cli("tester")


PASSWORD = "correct horse"
