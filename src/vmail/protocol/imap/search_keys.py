"""SEARCH key parsing (RFC 3501 ``search-key`` + MODSEQ RFC 7162, YOUNGER/OLDER RFC 5032)."""

from __future__ import annotations

import codecs
import datetime
import re
from collections.abc import Callable

from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.types import (
    SearchAge,
    SearchAll,
    SearchAnd,
    SearchDate,
    SearchFlag,
    SearchHeader,
    SearchKey,
    SearchModseq,
    SearchNot,
    SearchOr,
    SearchSet,
    SearchSize,
    SearchText,
)

BADCHARSET = "BADCHARSET (UTF-8 US-ASCII)"
MAX_MODSEQ = 2**63 - 1
MAX_SIZE = 2**63 - 1
INVALID_DATE = "Invalid search date parameter"
MISSING_SEARCH = "Missing search parameters"
# What an impossible day means (see parse_date): later than any message, and far enough
# from datetime.date.max that the day after it can still be computed.
IMPOSSIBLE_DATE = datetime.date(9999, 1, 1)
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")

_DATE = re.compile(rb'("?)([0-9]{1,2})-([A-Za-z]{3})-([0-9]{4})\1(?![^ )])')
_FLAG_KEYS = {
    "ANSWERED": ("\\Answered", True),
    "UNANSWERED": ("\\Answered", False),
    "DELETED": ("\\Deleted", True),
    "UNDELETED": ("\\Deleted", False),
    "DRAFT": ("\\Draft", True),
    "UNDRAFT": ("\\Draft", False),
    "FLAGGED": ("\\Flagged", True),
    "UNFLAGGED": ("\\Flagged", False),
    "SEEN": ("\\Seen", True),
    "UNSEEN": ("\\Seen", False),
    "RECENT": ("\\Recent", True),
    "OLD": ("\\Recent", False),
}
_TEXT_KEYS = {"BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO"}
_DATE_KEYS = {
    "BEFORE": ("internal", "before"),
    "ON": ("internal", "on"),
    "SINCE": ("internal", "since"),
    "SENTBEFORE": ("sent", "before"),
    "SENTON": ("sent", "on"),
    "SENTSINCE": ("sent", "since"),
}


class UnknownCharsetError(CommandSyntaxError):
    """The CHARSET is not supported (the server answers NO [BADCHARSET ...])."""


def charset_codec(name: bytes) -> str:
    """Python codec for a SEARCH charset name, or raise :class:`UnknownCharsetError`.

    Like Dovecot (which asks iconv), any text encoding Python knows is accepted
    (``ISO-8859-1``, ``KOI8-R``, ``UTF-7``...); the search strings are decoded with it.
    """
    label = name[:40].decode("ascii", "replace")
    if not name.isascii():
        raise UnknownCharsetError(f"unsupported charset {label}")
    try:
        codec = codecs.lookup(name.decode("ascii")).name
        b" ".decode(codec, "ignore")  # LookupError for bytes-to-bytes codecs (base64...)
    except (LookupError, UnicodeError):
        raise UnknownCharsetError(f"unsupported charset {label}") from None
    return codec


def search_program(c: Cursor, codec: str) -> SearchKey:
    """``1*(SP search-key)`` up to the end of the command (the first SP already read)."""
    keys = [search_key(c, codec)]
    while not c.at_end():
        c.sp()
        keys.append(search_key(c, codec))
    return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))


def search_key(c: Cursor, codec: str) -> SearchKey:
    """One search key (recursive, depth-bounded)."""
    c.enter()
    try:
        return _key(c, codec)
    finally:
        c.leave()


def _key(c: Cursor, codec: str) -> SearchKey:
    if c.accept(b"("):
        keys = [search_key(c, codec)]
        while not c.close():
            c.sp()
            keys.append(search_key(c, codec))
        return keys[0] if len(keys) == 1 else SearchAnd(tuple(keys))
    if c.buf[c.pos : c.pos + 1] in (b"*", b"$") or c.buf[c.pos : c.pos + 1].isdigit():
        return SearchSet(c.seqset())
    name = c.keyword()
    flag = _FLAG_KEYS.get(name)
    if flag is not None:
        return SearchFlag(*flag)
    handler = _HANDLERS.get(name)
    if handler is None:
        raise CommandSyntaxError(f"unknown search key {name[:40]}")
    if name != "ALL" and name != "NEW":
        if c.at_end():
            raise CommandSyntaxError(_missing(name))
        c.sp()
    try:
        return handler(c, codec, name)
    except CommandSyntaxError as exc:
        if str(exc) == "missing argument":  # a later parameter (HEADER name value)
            raise CommandSyntaxError(_missing(name)) from None
        raise


def _missing(name: str) -> str:
    """Dovecot's reason for a search key without its parameters (or operands)."""
    if name in ("NOT", "OR"):
        return "Missing argument"
    return f"Missing parameter for search key (for search key: {name})"


def _value(c: Cursor, codec: str) -> str:
    data = c.astring("a search string")
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        raise CommandSyntaxError(f"search string is not valid {codec}") from None


def _text(c: Cursor, codec: str, name: str) -> SearchKey:
    return SearchText(name.lower(), _value(c, codec))  # type: ignore[arg-type]


def _date(c: Cursor, codec: str, name: str) -> SearchKey:
    field, op = _DATE_KEYS[name]
    return SearchDate(field, op, parse_date(c))  # type: ignore[arg-type]


def parse_date(c: Cursor) -> datetime.date:
    """``date`` (``1-Feb-1994``, optionally quoted).

    Dovecot accepts a day that the month does not have (``31-Feb-2026``, ``0-Jan-2026``,
    ``99-Dec-2026``) and reads it as a time after every message: BEFORE matches all,
    ON and SINCE nothing. Such a day becomes :data:`IMPOSSIBLE_DATE`.
    """
    m = _DATE.match(c.buf, c.pos)
    month = m.group(3).decode().upper() if m else ""
    if m is None or month not in MONTHS:
        raise CommandSyntaxError(INVALID_DATE)
    year, day = int(m.group(4)), int(m.group(2))
    try:
        date = datetime.date(max(year, 1), MONTHS.index(month) + 1, day)
    except ValueError:
        date = IMPOSSIBLE_DATE
    c.pos = m.end()
    return date


def _keyword(c: Cursor, codec: str, name: str) -> SearchKey:
    return SearchFlag(c.atom("a keyword").decode("ascii"), name == "KEYWORD")


def _header(c: Cursor, codec: str, name: str) -> SearchKey:
    field = c.text(c.astring("a header field name"), False)
    c.sp()
    return SearchHeader(field, _value(c, codec))


def _size(c: Cursor, codec: str, name: str) -> SearchKey:
    try:
        size = c.number(MAX_SIZE, "a size")
    except CommandSyntaxError:
        raise CommandSyntaxError("Invalid search size parameter") from None
    return SearchSize(name.lower(), size)  # type: ignore[arg-type]


def _age(c: Cursor, codec: str, name: str) -> SearchKey:
    try:
        interval = c.nz_number(what="an interval")
    except CommandSyntaxError:
        raise CommandSyntaxError("Invalid search interval parameter") from None
    return SearchAge(name.lower(), interval)  # type: ignore[arg-type]


def _uid(c: Cursor, codec: str, name: str) -> SearchKey:
    return SearchSet(c.seqset("Invalid UID messageset"), uid=True)


def _not(c: Cursor, codec: str, name: str) -> SearchKey:
    return SearchNot(search_key(c, codec))


def _or(c: Cursor, codec: str, name: str) -> SearchKey:
    a = search_key(c, codec)
    c.sp()
    return SearchOr(a, search_key(c, codec))


def _modseq(c: Cursor, codec: str, name: str) -> SearchKey:
    entry = None
    if c.peek(b'"'):
        entry_name = c.string().decode("ascii", "replace")
        if not entry_name.lower().startswith("/flags/"):
            raise CommandSyntaxError("invalid MODSEQ entry name")
        c.sp()
        kind = c.keyword().lower()
        if kind not in ("priv", "shared", "all"):
            raise CommandSyntaxError("invalid MODSEQ entry type")
        entry = (entry_name, kind)
        c.sp()
    try:
        modseq = c.number(MAX_MODSEQ, "a mod-sequence")
    except CommandSyntaxError:
        raise CommandSyntaxError("Invalid MODSEQ value") from None
    return SearchModseq(modseq, entry)


def _all(c: Cursor, codec: str, name: str) -> SearchKey:
    return SearchAll()


def _new(c: Cursor, codec: str, name: str) -> SearchKey:
    return SearchAnd((SearchFlag("\\Recent"), SearchFlag("\\Seen", False)))


_HANDLERS: dict[str, Callable[[Cursor, str, str], SearchKey]] = {
    "ALL": _all,
    "NEW": _new,
    **dict.fromkeys(_TEXT_KEYS, _text),
    **dict.fromkeys(_DATE_KEYS, _date),
    "KEYWORD": _keyword,
    "UNKEYWORD": _keyword,
    "HEADER": _header,
    "LARGER": _size,
    "SMALLER": _size,
    "YOUNGER": _age,
    "OLDER": _age,
    "UID": _uid,
    "NOT": _not,
    "OR": _or,
    "MODSEQ": _modseq,
}

__all__ = [
    "BADCHARSET",
    "IMPOSSIBLE_DATE",
    "INVALID_DATE",
    "MISSING_SEARCH",
    "UnknownCharsetError",
    "charset_codec",
    "parse_date",
    "search_program",
]
