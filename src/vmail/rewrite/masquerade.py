"""Address masquerading: ``masquerade_domains`` strips the subdomain part of an address,
as Postfix's cleanup(8) does (cleanup_masq.c).

The list is read left to right and the first domain that the address's domain is a
subdomain of decides: ``user@host.example.com`` becomes ``user@example.com`` for
``example.com``; an entry ``!foo.example.com`` leaves that domain and its subdomains
alone, and an address in a listed domain itself stops the search unchanged. User names in
``masquerade_exceptions`` (names, ``type:table``, ``/file``, ``!name``) are never
masqueraded. ``masquerade_classes`` says which kinds of address it applies to
(``envelope_sender``, ``envelope_recipient``, ``header_sender``, ``header_recipient``).
"""

from __future__ import annotations

from vmail.core.address import Address
from vmail.rewrite.context import RoutingContext


class Masquerade:
    """The masquerading of one configuration (exceptions in tables block)."""

    def __init__(self, context: RoutingContext) -> None:
        config = context.config
        self.domains = [d.lower() for d in config.get_list("masquerade_domains")]
        self.exceptions = context.domain_list("masquerade_exceptions")
        self.classes = frozenset(config.get_list("masquerade_classes"))

    def applies(self, kind: str) -> bool:
        return bool(self.domains) and kind in self.classes

    def strip(self, address: Address, kind: str) -> Address:
        """``address`` masqueraded, if ``kind`` is masqueraded and a domain matches."""
        if not self.applies(kind) or not address.has_at:
            return address
        if self.exceptions and self.exceptions.match(address.local):
            return address
        domain = address.domain.lower()
        for entry in self.domains:
            excluded = entry.startswith("!")
            masq = entry.lstrip("!")
            if not masq:
                continue
            if domain == masq:
                return address
            if domain.endswith("." + masq):
                return address if excluded else address.with_domain(masq)
        return address


__all__ = ["Masquerade"]
