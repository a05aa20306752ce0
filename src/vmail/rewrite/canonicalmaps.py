"""canonical(5): one-to-one address mapping with ``canonical_maps`` and its sender and
recipient variants, as Postfix's cleanup(8) applies them.

An address of one *kind* (``envelope_sender``, ``envelope_recipient``, ``header_sender``,
``header_recipient``) goes through ``sender_canonical_maps`` (sender kinds) or
``recipient_canonical_maps`` (recipient kinds), then ``canonical_maps``, each only when
its ``*_canonical_classes`` names the kind. Each table list is searched as canonical(5)
says (``user+ext@domain``, ``user@domain``, ``user+ext`` and ``user`` when the domain
is local, ``@domain``); a result ``@otherdomain`` keeps the user, an unmatched extension
is kept when ``propagate_unmatched_extensions`` names ``canonical``, and the result is
made canonical (``@$myorigin``, ``.$mydomain``). A result is looked up again, at most
ten times, until nothing matches or the address maps to itself. Then, as in Postfix,
``masquerade_domains`` strips subdomains (:mod:`vmail.rewrite.masquerade`). A table that
cannot be searched raises :class:`~vmail.core.errors.TableError`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from vmail.core.address import Address
from vmail.rewrite.addrfind import map_once
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.masquerade import Masquerade
from vmail.tables import Maps
from vmail.tables.base import Trace

log = logging.getLogger("vmail.cleanup")

KINDS = ("envelope_sender", "envelope_recipient", "header_sender", "header_recipient")
MAX_RECURSION = 10  # cleanup_map11.c


class CanonicalMaps:
    """The canonical mappings of one configuration (lookups block on tables)."""

    def __init__(
        self, context: RoutingContext, canonical: Canonicalizer, is_local: Callable[[str], bool]
    ) -> None:
        config = context.config
        self.canonical = canonical
        self.is_local = is_local
        self.delimiters = config.get("recipient_delimiter")
        self.propagate = "canonical" in config.get_list("propagate_unmatched_extensions")
        sender = self._classes(context, "sender_canonical")
        recipient = self._classes(context, "recipient_canonical")
        common = self._classes(context, "canonical")
        self.masquerade = Masquerade(context)
        self._lists: dict[str, list[Maps]] = {}
        for kind in KINDS:
            specific = sender if kind.endswith("sender") else recipient
            self._lists[kind] = [m for m, kinds in (specific, common) if m and kind in kinds]

    @staticmethod
    def _classes(context: RoutingContext, prefix: str) -> tuple[Maps, frozenset[str]]:
        classes = frozenset(context.config.get_list(f"{prefix}_classes")) & set(KINDS)
        return context.maps(f"{prefix}_maps"), classes

    def __bool__(self) -> bool:
        return any(self.applies(kind) for kind in KINDS)

    def applies(self, kind: str) -> bool:
        """Whether any table list or masquerading maps addresses of ``kind``."""
        return bool(self._lists[kind]) or self.masquerade.applies(kind)

    def map(self, address: Address, kind: str, trace: Trace | None = None) -> Address:
        """``address`` (canonical form) after the mappings for ``kind``."""
        for maps in self._lists[kind]:
            address = self._map11(maps, address, trace)
        return self.masquerade.strip(address, kind)

    def _map11(self, maps: Maps, address: Address, trace: Trace | None) -> Address:
        for _ in range(MAX_RECURSION):
            mapped = map_once(
                maps,
                address,
                self.canonical,
                delimiters=self.delimiters,
                is_local=self.is_local,
                propagate=self.propagate,
                logger=log,
                trace=trace,
            )
            if mapped is None:
                return address
            previous, address = address, mapped
            if address.internal.lower() == previous.internal.lower():
                return address
        log.warning("unreasonable %s map nesting for %s", maps.parameter, address.external)
        return address


__all__ = ["KINDS", "CanonicalMaps"]
