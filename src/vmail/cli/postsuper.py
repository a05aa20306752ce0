"""``vmail postsuper``: delete, hold, release and requeue messages, as postsuper(1).

``-d ID|ALL|- [queue]`` deletes, ``-h`` puts on hold, ``-H`` releases from hold (into
``deferred``, as Postfix), ``-r`` requeues (unfinished recipients become pending again and
the message goes to ``incoming``). ``-`` reads IDs from standard input, one per line;
the options may be repeated and combined. The optional queue name limits the search;
without it each operation searches the queues Postfix searches.

Output is Postfix's, on stderr: ``postsuper: ID: removed`` per named message (not for
``ALL``), then ``postsuper: Deleted: N messages``; an ID Postfix would not take (up to
255 letters, digits or ``_``) gives ``postsuper: warning: invalid mail queue id: ID``,
one it would take but that names no message is just not counted. An unknown queue name
is fatal; Postfix's ``maildrop``, ``bounce``, ``defer``, ``trace`` and ``flush`` are
taken and hold nothing here, and ``corrupt`` (which Postfix refuses) is vmail's own.
Exit status 0 unless something was fatal. Blocking disk I/O (rename, unlink, fsync). The
operations are :mod:`vmail.queue.tools`'s (the web UI and API run the same).
"""

from __future__ import annotations

import argparse
import sys

from vmail.cli.queue_support import fatal, open_spool, postfix_id_ok, usage_errors
from vmail.queue import Spool
from vmail.queue.ids import is_valid_id
from vmail.queue.spool import QUEUES
from vmail.queue.tools import OPERATIONS, Operation, apply

PROG = "postsuper"
# queue directories Postfix's postsuper takes that never hold a vmail message (sendmail
# queues into incoming; bounce, defer, trace and flush logs are status records here)
EMPTY_POSTFIX_QUEUES = ("maildrop", "bounce", "defer", "trace", "flush")
USAGE = (
    f"vmail {PROG} [-c config_dir] [-d queue_id] [-h queue_id] [-H queue_id]"
    " [-r queue_id] [queue...]"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # -h means hold, as in Postfix; --help stays (a group made now resolves the clash)
    parser.conflict_handler = "resolve"
    add = parser.add_argument_group("operations").add_argument
    add("-d", dest="delete", action="append", metavar="ID", help="delete (ALL, - for stdin)")
    add("-h", dest="hold", action="append", metavar="ID", help="put on hold")
    add("-H", dest="release", action="append", metavar="ID", help="release from hold")
    add("-r", dest="requeue", action="append", metavar="ID", help="requeue")
    parser.add_argument("queues", nargs="*", metavar="queue", help="limit to these queues")
    usage_errors(parser, PROG, USAGE)


def run(args: argparse.Namespace) -> int:
    for queue in args.queues:
        if queue not in QUEUES and queue not in EMPTY_POSTFIX_QUEUES:
            fatal(PROG, f"invalid directory name: {queue}")
    spool = open_spool(args)
    stdin_ids: list[str] | None = None
    for op in OPERATIONS:
        given: list[str] | None = getattr(args, op.name)
        if not given:
            continue
        queues = tuple(q for q in op.queues if q in args.queues) if args.queues else op.queues
        count = 0
        for name in given:
            if name == "-":
                if stdin_ids is None:
                    stdin_ids = [line.strip() for line in sys.stdin if line.strip()]
                names, verbose = stdin_ids, True
            elif name == "ALL":
                names, verbose = [i for q in queues for i in spool.ids(q)], False
            else:
                names, verbose = [name], True
            count += _apply(spool, op, names, queues, verbose)
        print(f"{PROG}: {op.summary}: {count} message{'' if count == 1 else 's'}", file=sys.stderr)
    return 0


def _apply(
    spool: Spool, op: Operation, names: list[str], queues: tuple[str, ...], verbose: bool
) -> int:
    count = 0
    for queue_id in names:
        if not is_valid_id(queue_id):
            if not postfix_id_ok(queue_id):  # a Postfix-style ID is just not found
                print(f"{PROG}: warning: invalid mail queue id: {queue_id}", file=sys.stderr)
            continue
        if apply(spool, op, queue_id, queues):
            count += 1
            if verbose:
                print(f"{PROG}: {queue_id}: {op.done}", file=sys.stderr)
    return count
