"""``vmail route``: explain what happens to mail for one or more addresses.

Several addresses behave like several RCPTs of one message. The exit status says whether
the command could run (0), failed (1: configuration or table error) or was misused (2);
the verdict itself is in the output. ``--json`` prints the schema documented in
``docs/route-json.md`` (``"schema": 1``), built by :mod:`vmail.route_report` (the web UI
and API explain with the same).
"""

from __future__ import annotations

import argparse
import json
import sys

from vmail.config import MainConfig
from vmail.route import Router
from vmail.route_report import document, make_client, report_text

__all__ = ["add_arguments", "report_text", "run"]  # sendmail -bv prints report_text


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
    client = make_client(args.client_ip, args.client_name, args.helo, args.sasl_user)
    reports = Router(config).route(args.addresses, client, args.sender or None)
    if args.json:
        json.dump(document(client, args.sender, reports), sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        for report in reports:
            sys.stdout.write(report_text(report))
    return 0
