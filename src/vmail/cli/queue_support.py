"""What ``vmail postqueue``, ``postsuper`` and ``postcat`` share: finding the spool and
reading queue files without side effects (a listing never moves a corrupt file)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator
from typing import NoReturn

from vmail.cli.main import GETOPT_STYLE
from vmail.config import MainConfig
from vmail.queue import QueueFile, Spool
from vmail.queue.spool import MAIL_QUEUES
from vmail.queue.tools import read_messages

EX_UNAVAILABLE = 69  # sysexits.h, as Postfix's tools use it


def open_spool(args: argparse.Namespace) -> Spool:
    """The spool named by ``queue_directory`` in the configuration's main.cf."""
    return Spool.from_config(MainConfig.load(args.config_dir))


def fatal(prog: str, message: str, status: int = 1) -> NoReturn:
    print(f"{prog}: fatal: {message}", file=sys.stderr)
    raise SystemExit(status)


def warn(prog: str, message: str) -> None:
    print(f"{prog}: warning: {message}", file=sys.stderr)


def usage_errors(parser: argparse.ArgumentParser, prog: str, usage: str) -> None:
    """Usage errors as Postfix reports them (``fatal: usage: ...``, exit 1)."""
    GETOPT_STYLE.add(parser)

    def error(message: str) -> NoReturn:
        print(f"{prog}: {message}", file=sys.stderr)
        fatal(prog, f"usage: {usage}")

    parser.usage = usage
    parser.error = error  # type: ignore[method-assign]


def messages(
    spool: Spool, prog: str, queues: tuple[str, ...] = MAIL_QUEUES
) -> Iterator[tuple[str, QueueFile]]:
    """Every readable message in ``queues``, in listing order; bad ones are warned about."""
    return read_messages(spool, queues, lambda queue_id, reason: _corrupt(prog, queue_id, reason))


def _corrupt(prog: str, queue_id: str, reason: str) -> None:
    warn(prog, f"{queue_id}: corrupt queue file: {reason}")
