"""Running ``vmail`` commands in-process against a temporary SQLite directory."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from vmail.cli.main import main

PASSWORD = "correct horse"


class Vmail:
    """Runs ``vmail`` commands against one temporary SQLite directory."""

    def __init__(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, db: Path
    ) -> None:
        self.capsys = capsys
        self.monkeypatch = monkeypatch
        self.db = db

    def __call__(self, *args: str, stdin: str = "") -> tuple[int, str, str]:
        self.monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        try:
            rc = main(list(args))
        except SystemExit as e:
            rc = int(e.code or 0)
        out, err = self.capsys.readouterr()
        return rc, out, err

    def ok(self, *args: str, stdin: str = "") -> str:
        rc, out, err = self(*args, stdin=stdin)
        assert (rc, err) == (0, ""), (args, out, err)
        return out

    def json(self, *args: str) -> object:
        return json.loads(self.ok(*args, "--json"))
