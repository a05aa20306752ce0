"""``vmail sendmail``: the Sendmail-compatible mail posting interface, as Postfix's.

Reads a message on stdin and queues it through cleanup (the same path as SMTP mail, with
``Received: by HOST (vmail, from userid UID)``), then wakes a running ``vmail serve``
(SIGUSR1 to the PID in ``$queue_directory/pid/master.pid``); with no server running the
message waits in the queue. Options, with Postfix's meaning:

``-f SENDER`` / ``-r SENDER``   envelope sender (default: the user's login @ $myorigin)
``-F NAME``     full name for a ``From:`` header the message lacks
``-t``          recipients from ``To:``, ``Cc:``, ``Bcc:`` (plus command-line ones);
                ``Bcc:`` is removed
``-i``, ``-oi`` a line with a single dot does not end the message
``-N LIST``     DSN NOTIFY (``never`` or ``success,delay,failure``)
``-R full|hdrs``, ``-V ENVID``   DSN RET and ENVID
``-bv``         verify: report what would happen to each recipient (``vmail route``)
                instead of sending
``-bs``         an SMTP session on standard input and output (the client is this host)
``-bp``         list the queue (``mailq``) (``-bd`` is not supported)
``-q``          flush the queue (``postqueue -f``); ``-qRsite``: one fast-flush site
                (``postqueue -s site``); ``-q`` with an interval is ignored; ``-qS`` and
                other ``-q`` forms are not implemented (exit 75), as in Postfix
``-B TYPE``, ``-o X``, ``-v``, ``-n`` and other Sendmail options are accepted and ignored.

The message needs its recipients; without any, sendmail exits 64 (EX_USAGE) with
``fatal: no recipients specified``, as Postfix does. Queueing needs write access to the
spool: run it as root or as the mail owner. Exit 75 (EX_TEMPFAIL) when the queue cannot
be written.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import getpass
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from email.policy import compat32
from pathlib import Path
from typing import Any

from vmail.cleanup import Cleanup, Rcpt, Submission
from vmail.cli.control import wake_server
from vmail.config import MainConfig
from vmail.core.address import Address, AddressError
from vmail.core.errors import MailError, VmailError
from vmail.queue import Spool
from vmail.queue.tools import flush_all
from vmail.route import Router

EX_USAGE = 64
EX_DATAERR = 65
EX_TEMPFAIL = 75
# options that take a value, as Postfix's sendmail getopt string declares them
VALUE_OPTIONS = set("BCFNRVfhopr")
FLAG_OPTIONS = set("Gimntv") | {"I"}


class SendmailError(VmailError):
    """A usage error; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = EX_USAGE) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Options:
    sender: str | None = None
    full_name: str | None = None
    extract: bool = False
    ignore_dots: bool = False
    notify: tuple[str, ...] = ()
    ret: str = ""
    envid: str = ""
    mode: str = "deliver"  # deliver, verify, mailq, flush, flush-site, ignore
    site: str = ""  # -qRsite
    recipients: list[str] = field(default_factory=list)


def parse_options(argv: Sequence[str]) -> Options:
    """Sendmail's getopt-style options (``-fSENDER`` and ``-f SENDER`` both work)."""
    opts = Options()
    args = list(argv)
    while args:
        arg = args.pop(0)
        if arg == "--":
            opts.recipients += args
            break
        if not arg.startswith("-") or arg == "-":
            opts.recipients.append(arg)
            continue
        letters = arg[1:]
        while letters:
            letter, letters = letters[0], letters[1:]
            if letter == "b":
                _mode(opts, letters)
                letters = ""
            elif letter in VALUE_OPTIONS:
                value = letters or (args.pop(0) if args else None)
                if value is None:
                    raise SendmailError(f"option requires an argument -- '{letter}'")
                _value(opts, letter, value)
                letters = ""
            elif letter == "q":
                _queue_run(opts, letters)
                letters = ""
            elif letter in FLAG_OPTIONS:
                if letter == "t":
                    opts.extract = True
                elif letter == "i":
                    opts.ignore_dots = True
            else:
                raise SendmailError(f"invalid option -- '{letter}'")
    return opts


def _queue_run(opts: Options, argument: str) -> None:
    """``-q``: flush the queue; ``-qRsite``: flush one site (as ``postqueue -s``);
    ``-q`` with an interval: ignored (it matters only with ``-bd``), as in Postfix."""
    if not argument:
        opts.mode = "flush"
    elif argument[0] == "R":
        if not argument[1:]:
            raise SendmailError("-qR requires a site name")
        opts.mode, opts.site = "flush-site", argument[1:]
    elif argument[0].isdigit():
        opts.mode = "ignore"
    else:
        raise SendmailError(f"-q{argument[0]} is not implemented", EX_TEMPFAIL)


def _mode(opts: Options, mode: str) -> None:
    modes = {"v": "verify", "p": "mailq", "m": "deliver", "d": "unsupported", "s": "smtp"}
    if mode not in modes or modes[mode] == "unsupported":
        raise SendmailError(f"unsupported: -b{mode}")
    opts.mode = modes[mode]


def _value(opts: Options, letter: str, value: str) -> None:
    if letter in "fr":
        opts.sender = value
    elif letter == "F":
        opts.full_name = value
    elif letter == "N":
        words = [w.strip().upper() for w in value.split(",") if w.strip()]
        if (
            not words
            or not set(words) <= {"NEVER", "SUCCESS", "DELAY", "FAILURE"}
            or ("NEVER" in words and len(words) > 1)
        ):
            raise SendmailError(f"bad -N option value: {value}")
        opts.notify = tuple(words)
    elif letter == "R":
        if value.lower() not in ("full", "hdrs"):
            raise SendmailError(f"bad -R option value: {value}")
        opts.ret = value.upper()
    elif letter == "V":
        opts.envid = value
    elif letter == "o" and value == "i":
        opts.ignore_dots = True


def read_message(stream: object, ignore_dots: bool) -> bytes:
    """stdin with CRLF line ends; without -i a line with a single dot ends it."""
    lines = []
    for line in stream:  # type: ignore[attr-defined]
        body = line.rstrip(b"\r\n")
        if not ignore_dots and body == b".":
            break
        lines.append(body)
    return b"".join(body + b"\r\n" for body in lines)


def extract_recipients(message: bytes) -> tuple[list[str], bytes]:
    """``-t``: addresses in To/Cc/Bcc, and the message without its ``Bcc:`` header."""
    end = message.find(b"\r\n\r\n")
    header = message if end < 0 else message[: end + 2]
    parsed = BytesHeaderParser(policy=compat32).parsebytes(header)
    found = [
        address
        for _name, address in email.utils.getaddresses(
            [str(v) for key in ("To", "Cc", "Bcc") for v in parsed.get_all(key, [])]
        )
        if address
    ]
    return found, _without_bcc(message, end)


def _without_bcc(message: bytes, end: int) -> bytes:
    if end < 0:
        end = len(message)
    out, skipping = [], False
    for line in message[:end].split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            if not skipping:
                out.append(line)
            continue
        skipping = line.lower().startswith(b"bcc:")
        if not skipping:
            out.append(line)
    return b"\r\n".join(out) + message[end:]


def _internal(address: str, myorigin: str) -> str:
    if "@" not in address and address:
        address = f"{address}@{myorigin}"
    try:
        return Address.parse(address).internal
    except AddressError:
        return address


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sendmail's options are parsed by :func:`parse_options` (see the module docstring)."""
    parser.add_argument("args", nargs=argparse.REMAINDER, help="sendmail options, recipients")


def run(args: argparse.Namespace) -> int:
    return run_argv(args.args, args.config_dir)


def run_argv(argv: Sequence[str], config_dir: str | None = None) -> int:
    """The command: parse argv, then post, verify, list or flush."""
    try:
        opts = parse_options(argv)
    except SendmailError as e:
        print(f"sendmail: fatal: {e}", file=sys.stderr)
        return e.status
    config = MainConfig.load(config_dir)
    if opts.mode == "mailq":
        from vmail.cli.postqueue import mailq

        for line in mailq(Spool.from_config(config)):
            print(line)
        return 0
    if opts.mode == "ignore":
        return 0
    if opts.mode == "flush-site":  # as Postfix's sendmail -qRsite: postqueue -s site
        from vmail.cli.postqueue import flush_destination

        flush_destination(config, Spool.from_config(config), opts.site)
        return 0
    if opts.mode == "flush":  # as Postfix's sendmail -q: postqueue -f
        with contextlib.suppress(OSError):  # a user who cannot write the spool only wakes
            flush_all(Spool.from_config(config))
        return _wake(config, flush=True)
    myorigin = config.get("myorigin")
    router = Router(config)
    if opts.mode == "verify":
        return _verify(router, opts)
    if opts.mode == "smtp":
        return asyncio.run(_smtp_session(config, router))
    message = read_message(sys.stdin.buffer, opts.ignore_dots)
    recipients = [_internal(r, myorigin) for r in opts.recipients]
    if opts.extract:
        extracted, message = extract_recipients(message)
        recipients += [_internal(r, myorigin) for r in extracted]
    if not recipients:
        print("sendmail: fatal: no recipients specified", file=sys.stderr)
        return EX_USAGE
    sender = opts.sender if opts.sender is not None else f"{getpass.getuser()}@{myorigin}"
    if sender and sender != "<>":
        sender = _internal(sender.strip("<>"), myorigin)
    else:
        sender = ""
    if opts.full_name and b"\r\nfrom:" not in b"\r\n" + message.lower().split(b"\r\n\r\n")[0]:
        message = f"From: {opts.full_name} <{sender}>\r\n".encode() + message
    return _post(config, router, sender, recipients, opts, message)


def _post(
    config: MainConfig,
    router: Router,
    sender: str,
    recipients: list[str],
    opts: Options,
    message: bytes,
) -> int:
    spool = _writable_spool(config)
    if spool is None:
        return EX_TEMPFAIL
    cleanup = Cleanup(config, router, spool)
    submission = Submission(
        sender=sender,
        recipients=tuple(Rcpt(r, opts.notify) for r in recipients),
        envid=opts.envid,
        ret=opts.ret,
        origin="local",
        local_uid=os.getuid(),
        esmtp=False,
        filter=config.get("content_filter"),  # as Postfix's pickup
        receive_options=frozenset(config.get_list("receive_override_options")),
    )
    try:
        written = cleanup.open(submission)
        written.write(message)
        written.commit()
    except MailError as e:
        print(f"sendmail: fatal: {e.reply.text}", file=sys.stderr)
        return EX_TEMPFAIL
    except OSError as e:
        print(f"sendmail: fatal: queue file write error: {e.strerror}", file=sys.stderr)
        return EX_TEMPFAIL
    _wake(config)
    return 0


class _LocalWriter(asyncio.StreamWriter):
    """Standard output as the session's writer; the client is this host."""

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name in ("peername", "sockname"):
            return ("127.0.0.1", 0)
        return super().get_extra_info(name, default)


async def _smtp_session(config: MainConfig, router: Router) -> int:
    """``-bs``: an SMTP session on standard input and output, as the local user."""
    from vmail.servers.smtpd.server import SmtpServer

    spool = _writable_spool(config)
    if spool is None:
        return EX_TEMPFAIL
    server = SmtpServer(config, router, Cleanup(config, router, spool))
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, sys.stdout
    )
    writer = _LocalWriter(transport, protocol, reader, loop)
    await server.serve_streams(reader, writer)
    _wake(config)
    return 0


def _writable_spool(config: MainConfig) -> Spool | None:
    """The spool, ready to be written by this process (None, after a fatal line, if not)."""
    spool = Spool.from_config(config)
    try:
        spool.create()
        _become_spool_owner(spool.root)
    except OSError as e:
        print(f"sendmail: fatal: queue directory {spool.root}: {e.strerror}", file=sys.stderr)
        return None
    return spool


def _become_spool_owner(root: Path) -> None:
    """As root, write the queue file as the spool's owner, whom the server runs as
    (Postfix's postdrop is set-gid for the same reason); the Received: header still
    names the real user."""
    if os.geteuid() != 0:
        return
    owner = root.stat()
    if owner.st_uid != 0:
        os.setegid(owner.st_gid)
        os.seteuid(owner.st_uid)


def _verify(router: Router, opts: Options) -> int:
    from vmail.cli.route import report_text
    from vmail.route import Client

    if not opts.recipients:
        print("sendmail: fatal: no recipients specified", file=sys.stderr)
        return EX_USAGE
    client = Client("127.0.0.1", "localhost", None, None)
    for report in router.route(opts.recipients, client, opts.sender or None):
        print(report_text(report))
    return 0


def _wake(config: MainConfig, *, flush: bool = False) -> int:
    """Tell a running vmail serve to look at the queue now (quietly, if none runs)."""
    if not wake_server(config) and flush:
        print("sendmail: fatal: the mail system is not running", file=sys.stderr)
        return EX_TEMPFAIL
    return 0


__all__ = ["Options", "extract_recipients", "parse_options", "read_message", "run_argv"]
