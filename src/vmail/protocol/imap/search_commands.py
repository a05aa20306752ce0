"""Parsing of SEARCH (ESEARCH RETURN, RFC 4731/5182), SORT (RFC 5256, ESORT) and THREAD."""

from __future__ import annotations

from collections.abc import Callable

from vmail.protocol.imap.args import Args, options
from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.search_keys import MISSING_SEARCH, charset_codec, search_program
from vmail.protocol.imap.types import (
    Command,
    Search,
    Sort,
    Thread,
)

SORT_KEYS = frozenset(
    {"ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"}
)
THREAD_ALGORITHMS = frozenset({"ORDEREDSUBJECT", "REFERENCES", "REFS"})
SEARCH_RETURNS = frozenset({"MIN", "MAX", "ALL", "COUNT", "SAVE"})


def _search_returns(c: Cursor) -> tuple[str, ...] | None:
    if c.buf[c.pos : c.pos + 7].upper() != b"RETURN ":
        return None
    c.pos += 7
    c.expect(b"(", "'(' after RETURN")
    opts = tuple(options(c, SEARCH_RETURNS, "", "Unknown SEARCH return option"))
    c.sp()
    return opts


def _charset(a: Args, *, required: bool) -> tuple[str | None, str]:
    """The search charset and its codec; after UTF8=ACCEPT only UTF-8 (RFC 6855 errata 4029)."""
    c = a.c
    if required and c.at_end():
        raise CommandSyntaxError("Invalid charset argument")
    if not required and c.buf[c.pos : c.pos + 7].upper() == b"CHARSET":
        start, c.pos = c.pos, c.pos + 7
        if c.at_end():
            raise CommandSyntaxError("Invalid charset argument")
        c.pos = start
    if required or c.buf[c.pos : c.pos + 8].upper() == b"CHARSET ":
        if not required:
            if a.utf8:
                raise CommandSyntaxError("no CHARSET after ENABLE UTF8=ACCEPT")
            c.pos += 8
        name = c.astring("a charset")
        if c.at_end():  # a missing search key is BAD before an unknown charset is NO
            raise CommandSyntaxError(MISSING_SEARCH)
        c.sp()
        codec = charset_codec(name)
        if a.utf8 and codec != "utf-8":
            raise CommandSyntaxError("only UTF-8 after ENABLE UTF8=ACCEPT")
        return name.decode("ascii").upper(), codec
    return None, "utf-8"


def _search(a: Args) -> Command:
    a.c.sp()
    returns = _search_returns(a.c)
    charset, codec = _charset(a, required=False)
    key = search_program(a.c, codec)
    return Search(a.tag, key, a.uid, charset, returns)


def _sort(a: Args) -> Command:
    c = a.c
    if c.at_end():
        raise CommandSyntaxError("Invalid sort argument")
    c.sp()
    returns = _search_returns(c)
    if not c.accept(b"("):
        raise CommandSyntaxError("Invalid sort argument")
    criteria: list[tuple[str, bool]] = []
    while not c.close():
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
    if c.at_end():
        raise CommandSyntaxError("Invalid charset argument")
    c.sp()
    charset, codec = _charset(a, required=True)
    return Sort(a.tag, tuple(criteria), charset or "", search_program(c, codec), a.uid, returns)


def _thread(a: Args) -> Command:
    a.c.sp()
    algorithm = a.c.keyword()
    if algorithm not in THREAD_ALGORITHMS:
        raise CommandSyntaxError(f"unknown threading algorithm {algorithm[:40]}")
    if a.c.at_end():
        raise CommandSyntaxError("Invalid arguments")
    a.c.sp()
    charset, codec = _charset(a, required=True)
    return Thread(a.tag, algorithm, charset or "", search_program(a.c, codec), a.uid)


SEARCH_COMMANDS: dict[str, Callable[[Args], Command]] = {
    "SEARCH": _search,
    "SORT": _sort,
    "THREAD": _thread,
}

__all__ = ["SEARCH_COMMANDS"]
