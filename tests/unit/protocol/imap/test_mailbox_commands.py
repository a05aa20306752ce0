"""Mailbox commands: extended LIST and UTF-8 mailbox names."""

from __future__ import annotations

from vmail.protocol.imap.types import Create, Delete, List, ParseError, Rename, Select, Status

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


def test_list_pattern_lists_as_dovecot_accepts_them() -> None:
    """A pattern list without selection options, even empty, and a trailing space."""
    assert ok(b'a LIST "" (INBOX A) ') == List("a", "", ("INBOX", "A"), extended=True)
    assert ok(b'a LIST "" ()') == List("a", "", (), extended=True)
    assert ok(b'a LIST "" * ') == List("a", "", ("*",))
    assert bad(b'a LIST "" (INBOX A').text == "Missing ')'"


def test_wildcards_in_mailbox_names() -> None:
    assert ok(b"a CREATE a%b") == Create("a", "a%b")
    assert ok(b"a CREATE a*b") == Create("a", "a*b")
    assert ok(b"a RENAME a%b c*d") == Rename("a", "a%b", "c*d")
    assert ok(b"a DELETE c*d") == Delete("a", "c*d")
    assert ok(b"a STATUS a%b (MESSAGES)") == Status("a", "a%b", ("MESSAGES",))
    assert bad(b"a CREATE a(b").text == "expected a space"


def test_unclosed_parameter_lists() -> None:
    for data in (
        b"a STATUS INBOX (MESSAGES",
        b"a STATUS INBOX (MESSAGES ",
        b"a SELECT INBOX (CONDSTORE",
        b"a CREATE x (USE (\\Sent",
    ):
        assert bad(data).text == "Missing ')'", data
