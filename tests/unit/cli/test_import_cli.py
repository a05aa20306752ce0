"""``vmail import``: output, --dry-run, --json, exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vmail.cli.main import main
from vmail.directory.database import open_database
from vmail.directory.schema import upgrade_database


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'vmail.db'}"
    upgrade_database(open_database(url))
    return url


def _passwd(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "passwd"
    path.write_text(text)
    return path


def test_import_twice(tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    passwd = _passwd(tmp_path, "a@example.com:{PLAIN}secret1\n")
    args = ["import", "dovecot-passwd", str(passwd), "--database", database]
    assert main(args) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("2 created")  # domain, mailbox
    assert main([*args, "--json"]) == 0
    outcomes = json.loads(capsys.readouterr().out)["outcomes"]
    assert {o["result"] for o in outcomes} == {"unchanged"}


def test_dry_run(tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    passwd = _passwd(tmp_path, "a@example.com:{PLAIN}secret1\n")
    assert main(["import", "dovecot-passwd", str(passwd), "--database", database, "--dry-run"]) == 0
    assert capsys.readouterr().out.splitlines()[-1].startswith("would be: 2 created")
    assert main(["mailbox", "list", "--database", database, "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []


def test_conflict_exit_status(
    tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "dovecot-passwd", str(_passwd(tmp_path, "a@example.com:{PLAIN}one\n")),
                 "--database", database]) == 0  # fmt: skip
    other = tmp_path / "other"
    other.write_text("a@example.com:{PLAIN}two\n")
    assert main(["import", "dovecot-passwd", str(other), "--database", database]) == 4
    assert "conflict" in capsys.readouterr().out


def test_missing_source(tmp_path: Path, database: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "postfix", str(tmp_path / "none"), "--database", database]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vmail import: fatal: ")
    assert err.count("\n") == 1
