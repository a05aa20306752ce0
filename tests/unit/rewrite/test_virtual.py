"""Virtual alias expansion: recursion, self-reference, limits, failures."""

from __future__ import annotations

import pytest

from vmail.config import MainConfig
from vmail.core.address import Address
from vmail.core.errors import TableError
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.virtual import AliasExpansionError, VirtualAliasExpander
from vmail.tables import Maps, Table


def _expander(inline: str, **settings: str) -> VirtualAliasExpander:
    config = MainConfig(
        {
            "myhostname": "mail.example.net",
            "mydestination": "$myhostname",
            "virtual_alias_maps": f"inline:{{{inline}}}",
            "alias_maps": "",
            **settings,
        }
    )
    context = RoutingContext(config)
    return VirtualAliasExpander(context, Canonicalizer(config), lambda d: d == "mail.example.net")


def _expand(expander: VirtualAliasExpander, address: str) -> list[str]:
    return [a.external for a in expander.expand(Address.parse(address)).recipients]


def test_chain_expands_to_the_end() -> None:
    e = _expander("a@x.example=b@x.example, b@x.example=c@x.example")
    assert _expand(e, "a@x.example") == ["c@x.example"]


def test_one_to_many_keeps_order_first_in_place() -> None:
    e = _expander("{list@x.example = a@x.example, b@x.example}, a@x.example=a1@x.example")
    assert _expand(e, "list@x.example") == ["a1@x.example", "b@x.example"]


def test_address_expanding_into_itself_is_kept_once() -> None:
    e = _expander("{keep@x.example = keep@x.example, copy@y.example}, @x.example=catch@y.example")
    assert _expand(e, "keep@x.example") == ["keep@x.example", "copy@y.example"]


def test_unqualified_result_gets_myorigin() -> None:
    e = _expander("info@x.example=joe")
    assert _expand(e, "info@x.example") == ["joe@mail.example.net"]


def test_loop_exceeds_recursion_limit() -> None:
    e = _expander("a@x.example=b@x.example, b@x.example=a@x.example")
    with pytest.raises(AliasExpansionError, match="nesting"):
        e.expand(Address.parse("a@x.example"))


def test_expansion_limit() -> None:
    e = _expander(
        "{big@x.example = 1@y.example, 2@y.example, 3@y.example, 4@y.example}",
        virtual_alias_expansion_limit="3",
    )
    with pytest.raises(AliasExpansionError, match="expansion size"):
        e.expand(Address.parse("big@x.example"))


def test_recursion_limit_setting() -> None:
    e = _expander(
        "a@x.example=b@x.example, b@x.example=c@x.example, c@x.example=d@x.example",
        virtual_alias_recursion_limit="2",
    )
    with pytest.raises(AliasExpansionError):
        e.expand(Address.parse("a@x.example"))


def test_address_length_limit() -> None:
    e = _expander(f"a@x.example={'l' * 60}@y.example", virtual_alias_address_length_limit="50")
    with pytest.raises(AliasExpansionError, match="result"):
        e.expand(Address.parse("a@x.example"))


class _Broken(Table):
    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "connection refused")


def test_failing_table_defers() -> None:
    e = _expander("unused@none.example=x@none.example")
    e.maps = Maps("virtual_alias_maps", [_Broken("mysql:/etc/broken.cf")])
    with pytest.raises(AliasExpansionError, match="lookup problem"):
        e.expand(Address.parse("a@x.example"))
