"""``vmail domain add|list|show|edit|delete``: mail domains and their limits.

Limits: ``--aliases N``/``--mailboxes N`` (0 = unlimited, -1 = none allowed), ``--maxquota MB``
per mailbox and ``--quota MB`` for the whole domain (0 = unlimited).
"""

from __future__ import annotations

import argparse
from typing import Any

from vmail.admin import rules
from vmail.cli import admin_support as cli

SETTINGS = (
    "description",
    "aliases",
    "mailboxes",
    "maxquota",
    "quota",
    "transport",
    "backupmx",
    "active",
)
LIST_COLUMNS = ("domain", "description", "aliases", "mailboxes", "maxquota", "quota", "active")


def _settings(parser: argparse.ArgumentParser, *, adding: bool) -> None:
    default: Any = 0 if adding else None
    parser.add_argument("--description", default="" if adding else None)
    parser.add_argument(
        "--aliases", type=int, default=default, metavar="N", help="alias limit (0 = unlimited)"
    )
    parser.add_argument(
        "--mailboxes", type=int, default=default, metavar="N", help="mailbox limit (0 = unlimited)"
    )
    parser.add_argument(
        "--maxquota", type=int, default=default, metavar="MB", help="largest mailbox quota"
    )
    parser.add_argument("--quota", type=int, default=default, metavar="MB", help="domain total")
    parser.add_argument("--transport", default=None, help="e.g. virtual, lmtp:unix:private/lmtp")
    cli.flag_pair(parser, "backupmx", "backup MX for the domain", "not a backup MX",
                  False if adding else None)  # fmt: skip
    cli.flag_pair(parser, "active", "active (default)", "inactive", True if adding else None)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    plain, with_json = cli.common_options(), cli.common_options(json_output=True)
    add = sub.add_parser("add", parents=[plain], help="add a domain")
    add.add_argument("domain")
    _settings(add, adding=True)
    sub.add_parser("list", parents=[with_json], help="list domains")
    show = sub.add_parser("show", parents=[with_json], help="show a domain and its usage")
    show.add_argument("domain")
    edit = sub.add_parser("edit", parents=[plain], help="change a domain's settings")
    edit.add_argument("domain")
    _settings(edit, adding=False)
    delete = sub.add_parser(
        "delete", parents=[plain], help="delete a domain with all its mailboxes and aliases"
    )
    delete.add_argument("domain")


@cli.guarded("domain")
def run(args: argparse.Namespace) -> int:
    svc, actor = cli.service(args)
    settings = {key: getattr(args, key) for key in SETTINGS if getattr(args, key, None) is not None}
    if args.action == "add":
        row = svc.add_domain(actor, args.domain, **settings)
        print(f"domain {row['domain']} added")
    elif args.action == "edit":
        if not settings:
            raise cli.UsageError("nothing to change: give at least one option")
        row = svc.edit_domain(actor, args.domain, **settings)
        print(f"domain {row['domain']} changed")
    elif args.action == "delete":
        counts = svc.delete_domain(actor, args.domain)
        print(
            f"domain {rules.domain_name(args.domain)} deleted with {counts['mailbox']} mailboxes,"
            f" {counts['alias']} aliases and {counts['alias_domain']} alias domains"
        )
    elif args.action == "list":
        cli.list_records(svc.list_domains(actor), LIST_COLUMNS, args.json)
    else:
        row = svc.get_domain(actor, args.domain)
        cli.show_record(row | svc.domain_usage(actor, args.domain), args.json)
    return cli.EXIT_OK
