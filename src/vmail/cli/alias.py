"""``vmail alias add|list|show|edit|delete``: aliases, catch-alls (``@domain``) and the
forwarding of mailboxes (``alias edit user@d --goto user@d,other@x``).

``--goto`` takes comma-separated addresses and may be repeated; duplicates are dropped.
"""

from __future__ import annotations

import argparse

from vmail.admin import rules
from vmail.cli import admin_support as cli

LIST_COLUMNS = ("address", "goto", "active")


def _goto(parser: argparse.ArgumentParser, *, required: bool) -> None:
    parser.add_argument(
        "--goto",
        action="append",
        required=required,
        metavar="ADDR[,ADDR...]",
        help="target address(es); repeatable",
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    plain, with_json = cli.common_options(), cli.common_options(json_output=True)
    add = sub.add_parser("add", parents=[plain], help="add an alias (or @domain catch-all)")
    add.add_argument("address")
    _goto(add, required=True)
    cli.flag_pair(add, "active", "active (default)", "inactive", True)
    lst = sub.add_parser("list", parents=[with_json], help="list aliases")
    lst.add_argument("domain", nargs="?", help="only this domain")
    lst.add_argument(
        "--all", action="store_true", help="include mailboxes' own alias rows (forwarding)"
    )
    show = sub.add_parser("show", parents=[with_json], help="show an alias")
    show.add_argument("address")
    edit = sub.add_parser("edit", parents=[plain], help="change targets or (de)activate")
    edit.add_argument("address")
    _goto(edit, required=False)
    cli.flag_pair(edit, "active", "activate", "deactivate", None)
    delete = sub.add_parser("delete", parents=[plain], help="delete an alias")
    delete.add_argument("address")


def _targets(values: list[str] | None) -> str | None:
    return None if values is None else ",".join(values)


@cli.guarded("alias")
def run(args: argparse.Namespace) -> int:
    svc, actor = cli.service(args)
    if args.action == "add":
        row = svc.add_alias(actor, args.address, _targets(args.goto) or "", active=args.active)
        print(f"alias {row['address']} -> {row['goto']} added")
    elif args.action == "edit":
        if args.goto is None and args.active is None:
            raise cli.UsageError("nothing to change: give --goto or --active/--inactive")
        row = svc.edit_alias(actor, args.address, goto=_targets(args.goto), active=args.active)
        print(f"alias {row['address']} -> {row['goto']} changed")
    elif args.action == "delete":
        svc.delete_alias(actor, args.address)
        print(f"alias {rules.alias_address(args.address)} deleted")
    elif args.action == "list":
        rows = svc.list_aliases(actor, args.domain, mailboxes=args.all)
        cli.list_records(rows, LIST_COLUMNS, args.json)
    else:
        cli.show_record(svc.get_alias(actor, args.address), args.json)
    return cli.EXIT_OK
