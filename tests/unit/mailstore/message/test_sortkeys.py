"""RFC 5256 base subject and address keys."""

from __future__ import annotations

import pytest

from vmail.mailstore.message.addresses import parse_addresses
from vmail.mailstore.message.sortkeys import base_subject, display_key, message_ids, sort_key


@pytest.mark.parametrize(
    ("subject", "base"),
    [
        ("Re: hello", "hello"),
        ("RE: Fwd: re[2]: hello (fwd)", "hello"),
        ("[list] Re: hello", "hello"),
        ("[fwd: Re: hello]", "hello"),
        ("  many   spaces\there ", "many spaces here"),
        ("[only blob]", "[only blob]"),
        ("Fw: x (fwd) (fwd)", "x"),
        ("", ""),
        ("Re:", ""),
    ],
)
def test_base_subject(subject: str, base: str) -> None:
    assert base_subject(subject) == base


def test_sort_and_display_keys() -> None:
    addrs = parse_addresses(b"Team: ;, =?utf-8?q?J=C3=BCrgen?= <JM@Example.DE>")
    assert sort_key(addrs) == "jm"
    assert display_key(addrs) == "Jürgen"
    assert display_key(parse_addresses(b"a@b")) == "a@b"
    assert sort_key([]) == ""
    assert display_key([]) == ""


def test_message_ids() -> None:
    assert message_ids(b"<a@b> junk <c@d>") == ("a@b", "c@d")
    assert message_ids(None) == ()
