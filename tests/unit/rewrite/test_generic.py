"""generic(5) mapping for outbound mail: canonical(5)'s search forms, one level only."""

from __future__ import annotations

from vmail.config import MainConfig
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.generic import GenericMaps

SETTINGS = (
    "myhostname = mx.home.lan\nmyorigin = home.lan\nmydestination = home.lan, localhost\n"
    "recipient_delimiter = +\n"
)


def _generic(table: str, extra: str = "") -> GenericMaps:
    config = MainConfig.from_text(SETTINGS + extra + f"smtp_generic_maps = inline:{{{table}}}\n")
    return GenericMaps(RoutingContext(config), "smtp_generic_maps")


def test_search_forms() -> None:
    generic = _generic("his@home.lan=his@isp.example, joe=joe@isp.example, @home.lan=@isp.example")
    assert generic.map_internal("his@home.lan") == "his@isp.example"
    assert generic.map_internal("joe@localhost") == "joe@isp.example"  # user: local domains
    assert generic.map_internal("joe@elsewhere.example") == "joe@elsewhere.example"
    assert generic.map_internal("ann+list@home.lan") == "ann+list@isp.example"
    assert generic.map_internal("") == ""  # the null sender stays
    assert bool(generic)


def test_one_level_and_extensions() -> None:
    generic = _generic("a@home.lan=b@home.lan, b@home.lan=c@isp.example")
    assert generic.map_internal("a@home.lan") == "b@home.lan"  # not looked up again
    extensions = _generic("a@home.lan=b@isp.example", "propagate_unmatched_extensions = generic\n")
    assert extensions.map_internal("a+x@home.lan") == "b+x@isp.example"
    assert _generic("a@home.lan=b@isp.example").map_internal("a+x@home.lan") == "b@isp.example"
