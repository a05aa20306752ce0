"""Fixtures of the CLI tests: ``vmail``, commands run in-process on a fresh directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.unit.cli.helpers import Vmail

from vmail.directory.database import open_database
from vmail.directory.schema import upgrade_database


@pytest.fixture
def vmail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> Vmail:
    """A migrated SQLite directory in tmp_path, named by ``$VMAIL_DATABASE``; no main.cf."""
    db = tmp_path / "vmail.db"
    engine = open_database(f"sqlite:///{db}")
    upgrade_database(engine)
    engine.dispose()
    monkeypatch.setenv("VMAIL_DATABASE", f"sqlite:///{db}")
    monkeypatch.setenv("VMAIL_CONFIG_DIR", str(tmp_path / "noconf"))
    return Vmail(capsys, monkeypatch, db)
