"""The directory schema: migrations on SQLite, PostgreSQL and MariaDB, adoption of a
PostfixAdmin database, and one-line errors for databases that cannot be used."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import warnings
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, Inspector, delete, inspect, select, text
from sqlalchemy.exc import SAWarning
from sqlalchemy.orm import Session

from tests.unit.directory import postfixadmin_ddl
from tests.unit.directory.db_support import KINDS, SERVER_KINDS, server_url, throwaway_database
from vmail.directory.database import create_schema, open_database
from vmail.directory.errors import DatabaseError
from vmail.directory.models import Base, Domain, Log, Vacation, VacationNotification
from vmail.directory.schema import head_revision, upgrade_database


@pytest.fixture(params=KINDS)
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def empty(kind: str, tmp_path: Path) -> Iterator[Engine]:
    """An engine on a new, empty database of each kind."""
    with throwaway_database(kind, tmp_path) as url:
        engine = open_database(url)
        yield engine
        engine.dispose()


def _dialect(engine: Engine) -> str:
    return {"postgresql": "pgsql"}.get(engine.dialect.name, engine.dialect.name)


def _columns(engine: Engine) -> dict[str, list[tuple[str, str, bool, str | None]]]:
    inspector = inspect(engine)
    with warnings.catch_warnings():  # PostfixAdmin's tinyint(1) on SQLite
        warnings.simplefilter("ignore", SAWarning)
        return _reflect(inspector)


def _reflect(inspector: Inspector) -> dict[str, list[tuple[str, str, bool, str | None]]]:
    return {
        table: [
            (c["name"], str(c["type"]), c["nullable"], c.get("default"))
            for c in inspector.get_columns(table)
        ]
        for table in inspector.get_table_names()
    }


def test_fresh_database_gets_exactly_the_models(empty: Engine) -> None:
    result = upgrade_database(empty)
    assert result.action == "created"
    assert result.revision == head_revision() == "0003"
    assert set(result.added_tables) == set(Base.metadata.tables)
    with empty.connect() as connection:
        context = MigrationContext.configure(connection)
        assert compare_metadata(context, Base.metadata) == []
        assert context.get_current_revision() == "0003"
    again = upgrade_database(empty)
    assert (again.action, again.previous, again.added_tables) == ("current", "0003", ())


def test_database_defaults_are_postfixadmins(empty: Engine) -> None:
    upgrade_database(empty)
    with empty.begin() as connection:
        connection.execute(text("INSERT INTO domain (domain) VALUES ('raw.example')"))
        connection.execute(
            text(
                "INSERT INTO mailbox (username, password, maildir, local_part, domain)"
                " VALUES ('u@raw.example', 'x', 'raw.example/u/', 'u', 'raw.example')"
            )
        )
    with Session(empty) as session:
        domain = session.get(Domain, "raw.example")
        assert domain is not None
        assert (domain.description, domain.aliases, domain.maxquota, domain.transport) == (
            "",
            0,
            0,
            None,
        )
        assert (domain.backupmx, domain.active, domain.password_expiry) == (False, True, 0)
        assert domain.created.replace(tzinfo=None) == datetime(2000, 1, 1)
        row = session.execute(
            text("SELECT quota, token_validity, password_expiry, phone FROM mailbox")
        ).one()
        assert row.quota == 0
        assert row.phone == ""


def test_models_fill_in_the_time_and_text_defaults(empty: Engine) -> None:
    upgrade_database(empty)
    before = datetime.now() - timedelta(days=1)
    with Session(empty) as session, session.begin():
        session.add(Domain(domain="orm.example"))
        session.add(Log(username="cli", domain="orm.example", action="create_domain"))
        session.add(Log(username="cli", domain="orm.example", action="edit_domain"))
    with Session(empty) as session:
        domain = session.get(Domain, "orm.example")
        assert domain is not None
        assert domain.created.replace(tzinfo=None) > before
        logs = session.scalars(select(Log).order_by(Log.id)).all()
        assert [(log.id, log.action, log.data) for log in logs] == [
            (1, "create_domain", ""),
            (2, "edit_domain", ""),
        ]


def test_vacation_notifications_go_with_their_vacation(empty: Engine) -> None:
    upgrade_database(empty)
    with Session(empty) as session, session.begin():
        session.add(Vacation(email="ann@example.com", subject="Away", body="…", domain="d"))
        session.flush()
        session.add(VacationNotification(on_vacation="ann@example.com", notified="x@y.example"))
    with Session(empty) as session, session.begin():
        session.execute(delete(Vacation))
    with Session(empty) as session:
        assert session.scalars(select(VacationNotification)).all() == []


def test_create_schema_is_upgrade_database(empty: Engine) -> None:
    create_schema(empty)
    create_schema(empty)
    assert set(Base.metadata.tables) <= set(inspect(empty).get_table_names())


# -- adopting PostfixAdmin ---------------------------------------------------------------


def test_postfixadmin_database_is_adopted_unchanged(empty: Engine) -> None:
    with empty.begin() as connection:
        postfixadmin_ddl.create(connection, _dialect(empty), omit=("quota2",))
    before = _columns(empty)
    result = upgrade_database(empty)
    assert result.action == "adopted"
    assert result.added_tables == ("quota2", "vmail_api_token", "vmail_totp_state")
    after = _columns(empty)
    for table, columns in before.items():
        # not a column dropped or changed; only PostfixAdmin 3.4's totp_secret added
        added = [c for c in after[table] if c not in columns]
        assert [c for c in after[table] if c not in added] == columns, table
        expected = ["totp_secret"] if table in ("admin", "mailbox") else []
        assert [c[0] for c in added] == expected, table
    new_tables = {"quota2", "alembic_version", "vmail_api_token", "vmail_totp_state"}
    assert set(after) == set(before) | new_tables
    with empty.connect() as connection:
        assert connection.execute(text("SELECT value FROM config")).scalar() == "1847"
        assert connection.execute(text("SELECT count(*) FROM fetchmail")).scalar() == 1
        assert MigrationContext.configure(connection).get_current_revision() == "0003"
    with Session(empty) as session:  # the models work on PostfixAdmin's own tables
        domain = session.get(Domain, "example.com")
        assert domain is not None
        assert domain.transport == "virtual"
        assert domain.active is True
    assert upgrade_database(empty).action == "current"


def test_revision_0001_database_is_upgraded(empty: Engine) -> None:
    from alembic import command

    from vmail.directory.schema import alembic_config

    with empty.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0001")
    result = upgrade_database(empty)
    assert (result.action, result.previous, result.revision) == ("upgraded", "0001", "0003")
    assert result.added_tables == ("vmail_api_token", "vmail_totp_state")
    with empty.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []


def test_older_postfixadmin_schema_is_refused_and_left_alone(empty: Engine) -> None:
    with empty.begin() as connection:
        postfixadmin_ddl.create(
            connection, _dialect(empty), omit=("quota2",), drop_columns={"mailbox": "phone"}
        )
    before = _columns(empty)
    with pytest.raises(DatabaseError) as caught:
        upgrade_database(empty)
    message = str(caught.value)
    assert "mailbox lacks phone" in message
    assert "PostfixAdmin database version 1847" in message
    assert "setup.php" in message
    assert _columns(empty) == before  # nothing written: no quota2, no alembic_version


def test_unrelated_tables_stay_beside_vmails(empty: Engine) -> None:
    with empty.begin() as connection:
        connection.execute(text("CREATE TABLE kv (k varchar(20), v varchar(20))"))
    assert upgrade_database(empty).action == "created"
    assert "kv" in inspect(empty).get_table_names()


def test_unknown_revision_is_refused(empty: Engine) -> None:
    upgrade_database(empty)
    with empty.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999'"))
    with pytest.raises(DatabaseError, match="revision 9999 is unknown"):
        upgrade_database(empty)


# -- databases that cannot be used ---------------------------------------------------------


def test_missing_sqlite_directory(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path}/no/such/dir/vmail.db")
    with pytest.raises(DatabaseError, match=r"^cannot connect to database sqlite:.*: unable to"):
        upgrade_database(engine)


@pytest.mark.parametrize("kind", SERVER_KINDS)
def test_wrong_password(kind: str) -> None:
    url = server_url(kind, password="not-the-password")
    with pytest.raises(DatabaseError) as caught:
        upgrade_database(open_database(url))
    message = str(caught.value)
    assert message.startswith("cannot connect to database ")
    assert "not-the-password" not in message
    assert ":***@" in message
    assert "\n" not in message


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_server_down(scheme: str) -> None:
    url = f"{scheme}://someone:secret@127.0.0.1:1/vmail"
    with pytest.raises(DatabaseError) as caught:
        upgrade_database(open_database(url))
    message = str(caught.value)
    assert message.startswith(f"cannot connect to database {scheme}")
    assert "refused" in message.lower()
    assert "secret" not in message


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files away")
def test_root_gives_wal_files_to_the_database_owner(tmp_path: Path) -> None:
    """The CLI runs as root, vmail serve as the database's owner: the -shm file that
    SQLite's WAL readers write must stay writable for the server."""
    path = tmp_path / "vmail.db"
    with contextlib.closing(sqlite3.connect(path)) as setup:
        setup.execute("PRAGMA journal_mode=WAL")
        setup.execute("CREATE TABLE t (x)")
        setup.commit()
    os.chown(path, 65534, 65534)
    engine = open_database(f"sqlite:///{path}")
    with engine.connect() as connection:
        connection.exec_driver_sql("SELECT 1")
        for suffix in ("-wal", "-shm"):
            assert os.stat(f"{path}{suffix}").st_uid == 65534
    engine.dispose()
