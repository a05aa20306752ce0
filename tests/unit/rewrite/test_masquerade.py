"""masquerade_domains: which subdomains are stripped, exclusions, exceptions, classes."""

from __future__ import annotations

from pathlib import Path

from tests.routing_helpers import BASE, make_router
from vmail.core.address import Address


def test_masquerading_as_postconf_describes_it(tmp_path: Path) -> None:
    router = make_router(
        tmp_path,
        BASE
        + "masquerade_domains = !foo.example.com, bar.example.com, example.com\n"
        + "masquerade_exceptions = root\n",
    )
    maps = router.canonical_maps

    def masq(address: str, kind: str = "envelope_sender") -> str:
        return maps.map(Address.from_internal(address), kind).internal

    assert masq("user@any.thing.bar.example.com") == "user@bar.example.com"
    assert masq("user@any.thing.else.example.com") == "user@example.com"
    assert masq("user@any.thing.foo.example.com") == "user@any.thing.foo.example.com"
    assert masq("user@foo.example.com") == "user@foo.example.com"
    assert masq("user@example.com") == "user@example.com"
    assert masq("root@host.example.com") == "root@host.example.com"  # an exception
    # masquerade_classes: not envelope recipients by default
    assert masq("user@host.example.com", "envelope_recipient") == "user@host.example.com"
    assert masq("user@host.example.com", "header_recipient") == "user@example.com"
