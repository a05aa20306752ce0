"""``vmail alias-domain add|list|show|edit|delete``: ALIAS.example receives mail for the
same users as TARGET.example. Both domains must exist; no chains, not to itself.
"""

from __future__ import annotations

import argparse

from vmail.admin import rules
from vmail.cli import admin_support as cli

LIST_COLUMNS = ("alias_domain", "target_domain", "active")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    plain, with_json = cli.common_options(), cli.common_options(json_output=True)
    add = sub.add_parser("add", parents=[plain], help="make ALIAS an alias of TARGET")
    add.add_argument("alias_domain", metavar="ALIAS")
    add.add_argument("target_domain", metavar="TARGET")
    cli.flag_pair(add, "active", "active (default)", "inactive", True)
    lst = sub.add_parser("list", parents=[with_json], help="list alias domains")
    lst.add_argument("domain", nargs="?", help="only those from or to this domain")
    show = sub.add_parser("show", parents=[with_json], help="show an alias domain")
    show.add_argument("alias_domain", metavar="ALIAS")
    edit = sub.add_parser("edit", parents=[plain], help="change target or (de)activate")
    edit.add_argument("alias_domain", metavar="ALIAS")
    edit.add_argument("--target", dest="target_domain", metavar="TARGET")
    cli.flag_pair(edit, "active", "activate", "deactivate", None)
    delete = sub.add_parser("delete", parents=[plain], help="delete an alias domain")
    delete.add_argument("alias_domain", metavar="ALIAS")


@cli.guarded("alias-domain")
def run(args: argparse.Namespace) -> int:
    svc, actor = cli.service(args)
    if args.action == "add":
        row = svc.add_alias_domain(actor, args.alias_domain, args.target_domain, active=args.active)
        print(f"alias domain {row['alias_domain']} -> {row['target_domain']} added")
    elif args.action == "edit":
        if args.target_domain is None and args.active is None:
            raise cli.UsageError("nothing to change: give --target or --active/--inactive")
        row = svc.edit_alias_domain(
            actor, args.alias_domain, target_domain=args.target_domain, active=args.active
        )
        print(f"alias domain {row['alias_domain']} -> {row['target_domain']} changed")
    elif args.action == "delete":
        svc.delete_alias_domain(actor, args.alias_domain)
        print(f"alias domain {rules.domain_name(args.alias_domain)} deleted")
    elif args.action == "list":
        cli.list_records(svc.list_alias_domains(actor, args.domain), LIST_COLUMNS, args.json)
    else:
        cli.show_record(svc.get_alias_domain(actor, args.alias_domain), args.json)
    return cli.EXIT_OK
