from __future__ import annotations

import pytest

from vmail.config import MainConfig
from vmail.core.address import Address
from vmail.rewrite.addrfind import Found, find_address, map_address, split_result
from vmail.rewrite.canonical import Canonicalizer
from vmail.tables import Maps
from vmail.tables.simple import InlineTable


def _maps(**entries: str) -> Maps:
    return Maps("virtual_alias_maps", [InlineTable("inline:{test}", dict(entries))])


def _find(maps: Maps, address: str, local: bool = False) -> Found | None:
    return find_address(maps, Address.parse(address), delimiters="+", is_local=lambda d: local)


def test_full_address_wins() -> None:
    maps = _maps(**{"u+x@d.example": "full", "u@d.example": "bare", "@d.example": "catch"})
    assert _find(maps, "u+x@d.example") == Found("full", None)


def test_bare_address_returns_the_extension() -> None:
    maps = _maps(**{"u@d.example": "bare", "@d.example": "catch"})
    assert _find(maps, "u+x@d.example") == Found("bare", "+x")


def test_catch_all_drops_the_extension() -> None:
    assert _find(_maps(**{"@d.example": "catch"}), "u+x@d.example") == Found("catch", None)


def test_localpart_only_for_local_domains() -> None:
    maps = _maps(u="local")
    assert _find(maps, "u@d.example") is None
    assert _find(maps, "u@d.example", local=True) == Found("local", None)
    assert _find(maps, "u+x@d.example", local=True) == Found("local", "+x")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a@x, b@y", ["a@x", "b@y"]),
        ('"a, b"@x, c@y', ['"a, b"@x', "c@y"]),
        ("Joe <joe@x>, b@y", ["<joe@x>", "b@y"]),
        (" , a@x,,", ["a@x"]),
    ],
)
def test_split_result(value: str, expected: list[str]) -> None:
    assert split_result(value) == expected


def test_map_address_otherdomain_and_propagation() -> None:
    canonical = Canonicalizer(MainConfig({"myhostname": "mail.example.net"}))
    address = Address.parse("u+x@old.example")
    mapped = map_address(
        Found("@new.example, copy@y.example", "+x"), address, canonical, propagate=True
    )
    assert [a.external for a in mapped] == ["u+x@new.example", "copy+x@y.example"]
    plain = map_address(Found("t@y.example", "+x"), address, canonical, propagate=False)
    assert [a.external for a in plain] == ["t@y.example"]
