"""SEARCH keys: every key, charsets, RETURN options, nesting bounds and malformed forms."""

from __future__ import annotations

import datetime

import pytest

from vmail.protocol.imap.search_keys import IMPOSSIBLE_DATE
from vmail.protocol.imap.sequence import SequenceSet
from vmail.protocol.imap.types import (
    ParseError,
    Search,
    SearchAge,
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModseq,
    SearchNot,
    SearchOr,
    SearchSet,
    SearchSize,
    SearchText,
    Thread,
)

from .parsing import bad, ok, parse


def key(spec: bytes) -> SearchKey:
    cmd = ok(b"a SEARCH " + spec)
    assert isinstance(cmd, Search)
    return cmd.key


FEB1 = datetime.date(1994, 2, 1)


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (b"ALL", SearchAll()),
        (b"answered", SearchFlag("\\Answered")),
        (b"UNANSWERED", SearchFlag("\\Answered", False)),
        (b"DELETED", SearchFlag("\\Deleted")),
        (b"UNDELETED", SearchFlag("\\Deleted", False)),
        (b"DRAFT", SearchFlag("\\Draft")),
        (b"UNDRAFT", SearchFlag("\\Draft", False)),
        (b"FLAGGED", SearchFlag("\\Flagged")),
        (b"UNFLAGGED", SearchFlag("\\Flagged", False)),
        (b"SEEN", SearchFlag("\\Seen")),
        (b"UNSEEN", SearchFlag("\\Seen", False)),
        (b"RECENT", SearchFlag("\\Recent")),
        (b"OLD", SearchFlag("\\Recent", False)),
        (b"NEW", SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))),
        (b"KEYWORD $Junk", SearchFlag("$Junk")),
        (b"UNKEYWORD foo", SearchFlag("foo", False)),
        (b"BEFORE 1-Feb-1994", SearchDate("internal", "before", FEB1)),
        (b'ON "01-feb-1994"', SearchDate("internal", "on", FEB1)),
        (b"SINCE 1-FEB-1994", SearchDate("internal", "since", FEB1)),
        (b"SENTBEFORE 1-Feb-1994", SearchDate("sent", "before", FEB1)),
        (b"SENTON 1-Feb-1994", SearchDate("sent", "on", FEB1)),
        (b"SENTSINCE 1-Feb-1994", SearchDate("sent", "since", FEB1)),
        (b"BCC x", SearchText("bcc", "x")),
        (b'BODY "hello world"', SearchText("body", "hello world")),
        (b"CC x", SearchText("cc", "x")),
        (b"FROM {5}\r\nfr ed", SearchText("from", "fr ed")),
        (b"SUBJECT x", SearchText("subject", "x")),
        (b"TEXT x", SearchText("text", "x")),
        (b"TO x", SearchText("to", "x")),
        (b'HEADER Message-ID "<a@b>"', SearchHeader("Message-ID", "<a@b>")),
        (b'HEADER X-Spam ""', SearchHeader("X-Spam", "")),
        (b'HEADER "a:b" c', SearchHeader("a:b", "c")),  # any astring, as the grammar says
        (b"LARGER 100", SearchSize("larger", 100)),
        (b"SMALLER 4294967296", SearchSize("smaller", 4294967296)),
        (b"YOUNGER 60", SearchAge("younger", 60)),
        (b"OLDER 60", SearchAge("older", 60)),
        (b"1:3,5", SearchSet(SequenceSet(((1, 3), (5, 5))))),
        (b"*", SearchSet(SequenceSet(((0, 0),)))),
        (b"$", SearchSet(SequenceSet(saved=True))),
        (b"UID 2:*", SearchSet(SequenceSet(((2, 0),)), uid=True)),
        (b"MODSEQ 5", SearchModseq(5)),
        (
            b'MODSEQ "/flags/\\\\draft" all 620162338',
            SearchModseq(620162338, ("/flags/\\draft", "all")),
        ),
        (b"NOT SEEN", SearchNot(SearchFlag("\\Seen"))),
        (b"OR SEEN DRAFT", SearchOr(SearchFlag("\\Seen"), SearchFlag("\\Draft"))),
        (b"(SEEN)", SearchFlag("\\Seen")),
        (b"(SEEN DRAFT)", SearchAnd((SearchFlag("\\Seen"), SearchFlag("\\Draft")))),
        (b"SEEN DRAFT", SearchAnd((SearchFlag("\\Seen"), SearchFlag("\\Draft")))),
        (
            b"OR (SEEN 1) NOT (DRAFT)",
            SearchOr(
                SearchAnd((SearchFlag("\\Seen"), SearchSet(SequenceSet(((1, 1),))))),
                SearchNot(SearchFlag("\\Draft")),
            ),
        ),
    ],
)
def test_keys(spec: bytes, expected: SearchKey) -> None:
    assert key(spec) == expected


@pytest.mark.parametrize(
    "spec",
    [
        b"",
        b"FOO",
        b"FROM",
        b"BEFORE",
        b"BEFORE 1-Foo-1994",
        b"BEFORE 1-Feb-94",
        b"BEFORE 123-Feb-1994",
        b'BEFORE "1-Feb-1994',
        b"LARGER x",
        b"LARGER 9223372036854775808",
        b"YOUNGER 0",
        b"UID",
        b"UID 0",
        b"0",
        b"1:",
        b"OR SEEN",
        b"NOT",
        b"(SEEN",
        b"()",
        b"SEEN)",
        b"HEADER",
        b"HEADER X",
        b'HEADER "\xc3\xa9" c',
        b"KEYWORD \\Seen",
        b"MODSEQ x",
        b'MODSEQ "/x" all 1',
        b'MODSEQ "/flags/a" bogus 1',
        b'FROM "a\x00b"',
        b"RETURN (FOO) ALL",
        b"CHARSET",
        b"ALL ALL ALL)",
    ],
)
def test_bad_keys(spec: bytes) -> None:
    bad(b"a SEARCH " + spec)


def test_charset_utf8() -> None:
    cmd = ok(b"a SEARCH CHARSET utf-8 SUBJECT {3}\r\n\xc3\xa9t")
    assert isinstance(cmd, Search)
    assert (cmd.charset, cmd.key) == ("UTF-8", SearchText("subject", "\xe9t"))


def test_invalid_bytes_for_charset() -> None:
    bad(b"a SEARCH CHARSET UTF-8 SUBJECT {2}\r\n\xc3(")
    bad(b"a SEARCH CHARSET US-ASCII SUBJECT {2}\r\n\xc3\xa9")


def test_unknown_charset_is_no_badcharset() -> None:
    for name in (b"BOGUS", b"base64", b'"\xc3\xa9"'):
        result = parse(b"a SEARCH CHARSET " + name + b" ALL")
        assert isinstance(result, ParseError), name
        assert (result.code, result.status) == ("BADCHARSET (UTF-8 US-ASCII)", "NO")
    assert parse(b"a SEARCH CHARSET BOGUS ALL") == ParseError(
        "a", "unsupported charset BOGUS", "BADCHARSET (UTF-8 US-ASCII)", "NO"
    )


@pytest.mark.parametrize(
    ("charset", "data", "text"),
    [
        (b"ISO-8859-1", b"\xe9t", "\xe9t"),
        (b"latin1", b"\xe9", "\xe9"),
        (b"KOI8-R", b"\xc1", "\u0430"),
        (b"UTF-7", b"+AOk-", "\xe9"),
        (b"windows-1252", b"\x80", "\u20ac"),
    ],
)
def test_any_python_text_charset(charset: bytes, data: bytes, text: str) -> None:
    """Like Dovecot's iconv: the search strings are decoded with the named charset."""
    size = str(len(data)).encode()
    cmd = ok(b"a SEARCH CHARSET " + charset + b" SUBJECT {" + size + b"}\r\n" + data)
    assert isinstance(cmd, Search)
    assert (cmd.charset, cmd.key) == (charset.upper().decode(), SearchText("subject", text))


def test_impossible_dates_are_after_every_message() -> None:
    """Dovecot accepts a day the month lacks and reads it as the latest time."""
    for day in (b"31-Feb-2026", b"30-Feb-1994", b"0-Jan-2026", b"00-Mar-2026", b"99-Dec-2026"):
        assert key(b"BEFORE " + day) == SearchDate("internal", "before", IMPOSSIBLE_DATE)
        assert key(b"SENTON " + day) == SearchDate("sent", "on", IMPOSSIBLE_DATE)
    assert key(b"ON 29-Feb-2024") == SearchDate("internal", "on", datetime.date(2024, 2, 29))
    assert key(b"ON 1-Feb-0000") == SearchDate("internal", "on", datetime.date(1, 2, 1))
    for day in (b"001-Feb-2026", b"1-Feb-26", b"1-Feb-20260", b"1-Fox-2026"):
        assert bad(b"a SEARCH ON " + day).text == "Invalid search date parameter", day


def test_sequence_set_star_and_trailing_spaces() -> None:
    assert key(b"* ") == SearchSet(SequenceSet.parse(b"*"))
    assert key(b"1:*,* ") == SearchSet(SequenceSet.parse(b"1:*,*"))
    assert key(b"ALL  ") == SearchAll()
    assert bad(b"a SEARCH (ALL").text == "Missing ')'"


def test_return_options() -> None:
    cmd = ok(b"a UID SEARCH RETURN (MIN MAX ALL COUNT SAVE) CHARSET US-ASCII ALL")
    assert isinstance(cmd, Search)
    assert (cmd.uid, cmd.returns, cmd.charset) == (
        True,
        ("MIN", "MAX", "ALL", "COUNT", "SAVE"),
        "US-ASCII",
    )
    cmd = ok(b"a SEARCH RETURN () ALL")
    assert isinstance(cmd, Search)
    assert cmd.returns == ()
    cmd = ok(b"a SEARCH ALL")
    assert isinstance(cmd, Search)
    assert cmd.returns is None


def test_nesting_is_bounded() -> None:
    assert isinstance(key(b"(" * 90 + b"SEEN" + b")" * 90), SearchFlag)
    assert bad(b"a SEARCH " + b"(" * 150 + b"SEEN" + b")" * 150).text == "too deeply nested"
    assert bad(b"a SEARCH " + b"NOT " * 5000 + b"SEEN").text == "too deeply nested"
    assert bad(b"a SEARCH " + b"OR SEEN " * 5000 + b"SEEN").text == "too deeply nested"


def test_many_keys_in_a_row_are_fine() -> None:
    got = key(b" ".join([b"SEEN"] * 5000))
    assert isinstance(got, SearchAnd)
    assert len(got.keys) == 5000


def test_utf8_accept_mode_charset_rules() -> None:
    assert ok(b'a SEARCH SUBJECT "\xc3\xa9"', utf8=True) == Search(
        "a", SearchText("subject", "\xe9")
    )
    for line in (
        b"a SEARCH CHARSET UTF-8 ALL",
        b"a SORT (DATE) US-ASCII ALL",
        b"a THREAD REFS US-ASCII ALL",
    ):
        result = parse(line, utf8=True)
        assert isinstance(result, ParseError)
        assert result.status == "BAD"
    assert isinstance(ok(b"a THREAD REFS UTF-8 ALL", utf8=True), Thread)
