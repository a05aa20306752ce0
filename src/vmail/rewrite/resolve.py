"""Address resolution: the address class, transport and next hop of a recipient.

This is trivial-rewrite(8)'s *resolve* step. The class comes from the domain:

============== ============================================= ======================
class          domain matches                                default transport
============== ============================================= ======================
local          ``mydestination``, ``[our IP]``               ``$local_transport``
virtual alias  ``virtual_alias_domains``                     ``error`` (User unknown)
virtual        ``virtual_mailbox_domains``                   ``$virtual_transport``
relay          ``relay_domains``                             ``$relay_transport``
default        anything else                                 ``$default_transport``
============== ============================================= ======================

``transport_maps`` then overrides transport and next hop for every class but virtual
alias. ``relayhost`` is the next hop of relay and default mail unless a transport names
one, or ``sender_dependent_relayhost_maps`` for the message's sender
(:mod:`vmail.rewrite.senderroute`, when the caller names the sender). An address in
``relocated_maps`` goes to ``error`` with ``5.1.6 User has moved to
NEW``, whatever its class (so smtpd refuses it at RCPT and queued mail bounces).
"""

from __future__ import annotations

import ipaddress
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import Enum

from vmail.config.hostinfo import interface_addresses
from vmail.core.address import Address
from vmail.core.ttlcache import TtlCache
from vmail.rewrite.addrfind import find_address
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.senderroute import SenderRoutes
from vmail.rewrite.transport import Route, find_transport
from vmail.tables.base import Trace

RESOLVE_TTL = 1.0  # seconds a recipient's resolution is reused (see Resolver.resolve)
RESOLVE_CACHE_SIZE = 4096  # recipients remembered; more start the cache over


class AddressClass(Enum):
    LOCAL = "local"
    VIRTUAL_ALIAS = "virtual_alias"
    VIRTUAL = "virtual"
    RELAY = "relay"
    DEFAULT = "default"

    @property
    def final(self) -> bool:
        """Classes for which this system is the final destination."""
        return self in (AddressClass.LOCAL, AddressClass.VIRTUAL_ALIAS, AddressClass.VIRTUAL)


@dataclass(frozen=True)
class Resolution:
    """Where one (already expanded) recipient goes."""

    recipient: Address
    address_class: AddressClass
    route: Route
    routed: bool = False  # a non-local address whose local part routes further (user%h@relay)
    notes: tuple[str, ...] = field(default=())

    @property
    def transport(self) -> str:
        return self.route.transport

    @property
    def nexthop(self) -> str:
        return self.route.nexthop


def _split_transport(value: str, default_nexthop: str) -> Route:
    transport, _, nexthop = value.partition(":")
    return Route(transport, nexthop or default_nexthop)


class Resolver:
    """Resolves recipients for one configuration (tables opened through the context)."""

    def __init__(self, context: RoutingContext) -> None:
        self.context = context
        config = context.config
        self.config = config
        self.sender_routes = SenderRoutes(context)
        self.myhostname = config.get("myhostname")
        self.delimiters = config.get("recipient_delimiter")
        self.percent_hack = config.get_bool("allow_percent_hack")
        self.swap_bangpath = config.get_bool("swap_bangpath")
        self.resolve_null_domain = config.get_bool("resolve_null_domain")
        self.show_table = config.get_bool("show_user_unknown_table_name")
        self._own_addresses = interface_addresses(
            config.get_list("inet_interfaces") + config.get_list("proxy_interfaces")
        )
        # one cache per thread: cleanup routes messages from several threads at once
        self._local = threading.local()
        self._resolved: TtlCache[str, Resolution] = TtlCache(RESOLVE_TTL, RESOLVE_CACHE_SIZE)

    @contextmanager
    def message_cache(self) -> Iterator[None]:
        """Classify each domain once while one message is routed.

        Postfix's smtpd and cleanup cache address resolutions as well; the cache lives only
        for this block (and this thread), so table changes are seen by the next message.
        """
        self._local.cache = {}
        try:
            yield
        finally:
            self._local.cache = None

    def is_local(self, domain: str, trace: Trace | None = None) -> bool:
        """Postfix's resolve_local: ``mydestination`` or one of our IP literals."""
        name = domain.lower().rstrip(".")
        if self.context.domain_list("mydestination").match(name, trace):
            return True
        if name.startswith("[") and name.endswith("]"):
            literal = name[1:-1]
            if literal.startswith("ipv6:"):
                literal = literal[5:]
            try:
                return ipaddress.ip_address(literal) in self._own_addresses
            except ValueError:
                return False
        return False

    def resolve(
        self, recipient: Address, trace: Trace | None = None, sender: str | None = None
    ) -> Resolution:
        """Class, transport and next hop for ``recipient``; TableError if a lookup fails.

        An answer is reused for :data:`RESOLVE_TTL` seconds (not when tracing): smtpd at
        RCPT, cleanup and the queue manager resolve the same recipient in turn, and a
        busy server resolves the same recipients over and over. Postfix's smtpd keeps
        its resolutions (100 of them) for the life of the process; here a table change
        shows within the second.
        """
        if not self.sender_routes:
            sender = None  # the answer does not depend on it
        if trace is not None:
            return self._resolve(recipient, trace, sender)
        key = recipient.internal if sender is None else f"{recipient.internal}\0{sender}"
        resolution = self._resolved.get(key, None)
        if resolution is None:
            resolution = self._resolve(recipient, None, sender)
            self._resolved.put(key, resolution)
        return resolution

    def _resolve(self, recipient: Address, trace: Trace | None, sender: str | None) -> Resolution:
        address = recipient
        while address.has_at and address.domain and self.is_local(address.domain, trace):
            inner = self._strip_local_route(address)
            if inner is None:
                break
            address = inner
        if not address.has_at:
            address = address.with_domain(self.myhostname)
        domain = address.domain.lower().rstrip(".")
        if not domain:
            if not self.resolve_null_domain:
                return Resolution(
                    address,
                    AddressClass.DEFAULT,
                    Route("error", "5.1.3 bad address syntax"),
                )
            domain = self.myhostname
            address = address.with_domain(domain)
        address_class, route = self._classify(domain, trace)
        if sender is not None and address_class in (AddressClass.RELAY, AddressClass.DEFAULT):
            default_class = address_class is AddressClass.DEFAULT
            route = self.sender_routes.route(sender, default_class, domain, trace)
        if address_class is not AddressClass.VIRTUAL_ALIAS:
            transport_maps = self.context.maps("transport_maps")
            if transport_maps:
                parent_style = "transport_maps" in self.config.get_list(
                    "parent_domain_matches_subdomains"
                )
                found = find_transport(
                    transport_maps,
                    address,
                    route,
                    delimiters=self.delimiters,
                    parent_style=parent_style,
                    trace=trace,
                )
                if found is not None:
                    route = found
        relocated = self.context.maps("relocated_maps")
        if relocated:  # after transport_maps, for every class, as trivial-rewrite does
            moved = find_address(
                relocated, address, delimiters=self.delimiters, is_local=self.is_local, trace=trace
            )
            if moved is not None:
                route = Route("error", f"5.1.6 User has moved to {moved.value.strip()}")
        # Routed means the address leaves this machine with a routing operator still in
        # its local part (user%host@relaydomain), so the next hop would route it further.
        # Operators in front of one of our own domains are resolved here and do not
        # count: Postfix accepts joe%relaydomain@ourhost from any client.
        routed = address_class is not AddressClass.LOCAL and self._has_route(address.local)
        return Resolution(address, address_class, route, routed)

    def _has_route(self, local: str) -> bool:
        """Whether a local part holds an active routing operator (``@``, ``%``, ``!``)."""
        return (
            "@" in local
            or (self.percent_hack and "%" in local)
            or (self.swap_bangpath and "!" in local)
        )

    def _strip_local_route(self, address: Address) -> Address | None:
        """``user@host@ourdomain`` / ``user%host@ourdomain`` / ``host!user@ourdomain``."""
        local = address.local
        if "@" in local:
            return Address.from_internal(local)
        if self.percent_hack and "%" in local:
            user, _, host = local.rpartition("%")
            return Address(user, host)
        if self.swap_bangpath and "!" in local:
            host, _, user = local.partition("!")
            return Address(user, host)
        return None

    def _classify(self, domain: str, trace: Trace | None) -> tuple[AddressClass, Route]:
        cache: dict[str, tuple[AddressClass, Route]] | None = getattr(self._local, "cache", None)
        if cache is None:
            return self._classify_uncached(domain, trace)
        result = cache.get(domain)
        if result is None:
            result = cache[domain] = self._classify_uncached(domain, trace)
        return result

    def _classify_uncached(self, domain: str, trace: Trace | None) -> tuple[AddressClass, Route]:
        config = self.config
        if self.is_local(domain, trace):
            # No next hop in local_transport means the recipient domain, as for the other
            # classes; the default value "local:$myhostname" names $myhostname itself.
            return AddressClass.LOCAL, _split_transport(config.get("local_transport"), domain)
        if self.context.domain_list("virtual_alias_domains").match(domain, trace):
            text = "5.1.1 User unknown" + (" in virtual alias table" if self.show_table else "")
            return AddressClass.VIRTUAL_ALIAS, Route("error", text)
        if self.context.domain_list("virtual_mailbox_domains").match(domain, trace):
            return AddressClass.VIRTUAL, _split_transport(config.get("virtual_transport"), domain)
        relayhost = config.get("relayhost")
        if self.context.domain_list("relay_domains").match(domain, trace):
            return AddressClass.RELAY, _split_transport(
                config.get("relay_transport"), relayhost or domain
            )
        return AddressClass.DEFAULT, _split_transport(
            config.get("default_transport"), relayhost or domain
        )
