"""Envelope address syntax, as Postfix 3.7 smtpd judged each path (strict_rfc821_envelopes=no)."""

from __future__ import annotations

import pytest

from vmail.protocol.smtp.envelope import parse_path

POSTFIX_ACCEPTS = [
    "<>",
    "<a@b.test>",
    "a@b.test",
    "<@r1,@r2:a@b.test>",
    '<"a b"@c.test>',
    "<a..b@c>",
    "<a@b@c>",
    "<a@[1.2.3.4]>",
    "<.a@b>",
    "<@b>",
    "<a@b.>",
    "<postmaster>",
    "<a\u00e9@b.test>",
]
POSTFIX_REJECTS = ["<a@b.test", "<a b@c>", "<a@>", "<a@b>x"]
# Postfix strips RFC 822 comments and nested brackets; vmail refuses them.
VMAIL_STRICTER = ["<a(c)@b>", "<<a@b>>"]


@pytest.mark.parametrize("path", POSTFIX_ACCEPTS)
def test_accepted(path: str) -> None:
    assert parse_path(path) is not None


@pytest.mark.parametrize("path", POSTFIX_REJECTS + VMAIL_STRICTER)
def test_rejected(path: str) -> None:
    assert parse_path(path) is None


def test_params_follow_the_path() -> None:
    parsed = parse_path('<"x > y"@d> SIZE=1  BODY=7BIT')
    assert parsed is not None
    assert parsed.address == '"x > y"@d'
    assert parsed.params == ("SIZE=1", "BODY=7BIT")
    # without brackets the address is the first word, the rest are parameters (Postfix)
    bare = parse_path("a b@c")
    assert bare is not None
    assert (bare.address, bare.params) == ("a", ("b@c",))
