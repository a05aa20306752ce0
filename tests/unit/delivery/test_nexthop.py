"""Next-hop syntax of smtp(8) and lmtp(8)."""

from __future__ import annotations

import pytest

from vmail.delivery.nexthop import Nexthop, NexthopError, parse_nexthop, parse_port


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("example.com", Nexthop("example.com", 25, mx=True)),
        ("example.com.", Nexthop("example.com", 25, mx=True)),
        ("example.com:2525", Nexthop("example.com", 2525, mx=True)),
        ("[relay.example.com]", Nexthop("relay.example.com", 25)),
        ("[relay.example.com]:587", Nexthop("relay.example.com", 587)),
        ("[relay.example.com]:submission", Nexthop("relay.example.com", 587)),
        ("[192.0.2.1]", Nexthop("192.0.2.1", 25)),
        ("192.0.2.1:26", Nexthop("192.0.2.1", 26)),
        ("[ipv6:2001:db8::1]:25", Nexthop("2001:db8::1", 25)),
        ("[2001:db8::1]", Nexthop("2001:db8::1", 25)),
        ("2001:db8::1", Nexthop("2001:db8::1", 25)),
    ],
)
def test_smtp_nexthops(text: str, expected: Nexthop) -> None:
    assert parse_nexthop(text, default_port=25) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("unix:/var/run/dovecot/lmtp", Nexthop(unix_path="/var/run/dovecot/lmtp")),
        ("unix:private/dovecot-lmtp", Nexthop(unix_path="private/dovecot-lmtp")),
        ("inet:127.0.0.1:24", Nexthop("127.0.0.1", 24)),
        ("inet:localhost", Nexthop("localhost", 24)),
        ("inet:[::1]:2424", Nexthop("::1", 2424)),
        ("mail.example.com:2424", Nexthop("mail.example.com", 2424)),
        ("mail.example.com", Nexthop("mail.example.com", 24)),
    ],
)
def test_lmtp_nexthops_never_use_mx(text: str, expected: Nexthop) -> None:
    hop = parse_nexthop(text, lmtp=True, default_port=24)
    assert hop == expected
    assert not hop.mx


def test_properties() -> None:
    assert parse_nexthop("unix:/s", lmtp=True, default_port=24).is_unix
    assert parse_nexthop("[192.0.2.1]", default_port=25).is_address
    assert not parse_nexthop("example.com", default_port=25).is_address


@pytest.mark.parametrize(
    "text",
    ["", "[unclosed", "[host]x", "[]:25", "host:0", "host:99999", "host:nosuchservice", ":25"],
)
def test_malformed(text: str) -> None:
    with pytest.raises(NexthopError):
        parse_nexthop(text, default_port=25)


def test_lmtp_empty_unix_path() -> None:
    with pytest.raises(NexthopError, match="empty UNIX socket path"):
        parse_nexthop("unix:", lmtp=True, default_port=24)


def test_parse_port() -> None:
    assert parse_port("smtp") == 25
    assert parse_port("24") == 24
