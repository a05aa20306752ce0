"""Host name and address literal syntax as Postfix's ``valid_hostname()`` and
``valid_mailhost_literal()`` check them (ETRN's argument, the domain of MAIL FROM and
RCPT TO addresses).

A host name is at most 255 characters of dot-separated labels; a label is 1 to 63
letters, digits, ``-`` or ``_`` and does not begin or end with ``-``; a name made of
digits and dots alone is refused (it would pass for an IPv4 address). An address
literal is ``[IPv4]`` or ``[IPv6:address]``.
"""

from __future__ import annotations

import ipaddress
import re

_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?\Z")
_NUMERIC = re.compile(r"[0-9.]+\Z")


def valid_hostname(name: str) -> bool:
    """Whether ``name`` is a syntactically valid host name (see the module)."""
    if not name or len(name) > 255 or _NUMERIC.match(name):
        return False
    return all(_LABEL.match(label) for label in name.split("."))


def valid_mail_domain(domain: str) -> bool:
    """Whether Postfix's smtpd takes ``domain`` as the domain of a MAIL or RCPT address:
    an address literal, or (one trailing dot dropped) a host name; a UTF-8 name is
    checked as its IDNA form."""
    if domain.startswith("["):
        return valid_address_literal(domain)
    name = domain[:-1] if domain.endswith(".") else domain
    if not name.isascii():
        try:
            name = name.encode("idna").decode("ascii")
        except UnicodeError:
            return False
    return valid_hostname(name)


def is_ip_address(text: str) -> bool:
    """Whether ``text`` is a bare IPv4 or IPv6 address (no brackets)."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def valid_address_literal(text: str) -> bool:
    """Whether ``text`` is ``[IPv4]`` or ``[IPv6:address]``."""
    return literal_address(text) is not None


def literal_address(text: str) -> str | None:
    """The address in an address literal (``[192.0.2.1]``, ``[IPv6:2001:db8::1]``), or
    None when ``text`` is not a valid one."""
    if len(text) < 3 or text[0] != "[" or text[-1] != "]":
        return None
    inner = text[1:-1]
    try:
        if inner[:5].upper() == "IPV6:":
            ipaddress.IPv6Address(inner[5:])
            return inner[5:]
        ipaddress.IPv4Address(inner)
    except ValueError:
        return None
    return inner


__all__ = [
    "is_ip_address",
    "literal_address",
    "valid_address_literal",
    "valid_hostname",
    "valid_mail_domain",
]
