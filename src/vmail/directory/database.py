"""Opening the directory database from a URL (SQLite by default, PostgreSQL, MySQL).

main.cf names the database with ``vmail_database`` (default
``sqlite:///$vmail_data_directory/vmail.db``): a SQLAlchemy URL. ``postgresql://`` and
``postgres://`` mean ``postgresql+psycopg://``; ``mysql://`` and ``mariadb://`` mean
``mysql+pymysql://``. A relative SQLite path is relative to the configuration directory.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.directory.errors import DatabaseError

DATABASE_PARAMETER = "vmail_database"

# URL scheme as written -> the SQLAlchemy driver vmail ships with
_DRIVERS = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
    "postgresql+psycopg": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mysql+pymysql",
    "mysql+pymysql": "mysql+pymysql",
    "mariadb+pymysql": "mysql+pymysql",
}


def parse_database_url(text: str, base_dir: Path | None = None) -> URL:
    """A checked SQLAlchemy URL with vmail's driver; DatabaseError says what is wrong.

    ``base_dir`` anchors a relative SQLite path (``sqlite:///vmail.db``).
    """
    text = text.strip()
    scheme = text.split("://", 1)[0].lower() if "://" in text else ""
    driver = _DRIVERS.get(scheme)
    if driver is None:
        raise DatabaseError(
            f"unsupported database URL {_hide(text)!r}: use sqlite:///PATH, "
            "postgresql://USER:PASSWORD@HOST/DB or mysql://USER:PASSWORD@HOST/DB"
        )
    try:
        url = make_url(text).set(drivername=driver)
    except (ArgumentError, ValueError) as e:
        raise DatabaseError(f"bad database URL {_hide(text)!r}: {e}") from None
    if driver == "sqlite":  # no file at all means an in-memory database, as in SQLAlchemy
        database = url.database or ""
        if database and database != ":memory:" and not Path(database).is_absolute() and base_dir:
            url = url.set(database=str(base_dir / database))
    elif not url.database:
        raise DatabaseError(f"database URL {_hide(text)!r} names no database (…/DBNAME)")
    return url


def _hide(text: str) -> str:
    """The URL text with any password replaced by ***."""
    try:
        return make_url(text).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", text)


def database_url(config: MainConfig) -> URL:
    """The directory database named by main.cf's ``vmail_database``, checked.

    Errors name main.cf and the line of the setting (ConfigError).
    """
    location = config.locations.get(DATABASE_PARAMETER)
    try:
        return parse_database_url(config.get(DATABASE_PARAMETER), config.config_dir)
    except DatabaseError as e:
        raise ConfigError(f"parameter {DATABASE_PARAMETER}: {e}", location) from None


def open_database(url: str | URL) -> Engine:
    """An engine for ``url``: ``sqlite:///path``, ``postgresql+psycopg://…``, ``mysql+pymysql://…``.

    SQLite connections get real transactions (DDL included), foreign keys, WAL and a
    busy timeout. No connection is made until the engine is used.
    """
    if isinstance(url, str):
        url = parse_database_url(url)
    try:
        # a pooled SQLite connection is a file handle that cannot go stale; a server's
        # connection can (restart, idle timeout), and the ping costs a round trip
        engine = create_engine(url, pool_pre_ping=url.get_backend_name() != "sqlite")
    except (ArgumentError, NoSuchModuleError) as e:
        raise DatabaseError(f"cannot use database {url.render_as_string()}: {e}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        if os.geteuid() == 0:
            # The -wal/-shm files appear with the first transaction, after "connect", and
            # stay while the connection sits in the pool: hand them over after each use too.
            event.listen(engine, "checkin", _sqlite_checkin)
    return engine


def _sqlite_checkin(dbapi_connection: object, _record: object) -> None:
    if dbapi_connection is None or os.geteuid() != 0:  # vmail serve has dropped root
        return
    with contextlib.suppress(Exception):
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        _share_wal_files(cursor.execute("PRAGMA database_list").fetchall())
        cursor.close()


def _sqlite_connect(dbapi_connection: object, _record: object) -> None:
    # Let SQLAlchemy's "begin" event start transactions, so that DDL is transactional too
    # (the sqlite3 module would otherwise commit before every CREATE/ALTER).
    dbapi_connection.isolation_level = None  # type: ignore[attr-defined]
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    if os.geteuid() == 0:
        _share_wal_files(cursor.execute("PRAGMA database_list").fetchall())
    cursor.close()


def _share_wal_files(databases: list[tuple[int, str, str]]) -> None:
    """Root (the CLI) gives the ``-wal``/``-shm`` files it may have just created to the
    database's owner: ``vmail serve`` runs as that user and, as a WAL reader, must write
    the ``-shm`` file, or its lookups fail (451 4.3.0) until SQLite removes them."""
    for _seq, name, path in databases:
        if name != "main" or not path:
            continue
        try:
            owner = os.stat(path)
        except OSError:
            return
        if owner.st_uid == 0:
            return
        for suffix in ("-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                if os.stat(path + suffix).st_uid == 0:
                    os.chown(path + suffix, owner.st_uid, owner.st_gid)


def _sqlite_begin(connection: object) -> None:
    connection.exec_driver_sql("BEGIN")  # type: ignore[attr-defined]


def create_schema(engine: Engine) -> None:
    """Bring the schema up to date (the old name of :func:`upgrade_database`)."""
    from vmail.directory.schema import upgrade_database

    upgrade_database(engine)
