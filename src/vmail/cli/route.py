"""``vmail route``: explain what happens to mail for one or more addresses.

Several addresses behave like several RCPTs of one message. The exit status says whether
the command could run (0), failed (1: configuration or table error) or was misused (2);
the verdict itself is in the output. ``--json`` prints the schema documented in
``docs/route-json.md`` (``"schema": 1``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from vmail.config import MainConfig
from vmail.core.reply import Reply
from vmail.route import Client, Delivery, RecipientReport, Router

SCHEMA_VERSION = 1


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("addresses", nargs="+", metavar="ADDRESS", help="recipient address")
    parser.add_argument("--client-ip", default="127.0.0.1", help="SMTP client address")
    parser.add_argument(
        "--client-name",
        default=None,
        help="client host name (default: unknown, or localhost for 127.0.0.1)",
    )
    parser.add_argument("--helo", default=None, help="HELO/EHLO name the client sent")
    parser.add_argument(
        "--sasl-user", default=None, help="SASL login name, if the client authenticated"
    )
    parser.add_argument("--sender", default="", help="envelope sender (MAIL FROM)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def run(args: argparse.Namespace) -> int:
    config = MainConfig.load(args.config_dir)
    name = args.client_name or (
        "localhost" if args.client_ip in ("127.0.0.1", "::1") else "unknown"
    )
    client = Client(args.client_ip, name, args.helo, args.sasl_user)
    router = Router(config)
    reports = router.route(args.addresses, client, args.sender or None)
    if args.json:
        document = {
            "schema": SCHEMA_VERSION,
            "client": {
                "address": client.address,
                "name": client.name,
                "helo": client.helo,
                "sasl_username": client.sasl_username,
            },
            "sender": args.sender,
            "recipients": [report_json(r) for r in reports],
        }
        json.dump(document, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for report in reports:
            sys.stdout.write(report_text(report))
    return 0


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
            outcome = (
                f"error: {e.error}"
                if e.error
                else (repr(e.result) if e.result is not None else "not found")
            )
            lines.append(f"    {e.table} [{e.key}] -> {outcome}")
    return "\n".join(lines) + "\n"
