"""access(5) tables: lookup keys for addresses, domains and clients, and their actions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vmail.core.address import Address, parent_domains, quote_local, split_extension
from vmail.protocol.smtp.hostnames import is_ip_address

_CODE = re.compile(r"([45]\d\d)(?:\s+|\Z)(.*)\Z", re.S)
_DSN = re.compile(r"([245]\.\d{1,3}\.\d{1,3})(?:\s+|\Z)(.*)\Z", re.S)


def address_keys(
    address: Address, delimiters: str, parent_style: bool
) -> Iterator[tuple[str, bool]]:
    """``(key, partial)`` for an email address, in access(5) order.

    ``user+ext@domain``, ``user@domain``, ``domain`` and its parents, ``user+ext@``,
    ``user@``. Pattern tables are only asked the full address.
    """
    base, extension = split_extension(address.local, delimiters)
    if address.has_at:
        yield address.external, False
        if extension is not None:
            yield Address(base, address.domain).external, True
        yield from ((d, True) for d in domain_keys(address.domain, parent_style))
        yield quote_local(address.local) + "@", True
        if extension is not None:
            yield quote_local(base) + "@", True
    else:
        yield address.external, False


def domain_keys(domain: str, parent_style: bool) -> Iterator[str]:
    """The domain, then each parent domain (``parent`` or ``.parent`` form)."""
    name = domain.lower().rstrip(".")
    if name:
        yield name
        yield from parent_domains(name, dotted=not parent_style)


def host_keys(name: str, parent_style: bool) -> Iterator[tuple[str, bool]]:
    """``(key, partial)`` for a host name, as Postfix's check_domain_access: the name
    (asked of every table), then its parent domains (fixed-string tables only); a name
    that is an IP address has no parents."""
    if is_ip_address(name):
        yield name, False
        return
    for i, key in enumerate(domain_keys(name, parent_style)):
        yield key, i > 0


def network_keys(ip: str) -> Iterator[tuple[str, bool]]:
    """``(key, partial)`` for an IP address, as Postfix's check_addr_access: the address
    (asked of every table), then its networks (fixed-string tables only)."""
    for i, key in enumerate(client_keys(ip)):
        yield key, i > 0


def client_keys(ip: str) -> Iterator[str]:
    """An IPv4 client is looked up as ``1.2.3.4``, ``1.2.3``, ``1.2``, ``1``."""
    yield ip
    if ":" in ip:
        parts = ip.split(":")
        while len(parts) > 1:
            parts.pop()
            if parts[-1]:
                yield ":".join(parts)
        return
    parts = ip.split(".")
    while len(parts) > 1:
        parts.pop()
        yield ".".join(parts)


@dataclass(frozen=True)
class Action:
    """A parsed access-table value."""

    verb: str  # an access(5) verb, CODE (NNN text) or RESTRICTIONS (a restriction list)
    code: int = 0
    dsn: str = ""
    text: str = ""
    restrictions: tuple[str, ...] = ()


_SIMPLE_VERBS = {
    "OK",
    "DUNNO",
    "REJECT",
    "DEFER",
    "DEFER_IF_REJECT",
    "DEFER_IF_PERMIT",
    "HOLD",
    "DISCARD",
    "PREPEND",
    "REDIRECT",
    "FILTER",
    "WARN",
    "INFO",
    "BCC",
}


def split_dsn(text: str) -> tuple[str, str]:
    """``("5.7.1", "text")`` for ``"5.7.1 text"``; ``("", text)`` without an enhanced code.

    The code is taken even when its class disagrees with the reply code: Postfix answers
    ``450 5.2.2 text`` with 450 4.2.2 and the text without the code (the reply path makes
    the class agree).
    """
    text = text.strip()
    m = _DSN.match(text)
    if m is None:
        return "", text
    return m.group(1), m.group(2).strip()


def parse_action(value: str) -> Action:
    """Turn ``REJECT text`` / ``550 5.7.1 text`` / ``permit_mynetworks, reject`` into an Action."""
    value = value.strip()
    if value.isdigit() and not value.startswith(("4", "5")):
        return Action("OK")  # a numerical value other than 4xx/5xx means OK (access(5))
    m = _CODE.match(value)
    if m:
        return Action("CODE", int(m.group(1)), *split_dsn(m.group(2)))
    word, _, rest = value.partition(" ")
    upper = word.upper()
    if upper in _SIMPLE_VERBS:
        return Action(upper, 0, *split_dsn(rest))
    items = tuple(x for x in re.split(r"[\s,]+", value) if x)
    return Action("RESTRICTIONS", restrictions=items)
