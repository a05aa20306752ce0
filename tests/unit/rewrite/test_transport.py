from __future__ import annotations

import pytest

from vmail.core.address import Address
from vmail.rewrite.transport import Route, apply_entry, find_transport
from vmail.tables import Maps
from vmail.tables.simple import InlineTable

CURRENT = Route("smtp", "example.com")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("relay:gw.example", Route("relay", "gw.example")),
        ("smtp:[10.0.0.1]:2525", Route("smtp", "[10.0.0.1]:2525")),
        ("lmtp:unix:/run/lmtp", Route("lmtp", "unix:/run/lmtp")),
        ("local:", Route("local", "example.com")),  # no nexthop: reset to the domain
        ("local", Route("local", "example.com")),
        (":[backup.example]", Route("smtp", "[backup.example]")),  # keep the transport
        (":", CURRENT),  # change nothing
        ("error:5.7.1 go away", Route("error", "5.7.1 go away")),
    ],
)
def test_apply_entry(value: str, expected: Route) -> None:
    assert apply_entry(value, CURRENT, "example.com") == expected


def _maps(entries: dict[str, str]) -> Maps:
    return Maps("transport_maps", [InlineTable("inline:{test}", entries)])


@pytest.mark.parametrize(
    ("address", "parent_style", "expected"),
    [
        ("user+ext@a.example.com", False, Route("full", "a.example.com")),
        ("user+other@a.example.com", False, Route("stripped", "a.example.com")),
        ("bob@a.example.com", False, Route("domain", "a.example.com")),
        ("bob@x.b.example.com", False, Route("dotparent", "x.b.example.com")),
        ("bob@c.example.org", False, Route("wild", "c.example.org")),
        ("bob@c.example.org", True, Route("parent", "c.example.org")),
    ],
)
def test_search_order(address: str, parent_style: bool, expected: Route) -> None:
    maps = _maps(
        {
            "user+ext@a.example.com": "full:",
            "user@a.example.com": "stripped:",
            "a.example.com": "domain:",
            ".example.com": "dotparent:",
            "example.org": "parent:",
            "*": "wild:",
        }
    )
    route = find_transport(
        maps, Address.parse(address), CURRENT, delimiters="+", parent_style=parent_style
    )
    assert route == expected


def test_no_entry() -> None:
    assert (
        find_transport(
            _maps({}), Address.parse("a@b.example"), CURRENT, delimiters="", parent_style=False
        )
        is None
    )
