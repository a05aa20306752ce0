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
* ``-s site``: the same for the deferred messages with a recipient at ``site``, as ETRN
  does; fatal (exit 69, Postfix's texts) unless ``site`` is a host name or an address
  literal in ``fast_flush_domains``.

Listings read queue files without changing them (blocking disk reads). The logic is
:mod:`vmail.queue.tools`'s (the web UI and API use the same); this module only formats.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator

from vmail.cli.control import wake_server
from vmail.cli.queue_support import (
    EX_UNAVAILABLE,
    fatal,
    open_spool,
    postfix_id_ok,
    usage_errors,
    warn,
)
from vmail.config import MainConfig
from vmail.core.errors import ConfigError, TableError
from vmail.protocol.smtp.hostnames import valid_address_literal, valid_hostname
from vmail.queue import Spool
from vmail.queue.ids import is_valid_id
from vmail.queue.spool import ACTIVE, HOLD
from vmail.queue.tools import QueueEntry, flush, flush_all, flush_site, list_queue
from vmail.rewrite.context import RoutingContext

PROG = "postqueue"
USAGE = f"vmail {PROG} [-c config_dir] -f | -i queue_id | -j | -p | -s site"
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
    group.add_argument("-s", dest="site", metavar="SITE", help="retry mail for one site now")
    usage_errors(parser, PROG, USAGE, EX_UNAVAILABLE)


def run(args: argparse.Namespace) -> int:
    if args.flush_id is not None and not postfix_id_ok(args.flush_id):
        name = args.flush_id if len(args.flush_id) <= 100 else args.flush_id[:100] + "..."
        fatal(PROG, f'Cannot flush queue ID - invalid name: "{name}"', EX_UNAVAILABLE)
    spool = open_spool(args)
    if args.listing:
        sys.stdout.writelines(line + "\n" for line in mailq(spool))
    elif args.json:
        for entry in _entries(spool):
            sys.stdout.write(json.dumps(entry.to_json(), ensure_ascii=False) + "\n")
    elif args.site is not None:
        flush_destination(MainConfig.load(args.config_dir), spool, args.site)
    else:
        if args.flush:
            flush_all(spool)
        elif is_valid_id(args.flush_id):  # else a Postfix-style ID: no such message
            flush(spool, args.flush_id)
        wake_server(MainConfig.load(args.config_dir))  # a running vmail serve delivers now
    return 0


def flush_destination(config: MainConfig, spool: Spool, site: str) -> None:
    """``-s site`` (and ``sendmail -qRsite``): the site's deferred mail is tried now, as
    for ETRN; a site that is no host name or address literal, or not in
    ``fast_flush_domains``, is fatal with Postfix's texts (exit 69)."""
    if not (valid_hostname(site) or valid_address_literal(site)):
        fatal(PROG, f'Cannot flush mail queue - invalid destination: "{site}"', EX_UNAVAILABLE)
    try:
        listed = RoutingContext(config).domain_list("fast_flush_domains").match(site)
    except (TableError, ConfigError) as e:
        fatal(PROG, f"fast_flush_domains: {e}", EX_UNAVAILABLE)
    if not listed:
        fatal(PROG, f'Flush service is not configured for destination "{site}"', EX_UNAVAILABLE)
    flush_site(spool, site)
    wake_server(config)


def _entries(spool: Spool) -> Iterator[QueueEntry]:
    return list_queue(spool, on_corrupt=_corrupt)


def _corrupt(queue_id: str, reason: str) -> None:
    warn(PROG, f"{queue_id}: corrupt queue file: {reason}")


def arrival_text(when: float) -> str:
    """``Fri Nov  7 08:02:35``: asctime without the year, as showq prints it."""
    return time.asctime(time.localtime(when))[:19]


def mailq(spool: Spool) -> Iterator[str]:
    """The lines of ``postqueue -p`` (without newlines)."""
    total = count = 0
    for entry in _entries(spool):
        if not count:
            yield HEADER
        count += 1
        total += entry.size
        yield from entry_lines(entry)
    if not count:
        yield "Mail queue is empty"
    else:
        yield f"-- {total // 1024} Kbytes in {count} Request{'' if count == 1 else 's'}."


def entry_lines(entry: QueueEntry) -> Iterator[str]:
    name = entry.queue_id + MARKS.get(entry.queue, "")
    yield f"{name:<{ID_WIDTH}} {entry.size:8d} {arrival_text(entry.arrival_time)} {entry.sender}"
    for reason, addresses in entry.by_reason():
        if reason:
            yield " " * max(0, REASON_WIDTH - len(reason)) + f"({reason})"
        for address in addresses:
            yield " " * RECIPIENT_INDENT + address
    yield ""
