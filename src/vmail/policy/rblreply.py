"""The reply template of a DNS list rejection, expanded as Postfix's smtpd expands it.

The template is ``rbl_reply_maps``'s entry for the list (its key is the restriction's
argument as written, ``=d.d.d.d`` included) or else ``default_rbl_reply``. It may use
``$rbl_code``, ``$rbl_domain``, ``$rbl_what``, ``$rbl_class``, ``$rbl_reason`` (and
``$rbl_txt``), and the request's ``$client``, ``$client_address``, ``$client_name``,
``$reverse_client_name``, ``$helo_name``, ``$sender``, ``$sender_name``,
``$sender_domain``, ``$recipient``, ``$recipient_name`` and ``$recipient_domain``. The
values go in as they are (a ``$`` in a TXT record is not expanded again); a template that
names anything else is bad, and Postfix falls back to ``default_rbl_reply``. The result
must start with a 4xx or 5xx code and a space.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from vmail.config.expand import MacroError, expand
from vmail.policy.access import split_dsn

Warn = Callable[..., None]


def request_macros(
    client: str, address: str, name: str, reverse_name: str, helo: str | None
) -> dict[str, str]:
    """The client's ``$name`` values (``client`` is ``name[address]``)."""
    return {
        "client": client,
        "client_address": address,
        "client_name": name,
        "reverse_client_name": reverse_name,
        "helo_name": helo or "",
    }


def address_macros(prefix: str, address: str | None) -> dict[str, str]:
    """``$sender``, ``$sender_name`` and ``$sender_domain`` (or ``recipient``): the null
    address is ``<>``, an address without ``@`` is all name."""
    if address is None:
        return {prefix: "", f"{prefix}_name": "", f"{prefix}_domain": ""}
    if not address:
        return {prefix: "<>", f"{prefix}_name": "<>", f"{prefix}_domain": ""}
    local, at, domain = address.rpartition("@")
    return {prefix: address, f"{prefix}_name": local if at else domain, f"{prefix}_domain": domain}


def expand_template(template: str, values: Mapping[str, str], warn: Warn) -> str | None:
    """``template`` with ``values`` substituted, or None when it names an unknown macro
    (with Postfix's warning) or is malformed."""
    unknown: list[str] = []

    def lookup(name: str) -> str | None:
        value = values.get(name)
        return None if value is None else value.replace("$", "$$")  # not expanded again

    try:
        text = expand(template, lookup, on_undefined=unknown.append)
    except MacroError:
        return None
    for name in unknown:
        warn('unknown macro name "%s" in expansion request', name)
    return None if unknown else text


def split_reply(text: str) -> tuple[int, str, str] | None:
    """``(code, dsn, text)`` of ``NNN [x.y.z] text``; None unless it starts with a 4xx or
    5xx code and a space. The DSN is ``""`` when the text has none."""
    code, space, rest = text[:3], text[3:4], text[4:]
    if not (code.isascii() and code.isdigit() and code[0] in "45" and space == " "):
        return None
    return int(code), *split_dsn(rest)
