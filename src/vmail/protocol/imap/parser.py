"""IMAP command parsing: a framed :class:`CommandLine` → a typed command or a ParseError.

Grammar: RFC 3501 section 9 plus the extensions the server announces (LITERAL+, SASL-IR,
UIDPLUS, MOVE, CONDSTORE/QRESYNC, LIST-EXTENDED/LIST-STATUS/SPECIAL-USE, ESEARCH/SEARCHRES,
SORT/THREAD/ESORT, BINARY, MULTIAPPEND, ENABLE, ID, QUOTA, COMPRESS, UNSELECT, IDLE).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vmail.protocol.imap.args import Args
from vmail.protocol.imap.framing import CommandLine, tag_of
from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.mailbox_commands import MAILBOX_COMMANDS
from vmail.protocol.imap.message_commands import MESSAGE_COMMANDS
from vmail.protocol.imap.search_commands import SEARCH_COMMANDS
from vmail.protocol.imap.search_keys import (
    BADCHARSET,
    UnknownCharsetError,
)
from vmail.protocol.imap.types import (
    Authenticate,
    Capability,
    Check,
    Close,
    Command,
    Compress,
    Enable,
    GetQuota,
    Id,
    Idle,
    Login,
    Logout,
    Namespace,
    Noop,
    ParseError,
    SetQuota,
    StartTLS,
    Unselect,
)

MAX_QUOTA = 2**63 - 1
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
        return parser(Args(c, tag, uid, utf8))
    except UnknownCharsetError as exc:
        return ParseError(tag, str(exc), BADCHARSET, "NO")
    except CommandSyntaxError as exc:
        return ParseError(tag, str(exc))


def _authenticate(a: Args) -> Command:
    a.c.sp()
    mech = a.c.keyword()
    initial = None
    if a.c.more():
        raw = a.c.atom("an initial response")
        if not _BASE64.match(raw):
            raise CommandSyntaxError("initial response is not base64")
        initial = raw.decode("ascii")
    a.c.end()
    return Authenticate(a.tag, mech, initial)


def _login(a: Args) -> Command:
    a.c.sp()
    user = a.astr()
    a.c.sp()
    password = a.astr()
    a.c.end()
    return Login(a.tag, user, password)


def _enable(a: Args) -> Command:
    """``ENABLE cap ...``; Dovecot also accepts it with no capability (``OK Enabled``)."""
    caps: list[str] = []
    while a.c.more():
        caps.append(a.c.keyword())
    return Enable(a.tag, tuple(caps))


def _noop(a: Args) -> Command:
    """NOOP; Dovecot ignores whatever follows it, so its arguments are not read."""
    return Noop(a.tag)


def _id(a: Args) -> Command:
    c = a.c
    c.sp()
    if not c.accept(b"("):
        if c.nstring() is not None:
            raise CommandSyntaxError("expected NIL or a parameter list")
        c.end()
        return Id(a.tag, None)
    params: list[tuple[str, str | None]] = []
    while not c.close():
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


def _getquota(a: Args) -> Command:
    a.c.sp()
    root = a.astr()
    a.c.end()
    return GetQuota(a.tag, root)


def _setquota(a: Args) -> Command:
    c = a.c
    c.sp()
    root = a.astr()
    c.sp()
    c.expect(b"(", "'(' before quota limits")
    limits: list[tuple[str, int]] = []
    while not c.close():
        if limits:
            c.sp()
        resource = c.keyword()
        c.sp()
        limits.append((resource, c.number(MAX_QUOTA, "a quota limit")))
    c.end()
    return SetQuota(a.tag, root, tuple(limits))


def _compress(a: Args) -> Command:
    a.c.sp()
    mech = a.c.keyword()
    a.c.end()
    return Compress(a.tag, mech)


_NO_ARGS_CLASSES: dict[str, type[Command]] = {
    "CAPABILITY": Capability,
    "LOGOUT": Logout,
    "STARTTLS": StartTLS,
    "CHECK": Check,
    "CLOSE": Close,
    "UNSELECT": Unselect,
    "IDLE": Idle,
    "NAMESPACE": Namespace,
}


def _no_args_parser(name: str) -> Callable[[Args], Command]:
    def parse(a: Args) -> Command:
        a.c.end()
        return _NO_ARGS_CLASSES[name](a.tag)

    return parse


_COMMANDS: dict[str, Callable[[Args], Command]] = {
    **{name: _no_args_parser(name) for name in _NO_ARGS_CLASSES},
    "AUTHENTICATE": _authenticate,
    "LOGIN": _login,
    "ENABLE": _enable,
    "NOOP": _noop,
    "ID": _id,
    "GETQUOTA": _getquota,
    "SETQUOTA": _setquota,
    "COMPRESS": _compress,
    **MAILBOX_COMMANDS,
    **MESSAGE_COMMANDS,
    **SEARCH_COMMANDS,
}

__all__ = ["parse_command"]
