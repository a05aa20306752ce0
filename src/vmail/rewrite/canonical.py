"""Canonical form of an address, as trivial-rewrite(8) makes it before any lookup.

Rewriting in the "local" context: ``site!user`` becomes ``user@site``
(``swap_bangpath``), ``user%domain`` becomes ``user@domain`` (``allow_percent_hack``), an
address without a domain gets ``@$myorigin`` (``append_at_myorigin``), a domain without a
dot gets ``.$mydomain`` (``append_dot_mydomain``), and a trailing dot is removed.
"""

from __future__ import annotations

from vmail.config import MainConfig
from vmail.core.address import Address


class Canonicalizer:
    """Rewrites addresses to ``user@fully.qualified.domain`` using one configuration."""

    def __init__(self, config: MainConfig) -> None:
        self.swap_bangpath = config.get_bool("swap_bangpath")
        self.percent_hack = config.get_bool("allow_percent_hack")
        self.append_at_myorigin = config.get_bool("append_at_myorigin")
        self.append_dot_mydomain = config.get_bool("append_dot_mydomain")
        self.myorigin = config.get("myorigin")
        self.mydomain = config.get("mydomain")

    def rewrite(self, address: Address) -> Address:
        if not address.has_at:
            address = self._route_operators(address)
        if not address.has_at:
            if not self.append_at_myorigin or not address.local:
                return address
            address = Address(address.local, self.myorigin)
        domain = address.domain.rstrip(".") if address.domain not in ("", ".") else address.domain
        if (
            self.append_dot_mydomain
            and domain
            and "." not in domain
            and not domain.startswith("[")
            and self.mydomain
        ):
            domain = f"{domain}.{self.mydomain}"
        return address if domain == address.domain else address.with_domain(domain)

    def _route_operators(self, address: Address) -> Address:
        local = address.local
        if self.swap_bangpath and "!" in local:
            site, _, user = local.partition("!")
            if site and user:
                return Address(user, site)
        if self.percent_hack and "%" in local:
            user, _, site = local.rpartition("%")
            if user and site:
                return Address(user, site)
        return address
