"""Parsing of the mailbox commands (SELECT, CREATE, RENAME, LIST, STATUS, ...).

SELECT/EXAMINE with CONDSTORE/QRESYNC (RFC 7162), CREATE with USE (RFC 6154), DELETE,
RENAME, (UN)SUBSCRIBE, LIST basic and extended (RFC 5258/5819/6154), LSUB, STATUS,
GETQUOTAROOT.
"""

from __future__ import annotations

from collections.abc import Callable

from vmail.protocol.imap.args import Args, options
from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor
from vmail.protocol.imap.search_keys import MAX_MODSEQ
from vmail.protocol.imap.types import (
    Command,
    Create,
    Delete,
    GetQuotaRoot,
    List,
    Lsub,
    QResync,
    Rename,
    Select,
    Status,
    Subscribe,
    Unsubscribe,
)

STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"}
)
LIST_SELECT = frozenset({"SUBSCRIBED", "REMOTE", "RECURSIVEMATCH", "SPECIAL-USE"})
LIST_RETURN = frozenset({"SUBSCRIBED", "CHILDREN", "SPECIAL-USE", "STATUS"})
# RFC 6154 attributes, normalised; others are kept as sent (the server answers USEATTR).
SPECIAL_USE = {
    f.upper(): "\\" + f for f in ("All", "Archive", "Drafts", "Flagged", "Junk", "Sent", "Trash")
}


def _select(a: Args, readonly: bool) -> Command:
    mailbox = a.sp_mailbox()
    condstore = False
    qresync = None
    if a.c.more():
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
            if a.c.close():
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


def _create(a: Args) -> Command:
    mailbox = a.sp_mailbox()
    uses: list[str] = []
    if a.c.more():
        a.c.expect(b"(", "'(' before create parameters")
        if a.c.keyword() != "USE":
            raise CommandSyntaxError("unknown create parameter")
        a.c.sp()
        a.c.expect(b"(", "'(' after USE")
        while not a.c.close():
            if uses:
                a.c.sp()
            a.c.expect(b"\\", "a special-use flag")
            name = a.c.atom("a special-use flag").decode("ascii")
            uses.append(SPECIAL_USE.get(name.upper(), "\\" + name))
        a.c.expect(b")", "')' after create parameters")
    a.c.end()
    return Create(a.tag, mailbox, tuple(uses))


def _one_mailbox(cls: Callable[[str, str], Command]) -> Callable[[Args], Command]:
    def parse(a: Args) -> Command:
        mailbox = a.sp_mailbox()
        a.c.end()
        return cls(a.tag, mailbox)

    return parse


def _rename(a: Args) -> Command:
    old = a.sp_mailbox()
    new = a.sp_mailbox()
    a.c.end()
    return Rename(a.tag, old, new)


def _list(a: Args) -> Command:
    c = a.c
    c.sp()
    selection: list[str] = []
    extended = False
    if c.accept(b"("):
        selection = options(c, LIST_SELECT, "LIST selection option")
        if "RECURSIVEMATCH" in selection and set(selection) <= {"RECURSIVEMATCH", "REMOTE"}:
            raise CommandSyntaxError("RECURSIVEMATCH needs another selection option")
        extended = True
        c.sp()
    reference = a.mailbox()
    if c.at_end():
        raise CommandSyntaxError("Invalid pattern")  # Dovecot's reason
    c.sp()
    patterns: list[str] = []
    if c.accept(b"("):
        extended = True
        while not c.close():
            if patterns:
                c.sp()
            patterns.append(c.text(c.list_mailbox(), a.utf8))
    else:
        patterns.append(c.text(c.list_mailbox(), a.utf8))
    returns: list[str] = []
    status: tuple[str, ...] = ()
    if c.more():
        if c.keyword() != "RETURN":
            raise CommandSyntaxError("expected RETURN")
        c.sp()
        c.expect(b"(", "'(' after RETURN")
        extended = True
        while not c.close():
            if returns:
                c.sp()
            opt = c.keyword()
            if opt not in LIST_RETURN:
                raise CommandSyntaxError(f"unknown LIST return option {opt[:40]}")
            if opt == "STATUS":
                c.sp()
                status = status_items(c)
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


def _lsub(a: Args) -> Command:
    reference = a.sp_mailbox()
    a.c.sp()
    pattern = a.c.text(a.c.list_mailbox(), a.utf8)
    a.c.end()
    return Lsub(a.tag, reference, pattern)


def status_items(c: Cursor) -> tuple[str, ...]:
    c.expect(b"(", "'(' before status items")
    items = options(c, STATUS_ITEMS, "STATUS item")
    if not items:
        raise CommandSyntaxError("empty STATUS item list")
    return tuple(items)


def _status(a: Args) -> Command:
    mailbox = a.sp_mailbox()
    a.c.sp()
    items = status_items(a.c)
    a.c.end()
    return Status(a.tag, mailbox, items)


MAILBOX_COMMANDS: dict[str, Callable[[Args], Command]] = {
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
    "GETQUOTAROOT": _one_mailbox(GetQuotaRoot),
}

__all__ = ["MAILBOX_COMMANDS", "status_items"]
