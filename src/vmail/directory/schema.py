"""Bringing a directory database to the current schema: create, upgrade or adopt.

:func:`upgrade_database` handles three cases, all in one transaction:

* an empty database gets every table (Alembic revision ``0001`` and any later ones);
* a vmail database (it has ``alembic_version``) gets the revisions it lacks;
* an existing PostfixAdmin database (its tables, no ``alembic_version``) is *adopted*:
  every PostfixAdmin table vmail uses must already have every column vmail reads and
  writes (else nothing is written and the error lists what is missing); its tables and
  columns are never dropped or altered, missing tables are added beside them, and the
  revision is recorded.

PostgreSQL and SQLite roll back DDL with the transaction; MySQL commits each DDL
statement, so there the tables created by a failed run are dropped again. Connection
failures (server down, bad credentials, unknown database) become one
:class:`~vmail.directory.errors.DatabaseError` line.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import DBAPIError, SAWarning, SQLAlchemyError

from vmail.directory.errors import DatabaseError
from vmail.directory.models import Base

MIGRATIONS = Path(__file__).with_name("migrations")
VERSION_TABLE = "alembic_version"
# Any of these without alembic_version means the database belongs to PostfixAdmin.
POSTFIXADMIN_MARKERS = ("domain", "mailbox", "alias", "alias_domain", "admin")
# Columns of PostfixAdmin tables that a later revision adds when missing (PostfixAdmin 3.4's).
ADDED_LATER = frozenset({("admin", "totp_secret"), ("mailbox", "totp_secret")})


@dataclass(frozen=True)
class UpgradeResult:
    """What :func:`upgrade_database` did: ``created``, ``adopted``, ``upgraded`` or ``current``."""

    action: str
    revision: str
    previous: str | None = None
    added_tables: tuple[str, ...] = ()


def alembic_config() -> Config:
    """An Alembic configuration for vmail's migrations, without any ini file."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    """The newest revision the installed vmail knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def describe(engine: Engine) -> str:
    """The database for messages: its URL with the password hidden."""
    return engine.url.render_as_string(hide_password=True)


def upgrade_database(engine: Engine) -> UpgradeResult:
    """Create, upgrade or adopt the directory schema in ``engine``'s database."""
    before: set[str] | None = None  # None: the database was never reached
    try:
        with engine.begin() as connection:
            before = set(inspect(connection).get_table_names())
            return _upgrade(connection, before)
    except DatabaseError:
        _drop_created(engine, before)
        raise
    except DBAPIError as e:
        _drop_created(engine, before)
        if e.connection_invalidated or _is_connect_error(e):
            message = f"cannot connect to database {describe(engine)}: {_reason(e)}"
            raise DatabaseError(message) from None
        raise DatabaseError(
            f"cannot update the schema of database {describe(engine)}: {_reason(e)}"
        ) from None
    except (SQLAlchemyError, CommandError) as e:
        _drop_created(engine, before)
        raise DatabaseError(f"database {describe(engine)}: {_reason(e)}") from None


def _upgrade(connection: Connection, before: set[str]) -> UpgradeResult:
    previous = MigrationContext.configure(connection).get_current_revision()
    head = head_revision()
    if previous is not None and previous != head and not _known(previous):
        raise DatabaseError(
            f"database schema revision {previous} is unknown to this vmail (made by a newer one?)"
        )
    adopting = previous is None and any(name in before for name in POSTFIXADMIN_MARKERS)
    if adopting:
        check_postfixadmin_columns(connection, before)
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")
    added = tuple(sorted(set(inspect(connection).get_table_names()) - before - {VERSION_TABLE}))
    if adopting:
        action = "adopted"
    elif previous is None:
        action = "created"
    elif previous == head:
        action = "current"
    else:
        action = "upgraded"
    return UpgradeResult(action, head, previous, added)


def _known(revision: str) -> bool:
    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def check_postfixadmin_columns(connection: Connection, tables: set[str]) -> None:
    """Raise DatabaseError unless each existing table has every column the models map."""
    inspector = inspect(connection)
    problems = []
    for table in Base.metadata.sorted_tables:
        if table.name not in tables:
            continue
        with warnings.catch_warnings():  # PostfixAdmin's tinyint(1) puzzles SQLite reflection
            warnings.simplefilter("ignore", SAWarning)
            present = {column["name"].lower() for column in inspector.get_columns(table.name)}
        missing = [
            column.name
            for column in table.columns
            if column.name not in present and (table.name, column.name) not in ADDED_LATER
        ]
        if missing:
            problems.append(f"{table.name} lacks {', '.join(missing)}")
    if problems:
        version = _postfixadmin_version(connection, tables)
        raise DatabaseError(
            "existing tables are not a PostfixAdmin 3.3 schema vmail can use ("
            + "; ".join(problems)
            + f"{version}); upgrade the database with PostfixAdmin's setup.php first"
        )


def _postfixadmin_version(connection: Connection, tables: set[str]) -> str:
    if "config" not in tables:
        return ""
    try:
        with connection.begin_nested():
            value = connection.execute(
                text("SELECT value FROM config WHERE name = 'version'")
            ).scalar()
    except SQLAlchemyError:
        return ""
    return f"; PostfixAdmin database version {value}" if value else ""


def _drop_created(engine: Engine, before: set[str] | None) -> None:
    """After a failure on MySQL (DDL is not transactional), drop what this run created."""
    if engine.dialect.name != "mysql" or before is None:
        return
    try:
        with engine.begin() as connection:
            created = set(inspect(connection).get_table_names()) - before
            for table in reversed(Base.metadata.sorted_tables):
                if table.name in created:
                    table.drop(connection)
            if VERSION_TABLE in created:
                connection.execute(text(f"DROP TABLE {VERSION_TABLE}"))
    except SQLAlchemyError:
        pass  # the original error is the one to report


def _is_connect_error(error: DBAPIError) -> bool:
    text_ = str(error.orig).lower()
    return any(
        word in text_
        for word in (
            "connect",
            "password authentication failed",
            "access denied",
            "unknown database",
            "does not exist",
            "unable to open database file",
        )
    )


def _reason(error: Exception) -> str:
    """The driver's own words, first line only, without SQLAlchemy's decoration."""
    orig = getattr(error, "orig", None)
    message = str(orig if orig is not None else error).strip()
    if orig is not None and getattr(orig, "args", None) and len(orig.args) == 2:
        code, detail = orig.args  # PyMySQL: (errno, message)
        if isinstance(code, int) and isinstance(detail, str):
            message = f"{detail} (error {code})"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__
