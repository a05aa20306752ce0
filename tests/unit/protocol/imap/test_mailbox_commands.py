"""Mailbox commands: extended LIST and UTF-8 mailbox names."""

from __future__ import annotations

from vmail.protocol.imap.types import List, ParseError, Select

from .parsing import bad, ok, parse


def test_list_extended() -> None:
    cmd = ok(
        b'a LIST (SUBSCRIBED REMOTE RECURSIVEMATCH SPECIAL-USE) "" (INBOX "%" x*) '
        b"RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))"
    )
    assert cmd == List(
        "a",
        "",
        ("INBOX", "%", "x*"),
        frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"}),
        frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"}),
        ("MESSAGES", "UNSEEN"),
        True,
    )
    assert ok(b'a LIST () "" x') == List("a", "", ("x",), extended=True)
    assert ok(b'a LIST "" x RETURN ()') == List("a", "", ("x",), extended=True)


def test_utf8_mailbox_names() -> None:
    assert bad(b'a SELECT "\xc3\xa9"').text == "8-bit characters not allowed"
    assert ok(b'a SELECT "\xc3\xa9"', utf8=True) == Select("a", "\xe9")
    assert isinstance(parse(b'a SELECT "\xff"', utf8=True), ParseError)
