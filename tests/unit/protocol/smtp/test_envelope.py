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
    # domains Postfix 3.7.11 took (its valid_hostname / valid_mailhost_literal)
    "<a@_b.c>",
    "<a@b_c.d>",
    "<a@x>",
    "<a@1a.b>",
    "<a@b.c.>",
    "<a@b.123>",
    "<a@[ipv6:::1]>",
    "<a@\u00e9.test>",
    "<a@xn--e9a.test>",
]
POSTFIX_REJECTS = [
    "<a@b.test",
    "<a b@c>",
    "<a@>",
    "<a@b>x",
    # domains Postfix 3.7.11 refused: 501 5.1.7 / 5.1.3 Bad ... address syntax
    "<a@.b>",
    "<a@b-.c>",
    "<a@-bad.example>",
    "<a@b..c>",
    "<a@b..>",
    "<a@1.2.3>",
    "<a@1.2.3.4>",
    "<a@123>",
    "<a@->",
    "<a@[1.2.3.4.5]>",
    "<a@[300.1.1.1]>",
    "<a@[IPv6:zz]>",
    "<a@[]>",
    "<a@" + "a" * 64 + ".com>",
]
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
