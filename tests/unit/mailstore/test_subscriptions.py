"""subscriptions: Dovecot 2.3's version 2 file (tab-separated levels) and version 1."""

from __future__ import annotations

from pathlib import Path

from vmail.mailstore.subscriptions import read_subscriptions, write_subscriptions

FIXTURES = Path(__file__).parent / "fixtures"


def test_dovecot_file_round_trip(tmp_path: Path) -> None:
    names = read_subscriptions(FIXTURES / "subscriptions")
    assert names == ["Sent", "A.B", "Entw&APw-rfe"]
    write_subscriptions(tmp_path / "subscriptions", names)
    assert (tmp_path / "subscriptions").read_bytes() == (FIXTURES / "subscriptions").read_bytes()


def test_slash_separator_file_from_dovecot() -> None:
    assert read_subscriptions(FIXTURES / "subscriptions-slash", "/") == ["x/y"]
    assert read_subscriptions(FIXTURES / "subscriptions-slash", ".") == ["x.y"]


def test_version1_and_missing(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions"
    assert read_subscriptions(path) == []
    path.write_text("INBOX\nA.B\n\nA.B\n")
    assert read_subscriptions(path) == ["INBOX", "A.B"]


def test_escaping_and_inbox_case(tmp_path: Path) -> None:
    path = tmp_path / "subscriptions"
    write_subscriptions(path, ["inbox", "a\tb.c", "x\x01", "INBOX"], ".")
    assert path.read_text() == "V\t2\n\nINBOX\na\x01tb\tc\nx\x011\n"
    assert read_subscriptions(path) == ["INBOX", "a\tb.c", "x\x01"]
