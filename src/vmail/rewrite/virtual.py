"""Virtual alias expansion, as virtual(5) specifies and Postfix's cleanup(8) performs it.

Each address is looked up in ``virtual_alias_maps`` (see :mod:`vmail.rewrite.addrfind`);
a hit replaces it with the result addresses, which are expanded in turn. An address that
maps to itself (among others) is kept and not expanded again. Expansion fails — the
message is deferred with ``4.6.0 Alias expansion error`` — when nesting exceeds
``virtual_alias_recursion_limit``, the result grows past
``virtual_alias_expansion_limit`` addresses, a result address is longer than
``virtual_alias_address_length_limit``, or a table lookup fails.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vmail.core.address import Address
from vmail.core.errors import TableError
from vmail.rewrite.addrfind import find_address, map_address
from vmail.rewrite.canonical import Canonicalizer
from vmail.rewrite.context import RoutingContext
from vmail.tables.base import Trace

EXPANSION_ERROR = "4.6.0 Alias expansion error"


class AliasExpansionError(Exception):
    """Expansion failed; the message must be deferred. ``reason`` says why (for logs)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Expansion:
    """The final addresses one recipient expands into, in order."""

    recipients: tuple[Address, ...]


class VirtualAliasExpander:
    """Expands recipients through ``virtual_alias_maps`` for one configuration."""

    def __init__(
        self,
        context: RoutingContext,
        canonical: Canonicalizer,
        is_local_domain: Callable[[str], bool],
    ) -> None:
        config = context.config
        self.maps = context.maps("virtual_alias_maps")
        self.canonical = canonical
        self.delimiters = config.get("recipient_delimiter")
        self.propagate = "virtual" in config.get_list("propagate_unmatched_extensions")
        self.recursion_limit = config.get_int("virtual_alias_recursion_limit")
        self.expansion_limit = config.get_int("virtual_alias_expansion_limit")
        self.length_limit = config.get_int("virtual_alias_address_length_limit")
        self._is_local = is_local_domain

    def expand(self, recipient: Address, trace: Trace | None = None) -> Expansion:
        """Expand one recipient; AliasExpansionError when the message must be deferred."""
        if not self.maps:
            return Expansion((recipient,))
        addresses: list[Address] = [recipient]
        expanded_into_itself: set[str] = set()
        position = 0
        while position < len(addresses):
            if len(addresses) > self.expansion_limit:
                raise AliasExpansionError(
                    f"unreasonable virtual_alias_maps map expansion size for {recipient}"
                )
            count = 0
            while True:
                current = addresses[position]
                if current.internal.lower() in expanded_into_itself:
                    break
                if count >= self.recursion_limit:
                    raise AliasExpansionError(
                        f"unreasonable virtual_alias_maps map nesting for {recipient}"
                    )
                results = self._lookup(current, trace)
                if results is None:
                    break
                for i, result in enumerate(results):
                    if len(result.external) > self.length_limit:
                        raise AliasExpansionError(
                            f"unreasonable virtual_alias_maps result {result.external[:300]}"
                        )
                    if i == 0:
                        addresses[position] = result
                    else:
                        addresses.append(result)
                    if result.internal.lower() == current.internal.lower():
                        expanded_into_itself.add(current.internal.lower())
                if not results:
                    break
                count += 1
            position += 1
        return Expansion(tuple(addresses))

    def _lookup(self, address: Address, trace: Trace | None) -> list[Address] | None:
        try:
            found = find_address(
                self.maps,
                address,
                delimiters=self.delimiters,
                is_local=self._is_local,
                trace=trace,
            )
        except TableError as e:
            raise AliasExpansionError(
                f"virtual_alias_maps map lookup problem for {address}: {e}"
            ) from e
        if found is None:
            return None
        return map_address(found, address, self.canonical, propagate=self.propagate)
