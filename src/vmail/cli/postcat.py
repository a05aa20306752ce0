"""``vmail postcat -q ID``: show a queue file, laid out like Postfix's postcat(1).

Sections ``*** ENVELOPE RECORDS queue/ID ***``, ``*** MESSAGE CONTENTS queue/ID ***``,
``*** HEADER EXTRACTED queue/ID ***`` and ``*** MESSAGE FILE END queue/ID ***``. The
envelope uses Postfix's record names (``message_size``, ``message_arrival_time``,
``sender``, ``original_recipient``, ``recipient``, ``done_recipient`` for finished ones,
``named_attribute``); vmail's status records follow as ``delivery_status`` lines. The
content is shown with LF line ends. ``-e``/``-h``/``-b`` limit the output to the
envelope, the header or the body, as in Postfix. A file that does not parse is reported
(``fatal``), never moved. Blocking disk reads. The layout is
:mod:`vmail.queue.show`'s (the web UI shows the same).
"""

from __future__ import annotations

import argparse
import sys

from vmail.cli.queue_support import fatal, postfix_id_ok, usage_errors
from vmail.cli.queue_support import open_spool as _open_spool
from vmail.queue import QueueFile
from vmail.queue.file import CorruptQueueFileError
from vmail.queue.ids import is_valid_id
from vmail.queue.show import render
from vmail.queue.spool import QUEUES

PROG = "postcat"
USAGE = f"vmail {PROG} [-beh] [-c config_dir] -q queue_id"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # -h means header, as in Postfix; --help stays (a group made now resolves the clash)
    parser.conflict_handler = "resolve"
    add = parser.add_argument_group("options").add_argument
    add("-q", dest="queue_id", required=True, metavar="QUEUE_ID")
    add("-e", dest="envelope", action="store_true", help="envelope only")
    add("-h", dest="header", action="store_true", help="header only")
    add("-b", dest="body", action="store_true", help="body only")
    usage_errors(parser, PROG, USAGE)


def run(args: argparse.Namespace) -> int:
    if not postfix_id_ok(args.queue_id):
        fatal(PROG, f"bad mail queue ID: {args.queue_id}")
    spool = _open_spool(args)
    queue = spool.find(args.queue_id, QUEUES) if is_valid_id(args.queue_id) else None
    if queue is None:
        fatal(PROG, f"open queue file {args.queue_id}: No such file or directory")
    try:
        entry = QueueFile.load(spool.path(queue, args.queue_id))
        show_all = not (args.envelope or args.header or args.body)
        for line in render(
            entry,
            f"{queue}/{args.queue_id}",
            envelope=show_all or args.envelope,
            header=show_all or args.header,
            body=show_all or args.body,
            sections=show_all,
        ):
            sys.stdout.buffer.write(line + b"\n")
    except FileNotFoundError:
        fatal(PROG, f"open queue file {args.queue_id}: No such file or directory")
    except CorruptQueueFileError as e:
        sys.stdout.flush()
        fatal(PROG, f"{queue}/{args.queue_id}: corrupt queue file: {e.reason}")
    return 0
