"""DNS lookups behind a small interface, so tests can inject a fake resolver.

:class:`Resolver` is what smtpd's restrictions ask: does a domain exist, DNS lists, the
MX and NS hosts of a name and their addresses. :class:`MxResolver` is what the SMTP client
needs: MX records and host addresses. Failures are raised as :class:`DnsLookupError`
carrying Postfix's words (``Name service error for name=example.invalid type=MX: Host not
found``). :class:`DnsPythonMxResolver` is the real one (dnspython); :func:`native_addresses`
asks the system resolver instead (``smtp_host_lookup = native``).
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Resolver(Protocol):
    """What smtpd's restrictions need from DNS."""

    def domain_exists(self, domain: str) -> bool | None:
        """True if the domain has MX, A or AAAA records; False if not; None if DNS failed."""

    def lookup_a(self, name: str) -> list[str] | None:
        """The A records of ``name`` (DNS blocklists); ``[]`` when there are none, None
        when DNS failed."""

    def lookup_txt(self, name: str) -> list[str]:
        """The TXT records of ``name`` (a blocklist's reason), each record's strings
        joined; ``[]`` on any failure."""

    def lookup_mx(self, domain: str) -> list[MxRecord]:
        """The domain's MX records in DNS order; ``[]`` when it has none.

        Raises :class:`DnsLookupError` when the domain does not exist or DNS fails.
        """

    def lookup_ns(self, domain: str) -> list[str]:
        """The domain's name servers (without the trailing dot); ``[]`` when it has none.

        Raises :class:`DnsLookupError` when the domain does not exist or DNS fails.
        """

    def lookup_addresses(self, host: str) -> list[str]:
        """The host's A and AAAA records from DNS (never empty); raises DnsLookupError."""

    def lookup_host(self, host: str) -> list[str]:
        """The host's addresses as the system resolver gives them (``/etc/hosts``, then
        DNS), as Postfix's smtpd looks up MX and NS hosts (never empty); raises
        DnsLookupError."""


class LookupStatus(StrEnum):
    """Why a lookup found nothing, in the words of Postfix's dns_strerror()."""

    NOT_FOUND = "Host not found"
    TRY_AGAIN = "Host not found, try again"
    NO_DATA = "Host found but no data record of requested type"


class DnsLookupError(Exception):
    """A lookup that gave no usable answer; ``temporary`` when it may work later."""

    def __init__(self, name: str, rtype: str, status: LookupStatus) -> None:
        self.name = name
        self.rtype = rtype
        self.status = status
        super().__init__(f"Name service error for name={name} type={rtype}: {status.value}")

    @property
    def temporary(self) -> bool:
        return self.status is LookupStatus.TRY_AGAIN

    @property
    def resolver_text(self) -> str:
        """The failure in the system resolver's words (gai_strerror), as Postfix reports
        a host it looked up with getaddrinfo: ``Name or service not known``."""
        return _RESOLVER_TEXT[self.status]


_RESOLVER_TEXT = {
    LookupStatus.NOT_FOUND: "Name or service not known",
    LookupStatus.TRY_AGAIN: "Temporary failure in name resolution",
    LookupStatus.NO_DATA: "No address associated with hostname",
}


@dataclass(frozen=True, order=True)
class MxRecord:
    """One MX record; ``exchange`` without the trailing dot (``""`` for a null MX)."""

    preference: int
    exchange: str


class MxResolver(Protocol):
    """What the SMTP client needs from DNS."""

    def lookup_mx(self, domain: str) -> list[MxRecord]:
        """The domain's MX records; ``[]`` when it exists but has none.

        Raises :class:`DnsLookupError` when the domain does not exist or DNS fails.
        """

    def lookup_addresses(self, host: str) -> list[str]:
        """The host's IPv4 and IPv6 addresses (never empty); raises DnsLookupError."""


class DnsPythonMxResolver:
    """:class:`MxResolver` and :class:`Resolver` over dnspython's stub resolver
    (``/etc/resolv.conf``): the SMTP client's lookups and smtpd's ``reject_unknown_*``."""

    def __init__(self, lifetime: float = 10.0) -> None:
        import dns.resolver

        try:
            self._resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            # no /etc/resolv.conf (some containers): ask a local resolver, as the C
            # library does; a lookup then fails (temporarily) instead of vmail serve
            self._resolver = dns.resolver.Resolver(configure=False)
            self._resolver.nameservers = ["127.0.0.1"]
        self._resolver.lifetime = lifetime

    def _query(self, name: str, rtype: str) -> list[str]:
        import dns.exception
        import dns.resolver

        try:
            answer = self._resolver.resolve(name, rtype, search=False)
        except dns.resolver.NXDOMAIN:
            raise DnsLookupError(name, rtype, LookupStatus.NOT_FOUND) from None
        except dns.resolver.NoAnswer:
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout, dns.exception.DNSException):
            raise DnsLookupError(name, rtype, LookupStatus.TRY_AGAIN) from None
        return [rr.to_text() for rr in answer]

    def lookup_mx(self, domain: str) -> list[MxRecord]:
        records = []
        for text in self._query(domain, "MX"):
            preference, _, exchange = text.partition(" ")
            records.append(MxRecord(int(preference), exchange.rstrip(".")))
        return records

    def lookup_ns(self, domain: str) -> list[str]:
        return [text.rstrip(".") for text in self._query(domain, "NS")]

    def lookup_host(self, host: str) -> list[str]:
        return native_addresses(host)

    def domain_exists(self, domain: str) -> bool | None:
        """Whether ``domain`` has an MX, A or AAAA record, as Postfix's
        reject_unknown_*_domain and reject_unknown_helo_hostname ask: False when it
        does not exist or has none of them, None when DNS failed."""
        failed = False
        for rtype in ("MX", "A", "AAAA"):
            try:
                if self._query(domain, rtype):
                    return True
            except DnsLookupError as e:
                if not e.temporary:
                    return False  # NXDOMAIN: the other types cannot exist either
                failed = True
        return None if failed else False

    def lookup_a(self, name: str) -> list[str] | None:
        try:
            return self._query(name, "A")
        except DnsLookupError as e:
            return None if e.temporary else []

    def lookup_txt(self, name: str) -> list[str]:
        try:
            texts = self._query(name, "TXT")
        except DnsLookupError:
            return []
        return ["".join(_unquote(s) for s in _TXT_STRING.findall(text)) for text in texts]

    def lookup_addresses(self, host: str) -> list[str]:
        found: list[str] = []
        errors: list[DnsLookupError] = []
        for rtype in ("A", "AAAA"):
            try:
                found += self._query(host, rtype)
            except DnsLookupError as e:
                errors.append(e)
        if found:
            return found
        for error in errors:
            if error.temporary:
                raise error
        if errors:
            raise errors[0]
        raise DnsLookupError(host, "AAAA", LookupStatus.NO_DATA)


_TXT_STRING = re.compile(r'"((?:[^"\\]|\\.)*)"')
_ESCAPE = re.compile(r"\\(\d{3}|.)")


def _unquote(text: str) -> str:
    """One character string of a TXT record in zone file form, its escapes undone."""
    return _ESCAPE.sub(lambda m: chr(int(m[1])) if m[1].isdigit() else m[1], text)


_GAI_STATUS = {
    socket.EAI_AGAIN: LookupStatus.TRY_AGAIN,
    getattr(socket, "EAI_NODATA", socket.EAI_NONAME): LookupStatus.NO_DATA,
    socket.EAI_NONAME: LookupStatus.NOT_FOUND,
}


def native_addresses(host: str, port: int = 0) -> list[str]:
    """Addresses from the system resolver (``/etc/hosts``, NSS); raises DnsLookupError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        status = _GAI_STATUS.get(e.errno, LookupStatus.NOT_FOUND)
        raise DnsLookupError(host, "A", status) from None
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    return addresses
