"""Folder-level IMAP commands: SELECT, EXAMINE, CREATE, DELETE, RENAME, SUBSCRIBE,
UNSUBSCRIBE, LIST (with LIST-EXTENDED, LIST-STATUS, SPECIAL-USE), LSUB, STATUS, APPEND
(MULTIAPPEND, UIDPLUS) and the QUOTA commands (RFC 9208, reading ``maildirsize``).

Responses follow Dovecot 2.3's wording and order, e.g. SELECT sends FLAGS,
PERMANENTFLAGS, EXISTS, RECENT, UNSEEN, UIDVALIDITY, UIDNEXT and (CONDSTORE)
HIGHESTMODSEQ before ``OK [READ-WRITE] Select completed``.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Sequence

from vmail.mailstore.access_errors import NoSuchFolderError
from vmail.mailstore.folder import Folder
from vmail.mailstore.store import FolderInfo, MailStore
from vmail.protocol.imap import types as t
from vmail.protocol.imap.wire import astring, string
from vmail.servers.imapd.commands import (
    AUTHENTICATED,
    Bad,
    Done,
    No,
    close_selected,
    close_selected_and_say,
    handler,
    in_thread,
)
from vmail.servers.imapd.connection import ImapConnection, State
from vmail.servers.imapd.dovecot_texts import invalid_name
from vmail.servers.imapd.selected import SelectedView, format_flags
from vmail.servers.imapd.selection import Selection
from vmail.servers.imapd.sets import compress_sorted

QUOTA_ROOT = "User quota"


def _store(conn: ImapConnection) -> MailStore:
    assert conn.store is not None
    return conn.store


def mailbox_name(conn: ImapConnection, name: bytes | str) -> bytes:
    """A mailbox name as LIST/STATUS write it."""
    return astring(name)


# -- SELECT / EXAMINE ----------------------------------------------------------------------


@handler(t.Select, AUTHENTICATED)
async def select(conn: ImapConnection, cmd: t.Select) -> Done:
    if conn.selected is not None:
        close_selected_and_say(conn)
    store = _store(conn)
    if cmd.condstore or cmd.qresync is not None:
        if cmd.qresync is not None and "QRESYNC" not in conn.enabled:
            raise Bad("QRESYNC not enabled")
        conn.enabled.add("CONDSTORE")
    try:
        folder: Folder = await in_thread(store.folder, cmd.mailbox)
    except NoSuchFolderError:
        raise No(f"Mailbox doesn't exist: {cmd.mailbox}") from None  # Dovecot: no code
    await in_thread(folder.sync)
    records = folder.messages
    if cmd.readonly:  # EXAMINE shows the \Recent messages without claiming them (Dovecot)
        unclaimed = folder.recent_count
        recent: list[int] = (
            [r.uid for r in records[len(records) - unclaimed :]] if unclaimed else []
        )
    else:
        recent = await in_thread(folder.claim_recent)
    view = SelectedView(
        [r.uid for r in records],
        recent=recent,
        condstore="CONDSTORE" in conn.enabled,
        qresync="QRESYNC" in conn.enabled,
    )
    selection = Selection(cmd.mailbox, folder, view, readonly=cmd.readonly)
    selection.take_pending()  # the initial state is reported below
    conn.selected = selection
    conn.state = State.SELECTED
    out = conn.stream
    selection.announce_keywords(conn, always=True)
    out.write(b"* %d EXISTS\r\n* %d RECENT\r\n" % (view.exists, view.recent_count))
    first_unseen = next((seq for seq, r in enumerate(records, 1) if "\\Seen" not in r.flags), None)
    if first_unseen is not None:
        out.write(b"* OK [UNSEEN %d] First unseen.\r\n" % first_unseen)
    out.write(b"* OK [UIDVALIDITY %d] UIDs valid\r\n" % folder.uidvalidity)
    out.write(b"* OK [UIDNEXT %d] Predicted next UID\r\n" % folder.uidnext)
    if "CONDSTORE" in conn.enabled:
        out.write(b"* OK [HIGHESTMODSEQ %d] Highest\r\n" % folder.highestmodseq)
    if cmd.qresync is not None:
        _qresync(conn, selection, cmd.qresync)
    mode = "READ-ONLY" if cmd.readonly else "READ-WRITE"
    verb = "Examine" if cmd.readonly else "Select"
    return Done("OK", f"{verb} completed", mode)


def _qresync(conn: ImapConnection, selection: Selection, q: t.QResync) -> None:
    """RFC 7162 3.2.5: what changed since the client's modseq, when UIDVALIDITY matches."""
    folder, view = selection.folder, selection.view
    if q.uidvalidity != folder.uidvalidity:
        return
    known = view.uids
    if q.modseq >= folder.highestmodseq:
        return  # nothing changed (an expunge raises HIGHESTMODSEQ too)
    # Expunged since: we keep no tombstones, so report every known UID that is gone —
    # without a known-uids list, every UID below UIDNEXT (RFC 7162 3.2.5.1).
    if q.known_uids is not None:
        current = set(known)
        last = folder.uidnext - 1
        vanished = [u for u in q.known_uids.resolve(last) if u not in current and u <= last]
        gone = compress_sorted(sorted(set(vanished)))
    else:
        gone = _gaps(known, folder.uidnext)
    if gone:
        conn.stream.write(b"* VANISHED (EARLIER) " + gone + b"\r\n")
    for seq, uid in enumerate(known, 1):
        record = folder.by_uid(uid)
        if record is None or record.modseq <= q.modseq:
            continue
        conn.stream.write(
            b"* %d FETCH (UID %d FLAGS %b MODSEQ (%d))\r\n"
            % (
                seq,
                uid,
                format_flags(record.flags, view.is_recent(uid), view.keywords),
                record.modseq,
            )
        )


def _gaps(uids: Sequence[int], uidnext: int) -> bytes:
    """The UIDs below ``uidnext`` missing from ``uids`` (ascending) as a sequence set."""
    parts: list[str] = []
    expected = 1
    for uid in [*uids, uidnext]:
        if uid > expected:
            parts.append(f"{expected}:{uid - 1}" if uid - 1 > expected else str(expected))
        expected = uid + 1
    return ",".join(parts).encode("ascii")


# -- CREATE / DELETE / RENAME / SUBSCRIBE --------------------------------------------------


@handler(t.Create, AUTHENTICATED)
async def create(conn: ImapConnection, cmd: t.Create) -> Done:
    store = _store(conn)
    use = cmd.special_use[0] if cmd.special_use else None
    if len(cmd.special_use) > 1:
        raise No("Only one special-use attribute per mailbox is supported", "USEATTR")
    if use is not None and use not in {
        "\\Drafts",
        "\\Sent",
        "\\Trash",
        "\\Junk",
        "\\Archive",
        "\\All",
        "\\Flagged",
    }:
        raise No(f"Unknown special-use attribute {use[:40]}", "USEATTR")
    name = cmd.mailbox.rstrip(store.separator) if len(cmd.mailbox) > 1 else cmd.mailbox
    if name.upper() == "INBOX":
        raise No("Mailbox already exists", "ALREADYEXISTS")
    await in_thread(store.create, name, use)
    return Done("OK", "Create completed.")


@handler(t.Delete, AUTHENTICATED)
async def delete(conn: ImapConnection, cmd: t.Delete) -> Done:
    store = _store(conn)
    if len(cmd.mailbox) > 1 and cmd.mailbox.endswith(store.separator):  # Dovecot refuses it
        raise No(invalid_name("mailbox name ends with the hierarchy separator"), "CANNOT")
    if conn.selected is not None and conn.selected.name == cmd.mailbox:
        close_selected(conn)
    await in_thread(store.delete, cmd.mailbox)
    return Done("OK", "Delete completed.")


@handler(t.Rename, AUTHENTICATED)
async def rename(conn: ImapConnection, cmd: t.Rename) -> Done:
    if cmd.mailbox.upper() == "INBOX":  # as Dovecot's Maildir++ (RFC 3501 would move mail)
        raise No("Renaming INBOX isn't supported", "CANNOT")
    await in_thread(_store(conn).rename, cmd.mailbox, cmd.new_name)
    return Done("OK", "Rename completed.")


@handler(t.Subscribe, AUTHENTICATED)
async def subscribe(conn: ImapConnection, cmd: t.Subscribe) -> Done:
    store = _store(conn)
    if not await in_thread(store.exists, cmd.mailbox):  # Dovecot refuses (RFC 3501: MAY)
        raise No(f"Mailbox doesn't exist: {cmd.mailbox}")
    await in_thread(store.subscribe, cmd.mailbox)
    return Done("OK", "Subscribe completed.")


@handler(t.Unsubscribe, AUTHENTICATED)
async def unsubscribe(conn: ImapConnection, cmd: t.Unsubscribe) -> Done:
    await in_thread(_store(conn).unsubscribe, cmd.mailbox)
    return Done("OK", "Unsubscribe completed.")


# -- LIST / LSUB -------------------------------------------------------------------------


def pattern_regex(reference: str, pattern: str, separator: str) -> re.Pattern[str]:
    """RFC 3501 6.3.8: ``*`` matches anything, ``%`` anything but the separator."""
    full = reference + pattern if not pattern.startswith(separator) or not reference else pattern
    out = []
    for ch in full:
        if ch == "*":
            out.append(".*")
        elif ch == "%":
            out.append(f"[^{re.escape(separator)}]*")
        else:
            out.append(re.escape(ch))
    text = "".join(out)
    # INBOX is case-insensitive, also as the first level of a hierarchy.
    if full[:5].upper() == "INBOX" and (len(full) == 5 or full[5] in (separator, "*", "%")):
        text = "(?i:INBOX)" + "".join(out[5:])
    return re.compile(text + r"\Z", re.DOTALL)


@handler(t.List, AUTHENTICATED)
async def list_(conn: ImapConnection, cmd: t.List) -> Done:
    store = _store(conn)
    sep = store.separator
    if len(cmd.patterns) == 1 and cmd.patterns[0] == "" and not cmd.extended:
        conn.stream.write(b"* LIST (\\Noselect) " + string(sep) + b' ""\r\n')
        return Done("OK", "List completed.")
    folders: list[FolderInfo] = await in_thread(store.list_folders)
    subscribed = set(await in_thread(store.subscriptions)) if _wants_subscriptions(cmd) else set()
    regexes = [pattern_regex(cmd.reference, p, sep) for p in cmd.patterns if p != ""]
    selection = cmd.selection
    matched: list[tuple[FolderInfo, set[str]]] = []
    names = {info.name for info in folders}
    hidden = set() if cmd.extended else _parents_of_listed(folders, regexes, sep)
    childinfo = (
        _with_subscribed_children(subscribed, sep)
        if "SUBSCRIBED" in selection and "RECURSIVEMATCH" in selection
        else set()
    )
    for info in folders:
        if not any(r.match(info.name) for r in regexes) or info.name in hidden:
            continue
        attrs = set(info.attributes)
        if info.name in subscribed:
            attrs.add("\\Subscribed")
        if "SUBSCRIBED" in selection and info.name not in subscribed:
            if info.name in childinfo:
                matched.append((info, attrs))
            continue
        if "SPECIAL-USE" in selection and info.special_use is None:
            continue
        if "\\NonExistent" in attrs and not cmd.extended:
            attrs.discard("\\NonExistent")
        matched.append((info, attrs))
    if "SUBSCRIBED" in selection:
        # Subscribed names that no longer exist are listed as \NonExistent.
        for name in sorted(subscribed - names):
            if any(r.match(name) for r in regexes):
                gone = {"\\NonExistent", "\\Subscribed", "\\HasNoChildren"}
                matched.append((FolderInfo(name, frozenset(), None), gone))
    listed = {info.name for info, _ in matched}
    for name in sorted(childinfo - names - listed):  # a parent that does not exist at all
        if any(r.match(name) for r in regexes):
            matched.append((FolderInfo(name, frozenset(), None), {"\\NonExistent"}))
    for info, attrs in matched:
        if cmd.extended:
            attrs = _asked_attributes(cmd, info, attrs)
        line = (
            b"* LIST " + _attrs(attrs) + b" " + string(sep) + b" " + mailbox_name(conn, info.name)
        )
        if info.name in childinfo:
            line += b' (CHILDINFO ("SUBSCRIBED"))'  # RFC 5258 4, written as Dovecot does
        conn.stream.write(line + b"\r\n")
        if cmd.status_items and "\\Noselect" not in attrs and "\\NonExistent" not in attrs:
            await _status_line(conn, info.name, cmd.status_items)
    return Done("OK", "List completed.")


def _parents_of_listed(
    folders: list[FolderInfo], regexes: list[re.Pattern[str]], sep: str
) -> set[str]:
    """Missing parents that a listed child already shows: Dovecot omits them (``*``) and
    lists a missing parent ``\\Noselect`` only when the pattern stops at it (``%``)."""
    listed = [
        info.name
        for info in folders
        if "\\NonExistent" not in info.attributes and any(r.match(info.name) for r in regexes)
    ]
    return {
        info.name
        for info in folders
        if "\\NonExistent" in info.attributes
        and any(name.startswith(info.name + sep) for name in listed)
    }


def _with_subscribed_children(subscribed: set[str], sep: str) -> set[str]:
    """Every name with a subscribed descendant (for RECURSIVEMATCH's CHILDINFO)."""
    parents: set[str] = set()
    for name in subscribed:
        parts = name.split(sep)
        parents.update(sep.join(parts[:depth]) for depth in range(1, len(parts)))
    return parents


_CHILDREN = frozenset({"\\HasChildren", "\\HasNoChildren"})


def _asked_attributes(cmd: t.List, info: FolderInfo, attrs: set[str]) -> set[str]:
    """An extended LIST's attributes as Dovecot sends them: ``\\NonExistent`` without the
    ``\\Noselect`` it implies, children only with RETURN (CHILDREN), the special-use one
    only with RETURN (SPECIAL-USE) or that selection."""
    if "\\NonExistent" in attrs:
        attrs = attrs - {"\\Noselect"}
    if "CHILDREN" not in cmd.returns:
        attrs = attrs - _CHILDREN
    wants_use = "SPECIAL-USE" in cmd.returns or "SPECIAL-USE" in cmd.selection
    if info.special_use is not None and not wants_use:
        attrs = attrs - {info.special_use}
    return attrs


def _wants_subscriptions(cmd: t.List) -> bool:
    return "SUBSCRIBED" in cmd.selection or "SUBSCRIBED" in cmd.returns


def _attrs(attrs: Iterable[str]) -> bytes:
    order = ["\\Noselect", "\\Subscribed", "\\NonExistent", "\\HasChildren", "\\HasNoChildren"]
    items = [a for a in order if a in attrs] + sorted(a for a in attrs if a not in order)
    return ("(" + " ".join(items) + ")").encode()


@handler(t.Lsub, AUTHENTICATED)
async def lsub(conn: ImapConnection, cmd: t.Lsub) -> Done:
    store = _store(conn)
    sep = store.separator
    if cmd.pattern == "":
        conn.stream.write(b"* LSUB (\\Noselect) " + string(sep) + b' ""\r\n')
        return Done("OK", "Lsub completed.")
    regex = pattern_regex(cmd.reference, cmd.pattern, sep)
    subscribed: list[str] = await in_thread(store.subscriptions)
    listed = {name for name in subscribed if regex.match(name)}
    if listed:  # Dovecot shows the special-use attribute of a subscribed folder
        folders: list[FolderInfo] = await in_thread(store.list_folders)
        special = {info.name: info.special_use for info in folders if info.special_use}
    for name in subscribed:
        if name in listed:
            attrs = f"({special[name]})" if name in special else "()"
            conn.stream.write(
                b"* LSUB "
                + attrs.encode()
                + b" "
                + string(sep)
                + b" "
                + mailbox_name(conn, name)
                + b"\r\n"
            )
    if "%" in cmd.pattern:
        # RFC 3501 6.3.9: an unsubscribed parent of a subscribed name that % matches.
        for name in subscribed:
            parts = name.split(sep)
            for depth in range(1, len(parts)):
                parent = sep.join(parts[:depth])
                if parent not in listed and regex.match(parent):
                    listed.add(parent)
                    conn.stream.write(
                        b"* LSUB (\\Noselect) "
                        + string(sep)
                        + b" "
                        + mailbox_name(conn, parent)
                        + b"\r\n"
                    )
    return Done("OK", "Lsub completed.")


# -- STATUS ------------------------------------------------------------------------------


@handler(t.Status, AUTHENTICATED)
async def status(conn: ImapConnection, cmd: t.Status) -> Done:
    try:
        await _status_line(conn, cmd.mailbox, cmd.items)
    except NoSuchFolderError:
        raise No(f"Mailbox doesn't exist: {cmd.mailbox}") from None  # Dovecot: no code
    if _is_selected(conn, cmd.mailbox):  # RFC 3501 6.3.10 advises against it
        return Done("OK", "Status on selected mailbox completed", "CLIENTBUG")
    return Done("OK", "Status completed.")


def _is_selected(conn: ImapConnection, name: str) -> bool:
    selected = conn.selected
    if selected is None:
        return False
    if name.upper() == "INBOX":
        return selected.name.upper() == "INBOX"
    return selected.name == name


async def _status_line(conn: ImapConnection, name: str, items: Iterable[str]) -> None:
    wanted = [i.upper() for i in items]
    if "HIGHESTMODSEQ" in wanted:
        conn.enabled.add("CONDSTORE")
    values: dict[str, int] = await in_thread(_store(conn).status, name, wanted)
    if "RECENT" in values and _is_selected(conn, name) and conn.selected is not None:
        values["RECENT"] = conn.selected.view.recent_count  # this session's view (Dovecot)
    body = " ".join(f"{item} {values[item]}" for item in wanted)
    conn.stream.write(b"* STATUS " + mailbox_name(conn, name) + b" (" + body.encode() + b")\r\n")


# -- APPEND ------------------------------------------------------------------------------

_ZERO_BYTES = "Can't save a zero byte message."


async def append_refusal(conn: ImapConnection, cmd: t.Append, size: int) -> Done | None:
    """Why an APPEND whose last message is a pending literal of ``size`` bytes is refused
    before the literal is read (as Dovecot does), or None."""
    if size == 0:
        return Done("NO", _ZERO_BYTES)
    if not await in_thread(_store(conn).exists, cmd.mailbox):
        return Done("NO", f"Mailbox doesn't exist: {cmd.mailbox}", "TRYCREATE")
    return None


@handler(t.Append, AUTHENTICATED)
async def append(conn: ImapConnection, cmd: t.Append) -> Done:
    store = _store(conn)
    limit = conn.settings.append_limit
    for message in cmd.messages:
        if limit and len(message.data) > limit:
            raise No("Message too large", "TOOBIG")
        if not message.data:
            raise No(_ZERO_BYTES)
    try:
        folder: Folder = await in_thread(store.folder, cmd.mailbox)
    except NoSuchFolderError:
        raise No(f"Mailbox doesn't exist: {cmd.mailbox}", "TRYCREATE") from None
    usage = await in_thread(store.quota)
    incoming = sum(len(m.data) for m in cmd.messages)
    if usage.storage_limit and usage.storage_used + incoming > usage.storage_limit:
        raise No("Quota exceeded (mailbox for user is full)", "OVERQUOTA")
    if usage.messages_limit and usage.messages_used + len(cmd.messages) > usage.messages_limit:
        raise No("Quota exceeded (mailbox for user is full)", "OVERQUOTA")
    batch = [
        (
            m.data,
            [f for f in m.flags if f != "\\Recent"],
            m.date.timestamp() if m.date else time.time(),
        )
        for m in cmd.messages
    ]
    uids: list[int] = await in_thread(folder.append_many, batch)
    code = f"APPENDUID {folder.uidvalidity} {compress_sorted(sorted(uids)).decode()}"
    return Done("OK", "Append completed.", code)


# -- QUOTA -------------------------------------------------------------------------------


@handler(t.GetQuotaRoot, AUTHENTICATED)
async def getquotaroot(conn: ImapConnection, cmd: t.GetQuotaRoot) -> Done:
    store = _store(conn)
    if not await in_thread(store.exists, cmd.mailbox):
        raise No(f"Mailbox doesn't exist: {cmd.mailbox}", "NONEXISTENT")
    conn.stream.write(
        b"* QUOTAROOT " + mailbox_name(conn, cmd.mailbox) + b" " + string(QUOTA_ROOT) + b"\r\n"
    )
    await _quota_line(conn)
    return Done("OK", "Getquotaroot completed.")


@handler(t.GetQuota, AUTHENTICATED)
async def getquota(conn: ImapConnection, cmd: t.GetQuota) -> Done:
    if cmd.root != QUOTA_ROOT:
        raise No("Quota root does not exist", "NONEXISTENT")
    await _quota_line(conn)
    return Done("OK", "Getquota completed.")


@handler(t.SetQuota, AUTHENTICATED)
async def setquota(conn: ImapConnection, cmd: t.SetQuota) -> Done:
    raise No("Quota is set by the administrator (vmail mailbox --quota)", "NOPERM")


async def _quota_line(conn: ImapConnection) -> None:
    usage = await in_thread(_store(conn).quota)
    items = (
        [f"STORAGE {usage.storage_used // 1024} {usage.storage_limit // 1024}"]
        if usage.storage_limit
        else []
    )
    if usage.messages_limit:
        items.append(f"MESSAGE {usage.messages_used} {usage.messages_limit}")
    if not items:
        return
    conn.stream.write(
        b"* QUOTA " + string(QUOTA_ROOT) + b" (" + " ".join(items).encode() + b")\r\n"
    )
