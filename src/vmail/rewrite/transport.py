"""``transport_maps`` lookups, as transport(5) and trivial-rewrite(8) define them.

Search order: the full address, the address without its extension, the domain, each
parent domain (``.parent`` keys, or ``parent`` when ``transport_maps`` is listed in
``parent_domain_matches_subdomains``), and finally ``*``. A value is
``transport:nexthop``; an empty transport keeps the current one, and a missing nexthop
resets it to the recipient domain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from vmail.core.address import Address, parent_domains, split_extension
from vmail.tables import Maps
from vmail.tables.base import Trace

ERROR_TRANSPORTS = ("error", "retry")


@dataclass(frozen=True)
class Route:
    """Where a recipient goes: a master.cf transport name and its next hop."""

    transport: str
    nexthop: str


def _lookup_keys(
    address: Address, delimiters: str, parent_style: bool
) -> Iterator[tuple[str, bool]]:
    """Yield ``(key, partial)`` in transport(5) order (``*`` excluded)."""
    yield address.external, False
    base, extension = split_extension(address.local, delimiters)
    if extension is not None:
        yield Address(base, address.domain).external, True
    if address.domain:
        yield address.domain, True
        for parent in parent_domains(address.domain, dotted=not parent_style):
            yield parent, True


def apply_entry(value: str, current: Route, domain: str) -> Route:
    """Combine a table value ``transport:nexthop`` with the route it overrides."""
    transport, _, nexthop = value.partition(":")
    transport, nexthop = transport.strip(), nexthop.strip()
    if not transport:
        return Route(current.transport, nexthop) if nexthop else current
    if nexthop:
        return Route(transport, nexthop)
    return Route(transport, domain)


def find_transport(
    maps: Maps,
    address: Address,
    current: Route,
    *,
    delimiters: str,
    parent_style: bool,
    trace: Trace | None = None,
) -> Route | None:
    """The route transport_maps gives ``address`` (None: no entry). TableError on failure."""
    for key, partial in _lookup_keys(address, delimiters, parent_style):
        value = maps.find(key, partial=partial, trace=trace)
        if value is not None:
            return apply_entry(value, current, address.domain)
    value = maps.find("*", trace=trace)
    if value is not None:
        return apply_entry(value, current, address.domain)
    return None
