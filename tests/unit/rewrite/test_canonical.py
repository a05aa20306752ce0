from __future__ import annotations

import pytest

from vmail.config import MainConfig
from vmail.core.address import Address
from vmail.rewrite.canonical import Canonicalizer


def _canonical(**settings: str) -> Canonicalizer:
    return Canonicalizer(
        MainConfig({"myhostname": "mail.example.net", "mydomain": "example.net", **settings})
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user@example.com", "user@example.com"),
        ("user", "user@mail.example.net"),
        ("user@example.com.", "user@example.com"),
        ("site!user", "user@site"),
        ("user%other.example", "user@other.example"),
        ("a%b%c.example", "a%b@c.example"),
        ("", ""),
    ],
)
def test_defaults(text: str, expected: str) -> None:
    assert _canonical().rewrite(Address.parse(text)).external == expected


def test_switches() -> None:
    off = _canonical(swap_bangpath="no", allow_percent_hack="no", append_at_myorigin="no")
    assert off.rewrite(Address.parse("site!user")).external == "site!user"
    assert off.rewrite(Address.parse("user%x")).external == "user%x"
    assert off.rewrite(Address.parse("user")).external == "user"


def test_append_dot_mydomain() -> None:
    on = _canonical(append_dot_mydomain="yes")
    assert on.rewrite(Address.parse("user@host")).external == "user@host.example.net"
    assert on.rewrite(Address.parse("user@[127.0.0.1]")).external == "user@[127.0.0.1]"


def test_myorigin() -> None:
    assert _canonical(myorigin="$mydomain").rewrite(Address.parse("joe")).external == (
        "joe@example.net"
    )
