"""generic(5): the address mapping of outbound mail (``smtp_generic_maps``,
``lmtp_generic_maps``), as Postfix's smtp(8) applies it when mail leaves the machine.

It maps the envelope sender, the envelope recipients and the addresses of the sender and
recipient headers, once each (no recursion), with canonical(5)'s search order:
``user+ext@domain``, ``user@domain``, ``user+ext`` and ``user`` when the domain is
``$myorigin`` or in ``$mydestination``, ``@domain``. A result ``@otherdomain`` keeps the
user; an unmatched extension is kept when ``propagate_unmatched_extensions`` names
``generic``. A table that cannot be searched raises
:class:`~vmail.core.errors.TableError`.
"""

from __future__ import annotations

import logging

from vmail.core.address import Address
from vmail.rewrite.addrfind import map_once
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.headeraddrs import HeaderRewriter

log = logging.getLogger("vmail.delivery.smtp")


class GenericMaps:
    """One agent's generic mapping (lookups block on tables)."""

    def __init__(self, context: RoutingContext, parameter: str) -> None:
        config = context.config
        self.maps = context.maps(parameter)
        self.canonical = Canonicalizer(config)
        self.delimiters = config.get("recipient_delimiter")
        self.propagate = "generic" in config.get_list("propagate_unmatched_extensions")
        self.myorigin = config.get("myorigin").lower()
        self.mydestination = context.domain_list("mydestination")

    def __bool__(self) -> bool:
        return bool(self.maps)

    def _is_local(self, domain: str) -> bool:
        name = domain.lower().rstrip(".")
        return name == self.myorigin or self.mydestination.match(name)

    def map(self, address: Address) -> Address:
        """``address`` after the mapping (itself when nothing matches)."""
        if not address.internal:
            return address  # the null sender
        mapped = map_once(
            self.maps,
            address,
            self.canonical,
            delimiters=self.delimiters,
            is_local=self._is_local,
            propagate=self.propagate,
            logger=log,
        )
        return address if mapped is None else mapped

    def map_internal(self, address: str) -> str:
        """The same for an address in internal form."""
        return self.map(Address.from_internal(address)).internal if address else address


def header_mapping(generic: GenericMaps, limit: int) -> HeaderRewriter:
    """The stage that maps the sender and recipient header addresses."""
    return HeaderRewriter(limit, (generic.map, generic.map), frozenset())


__all__ = ["GenericMaps", "header_mapping"]
