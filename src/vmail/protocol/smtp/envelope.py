"""``MAIL FROM:``/``RCPT TO:`` arguments: the path and its ESMTP parameters.

Syntax follows Postfix smtpd with ``strict_rfc821_envelopes = no``: spaces after the
colon are allowed, the angle brackets may be missing (the address is then the first
word), ``<>`` is the null path, a source route (``<@a,@b:user@d>``) is dropped, quoted
local parts may contain spaces, and odd dots or an empty local part (``<@b>``) pass, as
in Postfix. An address with unquoted white space, an unbalanced quote or bracket, an
empty domain or control characters is bad syntax; so are RFC 822 comments and nested
brackets (``<a(c)@b>``, ``<<a@b>>``), which Postfix strips and vmail refuses. The
domain must be a valid host name (one trailing dot allowed) or address literal, as
Postfix checks it (:mod:`.hostnames`): ``<a@b..c>``, ``<a@-b.example>``, ``<a@1.2.3.4>``
and ``<a@[300.1.1.1]>`` are bad syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmail.protocol.smtp.hostnames import valid_mail_domain

_ATOM_CHAR = r"[^\s\"(),:;<>@\[\]\\\x00-\x1f\x7f]"
_QUOTED = r'"(?:[^"\\\x00-\x1f\x7f]|\\[^\x00-\x1f\x7f])*"'
# Postfix takes empty, leading, trailing and doubled dots and extra "@" in the local part.
_LOCAL = re.compile(rf"(?:{_ATOM_CHAR}|[.@]|{_QUOTED})*")
_DOMAIN = re.compile(rf"(?:{_ATOM_CHAR}+(?:\.{_ATOM_CHAR}+)*\.?|\[[^\[\]\\\s\x00-\x1f\x7f]*\])")
_ROUTE = re.compile(rf"@{_DOMAIN.pattern}(?:,@{_DOMAIN.pattern})*:")


@dataclass(frozen=True)
class PathArg:
    """A parsed path: ``address`` is None for ``<>``; ``params`` as written, in order."""

    address: str | None
    params: tuple[str, ...]


def _valid_address(text: str) -> bool:
    """``local@domain``, ``local`` alone (Postfix appends its own domain later)."""
    if not text:
        return False
    if '"' not in text:  # nothing quoted: the last @ splits (the common case, no loop)
        at = text.rfind("@")
        if at < 0:
            return _LOCAL.fullmatch(text) is not None
        return _LOCAL.fullmatch(text[:at]) is not None and _valid_domain(text[at + 1 :])
    # split at the last @ that is not inside a quoted string
    at = -1
    quoted = False
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == "@" and not quoted:
            at = i
        i += 1
    if quoted:
        return False
    if at < 0:
        return _LOCAL.fullmatch(text) is not None
    local, domain = text[:at], text[at + 1 :]
    return _LOCAL.fullmatch(local) is not None and _valid_domain(domain)


def _valid_domain(domain: str) -> bool:
    return _DOMAIN.fullmatch(domain) is not None and valid_mail_domain(domain)


def _close_bracket(arg: str) -> int:
    """Index of the ``>`` that closes the path starting at ``arg[0] == "<"``, or -1."""
    if '"' not in arg:  # nothing quoted: the first > closes unless a < comes first
        end = arg.find(">", 1)
        opening = arg.find("<", 1)
        return -1 if end < 0 or 0 <= opening < end else end
    quoted = False
    i = 1
    while i < len(arg):
        c = arg[i]
        if c == "\\" and quoted:
            i += 2
            continue
        if c == '"':
            quoted = not quoted
        elif c == ">" and not quoted:
            return i
        elif c == "<" and not quoted:
            return -1
        i += 1
    return -1


def parse_path(arg: str) -> PathArg | None:
    """Parse what follows ``FROM:``/``TO:``; None when the address syntax is bad."""
    arg = arg.lstrip(" \t")
    if arg.startswith("<"):
        end = _close_bracket(arg)
        if end < 0:
            return None
        inner, rest = arg[1:end], arg[end + 1 :]
        if rest and rest[0] not in " \t":
            return None
    else:
        inner, _, rest = arg.partition(" ")
        if "<" in inner or ">" in inner:
            return None
    route = _ROUTE.match(inner)
    if route:
        inner = inner[route.end() :]
    params = tuple(rest.split())
    if inner == "" and not route:
        return PathArg(None, params)
    if not _valid_address(inner):
        return None
    return PathArg(inner, params)
