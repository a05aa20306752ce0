"""permit_mx_backup: relay for a domain this machine is a backup MX host of.

As Postfix 3.7 decides it once the recipient's domain is neither ours nor a relay domain
(those are permitted before DNS is asked): the domain's MX hosts are split into the
primaries (the lowest preference) and the backups. This machine must not be a primary and
must be one of the backups: an MX host is this machine when its name is in
``mydestination`` (or is one of our address literals) or, failing that for every host,
when one of its addresses (system resolver) is in ``inet_interfaces`` or
``proxy_interfaces``. With ``permit_mx_backup_networks`` set, every address (DNS) of
every primary must also be in those networks.

A temporary DNS failure does not permit, and turns a later rejection into a deferral
(Postfix's DEFER_IF_REJECT): the callback gets the reason, ``Unable to look up mail
exchanger information: Host not found, try again``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

from vmail.config.hostinfo import IPAddress
from vmail.core.errors import TableError
from vmail.dns import DnsLookupError, LookupStatus, Resolver
from vmail.policy.dnsaccess import ascii_domain
from vmail.policy.networks import NetworkList

Defer = Callable[[str], None]
"""Records why a rejection should be a deferral (the first reason counts)."""


@dataclass(frozen=True)
class MxBackup:
    """The permit_mx_backup test for one configuration (see the module)."""

    dns: Resolver
    is_local: Callable[[str], bool]  # Postfix's resolve_local: mydestination, our literals
    addresses: frozenset[IPAddress]  # inet_interfaces and proxy_interfaces
    networks: NetworkList | None  # permit_mx_backup_networks, None when empty
    versions: frozenset[int]  # the IP versions of inet_protocols

    def permits(self, domain: str, defer: Defer) -> bool:
        """Whether this machine is a backup (not a primary) MX host of ``domain``."""
        try:
            records = self.dns.lookup_mx(ascii_domain(domain))
        except DnsLookupError as e:
            if e.temporary:
                defer(f"Unable to look up mail exchanger information: {e.status}")
            return False
        if not records or any(not mx.exchange for mx in records):
            return False  # no MX record, or a null MX
        best = min(mx.preference for mx in records)
        primaries = [mx.exchange for mx in records if mx.preference == best]
        by_preference = sorted(records, key=lambda mx: mx.preference)
        backups = [mx.exchange for mx in by_preference if mx.preference != best]
        if self._is_me(primaries, defer) or not self._is_me(backups, defer):
            return False
        networks = self.networks
        return networks is None or all(self._authorized(mx, networks, defer) for mx in primaries)

    def _is_me(self, hosts: list[str], defer: Defer) -> bool:
        """Postfix's i_am_mx: a host named as a local domain, else one with our address."""
        return any(self._local_name(host) for host in hosts) or any(
            self._has_my_address(host, defer) for host in hosts
        )

    def _local_name(self, host: str) -> bool:
        try:
            return self.is_local(host)
        except TableError:
            return False  # Postfix goes on to the addresses when the lookup fails

    def _has_my_address(self, host: str, defer: Defer) -> bool:
        try:
            found = self.dns.lookup_host(host)
        except DnsLookupError as e:
            defer(f"Unable to look up mail exchanger host {host}: {e.resolver_text}")
            return False
        return any(address in self.addresses for address in self._usable(found))

    def _authorized(self, host: str, networks: NetworkList, defer: Defer) -> bool:
        """Every DNS address of the primary MX host is in permit_mx_backup_networks."""
        try:
            addresses = self._usable(self.dns.lookup_addresses(host))
            if not addresses:
                raise DnsLookupError(host, "A", LookupStatus.NO_DATA)
        except DnsLookupError as e:
            defer(f"Unable to look up host {host} as mail exchanger: {e.status}")
            return False
        try:
            return all(networks.match(str(address), host) for address in addresses)
        except TableError:
            defer(f"Unable to verify host {host} as mail exchanger")
            return False

    def _usable(self, addresses: list[str]) -> list[IPAddress]:
        """The addresses in the IP versions of inet_protocols."""
        parsed = [ipaddress.ip_address(a) for a in addresses]
        return [a for a in parsed if a.version in self.versions]
