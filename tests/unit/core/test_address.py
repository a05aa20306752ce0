from __future__ import annotations

import pytest

from vmail.core.address import Address, AddressError, parent_domains, quote_local, split_extension


@pytest.mark.parametrize(
    ("text", "local", "domain", "external"),
    [
        ("user@example.com", "user", "example.com", "user@example.com"),
        ("<user@example.com>", "user", "example.com", "user@example.com"),
        ('"a b"@example.com', "a b", "example.com", '"a b"@example.com'),
        ('"a@b"@example.com', "a@b", "example.com", '"a@b"@example.com'),
        ('"a\\"q"@example.com', 'a"q', "example.com", '"a\\"q"@example.com'),
        ("@relay1,@relay2:user@example.com", "user", "example.com", "user@example.com"),
        ("user", "user", "", "user"),
        ("first.last@example.com", "first.last", "example.com", "first.last@example.com"),
        ("a..b@example.com", "a..b", "example.com", '"a..b"@example.com'),
        ("usér@bücher.example", "usér", "bücher.example", "usér@bücher.example"),
    ],
)
def test_parse_and_render(text: str, local: str, domain: str, external: str) -> None:
    address = Address.parse(text)
    assert (address.local, address.domain) == (local, domain)
    assert address.external == external


def test_null_address() -> None:
    address = Address.parse("<>")
    assert address.local == ""
    assert not address.has_at
    assert address.external == ""


def test_unbalanced_quote_is_an_error() -> None:
    with pytest.raises(AddressError):
        Address.parse('"oops@example.com')


@pytest.mark.parametrize(
    ("local", "delimiters", "expected"),
    [
        ("user+foo", "+", ("user", "+foo")),
        ("user+foo+bar", "+", ("user", "+foo+bar")),
        ("user-foo", "+-", ("user", "-foo")),
        ("user+", "+", ("user", "+")),
        ("+foo", "+", ("+foo", None)),
        ("user", "+", ("user", None)),
        ("user+foo", "", ("user+foo", None)),
        ("postmaster+x", "+", ("postmaster", "+x")),
        ("Postmaster", "+", ("Postmaster", None)),
        ("owner-list", "-", ("owner-list", None)),
        ("list-request", "-", ("list-request", None)),
        ("owner+list", "+", ("owner", "+list")),
    ],
)
def test_split_extension(local: str, delimiters: str, expected: tuple[str, str | None]) -> None:
    assert split_extension(local, delimiters) == expected


def test_quote_local() -> None:
    assert quote_local("plain") == "plain"
    assert quote_local("") == ""
    assert quote_local("with space") == '"with space"'
    assert quote_local('q"uote') == '"q\\"uote"'


def test_parent_domains() -> None:
    assert parent_domains("a.b.example", dotted=True) == [".b.example", ".example"]
    assert parent_domains("a.b.example", dotted=False) == ["b.example", "example"]
    assert parent_domains("example", dotted=True) == []
