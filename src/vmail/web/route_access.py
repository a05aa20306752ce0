"""What the route explainer page and ``GET /api/v1/route`` share: checking the input and
the actor's scope, then :mod:`vmail.route_report`'s document (``vmail route --json``).

Who may explain what: a superadmin any address; a domain admin only addresses in the
domains they manage (403 for the others, so that nobody probes another domain's
mailboxes and aliases). What an address of theirs expands into is shown in full, even
when an alias points into another domain (it is their alias). Mailbox users get 403
(:func:`~vmail.web.deps.current_admin`). Table errors are 503. Blocking (table lookups).
"""

from __future__ import annotations

import ipaddress
from typing import Any

from fastapi import HTTPException

from vmail.admin import Actor
from vmail.core.errors import VmailError
from vmail.route_report import document, make_client
from vmail.web.context import WebContext

MAX_ADDRESS = 254
MAX_ADDRESSES = 20
MAX_NAME = 255


def _check_address(text: str, what: str, *, empty_ok: bool = False) -> str:
    text = text.strip().removeprefix("<").removesuffix(">")
    if not text and empty_ok:
        return ""
    if not text:
        raise HTTPException(400, f"{what}: enter an address")
    if len(text) > MAX_ADDRESS or any(c.isspace() or ord(c) < 32 for c in text):
        raise HTTPException(400, f"{what}: not a mail address: {text[:64]!r}")
    if "@" not in text and what == "address":
        raise HTTPException(400, f"{what}: not a mail address (no @domain): {text[:64]!r}")
    return text


def _check_name(text: str | None, what: str) -> str | None:
    if text is None or not text.strip():
        return None
    if len(text) > MAX_NAME or any(c.isspace() or ord(c) < 32 for c in text.strip()):
        raise HTTPException(400, f"{what}: not a host name: {text[:64]!r}")
    return text.strip()


def explain(
    actor: Actor,
    context: WebContext,
    addresses: list[str],
    *,
    sender: str = "",
    client_ip: str = "127.0.0.1",
    client_name: str | None = None,
    helo: str | None = None,
    sasl_user: str | None = None,
) -> dict[str, Any]:
    """``vmail route --json``'s document for ``addresses`` (as RCPTs of one message)."""
    if context.router is None:
        raise HTTPException(503, "no router is configured")
    if not addresses:
        raise HTTPException(400, "address: enter an address")
    if len(addresses) > MAX_ADDRESSES:
        raise HTTPException(400, f"address: at most {MAX_ADDRESSES} addresses at once")
    checked = [_check_address(a, "address") for a in addresses]
    for address in checked:
        domain = address.rpartition("@")[2].lower()
        if not actor.manages(domain):
            raise HTTPException(403, f"you do not manage the domain {domain[:64]!r}")
    sender = _check_address(sender, "sender", empty_ok=True)
    try:
        ip = str(ipaddress.ip_address(client_ip.strip() or "127.0.0.1"))
    except ValueError:
        raise HTTPException(400, f"client address: not an IP address: {client_ip[:64]!r}") from None
    client = make_client(
        ip,
        _check_name(client_name, "client name"),
        _check_name(helo, "HELO name"),
        _check_name(sasl_user, "SASL user"),
    )
    try:
        reports = context.router.route(checked, client, sender or None)
    except VmailError as e:  # a table or configuration error: the operator's to fix
        raise HTTPException(503, f"cannot route: {e}") from None
    return document(client, sender, reports)


__all__ = ["MAX_ADDRESSES", "explain"]
