"""The hosts behind a name, as access table keys: Postfix's check_server_access.

``check_{client,reverse_client_hostname,helo,sender,recipient}_{a,mx,ns}_access`` search
an access table for the servers of a client or HELO host name or of an address's domain:
``a`` its own addresses; ``mx`` its MX hosts (the name itself when it has no MX record or
does not exist, nothing for a null MX); ``ns`` its name servers (those of the nearest
parent domain that has some). A host is searched by name (parent domains too; not for
``a``), then by each of its addresses (the system resolver's, like Postfix's getaddrinfo,
in the families of ``inet_protocols``) and their networks. An address literal is its own
A record and MX host. The caller stops at the first key found, so a DUNNO entry excludes
a host; a lookup that fails skips the check, with a warning.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import idna

from vmail.dns import DnsLookupError, LookupStatus, Resolver
from vmail.policy.access import host_keys, network_keys
from vmail.protocol.smtp.hostnames import is_ip_address, literal_address

SERVER_TYPES = {"a": "A", "mx": "MX", "ns": "NS"}
"""The record each check_*_{a,mx,ns}_access follows, by the suffix of its name."""

Keys = list[tuple[str, bool]]
Warn = Callable[..., None]
"""Records a warning: ``warn(message, *args)`` as for logging."""

_NOT_FOUND = (LookupStatus.NOT_FOUND, LookupStatus.NO_DATA)


def ip_versions(inet_protocols: list[str]) -> frozenset[int]:
    """The IP versions ``inet_protocols`` allows (``all``, ``ipv4``, ``ipv6``)."""
    words = {word.lower() for word in inet_protocols}
    if "all" in words:
        return frozenset({4, 6})
    return frozenset(v for v, word in ((4, "ipv4"), (6, "ipv6")) if word in words)


def ascii_domain(domain: str) -> str:
    """A domain in its ASCII (IDNA, UTS 46) form for DNS; unchanged if it has none."""
    if domain.isascii():
        return domain
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        return domain


@dataclass(frozen=True)
class ServerKeys:
    """Turns a name into the access table keys of its servers (see the module)."""

    dns: Resolver
    parent_style: bool  # parent_domain_matches_subdomains has smtpd_access_maps
    versions: frozenset[int]  # from inet_protocols

    def search(self, name: str, rtype: str, warn: Warn, subject: str) -> Iterator[Keys]:
        """One key list per server name or address, in Postfix's order, for ``name`` (a
        host name or an address, whose domain counts); DNS is asked as the caller reads
        on. ``subject`` names the request in warnings (``Recipient address a@b``)."""
        domain = name.rpartition("@")[2]
        if domain.startswith("["):
            address = literal_address(domain) if rtype != "ns" else None
            if address is not None:
                yield list(network_keys(address))
            return
        for server in self._servers(ascii_domain(domain), rtype, name, warn):
            if is_ip_address(server):
                yield list(network_keys(server))
                continue
            if rtype != "a":
                yield list(host_keys(server, self.parent_style))
            for address in self._addresses(server, rtype, warn, subject):
                yield list(network_keys(address))

    def _servers(self, domain: str, rtype: str, name: str, warn: Warn) -> list[str]:
        """The hosts to search: the name itself for ``a``, else its MX or NS hosts."""
        if rtype == "a":
            return [domain]
        try:
            if rtype == "mx":
                records = self.dns.lookup_mx(domain)
                if any(not mx.exchange for mx in records):
                    return []  # a null MX: the domain receives no mail, nothing to check
                return [mx.exchange for mx in records] or [domain]
            return self._name_servers(domain)
        except DnsLookupError as e:
            if rtype == "mx" and e.status in _NOT_FOUND:
                return [domain]  # no MX record (or no such name): the name is its own MX
            where = e.name if e.status not in _NOT_FOUND else name
            warn("Unable to look up %s host for %s: %s", SERVER_TYPES[rtype], where, e.status)
            return []

    def _name_servers(self, domain: str) -> list[str]:
        """The NS hosts of ``domain`` or of its nearest parent that has some; raises the
        last DnsLookupError when none has (names a parent while going up)."""
        while True:
            try:
                servers = self.dns.lookup_ns(domain)
            except DnsLookupError as e:
                if e.status not in _NOT_FOUND:
                    raise
                error = e
            else:
                if servers:
                    return servers
                error = DnsLookupError(domain, "NS", LookupStatus.NO_DATA)
            parent = domain.partition(".")[2]
            if not parent:
                raise error
            domain = parent

    def _addresses(self, host: str, rtype: str, warn: Warn, subject: str) -> list[str]:
        """The host's addresses in the allowed families; none (with a warning for MX and
        NS hosts) when it cannot be looked up."""
        try:
            addresses = self.dns.lookup_host(host)
        except DnsLookupError as e:
            if rtype != "a":
                warn(
                    "Unable to look up %s host %s for %s: %s",
                    SERVER_TYPES[rtype],
                    host,
                    subject,
                    e.resolver_text,
                )
            return []
        return [a for a in addresses if ipaddress.ip_address(a).version in self.versions]
