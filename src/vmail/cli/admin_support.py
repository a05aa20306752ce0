"""Shared parts of the directory commands (``vmail domain|mailbox|alias|alias-domain|admin``).

* **Database**: ``--database URL``, else ``$VMAIL_DATABASE``, else main.cf's
  ``vmail_database`` in the configuration directory, else ``sqlite:///DIR/vmail.db``.
* **Acting principal**: the command-line user (root-equivalent), or ``--as-admin NAME``
  to act with that admin account's rights.
* **Passwords** are never taken from the command line: ``--password-file FILE`` (``-`` =
  stdin; its first line, without the line break) or an interactive prompt, asked twice.
* **Output**: text for people, ``--json`` for scripts (field names = PostfixAdmin columns).
* **Exit status**: one per kind of failure (see :data:`EXIT_CODES` and ``docs/cli.md``),
  with one ``vmail CMD: fatal: ...`` line on stderr.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import URL

from vmail.admin import (
    Actor,
    AdminError,
    AdminService,
    AlreadyExistsError,
    AuthenticationError,
    ForbiddenError,
    InvalidError,
    LimitExceededError,
    NotFoundError,
)
from vmail.admin.records import Record
from vmail.admin.rules import size
from vmail.config import MainConfig
from vmail.config.main import resolve_config_dir
from vmail.core.errors import VmailError
from vmail.directory.database import DATABASE_PARAMETER, open_database
from vmail.directory.database import database_url as configured_database_url

ENV_DATABASE = "VMAIL_DATABASE"
DEFAULT_DATABASE_FILE = "vmail.db"

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CODES: dict[type[AdminError], int] = {
    NotFoundError: 3,
    AlreadyExistsError: 4,
    LimitExceededError: 5,
    InvalidError: 6,
    ForbiddenError: 7,
    AuthenticationError: 8,  # a wrong password, API token or TOTP code
}

Run = Callable[[argparse.Namespace], int]


class UsageError(VmailError):
    """The command line is incomplete or contradictory (exit status 2)."""


def exit_code(error: VmailError) -> int:
    if isinstance(error, UsageError):
        return EXIT_USAGE
    for cls, code in EXIT_CODES.items():
        if isinstance(error, cls):
            return code
    return EXIT_ERROR


def guarded(command: str) -> Callable[[Run], Run]:
    """Wrap ``run``: a VmailError becomes one fatal line and its own exit status."""

    def decorate(run: Run) -> Run:
        @functools.wraps(run)
        def wrapper(args: argparse.Namespace) -> int:
            try:
                return run(args)
            except VmailError as e:
                message = str(e).splitlines()[0] if str(e) else type(e).__name__
                print(f"vmail {command}: fatal: {message}", file=sys.stderr)
                return exit_code(e)

        return wrapper

    return decorate


# -- arguments --------------------------------------------------------------------------


def common_options(*, json_output: bool = False) -> argparse.ArgumentParser:
    """A parent parser with the options every action takes."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(  # also after the action, as in "vmail domain list -c DIR"
        "-c", dest="config_dir", metavar="DIR", default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    parent.add_argument(
        "--database",
        metavar="URL",
        help="directory database (default: $VMAIL_DATABASE, else main.cf vmail_database)",
    )
    parent.add_argument(
        "--as-admin",
        metavar="ADMIN",
        help="act with the rights of this admin account (default: the CLI, unrestricted)",
    )
    if json_output:
        parent.add_argument("--json", action="store_true", help="machine-readable output")
    return parent


def flag_pair(
    parser: argparse.ArgumentParser, name: str, on_help: str, off_help: str, default: bool | None
) -> None:
    """``--NAME`` / ``--no-NAME`` (or ``--active``/``--inactive``) setting ``args.NAME``."""
    group = parser.add_mutually_exclusive_group()
    off = "--inactive" if name == "active" else f"--no-{name}"
    group.add_argument(f"--{name}", dest=name, action="store_true", help=on_help)
    group.add_argument(off, dest=name, action="store_false", help=off_help)
    parser.set_defaults(**{name: default})


def password_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help="read the password from the first line of FILE ('-' = stdin); default: prompt",
    )


def actions(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any]:
    subparsers = parser.add_subparsers(dest="action", metavar="ACTION")
    subparsers.required = True
    return subparsers


# -- database and principal -------------------------------------------------------------


def database_url(args: argparse.Namespace) -> str | URL:
    """Where the directory is: --database, $VMAIL_DATABASE, main.cf, then a default file."""
    if args.database:
        return str(args.database)
    if os.environ.get(ENV_DATABASE):
        return os.environ[ENV_DATABASE]
    config_dir = resolve_config_dir(getattr(args, "config_dir", None))
    if (config_dir / "main.cf").exists():
        config = MainConfig.load(config_dir)
        if config.get(DATABASE_PARAMETER).strip():
            return configured_database_url(config)
    return f"sqlite:///{config_dir / DEFAULT_DATABASE_FILE}"


def service(args: argparse.Namespace) -> tuple[AdminService, Actor]:
    """The admin service on the configured database, and who acts."""
    svc = AdminService(open_database(database_url(args)))
    actor = svc.actor_for(args.as_admin) if args.as_admin else Actor.cli()
    return svc, actor


# -- passwords --------------------------------------------------------------------------


def read_password(args: argparse.Namespace, prompt: str = "Password") -> str:
    """From --password-file (first line), else asked twice on the terminal."""
    source = getattr(args, "password_file", None)
    if source:
        return _password_from_file(source)
    if not sys.stdin.isatty():
        raise UsageError(
            "no terminal to ask for the password: use --password-file FILE (- = stdin)"
        )
    first = getpass.getpass(f"{prompt}: ")
    second = getpass.getpass(f"{prompt} (again): ")
    if first != second:
        raise InvalidError("the two passwords do not match")
    return first


def _password_from_file(source: str) -> str:
    try:
        if source == "-":
            line = sys.stdin.readline()
        else:
            with open(source, encoding="utf-8") as f:
                line = f.readline()
    except OSError as e:
        raise UsageError(f"cannot read password file {source}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InvalidError(f"password file {source} is not UTF-8 text") from None
    line = line.removesuffix("\n").removesuffix("\r")
    if not line:
        raise InvalidError(f"no password in {'stdin' if source == '-' else source}")
    return line


# -- output -----------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value)
    if value is None:
        return ""
    return str(_plain(value))


def print_json(document: Any) -> None:
    if isinstance(document, list):
        document = [{k: _plain(v) for k, v in row.items()} for row in document]
    elif isinstance(document, dict):
        document = {k: _plain(v) for k, v in document.items()}
    json.dump(document, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def show_record(row: Record, as_json: bool) -> None:
    """One object: JSON, or ``field: value`` lines."""
    if as_json:
        print_json(row)
        return
    width = max(len(k) for k in row)
    for key, value in row.items():
        print(f"{key + ':':<{width + 1}} {_text(value)}".rstrip())


def list_records(rows: Sequence[Record], columns: Sequence[str], as_json: bool) -> None:
    """Many objects: a JSON array, or a table of ``columns`` with a header."""
    if as_json:
        print_json(list(rows))
        return
    table = [list(columns)] + [[_text(row.get(c)) for c in columns] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(columns))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())


def parse_size(text: str) -> int:
    """argparse type for sizes: bytes from ``100`` (MB), ``100M``, ``2G``…"""
    try:
        return size(text)
    except InvalidError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
