"""ENVELOPE, BODY, BODYSTRUCTURE and RFC822.SIZE against Dovecot 2.3's answers.

Deliberate difference: Dovecot sends a literal for a string holding a control
character (TAB); ``wire.string`` sends a quoted string. :func:`requote` normalises that.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.mailstore.message import summarize
from vmail.mailstore.message.bodystructure import write
from vmail.mailstore.message.structure import parse

from .dovecot import MESSAGES, requote


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
    assert mine == requote(path.with_suffix(".dovecot").read_bytes())


def test_requote_only_touches_literals() -> None:
    assert requote(b'(NIL {3}\r\na\tb "x")') == b'(NIL "a\tb" "x")'


def test_message_rfc822_without_parsed_message_is_a_basic_part() -> None:
    data = b"Content-Type: message/rfc822\n\n"
    assert write(data, parse(data), False).startswith(b'("message" "rfc822" NIL NIL NIL "7bit" 0')


def test_text_part_with_other_params_keeps_them() -> None:
    data = b"Content-Type: text/plain; format=flowed\n\nx\n"
    assert (
        write(data, parse(data), False)
        == b'("text" "plain" ("format" "flowed") NIL NIL "7bit" 3 1)'
    )
