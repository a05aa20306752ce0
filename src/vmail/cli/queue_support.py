"""What ``vmail postqueue``, ``postsuper`` and ``postcat`` share: finding the spool and
reading queue files without side effects (a listing never moves a corrupt file)."""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from typing import NoReturn

from vmail.cli.main import GETOPT_STYLE
from vmail.config import MainConfig
from vmail.queue import QueueFile, Spool
from vmail.queue.spool import MAIL_QUEUES
from vmail.queue.tools import read_messages

_MISSING_ARGUMENT = re.compile(r"argument -(\w): expected one argument")
ID_MAX = 255
EX_UNAVAILABLE = 69  # sysexits.h, as Postfix's tools use it


def open_spool(args: argparse.Namespace) -> Spool:
    """The spool named by ``queue_directory`` in the configuration's main.cf."""
    return Spool.from_config(MainConfig.load(args.config_dir))


def fatal(prog: str, message: str, status: int = 1) -> NoReturn:
    print(f"{prog}: fatal: {message}", file=sys.stderr)
    raise SystemExit(status)


def postfix_id_ok(text: str) -> bool:
    """Whether Postfix would take ``text`` as a queue ID (mail_queue_id_ok: up to 255
    letters, digits or ``_``). vmail's own IDs are a subset; Postfix's tools answer an
    ID they take but cannot find as "not found", and warn about or refuse the others."""
    return 0 < len(text) <= ID_MAX and all(c.isascii() and (c.isalnum() or c == "_") for c in text)


def warn(prog: str, message: str) -> None:
    print(f"{prog}: warning: {message}", file=sys.stderr)


def usage_errors(parser: argparse.ArgumentParser, prog: str, usage: str, status: int = 1) -> None:
    """Usage errors as Postfix's tools report them: getopt(3)'s complaint about an unknown
    option or a missing argument, if that is the error, then ``fatal: usage: ...`` and
    exit ``status`` (1; postqueue uses 69)."""
    GETOPT_STYLE.add(parser)

    def error(message: str) -> NoReturn:
        missing = _MISSING_ARGUMENT.match(message)
        if missing:
            message = f"option requires an argument -- '{missing.group(1)}'"
        if message.startswith(("invalid option", "option requires")):
            print(f"{prog}: {message}", file=sys.stderr)
        fatal(prog, f"usage: {usage}", status)

    parser.usage = usage
    parser.error = error  # type: ignore[method-assign]


def messages(
    spool: Spool, prog: str, queues: tuple[str, ...] = MAIL_QUEUES
) -> Iterator[tuple[str, QueueFile]]:
    """Every readable message in ``queues``, in listing order; bad ones are warned about."""
    return read_messages(spool, queues, lambda queue_id, reason: _corrupt(prog, queue_id, reason))


def _corrupt(prog: str, queue_id: str, reason: str) -> None:
    warn(prog, f"{queue_id}: corrupt queue file: {reason}")
