"""Sender-dependent relayhost and default transport, as trivial-rewrite resolves them."""

from __future__ import annotations

from pathlib import Path

from tests.routing_helpers import make_router
from vmail.core.address import Address


def test_the_sender_picks_the_relayhost_and_the_default_transport(tmp_path: Path) -> None:
    resolver = make_router(
        tmp_path,
        "relayhost = [main.relay]:587\nrelay_domains = partner.example\n"
        "recipient_delimiter = +\n"
        "sender_dependent_relayhost_maps = inline:{ alice@a.example=[alice.relay]:2525,"
        " @b.example=[b.relay], dunno@b.example=DUNNO, <>=[bounce.relay] }\n"
        "sender_dependent_default_transport_maps = inline:{ @c.example=special:[c.relay] }\n"
        "transport_maps = inline:{ fixed.example=smtp:[fixed.relay] }\n",
    ).resolver

    def route(sender: str | None, recipient: str = "x@elsewhere.example") -> tuple[str, str]:
        found = resolver.resolve(Address.from_internal(recipient), sender=sender).route
        return found.transport, found.nexthop

    assert route(None) == ("smtp", "[main.relay]:587")
    assert route("alice@a.example") == ("smtp", "[alice.relay]:2525")
    assert route("alice+tag@a.example") == ("smtp", "[alice.relay]:2525")  # extension dropped
    assert route("bob@a.example") == ("smtp", "[main.relay]:587")
    assert route("carol@b.example") == ("smtp", "[b.relay]")  # @domain
    assert route("dunno@b.example") == ("smtp", "[main.relay]:587")  # DUNNO: no override
    assert route("") == ("smtp", "[bounce.relay]")  # the null sender's key
    assert route("d@c.example") == ("special", "[c.relay]")  # a next hop in the transport wins
    assert route("carol@b.example", "y@partner.example") == ("relay", "[b.relay]")  # relay class
    assert route("carol@b.example", "z@fixed.example") == (
        "smtp",
        "[fixed.relay]",
    )  # transport_maps
