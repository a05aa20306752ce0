"""EHLO keyword lists, as Postfix's ``ehlo_mask`` reads and names them.

``smtpd_discard_ehlo_keywords`` and the values of ``smtpd_discard_ehlo_keyword_address_maps``
are lists of EHLO keywords separated by commas or blanks, in any case; names Postfix does
not know are ignored (so a configuration can move between versions), and
``silent-discard`` asks for no log line. :func:`ehlo_mask_names` gives the names in the
order Postfix logs them in ``discarding EHLO keywords: ...``.
"""

from __future__ import annotations

from collections.abc import Iterable

# Postfix 3.7's table order; its table names SMTPUTF8 "EHLO_MASK_SMTPUTF8" in log lines
# (checked: "discarding EHLO keywords: ... DSN EHLO_MASK_SMTPUTF8 CHUNKING").
_TABLE = (
    ("8BITMIME", "8BITMIME"),
    ("AUTH", "AUTH"),
    ("ETRN", "ETRN"),
    ("PIPELINING", "PIPELINING"),
    ("SIZE", "SIZE"),
    ("VERP", "VERP"),
    ("VRFY", "VRFY"),
    ("XCLIENT", "XCLIENT"),
    ("XFORWARD", "XFORWARD"),
    ("STARTTLS", "STARTTLS"),
    ("ENHANCEDSTATUSCODES", "ENHANCEDSTATUSCODES"),
    ("DSN", "DSN"),
    ("SILENT-DISCARD", "SILENT-DISCARD"),
    ("SMTPUTF8", "EHLO_MASK_SMTPUTF8"),
    ("CHUNKING", "CHUNKING"),
)
KNOWN = frozenset(keyword for keyword, _ in _TABLE)


def ehlo_keywords(text: str | Iterable[str]) -> frozenset[str]:
    """The known keywords (upper case) of a list given as text or as words."""
    words = text.replace(",", " ").split() if isinstance(text, str) else text
    return frozenset(word.upper() for word in words) & KNOWN


def ehlo_mask_names(keywords: frozenset[str]) -> list[str]:
    """``keywords`` as Postfix names them in its log, in its order."""
    return [name for keyword, name in _TABLE if keyword in keywords]


__all__ = ["KNOWN", "ehlo_keywords", "ehlo_mask_names"]
