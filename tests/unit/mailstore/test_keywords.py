"""dovecot-keywords: Dovecot's file read back, letters assigned, 26 at most."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.mailstore.errors import MailstoreError
from vmail.mailstore.keywords import letter_for, names_for, read_keywords, write_keywords

FIXTURES = Path(__file__).parent / "fixtures"


def test_dovecot_file_round_trip(tmp_path: Path) -> None:
    keywords = read_keywords(FIXTURES / "dovecot-keywords")
    assert keywords == ["$Forwarded", "Junk", "foo", "bar"]
    write_keywords(tmp_path / "dovecot-keywords", keywords)
    assert (tmp_path / "dovecot-keywords").read_bytes() == (
        FIXTURES / "dovecot-keywords"
    ).read_bytes()


def test_missing_file_is_empty(tmp_path: Path) -> None:
    assert read_keywords(tmp_path / "nope") == []


def test_gaps_and_junk_lines(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-keywords"
    path.write_text("2 two\nxx yy\n0 zero\n30 toohigh\n4\n1 zero\n3 a b\n")
    assert read_keywords(path) == ["zero", None, "two"]
    write_keywords(path, ["zero", None, "two"])
    assert path.read_text() == "0 zero\n2 two\n"


def test_letter_assignment() -> None:
    keywords: list[str | None] = ["$Forwarded", None, "foo"]
    assert letter_for(keywords, "FOO") == ("c", keywords)
    letter, updated = letter_for(keywords, "new")
    assert letter == "b"
    assert updated == ["$Forwarded", "new", "foo"]
    assert keywords[1] is None  # input not modified
    assert letter_for(updated, "more") == ("d", ["$Forwarded", "new", "foo", "more"])
    assert names_for(updated, "SacZ") == ["$Forwarded", "foo"]


def test_no_27th_letter(tmp_path: Path) -> None:
    full: list[str | None] = [f"k{i}" for i in range(26)]
    assert letter_for(full, "extra") == (None, full)
    assert letter_for(full, "K25") == ("z", full)
    with pytest.raises(MailstoreError, match="26"):
        write_keywords(tmp_path / "k", [*full, "x"])


def test_every_write_makes_the_mtime_grow(tmp_path: Path) -> None:
    # Dovecot re-reads dovecot-keywords only when its mtime (seconds) changed.
    path = tmp_path / "dovecot-keywords"
    write_keywords(path, ["$Forwarded"])
    first = int(path.stat().st_mtime)
    write_keywords(path, ["$Forwarded", "custom"])
    second = int(path.stat().st_mtime)
    write_keywords(path, ["$Forwarded", "custom", "other"])
    assert first < second < int(path.stat().st_mtime)
    assert read_keywords(path) == ["$Forwarded", "custom", "other"]
