"""ENVELOPE, BODY, BODYSTRUCTURE and RFC822.SIZE against Dovecot 2.3's answers, byte for byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.mailstore.message import summarize
from vmail.mailstore.message.bodystructure import write
from vmail.mailstore.message.structure import parse

from .dovecot import MESSAGES


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: p.stem)
def test_fetch_matches_dovecot(path: Path) -> None:
    data = path.read_bytes()
    s = summarize(data)
    mine = b"* 1 FETCH (RFC822.SIZE %d ENVELOPE %b BODY %b BODYSTRUCTURE %b)\r\n" % (
        s.size,
        s.envelope,
        s.body,
        s.bodystructure,
    )
    assert mine == path.with_suffix(".dovecot").read_bytes()


def test_message_rfc822_without_parsed_message_is_a_basic_part() -> None:
    data = b"Content-Type: message/rfc822\n\n"
    assert write(data, parse(data), False).startswith(b'("message" "rfc822" NIL NIL NIL "7bit" 0')


def test_text_part_without_charset_gets_the_default_after_its_params() -> None:
    data = b"Content-Type: text/plain; format=flowed\n\nx\n"
    assert (
        write(data, parse(data), False)
        == b'("text" "plain" ("format" "flowed" "charset" "us-ascii") NIL NIL "7bit" 3 1)'
    )


def test_text_part_with_a_charset_in_capitals_keeps_it() -> None:
    data = b"Content-Type: text/plain; CHARSET=x; format=flowed\n\nx\n"
    assert write(data, parse(data), False).startswith(b'("text" "plain" ("CHARSET" "x" "format"')


def test_language_comments_are_dropped() -> None:
    data = b"Content-Language: (a) en (c (d)) , fr\n\nx\n"
    assert write(data, parse(data), True).endswith(b'NIL NIL ("en" "fr") NIL)')
