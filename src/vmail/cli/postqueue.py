"""``vmail postqueue``: list and flush the queue, as Postfix's postqueue(1).

* ``-p``: the sendmail-style listing (``mailq``), column for column as Postfix 3.7 prints
  it with ``enable_long_queue_ids = yes``: ``*`` after the ID marks the active queue,
  ``!`` the hold queue; unfinished recipients are grouped under their deferral reason in
  parentheses; a ``-- N Kbytes in M Requests.`` footer, or ``Mail queue is empty``.
* ``-j``: one JSON object per message with Postfix's member names (``queue_name``,
  ``queue_id``, ``arrival_time``, ``message_size``, ``forced_expire``, ``sender``,
  ``recipients`` of ``address`` and, when known, ``delay_reason``).
* ``-f``: every deferred message may be tried now (a ``flush`` status record, then a move
  to ``incoming`` where the queue manager looks first). Works without a running server.
* ``-i ID``: the same for one deferred message; an unknown ID is silently ignored, as in
  Postfix, an ID that is not a queue file name is fatal (exit 69).

Listings read queue files without changing them (blocking disk reads).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator

from vmail.cli.control import wake_server
from vmail.cli.queue_support import EX_UNAVAILABLE, fatal, messages, open_spool, usage_errors
from vmail.config import MainConfig
from vmail.queue import QueueFile, Spool
from vmail.queue.envelope import DEFERRED as STATUS_DEFERRED
from vmail.queue.ids import is_valid_id
from vmail.queue.spool import ACTIVE, DEFERRED, HOLD, INCOMING

PROG = "postqueue"
USAGE = f"vmail {PROG} [-c config_dir] -f | -i queue_id | -j | -p"
HEADER = "----Queue ID----- --Size-- ---Arrival Time---- --Sender/Recipient------"
ID_WIDTH = 17
RECIPIENT_INDENT = 47
REASON_WIDTH = 76
MARKS = {ACTIVE: "*", HOLD: "!"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("-p", dest="listing", action="store_true", help="mailq-style listing")
    group.add_argument("-j", dest="json", action="store_true", help="JSON lines listing")
    group.add_argument("-f", dest="flush", action="store_true", help="retry deferred mail now")
    group.add_argument("-i", dest="flush_id", metavar="QUEUE_ID", help="retry one message now")
    usage_errors(parser, PROG, USAGE)


def run(args: argparse.Namespace) -> int:
    if args.flush_id is not None and not is_valid_id(args.flush_id):
        fatal(PROG, f'Cannot flush queue ID - invalid name: "{args.flush_id}"', EX_UNAVAILABLE)
    spool = open_spool(args)
    if args.listing:
        sys.stdout.writelines(line + "\n" for line in mailq(spool))
    elif args.json:
        for queue, entry in messages(spool, PROG):
            sys.stdout.write(json.dumps(json_entry(queue, entry), ensure_ascii=False) + "\n")
    else:
        for queue_id in spool.ids(DEFERRED) if args.flush else [args.flush_id]:
            flush(spool, queue_id)
        wake_server(MainConfig.load(args.config_dir))  # a running vmail serve delivers now
    return 0


def sender_text(sender: str) -> str:
    return sender or "MAILER-DAEMON"


def arrival_text(when: float) -> str:
    """``Fri Nov  7 08:02:35``: asctime without the year, as showq prints it."""
    return time.asctime(time.localtime(when))[:19]


def mailq(spool: Spool) -> Iterator[str]:
    """The lines of ``postqueue -p`` (without newlines)."""
    total = count = 0
    for queue, entry in messages(spool, PROG):
        if not count:
            yield HEADER
        count += 1
        total += entry.message_size
        yield from entry_lines(queue, entry)
    if not count:
        yield "Mail queue is empty"
    else:
        yield f"-- {total // 1024} Kbytes in {count} Request{'' if count == 1 else 's'}."


def entry_lines(queue: str, entry: QueueFile) -> Iterator[str]:
    name = entry.queue_id + MARKS.get(queue, "")
    env = entry.envelope
    yield (
        f"{name:<{ID_WIDTH}} {entry.message_size:8d} {arrival_text(env.arrival_time)}"
        f" {sender_text(env.sender)}"
    )
    for reason, addresses in _by_reason(entry):
        if reason:
            yield " " * max(0, REASON_WIDTH - len(reason)) + f"({reason})"
        for address in addresses:
            yield " " * RECIPIENT_INDENT + address
    yield ""


def _by_reason(entry: QueueFile) -> list[tuple[str, list[str]]]:
    """Unfinished recipients grouped by deferral reason, in the order the reasons were
    recorded (as showq reads Postfix's defer log); recipients without one come last."""
    groups: dict[str, list[str]] = {}
    pairs = zip(entry.envelope.recipients, entry.states, strict=True)
    for recipient, state in sorted(pairs, key=lambda pair: pair[1].sequence):
        if state.final:
            continue
        reason = state.reason if state.status == STATUS_DEFERRED else ""
        groups.setdefault(reason, []).append(recipient.address)
    plain = groups.pop("", None)
    ordered = list(groups.items())
    if plain is not None:
        ordered.append(("", plain))
    return ordered


def json_entry(queue: str, entry: QueueFile) -> dict[str, object]:
    recipients: list[dict[str, str]] = []
    for recipient, state in zip(entry.envelope.recipients, entry.states, strict=True):
        if state.final:
            continue
        item = {"address": recipient.address}
        if state.status == STATUS_DEFERRED and state.reason:
            item["delay_reason"] = state.reason
        recipients.append(item)
    return {
        "queue_name": queue,
        "queue_id": entry.queue_id,
        "arrival_time": int(entry.envelope.arrival_time),
        "message_size": entry.message_size,
        "forced_expire": False,
        "sender": sender_text(entry.envelope.sender),
        "recipients": recipients,
    }


def flush(spool: Spool, queue_id: str) -> bool:
    """Make one deferred message due now; False if it is not in the deferred queue."""
    try:
        entry = QueueFile.load(spool.path(DEFERRED, queue_id))
    except FileNotFoundError:
        return False
    entry.append([{"t": time.time(), "op": "flush"}])
    try:
        spool.move(queue_id, DEFERRED, INCOMING)
    except FileNotFoundError:
        return False
    return True
