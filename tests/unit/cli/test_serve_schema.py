"""``vmail serve`` brings the directory database's schema up to date before serving."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from alembic import command
from alembic.migration import MigrationContext

from vmail.cli.serve import upgrade_schema
from vmail.config import MainConfig
from vmail.directory.database import open_database
from vmail.directory.schema import alembic_config, head_revision


def _revision(path: Path) -> str | None:
    engine = open_database(f"sqlite:///{path}")
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def test_an_older_schema_is_upgraded(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "vmail.db"
    engine = open_database(f"sqlite:///{path}")
    with engine.begin() as connection:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, "0002")
    engine.dispose()
    with caplog.at_level(logging.INFO, logger="vmail.master"):
        upgrade_schema(MainConfig({"vmail_database": f"sqlite:///{path}"}))
    assert _revision(path) == head_revision()
    assert f"schema upgraded: revision {head_revision()} (was 0002)" in caplog.text
    caplog.clear()
    upgrade_schema(MainConfig({"vmail_database": f"sqlite:///{path}"}))
    assert "schema" not in caplog.text  # current: nothing to say


def test_a_missing_sqlite_file_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    upgrade_schema(MainConfig({"vmail_database": f"sqlite:///{path}"}))
    assert not path.exists()


def test_an_unreachable_database_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.ERROR, logger="vmail.master"):
        upgrade_schema(MainConfig({"vmail_database": f"sqlite:///{path}"}))
    assert "schema not brought up to date" in caplog.text


def test_no_database_no_upgrade() -> None:
    upgrade_schema(MainConfig({}))
