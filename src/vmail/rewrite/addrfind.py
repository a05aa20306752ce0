"""Address lookups in the order virtual(5) documents, and mapping results to addresses.

:func:`find_address` searches a table list for ``user+ext@domain``, then ``user@domain``,
then — only when the domain is local — ``user+ext`` and ``user``, then ``@domain``
(Postfix's mail_addr_find). Pattern tables see only the full address. Keys are in
external (quoted) form.

:func:`map_address` turns a lookup result into addresses (Postfix's mail_addr_map): the
result is a comma-separated list; ``@otherdomain`` at its start means "the same user in
another domain"; each address is made canonical; an unmatched extension is appended.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from vmail.core.address import Address, quote_local, split_extension
from vmail.rewrite.canonical import Canonicalizer
from vmail.tables import Maps
from vmail.tables.base import Trace


@dataclass(frozen=True)
class Found:
    """A lookup hit: the table value, and the extension the matched key lacked."""

    value: str
    extension: str | None


def find_address(
    maps: Maps,
    address: Address,
    *,
    delimiters: str,
    is_local: Callable[[str], bool],
    trace: Trace | None = None,
    localpart: bool = True,
    at_domain: bool = True,
) -> Found | None:
    """Search ``maps`` for ``address`` in Postfix's order; TableError if a table fails."""
    base, extension = split_extension(address.local, delimiters)
    full_key = address.external
    value = maps.find(full_key, trace=trace)
    if value is not None:
        return Found(value, None)
    if extension is not None:
        value = maps.find(
            Address(base, address.domain, address.has_at).external, partial=True, trace=trace
        )
        if value is not None:
            return Found(value, extension)
    if not address.has_at:
        return None
    if localpart and is_local(address.domain):
        value = maps.find(quote_local(address.local), partial=True, trace=trace)
        if value is not None:
            return Found(value, None)
        if extension is not None:
            value = maps.find(quote_local(base), partial=True, trace=trace)
            if value is not None:
                return Found(value, extension)
    if at_domain:
        value = maps.find("@" + address.domain, partial=True, trace=trace)
        if value is not None:
            return Found(value, None)
    return None


def split_result(value: str) -> list[str]:
    """Split a table result into address strings at commas outside quotes and brackets."""
    if '"' not in value and "<" not in value:
        return [item.strip() for item in value.split(",") if item.strip()]
    items: list[str] = []
    current: list[str] = []
    quoted = False
    depth = 0
    i = 0
    while i < len(value):
        c = value[i]
        if c == "\\" and quoted and i + 1 < len(value):
            current.append(value[i : i + 2])
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif not quoted and c == "<":
            depth += 1
        elif not quoted and c == ">":
            depth = max(0, depth - 1)
        if c == "," and not quoted and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(c)
        i += 1
    items.append("".join(current))
    cleaned = []
    for item in items:
        item = item.strip()
        if "<" in item and item.endswith(">") and not item.startswith('"'):
            item = item[item.rindex("<") :]
        if item:
            cleaned.append(item)
    return cleaned


def map_address(
    found: Found,
    address: Address,
    canonical: Canonicalizer,
    *,
    propagate: bool,
) -> list[Address]:
    """The addresses a lookup result stands for (internal form, canonical)."""
    value = found.value
    extension = found.extension if propagate else None
    if value.startswith("@"):
        local = address.local
        if found.extension and local.endswith(found.extension):
            local = local[: -len(found.extension)]
        value = quote_local(local) + value
    results = []
    for item in split_result(value):
        mapped = canonical.rewrite(Address.parse(item))
        if extension:
            mapped = mapped.with_local(mapped.local + extension)
        results.append(mapped)
    return results


def map_once(
    maps: Maps,
    address: Address,
    canonical: Canonicalizer,
    *,
    delimiters: str,
    is_local: Callable[[str], bool],
    propagate: bool,
    logger: logging.Logger,
    trace: Trace | None = None,
) -> Address | None:
    """One one-to-one mapping step (canonical(5), generic(5)): the first address the
    tables give for ``address``, or None when they give none; a list is warned about."""
    found = find_address(maps, address, delimiters=delimiters, is_local=is_local, trace=trace)
    if found is None:
        return None
    results = map_address(found, address, canonical, propagate=propagate)
    if not results:
        return None
    if len(results) > 1:
        logger.warning("multi-valued %s entry for %s", maps.parameter, address.external)
    return results[0]
