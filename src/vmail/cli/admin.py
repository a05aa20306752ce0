"""``vmail admin add|list|show|edit|delete``: administrator accounts.

``--superadmin`` for every domain (and admins), or ``--domain D`` (repeatable) for a
domain admin. Passwords come from ``--password-file`` or a prompt.
"""

from __future__ import annotations

import argparse

from vmail.admin import rules
from vmail.cli import admin_support as cli

LIST_COLUMNS = ("username", "superadmin", "domains", "active")


def _rights(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument(
        "--superadmin",
        action="store_true",
        default=None,
        help="may manage every domain and the admins",
    )
    if not adding:
        group.add_argument(
            "--no-superadmin",
            dest="superadmin",
            action="store_false",
            help="take superadmin rights away (keeps or sets --domain)",
        )
    parser.add_argument(
        "--domain",
        dest="domains",
        action="append",
        metavar="DOMAIN",
        help="a domain this admin manages; repeatable" + ("" if adding else " (replaces the list)"),
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    plain, with_json = cli.common_options(), cli.common_options(json_output=True)
    add = sub.add_parser("add", parents=[plain], help="add an admin")
    add.add_argument("username", metavar="ADDRESS")
    _rights(add, adding=True)
    cli.password_file_option(add)
    cli.flag_pair(add, "active", "active (default)", "inactive", True)
    sub.add_parser("list", parents=[with_json], help="list admins")
    show = sub.add_parser("show", parents=[with_json], help="show an admin")
    show.add_argument("username", metavar="ADDRESS")
    edit = sub.add_parser("edit", parents=[plain], help="change an admin")
    edit.add_argument("username", metavar="ADDRESS")
    _rights(edit, adding=False)
    edit.add_argument("--password", action="store_true", help="set a new password")
    cli.password_file_option(edit)
    cli.flag_pair(edit, "active", "activate", "deactivate", None)
    delete = sub.add_parser("delete", parents=[plain], help="delete an admin")
    delete.add_argument("username", metavar="ADDRESS")


@cli.guarded("admin")
def run(args: argparse.Namespace) -> int:
    svc, actor = cli.service(args)
    if args.action == "add":
        if not args.superadmin and not args.domains:
            raise cli.UsageError("give --superadmin or at least one --domain DOMAIN")
        password = cli.read_password(args)
        row = svc.add_admin(
            actor,
            args.username,
            password,
            superadmin=bool(args.superadmin),
            domains=args.domains or (),
            active=args.active,
        )
        print(f"admin {row['username']} added")
    elif args.action == "edit":
        password = None
        if args.password or args.password_file:
            password = cli.read_password(args)
        unchanged = (args.superadmin, args.domains, args.active)
        if password is None and all(v is None for v in unchanged):
            raise cli.UsageError("nothing to change: give at least one option")
        row = svc.edit_admin(
            actor,
            args.username,
            password=password,
            superadmin=args.superadmin,
            domains=args.domains,
            active=args.active,
        )
        print(f"admin {row['username']} changed")
    elif args.action == "delete":
        svc.delete_admin(actor, args.username)
        print(f"admin {rules.address(args.username)} deleted")
    elif args.action == "list":
        cli.list_records(svc.list_admins(actor), LIST_COLUMNS, args.json)
    else:
        cli.show_record(svc.get_admin(actor, args.username), args.json)
    return cli.EXIT_OK
