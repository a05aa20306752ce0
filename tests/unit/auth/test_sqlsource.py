"""SqlAccountSource against a real SQLite directory, and PostgreSQL/MariaDB when configured.

The server tests read ``VMAIL_TEST_PGSQL``/``VMAIL_TEST_MYSQL`` (libpq ``key=value`` style,
as ``dev/services.sh`` prints) and skip without them — or fail when ``CI`` is set. They
create their own prefixed tables (``vauth<pid>_mailbox``…), so they never touch the tables
other tests use in the shared database, and drop them afterwards.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, MetaData, insert

from tests.unit.tables.sql_support import server
from vmail.auth.errors import AccountLookupError
from vmail.auth.passwords import hash_password
from vmail.auth.service import Authenticator, AuthReason
from vmail.auth.sqlsource import SqlAccountSource, prefixed_tables
from vmail.directory.database import create_schema, open_database

PASSWORD = "S3cr3t pässwörd"
HASH = hash_password(PASSWORD, "SSHA512")


def populate(engine: Engine, prefix: str = "") -> None:
    mailbox, domain = prefixed_tables(prefix)
    with engine.begin() as connection:
        connection.execute(
            insert(domain),
            [
                {"domain": "example.com", "active": True},
                {"domain": "off.example", "active": False},
            ],
        )
        rows = [
            ("alice", "example.com", True, HASH),
            ("bob", "example.com", False, HASH),
            ("carol", "off.example", True, HASH),
            ("orphan", "gone.example", True, HASH),
        ]
        connection.execute(
            insert(mailbox),
            [
                {
                    "username": f"{local}@{dom}",
                    "password": password,
                    "maildir": f"{dom}/{local}/",
                    "local_part": local,
                    "domain": dom,
                    "active": active,
                    "quota": 1024,
                }
                for local, dom, active, password in rows
            ],
        )


def check_source(source: SqlAccountSource) -> None:
    alice = source.lookup("Alice@Example.COM")
    assert alice is not None
    assert alice.username == "alice@example.com"
    assert alice.password_hash == HASH
    assert alice.mailbox_active
    assert alice.domain_active
    assert (alice.maildir, alice.quota_bytes) == ("example.com/alice/", 1024)
    bob = source.lookup("bob@example.com")
    assert bob is not None
    assert not bob.mailbox_active
    carol = source.lookup("carol@off.example")
    assert carol is not None
    assert not carol.domain_active
    assert source.lookup("orphan@gone.example") is None  # no domain row
    assert source.lookup("nobody@example.com") is None
    assert source.lookup("'; DROP TABLE mailbox; --") is None

    auth = Authenticator(source, sleep=_no_sleep)

    def login(user: str, password: str = PASSWORD) -> AuthReason:
        result = asyncio.run(
            auth.authenticate(user, password, client_ip="192.0.2.1", service="imap")
        )
        return result.reason

    assert login("alice@example.com") is AuthReason.OK
    assert login("ALICE@example.com", "wrong") is AuthReason.PASSWORD_MISMATCH
    assert login("bob@example.com") is AuthReason.MAILBOX_DISABLED
    assert login("carol@off.example") is AuthReason.DOMAIN_DISABLED
    assert login("nobody@example.com") is AuthReason.UNKNOWN_USER


async def _no_sleep(seconds: float) -> None:
    return None


def test_sqlite_directory(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'directory.db'}")
    create_schema(engine)
    populate(engine)
    check_source(SqlAccountSource(engine))
    engine.dispose()


def test_table_prefix(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'directory.db'}")
    metadata = MetaData()
    for table in prefixed_tables("pfa_"):
        table.to_metadata(metadata)
    metadata.create_all(engine)
    populate(engine, "pfa_")
    check_source(SqlAccountSource(engine, table_prefix="pfa_"))
    engine.dispose()


def test_database_failure_is_a_lookup_error(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'missing-dir' / 'directory.db'}")
    source = SqlAccountSource(engine)
    with pytest.raises(AccountLookupError, match="directory lookup failed: unable to open"):
        source.lookup("alice@example.com")
    auth = Authenticator(source, sleep=_no_sleep)
    result = asyncio.run(
        auth.authenticate("alice@example.com", PASSWORD, client_ip="192.0.2.1", service="smtp")
    )
    assert result.reason is AuthReason.LOOKUP_FAILED


def test_missing_tables_are_a_lookup_error(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'empty.db'}")
    with pytest.raises(AccountLookupError, match="no such table"):
        SqlAccountSource(engine).lookup("alice@example.com")


# -- PostgreSQL and MariaDB ----------------------------------------------------------------


def sqlalchemy_url(variable: str, driver: str) -> str:
    """``driver://user:password@host:port/dbname`` from a libpq-style conninfo variable."""
    s = server(variable)
    auth = f"{quote(s.get('user', ''), safe='')}:{quote(s.get('password', ''), safe='')}"
    port = f":{s['port']}" if "port" in s else ""
    return f"{driver}://{auth}@{s['host']}{port}/{s.get('dbname', '')}"


@pytest.fixture(
    params=[
        pytest.param(
            ("VMAIL_TEST_PGSQL", "postgresql+psycopg"), marks=pytest.mark.pgsql, id="pgsql"
        ),
        pytest.param(("VMAIL_TEST_MYSQL", "mysql+pymysql"), marks=pytest.mark.mysql, id="mysql"),
    ]
)
def server_directory(request: pytest.FixtureRequest) -> Iterator[tuple[Engine, str]]:
    variable, driver = request.param
    engine = open_database(sqlalchemy_url(variable, driver))
    prefix = f"vauth{os.getpid()}_"
    metadata = MetaData()
    for table in prefixed_tables(prefix):
        table.to_metadata(metadata)
    metadata.drop_all(engine)
    metadata.create_all(engine)
    try:
        yield engine, prefix
    finally:
        metadata.drop_all(engine)
        engine.dispose()


def test_server_directory(server_directory: tuple[Engine, str]) -> None:
    engine, prefix = server_directory
    populate(engine, prefix)
    check_source(SqlAccountSource(engine, table_prefix=prefix))


def test_url_conversion(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VMAIL_TEST_X", "host=db.example port=5433 user=u password=p@ss/w dbname=d")
    assert sqlalchemy_url("VMAIL_TEST_X", "postgresql+psycopg") == (
        "postgresql+psycopg://u:p%40ss%2Fw@db.example:5433/d"
    )
