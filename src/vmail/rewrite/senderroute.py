"""Sender-dependent routing: ``sender_dependent_relayhost_maps`` and
``sender_dependent_default_transport_maps``, as Postfix's trivial-rewrite applies them.

For mail to the relay and default address classes, the envelope sender is looked up (as
``user+ext@domain``, ``user@domain``, ``@domain``; the null sender as
``empty_address_relayhost_maps_lookup_key`` or
``empty_address_default_transport_maps_lookup_key``, ``<>``). A relayhost found there
replaces ``relayhost``; a transport found there replaces ``default_transport`` (default
class only). ``DUNNO`` ends the search without an override. A next hop written in the
transport still wins over any relayhost, and ``transport_maps`` wins over both.
"""

from __future__ import annotations

from vmail.core.address import Address, AddressError
from vmail.rewrite.addrfind import find_address
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.transport import Route
from vmail.tables import Maps
from vmail.tables.base import Trace


class SenderRoutes:
    """The sender-dependent overrides of one configuration (lookups block on tables)."""

    def __init__(self, context: RoutingContext) -> None:
        config = context.config
        self.config = config
        self.relayhosts = context.maps("sender_dependent_relayhost_maps")
        self.transports = context.maps("sender_dependent_default_transport_maps")
        self.relay_null_key = config.get("empty_address_relayhost_maps_lookup_key")
        self.transport_null_key = config.get("empty_address_default_transport_maps_lookup_key")
        self.delimiters = config.get("recipient_delimiter")

    def __bool__(self) -> bool:
        return bool(self.relayhosts or self.transports)

    def route(self, sender: str, default_class: bool, domain: str, trace: Trace | None) -> Route:
        """The route of relay (``default_class`` False) or default mail from ``sender`` to
        ``domain`` before ``transport_maps``."""
        config = self.config
        transport = config.get("default_transport" if default_class else "relay_transport")
        if default_class:
            transport = self._find(self.transports, sender, self.transport_null_key, trace) or (
                transport
            )
        relayhost = self._find(self.relayhosts, sender, self.relay_null_key, trace)
        name, _, nexthop = transport.partition(":")
        return Route(name, nexthop or relayhost or config.get("relayhost") or domain)

    def _find(self, maps: Maps, sender: str, null_key: str, trace: Trace | None) -> str | None:
        if not maps:
            return None
        if not sender:
            value = maps.find(null_key, trace=trace)
        else:
            try:
                address = Address.from_internal(sender)
            except AddressError:
                return None
            found = find_address(
                maps,
                address,
                delimiters=self.delimiters,
                is_local=lambda domain: False,
                localpart=False,
                trace=trace,
            )
            value = found.value if found is not None else None
        if value is None or value.strip().upper() == "DUNNO":
            return None
        return value.strip()


__all__ = ["SenderRoutes"]
