"""IMAP command parsing: a framed :class:`CommandLine` → a typed command or a ParseError.

Grammar: RFC 3501 section 9 plus the extensions the server announces (LITERAL+, SASL-IR,
UIDPLUS, MOVE, CONDSTORE/QRESYNC, LIST-EXTENDED/LIST-STATUS/SPECIAL-USE, ESEARCH/SEARCHRES,
SORT/THREAD/ESORT, BINARY, MULTIAPPEND, ENABLE, ID, QUOTA, COMPRESS, UNSELECT, IDLE).
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable
from typing import Literal

from vmail.protocol.imap.fetchatt import parse_fetch_items
from vmail.protocol.imap.framing import CommandLine, tag_of
from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.search import (
    BADCHARSET,
    MAX_MODSEQ,
    MONTHS,
    UnknownCharsetError,
    charset_codec,
    search_program,
)
from vmail.protocol.imap.types import (
    Append,
    AppendMessage,
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Compress,
    Copy,
    Create,
    Delete,
    Enable,
    Expunge,
    Fetch,
    GetQuota,
    GetQuotaRoot,
    Id,
    Idle,
    List,
    Login,
    Logout,
    Lsub,
    Move,
    Namespace,
    Noop,
    ParseError,
    QResync,
    Rename,
    Search,
    Select,
    SetQuota,
    Sort,
    StartTLS,
    Status,
    Store,
    Subscribe,
    Thread,
    Unselect,
    Unsubscribe,
)

SYSTEM_FLAGS = {f.upper(): f for f in ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")}
STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"}
)
SORT_KEYS = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES", "REFS"})
SEARCH_RETURNS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})
LIST_SELECT = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
# RFC 6154 attributes, normalised; others are kept as sent (the server answers USEATTR).
SPECIAL_USE = {
    f.upper(): "\\" + f for f in ("All", "Archive", "Drafts", "Flagged", "Junk", "Sent", "Trash")
}
MAX_QUOTA = 2**63 - 1

_DATE_TIME = re.compile(
    rb'"([ 0-9][0-9])-([A-Za-z]{3})-([0-9]{4}) '
    rb'([0-9]{2}):([0-9]{2}):([0-9]{2}) ([+-])([0-9]{2})([0-9]{2})"'
)
_BASE64 = re.compile(rb"(?:[A-Za-z0-9+/]*={0,2}|=)\Z")
_UID_COMMANDS = frozenset({"FETCH", "STORE", "COPY", "MOVE", "SEARCH", "SORT", "THREAD", "EXPUNGE"})


def parse_command(line: CommandLine, *, utf8: bool = False) -> Command | ParseError:
    """Parse one framed command; ``utf8`` after ``ENABLE UTF8=ACCEPT`` (RFC 6855)."""
    first = line.parts[0]
    assert isinstance(first, bytes)
    raw_tag = tag_of(first)
    if raw_tag is None:
        return ParseError("*", "invalid tag" if first.strip() else "empty command line")
    tag = raw_tag.decode("ascii")
    c = Cursor(line.parts)
    c.pos = len(raw_tag)
    try:
        c.sp()
        name = c.keyword()
        uid = False
        if name == "UID":
            c.sp()
            name = c.keyword()
            if name not in _UID_COMMANDS:
                raise CommandSyntaxError(f"UID {name[:40]} is not a command")
            uid = True
        parser = _COMMANDS.get(name)
        if parser is None:
            raise CommandSyntaxError(f"unknown command {name[:40]}")
        return parser(_Args(c, tag, uid, utf8))
    except UnknownCharsetError as exc:
        return ParseError(tag, str(exc), BADCHARSET, "NO")
    except CommandSyntaxError as exc:
        return ParseError(tag, str(exc))


class _Args:
    """What a command parser needs: the cursor, tag, UID prefix and UTF-8 mode."""

    __slots__ = ("c", "tag", "uid", "utf8")

    def __init__(self, c: Cursor, tag: str, uid: bool, utf8: bool) -> None:
        self.c, self.tag, self.uid, self.utf8 = c, tag, uid, utf8

    def mailbox(self) -> str:
        name = self.c.text(self.c.astring("a mailbox name"), self.utf8)
        return "INBOX" if name.upper() == "INBOX" else name

    def sp_mailbox(self) -> str:
        self.c.sp()
        return self.mailbox()

    def astr(self) -> str:
        return self.c.text(self.c.astring(), True)


# -- commands -------------------------------------------------------------------------


def _authenticate(a: _Args) -> Command:
    a.c.sp()
    mech = a.c.keyword()
    initial = None
    if a.c.accept(b" "):
        raw = a.c.atom("an initial response")
        if not _BASE64.match(raw):
            raise CommandSyntaxError("initial response is not base64")
        initial = raw.decode("ascii")
    a.c.end()
    return Authenticate(a.tag, mech, initial)


def _login(a: _Args) -> Command:
    a.c.sp()
    user = a.astr()
    a.c.sp()
    password = a.astr()
    a.c.end()
    return Login(a.tag, user, password)


def _select(a: _Args, readonly: bool) -> Command:
    mailbox = a.sp_mailbox()
    condstore = False
    qresync = None
    if a.c.accept(b" "):
        a.c.expect(b"(", "'(' before select parameters")
        while True:
            param = a.c.keyword()
            if param == "CONDSTORE":
                condstore = True
            elif param == "QRESYNC":
                a.c.sp()
                qresync = _qresync(a.c)
            else:
                raise CommandSyntaxError(f"unknown select parameter {param[:40]}")
            if a.c.accept(b")"):
                break
            a.c.sp()
    a.c.end()
    return Select(a.tag, mailbox, readonly, condstore, qresync)


def _qresync(c: Cursor) -> QResync:
    c.expect(b"(", "'(' after QRESYNC")
    uidvalidity = c.nz_number(what="UIDVALIDITY")
    c.sp()
    modseq = c.nz_number(MAX_MODSEQ, "a mod-sequence")
    known = None
    match = None
    if c.accept(b" "):
        more = True
        if not c.peek(b"("):
            known = c.seqset()
            if known.saved or known.has_star():
                raise CommandSyntaxError("known-uids must be UIDs")
            more = c.accept(b" ")
        if more:
            c.expect(b"(", "'(' before sequence match data")
            seqs = c.seqset()
            c.sp()
            uids = c.seqset()
            if seqs.saved or uids.saved or seqs.has_star() or uids.has_star():
                raise CommandSyntaxError("sequence match data must be plain numbers")
            c.expect(b")", "')' after sequence match data")
            match = (seqs, uids)
    c.expect(b")", "')' after QRESYNC parameters")
    return QResync(uidvalidity, modseq, known, match)


def _create(a: _Args) -> Command:
    mailbox = a.sp_mailbox()
    uses: list[str] = []
    if a.c.accept(b" "):
        a.c.expect(b"(", "'(' before create parameters")
        if a.c.keyword() != "USE":
            raise CommandSyntaxError("unknown create parameter")
        a.c.sp()
        a.c.expect(b"(", "'(' after USE")
        while not a.c.accept(b")"):
            if uses:
                a.c.sp()
            a.c.expect(b"\\", "a special-use flag")
            name = a.c.atom("a special-use flag").decode("ascii")
            uses.append(SPECIAL_USE.get(name.upper(), "\\" + name))
        a.c.expect(b")", "')' after create parameters")
    a.c.end()
    return Create(a.tag, mailbox, tuple(uses))


def _one_mailbox(cls: Callable[[str, str], Command]) -> Callable[[_Args], Command]:
    def parse(a: _Args) -> Command:
        mailbox = a.sp_mailbox()
        a.c.end()
        return cls(a.tag, mailbox)

    return parse


def _rename(a: _Args) -> Command:
    old = a.sp_mailbox()
    new = a.sp_mailbox()
    a.c.end()
    return Rename(a.tag, old, new)


def _options(c: Cursor, allowed: frozenset[str], what: str) -> list[str]:
    """``(opt opt ...)`` of known atoms, possibly empty; the '(' is already read."""
    opts: list[str] = []
    while not c.accept(b")"):
        if opts:
            c.sp()
        opt = c.keyword()
        if opt not in allowed:
            raise CommandSyntaxError(f"unknown {what} {opt[:40]}")
        opts.append(opt)
    return opts


def _list(a: _Args) -> Command:
    c = a.c
    c.sp()
    selection: list[str] = []
    extended = False
    if c.accept(b"("):
        selection = _options(c, LIST_SELECT, "LIST selection option")
        if "RECURSIVEMATCH" in selection and set(selection) <= {"RECURSIVEMATCH", "REMOTE"}:
            raise CommandSyntaxError("RECURSIVEMATCH needs another selection option")
        extended = True
        c.sp()
    reference = a.mailbox()
    c.sp()
    patterns: list[str] = []
    if c.accept(b"("):
        extended = True
        while not c.accept(b")"):
            if patterns:
                c.sp()
            patterns.append(c.text(c.list_mailbox(), a.utf8))
        if not patterns:
            raise CommandSyntaxError("empty pattern list")
    else:
        patterns.append(c.text(c.list_mailbox(), a.utf8))
    returns: list[str] = []
    status: tuple[str, ...] = ()
    if c.accept(b" "):
        if c.keyword() != "RETURN":
            raise CommandSyntaxError("expected RETURN")
        c.sp()
        c.expect(b"(", "'(' after RETURN")
        extended = True
        while not c.accept(b")"):
            if returns:
                c.sp()
            opt = c.keyword()
            if opt not in LIST_RETURN:
                raise CommandSyntaxError(f"unknown LIST return option {opt[:40]}")
            if opt == "STATUS":
                c.sp()
                status = _status_items(c)
            returns.append(opt)
    c.end()
    return List(
        a.tag,
        reference,
        tuple(patterns),
        frozenset(selection),
        frozenset(returns),
        status,
        extended,
    )


def _lsub(a: _Args) -> Command:
    reference = a.sp_mailbox()
    a.c.sp()
    pattern = a.c.text(a.c.list_mailbox(), a.utf8)
    a.c.end()
    return Lsub(a.tag, reference, pattern)


def _status_items(c: Cursor) -> tuple[str, ...]:
    c.expect(b"(", "'(' before status items")
    items = _options(c, STATUS_ITEMS, "STATUS item")
    if not items:
        raise CommandSyntaxError("empty STATUS item list")
    return tuple(items)


def _status(a: _Args) -> Command:
    mailbox = a.sp_mailbox()
    a.c.sp()
    items = _status_items(a.c)
    a.c.end()
    return Status(a.tag, mailbox, items)


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
    while not c.accept(b")"):
        if flags:
            c.sp()
        flags.append(flag(c))
    return tuple(flags)


def date_time(c: Cursor) -> datetime.datetime:
    """``"dd-Mon-yyyy hh:mm:ss +zzzz"`` as an aware datetime."""
    m = _DATE_TIME.match(c.buf, c.pos)
    month = m.group(2).decode().upper() if m else ""
    if m is None or month not in MONTHS:
        raise CommandSyntaxError("invalid date-time")
    day, _, year, hh, mm, ss, sign, zh, zm = m.groups()
    try:
        offset = datetime.timedelta(hours=int(zh), minutes=int(zm))
        tz = datetime.timezone(-offset if sign == b"-" else offset)
        value = datetime.datetime(
            int(year), MONTHS.index(month) + 1, int(day), int(hh), int(mm), int(ss), tzinfo=tz
        )
    except ValueError:
        raise CommandSyntaxError("invalid date-time") from None
    c.pos = m.end()
    return value


def _append(a: _Args) -> Command:
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
        lit = c.literal()  # NUL is accepted in a plain literal too, as Dovecot does
        messages.append(AppendMessage(flags, date, lit.data, lit.binary))
    return Append(a.tag, mailbox, tuple(messages))


def _expunge(a: _Args) -> Command:
    uids = None
    if a.uid:
        a.c.sp()
        uids = a.c.seqset()
    a.c.end()
    return Expunge(a.tag, a.uid, uids)


def _search_returns(c: Cursor) -> tuple[str, ...] | None:
    if c.buf[c.pos : c.pos + 7].upper() != b"RETURN ":
        return None
    c.pos += 7
    c.expect(b"(", "'(' after RETURN")
    opts = tuple(_options(c, SEARCH_RETURNS, "SEARCH return option"))
    c.sp()
    return opts


def _charset(a: _Args, *, required: bool) -> tuple[str | None, str]:
    """The search charset and its codec; after UTF8=ACCEPT only UTF-8 (RFC 6855 errata 4029)."""
    c = a.c
    if required or c.buf[c.pos : c.pos + 8].upper() == b"CHARSET ":
        if not required:
            if a.utf8:
                raise CommandSyntaxError("no CHARSET after ENABLE UTF8=ACCEPT")
            c.pos += 8
        name = c.astring("a charset")
        c.sp()  # a missing search key is BAD before an unknown charset is NO
        codec = charset_codec(name)
        if a.utf8 and codec != "utf-8":
            raise CommandSyntaxError("only UTF-8 after ENABLE UTF8=ACCEPT")
        return name.decode("ascii").upper(), codec
    return None, "utf-8"


def _search(a: _Args) -> Command:
    a.c.sp()
    returns = _search_returns(a.c)
    charset, codec = _charset(a, required=False)
    key = search_program(a.c, codec)
    return Search(a.tag, key, a.uid, charset, returns)


def _sort(a: _Args) -> Command:
    c = a.c
    c.sp()
    returns = _search_returns(c)
    c.expect(b"(", "'(' before sort criteria")
    criteria: list[tuple[str, bool]] = []
    while not c.accept(b")"):
        if criteria:
            c.sp()
        key = c.keyword()
        reverse = key == "REVERSE"
        if reverse:
            c.sp()
            key = c.keyword()
        if key not in SORT_KEYS:
            raise CommandSyntaxError(f"unknown sort key {key[:40]}")
        criteria.append((key, reverse))
    if not criteria:
        raise CommandSyntaxError("empty sort criteria")
    c.sp()
    charset, codec = _charset(a, required=True)
    return Sort(a.tag, tuple(criteria), charset or "", search_program(c, codec), a.uid, returns)


def _thread(a: _Args) -> Command:
    a.c.sp()
    algorithm = a.c.keyword()
    if algorithm not in THREAD_ALGORITHMS:
        raise CommandSyntaxError(f"unknown threading algorithm {algorithm[:40]}")
    a.c.sp()
    charset, codec = _charset(a, required=True)
    return Thread(a.tag, algorithm, charset or "", search_program(a.c, codec), a.uid)


def _fetch(a: _Args) -> Command:
    c = a.c
    c.sp()
    seqset = c.seqset()
    c.sp()
    items = parse_fetch_items(c)
    changedsince = None
    vanished = False
    if c.accept(b" "):
        c.expect(b"(", "'(' before FETCH modifiers")
        while True:
            mod = c.keyword()
            if mod == "CHANGEDSINCE":
                c.sp()
                changedsince = c.number(MAX_MODSEQ, "a mod-sequence")
            elif mod == "VANISHED":
                vanished = True
            else:
                raise CommandSyntaxError(f"unknown FETCH modifier {mod[:40]}")
            if c.accept(b")"):
                break
            c.sp()
        if vanished and (not a.uid or changedsince is None):
            raise CommandSyntaxError("VANISHED needs UID FETCH and CHANGEDSINCE")
    c.end()
    return Fetch(a.tag, seqset, items, a.uid, changedsince, vanished)


_STORE_MODES: dict[str, Literal["set", "add", "remove"]] = {"": "set", "+": "add", "-": "remove"}


def _store(a: _Args) -> Command:
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
    c.sp()
    if c.peek(b"("):
        flags = flag_list(c)
    else:
        flags_list = [flag(c)]
        while c.accept(b" "):
            flags_list.append(flag(c))
        flags = tuple(flags_list)
    c.end()
    mode = _STORE_MODES[sign]
    return Store(a.tag, seqset, mode, flags, item.endswith(".SILENT"), a.uid, unchangedsince)


def _copy_move(cls: type[Copy] | type[Move]) -> Callable[[_Args], Command]:
    def parse(a: _Args) -> Command:
        a.c.sp()
        seqset = a.c.seqset()
        mailbox = a.sp_mailbox()
        a.c.end()
        return cls(a.tag, seqset, mailbox, a.uid)

    return parse


def _enable(a: _Args) -> Command:
    caps: list[str] = []
    while not caps or not a.c.at_end():
        a.c.sp()
        caps.append(a.c.keyword())
    return Enable(a.tag, tuple(caps))


def _id(a: _Args) -> Command:
    c = a.c
    c.sp()
    if not c.accept(b"("):
        if c.nstring() is not None:
            raise CommandSyntaxError("expected NIL or a parameter list")
        c.end()
        return Id(a.tag, None)
    params: list[tuple[str, str | None]] = []
    while not c.accept(b")"):
        if params:
            c.sp()
        key = c.string("a field name")
        c.sp()
        value = c.nstring()
        if len(params) >= 30 or len(key) > 30 or (value is not None and len(value) > 1024):
            raise CommandSyntaxError("ID parameters too long")
        params.append((c.text(key), None if value is None else c.text(value)))
    c.end()
    return Id(a.tag, tuple(params))


def _getquota(a: _Args) -> Command:
    a.c.sp()
    root = a.astr()
    a.c.end()
    return GetQuota(a.tag, root)


def _setquota(a: _Args) -> Command:
    c = a.c
    c.sp()
    root = a.astr()
    c.sp()
    c.expect(b"(", "'(' before quota limits")
    limits: list[tuple[str, int]] = []
    while not c.accept(b")"):
        if limits:
            c.sp()
        resource = c.keyword()
        c.sp()
        limits.append((resource, c.number(MAX_QUOTA, "a quota limit")))
    c.end()
    return SetQuota(a.tag, root, tuple(limits))


def _compress(a: _Args) -> Command:
    a.c.sp()
    mech = a.c.keyword()
    a.c.end()
    return Compress(a.tag, mech)


_NO_ARGS_CLASSES: dict[str, type[Command]] = {
    "CAPABILITY": Capability,
    "NOOP": Noop,
    "LOGOUT": Logout,
    "STARTTLS": StartTLS,
    "CHECK": Check,
    "CLOSE": Close,
    "UNSELECT": Unselect,
    "IDLE": Idle,
    "NAMESPACE": Namespace,
}


def _no_args_parser(name: str) -> Callable[[_Args], Command]:
    def parse(a: _Args) -> Command:
        a.c.end()
        return _NO_ARGS_CLASSES[name](a.tag)

    return parse


_COMMANDS: dict[str, Callable[[_Args], Command]] = {
    **{name: _no_args_parser(name) for name in _NO_ARGS_CLASSES},
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "SELECT": lambda a: _select(a, False),
    "EXAMINE": lambda a: _select(a, True),
    "CREATE": _create,
    "DELETE": _one_mailbox(Delete),
    "RENAME": _rename,
    "SUBSCRIBE": _one_mailbox(Subscribe),
    "UNSUBSCRIBE": _one_mailbox(Unsubscribe),
    "LIST": _list,
    "LSUB": _lsub,
    "STATUS": _status,
    "APPEND": _append,
    "EXPUNGE": _expunge,
    "SEARCH": _search,
    "FETCH": _fetch,
    "STORE": _store,
    "COPY": _copy_move(Copy),
    "MOVE": _copy_move(Move),
    "SORT": _sort,
    "THREAD": _thread,
    "ENABLE": _enable,
    "ID": _id,
    "GETQUOTA": _getquota,
    "GETQUOTAROOT": _one_mailbox(GetQuotaRoot),
    "SETQUOTA": _setquota,
    "COMPRESS": _compress,
}

__all__ = ["date_time", "flag", "flag_list", "parse_command"]
