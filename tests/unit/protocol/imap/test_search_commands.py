"""SEARCH/SORT/THREAD command forms: charset handling."""

from __future__ import annotations

import pytest

from vmail.protocol.imap.types import ParseError

from .parsing import bad, parse


def test_sort_without_charset_reads_the_key_as_charset() -> None:
    assert bad(b"a1 SORT (DATE) ALL").text == "Missing search parameters"  # as Dovecot
    result = parse(b"a1 SORT (DATE) ALL ALL")
    assert isinstance(result, ParseError)
    assert (result.status, result.code) == ("NO", "BADCHARSET (UTF-8 US-ASCII)")


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"a1 SEARCH SUBJECT", "Missing parameter for search key (for search key: SUBJECT)"),
        (b"a1 SEARCH HEADER Subject", "Missing parameter for search key (for search key: HEADER)"),
        (b"a1 SEARCH UID ", "Missing parameter for search key (for search key: UID)"),
        (b"a1 SEARCH OR SEEN", "Missing argument"),
        (b"a1 SEARCH NOT", "Missing argument"),
        (b"a1 SEARCH SEEN OR", "Missing argument"),
        (b"a1 SEARCH YOUNGER 0", "Invalid search interval parameter"),
        (b"a1 SEARCH CHARSET", "Invalid charset argument"),
        (b"a1 SEARCH CHARSET UTF-8", "Missing search parameters"),
        (b"a1 SEARCH RETURN (BOGUS) ALL", "Unknown SEARCH return option"),
        (b"a1 SORT", "Invalid sort argument"),
        (b"a1 SORT (DATE)", "Invalid charset argument"),
        (b"a1 SORT (DATE) UTF-8", "Missing search parameters"),
        (b"a1 THREAD REFERENCES", "Invalid arguments"),
        (b"a1 THREAD REFERENCES UTF-8", "Missing search parameters"),
    ],
)
def test_dovecot_reasons(data: bytes, reason: str) -> None:
    assert bad(data).text == reason
