"""``vmail postcat -q ID``: show a queue file, laid out like Postfix's postcat(1).

Sections ``*** ENVELOPE RECORDS queue/ID ***``, ``*** MESSAGE CONTENTS queue/ID ***``,
``*** HEADER EXTRACTED queue/ID ***`` and ``*** MESSAGE FILE END queue/ID ***``. The
envelope uses Postfix's record names (``message_size``, ``message_arrival_time``,
``sender``, ``original_recipient``, ``recipient``, ``done_recipient`` for finished ones,
``named_attribute``); vmail's status records follow as ``delivery_status`` lines. The
content is shown with LF line ends. ``-e``/``-h``/``-b`` limit the output to the
envelope, the header or the body, as in Postfix. A file that does not parse is reported
(``fatal``), never moved. Blocking disk reads.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator

from vmail.cli.queue_support import fatal, usage_errors
from vmail.cli.queue_support import open_spool as _open_spool
from vmail.queue import QueueFile
from vmail.queue.file import CorruptQueueFileError
from vmail.queue.ids import id_time, is_valid_id
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


def _when(seconds: float) -> str:
    return time.asctime(time.localtime(seconds))


def envelope_lines(entry: QueueFile) -> Iterator[str]:
    env = entry.envelope
    yield (
        f"message_size:{entry.message_size:16d}{entry.content_offset:16d}"
        f"{len(env.recipients):16d}{0:16d}{entry.message_size:16d}{0:16d}"
    )
    yield f"message_arrival_time: {_when(env.arrival_time)}"
    yield f"create_time: {_when(id_time(entry.queue_id))}"
    if env.envid:
        yield f"dsn_envelope_id: {env.envid}"
    if env.ret:
        yield f"dsn_ret: {env.ret}"
    yield f"sender: {env.sender}"
    for key, value in env.client.items():
        yield (
            f"named_attribute: client_{key}={value}"
            if key != "helo"
            else (f"named_attribute: helo_name={value}")
        )
    for key, value in env.attributes.items():
        yield f"named_attribute: {key}={value}"
    for recipient, state in zip(env.recipients, entry.states, strict=True):
        if recipient.orcpt:
            yield f"named_attribute: dsn_orig_rcpt={recipient.orcpt}"
        if recipient.notify:
            yield f"dsn_notify: {','.join(recipient.notify)}"
        if recipient.original:
            yield f"original_recipient: {recipient.original}"
        yield f"{'done_recipient' if state.final else 'recipient'}: {recipient.address}"
    for record in entry.status_records:
        fields = ", ".join(f"{k}={v}" for k, v in record.items() if k != "t" and v != "")
        yield f"delivery_status: {_when(float(record['t']))}: {fields}"


def render(
    entry: QueueFile, where: str, *, envelope: bool, header: bool, body: bool, sections: bool
) -> Iterator[bytes]:
    if envelope:
        if sections:
            yield f"*** ENVELOPE RECORDS {where} ***".encode()
        yield from (line.encode() for line in envelope_lines(entry))
    if header or body:
        if sections:
            yield f"*** MESSAGE CONTENTS {where} ***".encode()
        in_header = True
        for line in _lines(entry):
            if in_header and line == b"":
                in_header = False
                if header and body:
                    yield line
                continue
            if (header and in_header) or (body and not in_header):
                yield line
    if sections:
        yield f"*** HEADER EXTRACTED {where} ***".encode()
        yield f"*** MESSAGE FILE END {where} ***".encode()


def _lines(entry: QueueFile) -> Iterator[bytes]:
    """Content lines without line ends, streamed (a huge message is never in memory)."""
    rest = b""
    for chunk in entry.content_chunks():
        rest += chunk
        *lines, rest = rest.split(b"\n")
        for line in lines:
            yield line.removesuffix(b"\r")
    if rest:
        yield rest.removesuffix(b"\r")
