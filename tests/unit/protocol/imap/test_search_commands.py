"""SEARCH/SORT/THREAD command forms: charset handling."""

from __future__ import annotations

from vmail.protocol.imap.types import ParseError

from .parsing import bad, parse


def test_sort_without_charset_reads_the_key_as_charset() -> None:
    assert bad(b"a1 SORT (DATE) ALL").text == "missing argument"  # as Dovecot
    result = parse(b"a1 SORT (DATE) ALL ALL")
    assert isinstance(result, ParseError)
    assert (result.status, result.code) == ("NO", "BADCHARSET (UTF-8 US-ASCII)")
