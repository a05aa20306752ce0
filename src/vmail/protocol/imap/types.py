"""Typed results of IMAP command parsing: commands, FETCH items, SEARCH keys, parse errors.

All are frozen dataclasses. Mailbox names are ``str`` as sent (modified UTF-7 is kept, only
``INBOX`` is normalised); flags are normalised (``\\Seen``) and keywords kept as sent.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Literal

from vmail.protocol.imap.sequence import SequenceSet


@dataclass(frozen=True, slots=True)
class ParseError:
    """The command is malformed: the server answers ``<tag> <status> [<code>] <text>``.

    ``tag`` is ``*`` when the tag itself is unreadable; ``status`` is ``BAD`` except for
    an unknown search charset (``NO [BADCHARSET ...]``).
    """

    tag: str
    text: str
    code: str | None = None
    status: str = "BAD"


# -- FETCH ----------------------------------------------------------------------------

SectionText = Literal["HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT", "TEXT", "MIME"]


@dataclass(frozen=True, slots=True)
class Section:
    """``[part.part.TEXT]``: part path (empty = whole message) and optional text part."""

    part: tuple[int, ...] = ()
    text: SectionText | None = None
    fields: tuple[str, ...] = ()  # for HEADER.FIELDS[.NOT], upper-cased


@dataclass(frozen=True, slots=True)
class FetchAtt:
    """One FETCH item.

    ``name`` is the item's base name: FLAGS, INTERNALDATE, RFC822, RFC822.HEADER,
    RFC822.TEXT, RFC822.SIZE, ENVELOPE, BODY (structure when ``section`` is None),
    BODYSTRUCTURE, UID, MODSEQ, BINARY, BINARY.SIZE. ``echo`` is the exact item name the
    response carries (``BODY[HEADER.FIELDS (SUBJECT)]<0>``: no count, no ``.PEEK``).
    """

    name: str
    echo: str
    section: Section | None = None
    peek: bool = False
    partial: tuple[int, int] | None = None  # (offset, count)


# -- SEARCH ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchAll:
    """ALL."""


@dataclass(frozen=True, slots=True)
class SearchFlag:
    """A flag set (``set``) or not set: ANSWERED, UNSEEN, KEYWORD x, RECENT, OLD..."""

    flag: str
    set: bool = True


@dataclass(frozen=True, slots=True)
class SearchDate:
    """BEFORE/ON/SINCE (internal date) and SENTBEFORE/SENTON/SENTSINCE (Date: header)."""

    field: Literal["internal", "sent"]
    op: Literal["before", "on", "since"]
    date: datetime.date


@dataclass(frozen=True, slots=True)
class SearchAge:
    """YOUNGER/OLDER n seconds (RFC 5032), on the internal date."""

    op: Literal["younger", "older"]
    seconds: int


@dataclass(frozen=True, slots=True)
class SearchText:
    """Substring search in a header, the body or the whole text."""

    field: Literal["bcc", "body", "cc", "from", "subject", "text", "to"]
    value: str


@dataclass(frozen=True, slots=True)
class SearchHeader:
    """HEADER name value (an empty value matches every message having the field)."""

    name: str
    value: str


@dataclass(frozen=True, slots=True)
class SearchSize:
    """LARGER/SMALLER n (RFC822.SIZE)."""

    op: Literal["larger", "smaller"]
    size: int


@dataclass(frozen=True, slots=True)
class SearchSet:
    """A sequence set (``uid`` False) or UID set."""

    seqset: SequenceSet
    uid: bool = False


@dataclass(frozen=True, slots=True)
class SearchModseq:
    """MODSEQ [entry-name entry-type] n (RFC 7162): messages with mod-sequence >= n."""

    modseq: int
    entry: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class SearchNot:
    """NOT key."""

    key: SearchKey


@dataclass(frozen=True, slots=True)
class SearchOr:
    """OR a b."""

    a: SearchKey
    b: SearchKey


@dataclass(frozen=True, slots=True)
class SearchAnd:
    """All keys match (a parenthesised list, or several keys in a row)."""

    keys: tuple[SearchKey, ...]


SearchKey = (
    SearchAll
    | SearchFlag
    | SearchDate
    | SearchAge
    | SearchText
    | SearchHeader
    | SearchSize
    | SearchSet
    | SearchModseq
    | SearchNot
    | SearchOr
    | SearchAnd
)


# -- commands -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """Base of every command."""

    tag: str


@dataclass(frozen=True, slots=True)
class Capability(Command):
    """CAPABILITY."""


@dataclass(frozen=True, slots=True)
class Noop(Command):
    """NOOP."""


@dataclass(frozen=True, slots=True)
class Logout(Command):
    """LOGOUT."""


@dataclass(frozen=True, slots=True)
class StartTLS(Command):
    """STARTTLS."""


@dataclass(frozen=True, slots=True)
class Check(Command):
    """CHECK."""


@dataclass(frozen=True, slots=True)
class Close(Command):
    """CLOSE."""


@dataclass(frozen=True, slots=True)
class Unselect(Command):
    """UNSELECT (RFC 3691)."""


@dataclass(frozen=True, slots=True)
class Idle(Command):
    """IDLE (RFC 2177); the server then reads ``DONE`` as a raw line."""


@dataclass(frozen=True, slots=True)
class Namespace(Command):
    """NAMESPACE (RFC 2342)."""


@dataclass(frozen=True, slots=True)
class Authenticate(Command):
    """AUTHENTICATE mechanism [initial-response] (RFC 4959); ``=`` is an empty response."""

    mechanism: str
    initial_response: str | None = None


@dataclass(frozen=True, slots=True)
class Login(Command):
    """LOGIN user password."""

    username: str
    password: str


@dataclass(frozen=True, slots=True)
class QResync:
    """QRESYNC select parameters (RFC 7162)."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None  # (seqnums, uids)


@dataclass(frozen=True, slots=True)
class Select(Command):
    """SELECT, or EXAMINE when ``readonly``."""

    mailbox: str
    readonly: bool = False
    condstore: bool = False
    qresync: QResync | None = None


@dataclass(frozen=True, slots=True)
class Create(Command):
    """CREATE mailbox [(USE (special-use...))] (RFC 6154)."""

    mailbox: str
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Delete(Command):
    """DELETE mailbox."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class Rename(Command):
    """RENAME old new."""

    mailbox: str
    new_name: str


@dataclass(frozen=True, slots=True)
class Subscribe(Command):
    """SUBSCRIBE mailbox."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class Unsubscribe(Command):
    """UNSUBSCRIBE mailbox."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class List(Command):
    """LIST, basic or extended (RFC 5258/5819/6154); options are upper-cased."""

    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    returns: frozenset[str] = frozenset()
    status_items: tuple[str, ...] = ()  # RETURN (STATUS (...))
    extended: bool = False


@dataclass(frozen=True, slots=True)
class Lsub(Command):
    """LSUB reference pattern."""

    reference: str
    pattern: str


@dataclass(frozen=True, slots=True)
class Status(Command):
    """STATUS mailbox (items), items upper-cased."""

    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class AppendMessage:
    """One message of an APPEND: flags, internal date, content."""

    flags: tuple[str, ...]
    date: datetime.datetime | None
    data: bytes
    binary: bool = False


@dataclass(frozen=True, slots=True)
class Append(Command):
    """APPEND mailbox message... (MULTIAPPEND, RFC 3502)."""

    mailbox: str
    messages: tuple[AppendMessage, ...]


@dataclass(frozen=True, slots=True)
class Expunge(Command):
    """EXPUNGE, or UID EXPUNGE uid-set (RFC 4315) when ``uid``."""

    uid: bool = False
    uids: SequenceSet | None = None


@dataclass(frozen=True, slots=True)
class Search(Command):
    """SEARCH; ``returns`` None without RETURN (classic reply), else the ESEARCH options."""

    key: SearchKey
    uid: bool = False
    charset: str | None = None
    returns: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Fetch(Command):
    """FETCH seqset items [(CHANGEDSINCE n [VANISHED])]."""

    seqset: SequenceSet
    items: tuple[FetchAtt, ...]
    uid: bool = False
    changedsince: int | None = None
    vanished: bool = False


@dataclass(frozen=True, slots=True)
class Store(Command):
    """STORE seqset [(UNCHANGEDSINCE n)] (+|-|)FLAGS[.SILENT] flags."""

    seqset: SequenceSet
    mode: Literal["set", "add", "remove"]
    flags: tuple[str, ...]
    silent: bool = False
    uid: bool = False
    unchangedsince: int | None = None


@dataclass(frozen=True, slots=True)
class Copy(Command):
    """COPY seqset mailbox."""

    seqset: SequenceSet
    mailbox: str
    uid: bool = False


@dataclass(frozen=True, slots=True)
class Move(Command):
    """MOVE seqset mailbox (RFC 6851)."""

    seqset: SequenceSet
    mailbox: str
    uid: bool = False


@dataclass(frozen=True, slots=True)
class Sort(Command):
    """SORT (criteria) charset keys (RFC 5256); criteria are (key, reverse)."""

    criteria: tuple[tuple[str, bool], ...]
    charset: str
    key: SearchKey
    uid: bool = False
    returns: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Thread(Command):
    """THREAD algorithm charset keys (RFC 5256)."""

    algorithm: str
    charset: str
    key: SearchKey
    uid: bool = False


@dataclass(frozen=True, slots=True)
class Enable(Command):
    """ENABLE capability... (RFC 5161), upper-cased."""

    capabilities: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Id(Command):
    """ID (RFC 2971); ``params`` None for ``ID NIL``."""

    params: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True)
class GetQuota(Command):
    """GETQUOTA root (RFC 9208)."""

    root: str


@dataclass(frozen=True, slots=True)
class GetQuotaRoot(Command):
    """GETQUOTAROOT mailbox."""

    mailbox: str


@dataclass(frozen=True, slots=True)
class SetQuota(Command):
    """SETQUOTA root ((resource limit)...), resources upper-cased."""

    root: str
    limits: tuple[tuple[str, int], ...]


@dataclass(frozen=True, slots=True)
class Compress(Command):
    """COMPRESS mechanism (RFC 4978), upper-cased."""

    mechanism: str
