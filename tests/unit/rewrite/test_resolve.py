"""Address resolution's reuse of answers (the classes themselves: tests/reference)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.routing_helpers import make_router
from vmail.core.address import Address
from vmail.rewrite.resolve import RESOLVE_TTL, AddressClass, Resolution
from vmail.tables.base import Trace


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_resolution_is_reused_for_a_second_but_never_when_tracing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    resolver = make_router(tmp_path, "virtual_mailbox_domains = example.com\n").resolver
    clock = Clock()
    resolver._resolved.clock = clock
    asked: list[str] = []
    real = resolver._resolve

    def counting(recipient: Address, trace: Trace | None, sender: str | None) -> Resolution:
        asked.append(recipient.internal)
        return real(recipient, trace, sender)

    monkeypatch.setattr(resolver, "_resolve", counting)
    bob = Address.from_internal("bob@example.com")
    first = resolver.resolve(bob)
    assert first.address_class is AddressClass.VIRTUAL
    assert resolver.resolve(Address.from_internal("bob@example.com")) is first
    assert resolver.resolve(Address.from_internal("carol@example.com")) is not first
    assert asked == ["bob@example.com", "carol@example.com"]
    resolver.resolve(bob, Trace())
    assert asked[2:] == ["bob@example.com"]  # traced: asked again
    clock.now += RESOLVE_TTL
    assert resolver.resolve(bob) == first
    assert len(asked) == 4  # expired: asked again


def test_relocated_users_go_to_the_error_transport_in_every_class(tmp_path: Path) -> None:
    # the replies a private Postfix 3.7.11 gave at RCPT for the same table
    resolver = make_router(
        tmp_path,
        "virtual_mailbox_domains = example.com\nmydestination = localhost\n"
        "transport_maps = inline:{ example.com=lmtp:inet:127.0.0.1:24 }\n"
        "relocated_maps = inline:{ bob@example.com=bob@new.example,"
        " @gone.example=someone@else.example, x@localhost=y@z }\n",
    ).resolver

    def route(address: str) -> tuple[str, str]:
        resolution = resolver.resolve(Address.from_internal(address))
        return resolution.route.transport, resolution.route.nexthop

    assert route("bob@example.com") == ("error", "5.1.6 User has moved to bob@new.example")
    assert route("any@gone.example") == ("error", "5.1.6 User has moved to someone@else.example")
    assert route("x@localhost") == ("error", "5.1.6 User has moved to y@z")
    assert route("carol@example.com") == ("lmtp", "inet:127.0.0.1:24")
