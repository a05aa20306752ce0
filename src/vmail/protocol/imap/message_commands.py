"""Parsing of the message commands (APPEND, EXPUNGE, FETCH, STORE, COPY, MOVE) and flags."""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Literal

from vmail.protocol.imap.args import Args
from vmail.protocol.imap.fetchatt import parse_fetch_items
from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.search_keys import MAX_MODSEQ, MONTHS
from vmail.protocol.imap.types import (
    Append,
    AppendMessage,
    Command,
    Copy,
    Expunge,
    Fetch,
    Move,
    Store,
)

INVALID_ARGUMENTS = "Invalid arguments"  # Dovecot's reason for a malformed APPEND message
SYSTEM_FLAGS = {f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")}

_DATE_TIME = re.compile(
    rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"'
)


def flag(c: Cursor) -> str:
    """A flag a client may set: a system flag (normalised) or a keyword."""
    if c.accept(b"\\"):
        if c.peek(b"*"):
            raise CommandSyntaxError("\\* is not a flag")
        name = c.atom("a flag name").decode("ascii")
        system = SYSTEM_FLAGS.get("\\" + name.upper())
        if system is None:
            if name.upper() == "RECENT":
                raise CommandSyntaxError("\\Recent cannot be set by a client")
            raise CommandSyntaxError(f"invalid system flag \\{name[:40]}")
        return system
    return c.atom("a flag").decode("ascii")


def flag_list(c: Cursor) -> tuple[str, ...]:
    """``(flag ...)``, possibly empty."""
    c.expect(b"(", "'(' before flags")
    flags: list[str] = []
    while not c.close():
        if flags:
            c.sp()
        flags.append(flag(c))
    return tuple(flags)


def date_time(c: Cursor) -> datetime.datetime | None:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` as an aware datetime.

    Like Dovecot, a well-formed date-time that names no real time (``31-Feb``, hour 25)
    is accepted and means "no date given" (None: the server uses the current time), and
    a zone beyond a day (``+9999``) still shifts the time, which is then given in UTC.
    """
    m = _DATE_TIME.match(c.buf, c.pos)
    month = m.group(2).decode().upper() if m else ""
    if m is None or month not in MONTHS:
        raise CommandSyntaxError("invalid date-time")
    c.pos = m.end()
    day, _, year, hh, mm, ss, sign, zh, zm = m.groups()
    offset = datetime.timedelta(hours=int(zh), minutes=int(zm))
    offset = -offset if sign == b"-" else offset
    try:
        value = datetime.datetime(
            int(year), MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss)
        )
    except ValueError:
        return None
    if abs(offset) < datetime.timedelta(days=1):
        return value.replace(tzinfo=datetime.timezone(offset))
    try:
        return (value - offset).replace(tzinfo=datetime.UTC)
    except OverflowError:
        return None


def _append(a: Args) -> Command:
    c = a.c
    mailbox = a.sp_mailbox()
    messages: list[AppendMessage] = []
    while not messages or not c.at_end():
        c.sp()
        flags: tuple[str, ...] = ()
        date = None
        if c.peek(b"("):
            flags = flag_list(c)
            c.sp()
        if c.peek(b'"'):
            date = date_time(c)
            c.sp()
        if not c.at_literal():
            raise CommandSyntaxError(INVALID_ARGUMENTS)
        lit = c.literal()  # NUL is accepted in a plain literal too, as Dovecot does
        messages.append(AppendMessage(flags, date, lit.data, lit.binary))
    return Append(a.tag, mailbox, tuple(messages))


def _expunge(a: Args) -> Command:
    uids = None
    if a.uid:
        a.c.sp()
        uids = a.c.seqset("Invalid uidset")
    a.c.end()
    return Expunge(a.tag, a.uid, uids)


def _fetch(a: Args) -> Command:
    c = a.c
    c.sp()
    seqset = c.seqset()
    c.sp()
    items = parse_fetch_items(c)
    changedsince = None
    vanished = False
    if c.more():
        c.expect(b"(", "'(' before FETCH modifiers")
        while True:
            mod = c.keyword()
            if mod == "CHANGEDSINCE":
                c.sp()
                try:
                    changedsince = c.number(MAX_MODSEQ, "a mod-sequence")
                except CommandSyntaxError:
                    raise CommandSyntaxError("Invalid CHANGEDSINCE modseq") from None
            elif mod == "VANISHED":
                vanished = True
            else:
                raise CommandSyntaxError("Unknown FETCH modifier")
            if c.close():
                break
            c.sp()
        if vanished and (not a.uid or changedsince is None):
            raise CommandSyntaxError("VANISHED needs UID FETCH and CHANGEDSINCE")
    c.end()
    return Fetch(a.tag, seqset, items, a.uid, changedsince, vanished)


_STORE_MODES: dict[str, Literal["set", "add", "remove"]] = {"": "set", "+": "add", "-": "remove"}


def _store(a: Args) -> Command:
    c = a.c
    c.sp()
    seqset = c.seqset()
    c.sp()
    unchangedsince = None
    if c.accept(b"("):
        if c.keyword() != "UNCHANGEDSINCE":
            raise CommandSyntaxError("unknown STORE modifier")
        c.sp()
        unchangedsince = c.number(MAX_MODSEQ, "a mod-sequence")
        c.expect(b")", "')' after STORE modifier")
        c.sp()
    sign = c.buf[c.pos : c.pos + 1].decode("latin-1")
    if sign in ("+", "-"):
        c.pos += 1
    else:
        sign = ""
    item = c.keyword()
    if item not in ("FLAGS", "FLAGS.SILENT"):
        raise CommandSyntaxError("expected FLAGS or FLAGS.SILENT")
    if not c.more():
        flags: tuple[str, ...] = ()  # Dovecot takes no flag at all as an empty list
    elif c.peek(b"("):
        flags = flag_list(c)
    else:
        flags_list = [flag(c)]
        while c.more():
            flags_list.append(flag(c))
        flags = tuple(flags_list)
    c.end()
    mode = _STORE_MODES[sign]
    return Store(a.tag, seqset, mode, flags, item.endswith(".SILENT"), a.uid, unchangedsince)


def _copy_move(cls: type[Copy] | type[Move]) -> Callable[[Args], Command]:
    def parse(a: Args) -> Command:
        a.c.sp()
        seqset = a.c.seqset()
        mailbox = a.sp_mailbox()
        a.c.end()
        return cls(a.tag, seqset, mailbox, a.uid)

    return parse


MESSAGE_COMMANDS: dict[str, Callable[[Args], Command]] = {
    "APPEND": _append,
    "EXPUNGE": _expunge,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy_move(Copy),
    "MOVE": _copy_move(Move),
}

__all__ = ["MESSAGE_COMMANDS", "date_time", "flag", "flag_list"]
