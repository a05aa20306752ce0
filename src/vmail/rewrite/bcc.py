"""Automatic BCC recipients: ``sender_bcc_maps``, ``recipient_bcc_maps`` and ``always_bcc``.

As Postfix's cleanup(8) adds them to mail that enters from outside (SMTP, ``sendmail``;
not bounces, and not with ``receive_override_options = no_address_mappings``): the
sender's BCC address first, then after each recipient the one ``recipient_bcc_maps``
gives for it (both looked up as cleanup looks up addresses: ``user+ext@domain``,
``user@domain``, ``user`` for local domains, ``@domain``), and ``always_bcc`` last. Each
is one address (Postfix supports no lists here), goes through virtual alias expansion
like any recipient, and gets ``NOTIFY=NEVER``: its bounces and notices are not sent.
"""

from __future__ import annotations

from collections.abc import Callable

from vmail.core.address import Address
from vmail.rewrite.addrfind import find_address
from vmail.rewrite.context import RoutingContext
from vmail.tables import Maps


class BccMaps:
    """The BCC settings of one configuration (lookups block on tables)."""

    def __init__(self, context: RoutingContext, is_local: Callable[[str], bool]) -> None:
        config = context.config
        self.sender_maps = context.maps("sender_bcc_maps")
        self.recipient_maps = context.maps("recipient_bcc_maps")
        self.always = config.get("always_bcc").strip()
        self.delimiters = config.get("recipient_delimiter")
        self.is_local = is_local

    def __bool__(self) -> bool:
        return bool(self.sender_maps or self.recipient_maps or self.always)

    def for_sender(self, sender: Address) -> str | None:
        """The BCC address for mail from ``sender`` (None for the null sender)."""
        return self._find(self.sender_maps, sender) if sender.local or sender.domain else None

    def for_recipient(self, recipient: Address) -> str | None:
        """The BCC address for mail to ``recipient`` (canonical, before alias expansion)."""
        return self._find(self.recipient_maps, recipient)

    def _find(self, maps: Maps, address: Address) -> str | None:
        if not maps:
            return None
        found = find_address(maps, address, delimiters=self.delimiters, is_local=self.is_local)
        return found.value.strip() or None if found is not None else None


__all__ = ["BccMaps"]
