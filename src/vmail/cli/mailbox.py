"""``vmail mailbox add|list|show|edit|delete|passwd``: mailboxes (and their own alias row).

``--quota SIZE`` is MB (``100``) or a size with unit (``512K``, ``100M``, ``2G``); without
it a new mailbox gets its domain's maxquota. Passwords come from ``--password-file`` or a
prompt, never from the command line.
"""

from __future__ import annotations

import argparse

from vmail.admin import rules
from vmail.cli import admin_support as cli

LIST_COLUMNS = ("username", "name", "quota", "maildir", "active")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    plain, with_json = cli.common_options(), cli.common_options(json_output=True)
    add = sub.add_parser("add", parents=[plain], help="add a mailbox")
    add.add_argument("address")
    add.add_argument("--name", default="", help="the owner's full name")
    add.add_argument("--quota", type=cli.parse_size, metavar="SIZE", help="MB, or 512K/100M/2G")
    cli.password_file_option(add)
    cli.flag_pair(add, "active", "active (default)", "inactive", True)
    lst = sub.add_parser("list", parents=[with_json], help="list mailboxes")
    lst.add_argument("domain", nargs="?", help="only this domain")
    show = sub.add_parser("show", parents=[with_json], help="show a mailbox")
    show.add_argument("address")
    edit = sub.add_parser("edit", parents=[plain], help="change a mailbox")
    edit.add_argument("address")
    edit.add_argument("--name")
    edit.add_argument("--quota", type=cli.parse_size, metavar="SIZE", help="MB, or 512K/100M/2G")
    edit.add_argument(
        "--password", action="store_true", help="also set a new password (prompt or file)"
    )
    cli.password_file_option(edit)
    cli.flag_pair(edit, "active", "activate", "deactivate", None)
    delete = sub.add_parser("delete", parents=[plain], help="delete a mailbox (not its files)")
    delete.add_argument("address")
    passwd = sub.add_parser("passwd", parents=[plain], help="set a mailbox's password")
    passwd.add_argument("address")
    cli.password_file_option(passwd)


@cli.guarded("mailbox")
def run(args: argparse.Namespace) -> int:
    svc, actor = cli.service(args)
    if args.action == "add":
        password = cli.read_password(args)
        row = svc.add_mailbox(
            actor, args.address, password, name=args.name, quota=args.quota, active=args.active
        )
        print(f"mailbox {row['username']} added ({row['maildir']})")
    elif args.action == "edit":
        password = None
        if args.password or args.password_file:
            password = cli.read_password(args)
        if password is None and all(v is None for v in (args.name, args.quota, args.active)):
            raise cli.UsageError("nothing to change: give at least one option")
        row = svc.edit_mailbox(
            actor,
            args.address,
            name=args.name,
            quota=args.quota,
            active=args.active,
            password=password,
        )
        print(f"mailbox {row['username']} changed")
    elif args.action == "passwd":
        svc.get_mailbox(actor, args.address)  # fail before asking for a password
        svc.set_password(actor, args.address, cli.read_password(args, "New password"))
        print(f"password of {rules.address(args.address)} changed")
    elif args.action == "delete":
        svc.delete_mailbox(actor, args.address)
        print(f"mailbox {rules.address(args.address)} deleted")
    elif args.action == "list":
        cli.list_records(svc.list_mailboxes(actor, args.domain), LIST_COLUMNS, args.json)
    else:
        cli.show_record(svc.get_mailbox(actor, args.address), args.json)
    return cli.EXIT_OK
