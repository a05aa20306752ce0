"""``vmail import postfix DIR`` and ``vmail import dovecot-passwd FILE``.

Brings an existing setup's domains, mailboxes and aliases into the directory database.
Importing twice changes nothing; objects that already exist with different data are
reported as conflicts and left alone (exit status 4), never overwritten. ``--dry-run``
shows what would happen without writing. See :mod:`vmail.admin.importing`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vmail.admin import Actor, AdminService
from vmail.admin.import_dovecot import plan_from_passwd_file
from vmail.admin.import_postfix import plan_from_postfix
from vmail.admin.importing import CONFLICT, ImportPlan, ImportReport
from vmail.cli import admin_support as cli

EXIT_CONFLICTS = 4  # as "already exists": something is there, with other data


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = cli.actions(parser)
    postfix = sub.add_parser(
        "postfix", parents=[cli.common_options(json_output=True)],
        help="import from a Postfix configuration directory (main.cf and its tables)",
    )  # fmt: skip
    postfix.add_argument("source", metavar="DIR", help="Postfix configuration directory")
    passwd = sub.add_parser(
        "dovecot-passwd", parents=[cli.common_options(json_output=True)],
        help="import mailboxes and password hashes from a Dovecot passwd-file",
    )  # fmt: skip
    passwd.add_argument("source", metavar="FILE", help="passwd-file (user:password:...)")
    for action in (postfix, passwd):
        action.add_argument(
            "--dry-run", action="store_true", help="show what would change; write nothing"
        )


@cli.guarded("import")
def run(args: argparse.Namespace) -> int:
    source = Path(args.source)
    plan = plan_from_postfix(source) if args.action == "postfix" else plan_from_passwd_file(source)
    service, actor = cli.service(args)
    report = _apply(service, actor, plan, f"{args.action}:{source}", dry_run=args.dry_run)
    _print(report, as_json=args.json, dry_run=args.dry_run)
    return EXIT_CONFLICTS if report.conflicts else cli.EXIT_OK


def _apply(
    service: AdminService, actor: Actor, plan: ImportPlan, source: str, *, dry_run: bool
) -> ImportReport:
    if not dry_run:
        return service.import_plan(actor, plan, source)
    return service.preview_import(actor, plan, source)


def _print(report: ImportReport, *, as_json: bool, dry_run: bool) -> None:
    if as_json:
        outcomes = [
            {"kind": o.kind, "name": o.name, "result": o.result, "detail": o.detail}
            for o in report.outcomes
        ]
        json.dump({"dry_run": dry_run, "outcomes": outcomes}, sys.stdout, indent=2)
        sys.stdout.write("\n")
        return
    for o in report.outcomes:
        detail = f" ({o.detail})" if o.detail else ""
        print(f"{o.kind} {o.name}: {o.result}{detail}")
    totals = ", ".join(
        f"{report.count(r)} {r}" for r in ("created", "updated", "unchanged", CONFLICT, "skipped")
    )
    print(f"{'would be: ' if dry_run else ''}{totals}")
