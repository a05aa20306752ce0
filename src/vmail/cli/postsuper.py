"""``vmail postsuper``: delete, hold, release and requeue messages, as postsuper(1).

``-d ID|ALL|- [queue]`` deletes, ``-h`` puts on hold, ``-H`` releases from hold (into
``deferred``, as Postfix), ``-r`` requeues (unfinished recipients become pending again and
the message goes to ``incoming``). ``-`` reads IDs from standard input, one per line;
the options may be repeated and combined. The optional queue name limits the search;
without it each operation searches the queues Postfix searches.

Output is Postfix's, on stderr: ``postsuper: ID: removed`` per named message (not for
``ALL``), then ``postsuper: Deleted: N messages``; an ID that is not a queue file name
gives ``postsuper: warning: invalid mail queue id: ID``; an unknown queue name is fatal.
Exit status 0 unless something was fatal. Blocking disk I/O (rename, unlink, fsync). The
operations are :mod:`vmail.queue.tools`'s (the web UI and API run the same).
"""

from __future__ import annotations

import argparse
import sys

from vmail.cli.queue_support import fatal, open_spool, usage_errors
from vmail.queue import Spool
from vmail.queue.ids import is_valid_id
from vmail.queue.spool import QUEUES
from vmail.queue.tools import OPERATIONS, Operation, apply

PROG = "postsuper"
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
        if queue not in QUEUES:
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
            print(f"{PROG}: warning: invalid mail queue id: {queue_id}", file=sys.stderr)
            continue
        if apply(spool, op, queue_id, queues):
            count += 1
            if verbose:
                print(f"{PROG}: {queue_id}: {op.done}", file=sys.stderr)
    return count
