"""RFC 2047 decoding and charsets."""

from __future__ import annotations

from vmail.mailstore.message import decode_words
from vmail.mailstore.message.words import codec_for, decode_charset


def test_b_and_q_words() -> None:
    assert decode_words("=?UTF-8?B?SGVsbG8gd8O2cmxk?=") == "Hello wörld"
    assert decode_words("=?ISO-8859-1?Q?caf=E9_au_lait?=") == "café au lait"


def test_adjacent_words_are_joined_but_text_gaps_kept() -> None:
    assert decode_words("=?utf-8?q?a?= =?utf-8?q?b?=") == "ab"
    assert decode_words("=?utf-8?q?a?= x =?utf-8?q?b?=") == "a x b"
    assert decode_words("pre =?utf-8?q?a?=") == "pre a"


def test_bad_words_left_as_is() -> None:
    assert decode_words("=?x-unknown?q?a?=") == "=?x-unknown?q?a?="
    assert decode_words("=?utf-8?b?####?=") == "=?utf-8?b?####?="
    assert decode_words("=?utf-8?q?=FF?=") == "=?utf-8?q?=FF?="
    assert decode_words("plain") == "plain"


def test_language_suffix_and_missing_padding() -> None:
    assert decode_words("=?utf-8*en?b?SGk?=") == "Hi"


def test_charsets() -> None:
    assert codec_for("bogus") is None
    assert decode_charset(b"\x80", "windows-1252") == "€"
    assert decode_charset(b"\xe9", "bogus") == "é"
    assert decode_charset(b"\xe9", "us-ascii") == "é"
