"""``vmail token add|list|revoke``: REST API tokens.

``add NAME --superadmin`` or ``add NAME --domain D`` (repeatable) prints the secret once:
only its SHA-256 is stored, so a lost secret means a new token. ``--expires`` takes an ISO
date or time (UTC when no offset is given). ``revoke ID`` stops a token at once.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime

from vmail.cli import admin_support as cli

LIST_COLUMNS = ("id", "name", "role", "domains", "created_by", "expires", "last_used", "revoked")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    plain, with_json = cli.common_options(), cli.common_options(json_output=True)
    add = sub.add_parser("add", parents=[with_json], help="create a token, print its secret")
    add.add_argument("name", metavar="NAME", help="what the token is for")
    rights = add.add_mutually_exclusive_group(required=True)
    rights.add_argument("--superadmin", action="store_true", help="act as a superadmin")
    rights.add_argument(
        "--domain",
        dest="domains",
        action="append",
        metavar="DOMAIN",
        help="act as a domain admin of DOMAIN; repeatable",
    )
    add.add_argument(
        "--expires", metavar="WHEN", help="ISO date or time it stops working (default: never)"
    )
    sub.add_parser("list", parents=[with_json], help="list tokens (never their secrets)")
    revoke = sub.add_parser("revoke", parents=[plain], help="revoke a token")
    revoke.add_argument("id", metavar="ID", type=int)


def _when(text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise cli.UsageError(
            f"invalid --expires {text!r}: use e.g. 2027-01-31 or 2027-01-31T12:00"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


@cli.guarded("token")
def run(args: argparse.Namespace) -> int:
    svc, actor = cli.service(args)
    if args.action == "add":
        role = "superadmin" if args.superadmin else "domain_admin"
        row, secret = svc.create_token(
            actor, args.name, role, args.domains or (), _when(args.expires)
        )
        if args.json:
            cli.print_json(row | {"secret": secret})
        else:
            print(f"token {row['id']} ({row['name']}) created; its secret, shown only now:")
            print(secret)
    elif args.action == "revoke":
        row = svc.revoke_token(actor, args.id)
        print(f"token {row['id']} ({row['name']}) revoked")
    else:
        cli.list_records(svc.list_tokens(actor), LIST_COLUMNS, args.json)
    return cli.EXIT_OK
