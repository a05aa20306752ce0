"""XCLIENT and XFORWARD attribute lists, parsed as Postfix's smtpd parses them.

``XCLIENT NAME=... ADDR=... PORT=... PROTO=... HELO=... LOGIN=... REVERSE_NAME=...`` lets an
authorized proxy say who the real client is; ``XFORWARD`` (same syntax, attributes NAME ADDR
PORT PROTO HELO IDENT SOURCE) tells what to record for the next message. Values are xtext;
``[UNAVAILABLE]`` and ``[TEMPUNAVAIL]`` mean "not known". :func:`parse` returns the
attributes (upper-case names, decoded values; ``None`` for an unknown value) or the
``501 5.5.4`` reply Postfix gives.
"""

from __future__ import annotations

import ipaddress

from vmail.core.reply import Reply
from vmail.protocol.smtp import xtext

XCLIENT = frozenset(
    {"NAME", "ADDR", "PORT", "PROTO", "HELO", "LOGIN", "REVERSE_NAME", "DESTADDR", "DESTPORT"}
)
XFORWARD = frozenset({"NAME", "ADDR", "PORT", "PROTO", "HELO", "IDENT", "SOURCE"})
UNKNOWN = frozenset({"[UNAVAILABLE]", "[TEMPUNAVAIL]"})


def parse(verb: str, argument: str) -> dict[str, str | None] | Reply:
    """The attributes of one XCLIENT/XFORWARD command, or the error reply."""
    allowed = XCLIENT if verb == "XCLIENT" else XFORWARD
    out: dict[str, str | None] = {}
    for item in argument.split():
        raw_name, _, raw_value = item.partition("=")
        name = raw_name.upper()
        if name not in allowed:
            return Reply(501, "5.5.4", f"Bad {verb} attribute name: {raw_name}")
        value = xtext.decode(raw_value)
        if value is None:
            return Reply(501, "5.5.4", f"Bad {name} syntax: {raw_value}")
        if value.upper() in UNKNOWN:
            out[name] = None
            continue
        if name == "ADDR":
            bare = value[5:] if value.upper().startswith("IPV6:") else value
            try:
                value = str(ipaddress.ip_address(bare))
            except ValueError:
                return Reply(501, "5.5.4", f"Bad {name} syntax: {raw_value}")
        elif not _plausible(verb, name, value):
            return Reply(501, "5.5.4", f"Bad {name} syntax: {raw_value}")
        out[name] = value
    return out


def _plausible(verb: str, name: str, value: str) -> bool:
    if name in ("PORT", "DESTPORT"):
        return value.isdigit() and int(value) < 65536
    if name == "PROTO" and verb == "XCLIENT":
        return value.upper() in ("SMTP", "ESMTP")
    return True
