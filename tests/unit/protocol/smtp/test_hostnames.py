"""Host name and address literal syntax, as Postfix's valid_hostname/valid_mailhost_literal."""

from __future__ import annotations

import pytest

from vmail.protocol.smtp.hostnames import valid_address_literal, valid_hostname


@pytest.mark.parametrize(
    "name", ["example.com", "a", "mail-1.example.com", "_dmarc.example.com", "1a.example", "x" * 63]
)
def test_valid_hostnames(name: str) -> None:
    assert valid_hostname(name)


@pytest.mark.parametrize(
    "name",
    ["", "a..b", ".a", "a.", "-a.test", "a-.test", "1.2.3.4", "123", "a b", "é.test", "x" * 64,
     ".".join(["abcdefg"] * 40), "[1.2.3.4]"],
)  # fmt: skip
def test_invalid_hostnames(name: str) -> None:
    assert not valid_hostname(name)


@pytest.mark.parametrize(
    ("text", "valid"),
    [
        ("[192.0.2.1]", True),
        ("[IPv6:2001:db8::1]", True),
        ("[ipv6:::1]", True),
        ("[300.1.1.1]", False),
        ("[2001:db8::1]", False),  # an IPv6 literal needs its tag
        ("[IPv6:192.0.2.1]", False),
        ("192.0.2.1", False),
        ("[]", False),
        ("[example.com]", False),
    ],
)
def test_address_literals(text: str, valid: bool) -> None:
    assert valid_address_literal(text) is valid
