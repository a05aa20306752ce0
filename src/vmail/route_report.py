"""What ``vmail route`` says, as data: the JSON document of ``docs/route-json.md`` and the
text the CLI prints, built from :class:`vmail.route.Router`'s reports. The CLI, the web
UI's route explainer and ``GET /api/v1/route`` all use this module. Pure (no I/O).
"""

from __future__ import annotations

from typing import Any

from vmail.core.reply import Reply
from vmail.route import Client, Delivery, RecipientReport

SCHEMA_VERSION = 1
LOOPBACK = ("127.0.0.1", "::1")


def make_client(
    address: str = "127.0.0.1",
    name: str | None = None,
    helo: str | None = None,
    sasl_username: str | None = None,
) -> Client:
    """The SMTP client to explain for; the name defaults as the CLI's ``--client-name``."""
    name = name or ("localhost" if address in LOOPBACK else "unknown")
    return Client(address, name, helo, sasl_username)


def document(client: Client, sender: str, reports: list[RecipientReport]) -> dict[str, Any]:
    """The ``vmail route --json`` document (``"schema": 1``)."""
    return {
        "schema": SCHEMA_VERSION,
        "client": {
            "address": client.address,
            "name": client.name,
            "helo": client.helo,
            "sasl_username": client.sasl_username,
        },
        "sender": sender,
        "recipients": [report_json(r) for r in reports],
    }


def reply_json(reply: Reply | None) -> dict[str, Any] | None:
    if reply is None:
        return None
    return {"code": reply.code, "enhanced": reply.enhanced, "text": reply.text, "reply": str(reply)}


def delivery_json(d: Delivery) -> dict[str, Any]:
    return {
        "recipient": d.recipient,
        "original_recipient": d.original_recipient,
        "class": d.address_class,
        "transport": d.transport,
        "nexthop": d.nexthop,
        "status": d.status,
        "detail": d.detail,
        "mailbox": d.mailbox,
        "bounce": reply_json(d.bounce),
    }


def report_json(r: RecipientReport) -> dict[str, Any]:
    return {
        "address": r.address,
        "rcpt": reply_json(r.rcpt),
        "accepted": r.rcpt.ok,
        "deferred": reply_json(r.deferred),
        "deliveries": [delivery_json(d) for d in r.deliveries],
        "duplicates": r.duplicates,
        "lookups": [
            {"table": e.table, "key": e.key, "result": e.result, "error": e.error}
            for e in r.lookups
        ],
        "notes": r.notes,
    }


def lookup_outcome(result: str | None, error: str | None) -> str:
    """A lookup's result as ``vmail route`` prints it: the value, ``not found``, or the error."""
    if error:
        return f"error: {error}"
    return repr(result) if result is not None else "not found"


def report_text(r: RecipientReport) -> str:
    lines = [f"<{r.address}>", f"  RCPT TO: {r.rcpt}"]
    if r.deferred is not None:
        lines.append(f"  message: {r.deferred} (deferred at end of DATA)")
    for d in r.deliveries:
        where = f"{d.transport}:{d.nexthop}" if d.transport else "-"
        line = f"  -> <{d.recipient}> orig_to=<{d.original_recipient}>"
        line += f" class={d.address_class} via {where}"
        line += f": {d.status}"
        if d.mailbox is not None:
            line += f", mailbox {d.mailbox}"
        if d.bounce is not None:
            line += f" ({d.bounce})"
        elif d.detail:
            line += f" ({d.detail})"
        lines.append(line)
    for dup in r.duplicates:
        lines.append(f"  -> <{dup}>: duplicate, not delivered again")
    for note in r.notes:
        lines.append(f"  note: {note}")
    if r.lookups:
        lines.append("  lookups:")
        for e in r.lookups:
            lines.append(f"    {e.table} [{e.key}] -> {lookup_outcome(e.result, e.error)}")
    return "\n".join(lines) + "\n"


__all__ = [
    "SCHEMA_VERSION",
    "delivery_json",
    "document",
    "lookup_outcome",
    "make_client",
    "reply_json",
    "report_json",
    "report_text",
]
