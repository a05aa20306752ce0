"""Commands on the selected folder's messages: FETCH, STORE, COPY, MOVE, EXPUNGE, SEARCH,
SORT, THREAD, CHECK, CLOSE, UNSELECT and IDLE.

Message sets are resolved against the session's own view
(:class:`~vmail.servers.imapd.selected.SelectedView`): a sequence number beyond the
mailbox is ``BAD Error in IMAP command: Invalid messageset``; UID ranges beyond the last
UID are simply empty. Store work runs in worker threads; FETCH streams batch by batch.
While a session IDLEs it is woken by its own folder's changes (other sessions of this
process at once, other processes through the folder watcher within a second) and sends
``* OK Still here`` every ``imapd_idle_notify_interval``.
"""

from __future__ import annotations

import asyncio
import logging

from vmail.mailstore.access_errors import NoSuchFolderError
from vmail.mailstore.folder import Folder
from vmail.protocol.imap import types as t
from vmail.protocol.imap.sequence import SequenceSet
from vmail.servers.imapd.commands import SELECTED, Bad, Done, No, close_selected, handler, in_thread
from vmail.servers.imapd.connection import ImapConnection, State
from vmail.servers.imapd.fetch import FetchError, FetchPlan, build
from vmail.servers.imapd.search import SearchError, esearch_response, evaluate, search_response
from vmail.servers.imapd.selected import SequenceRangeError, format_flags
from vmail.servers.imapd.selection import Selection
from vmail.servers.imapd.sets import compress_sorted
from vmail.servers.imapd.sort import SortCriteriaError, sort_uids
from vmail.servers.imapd.thread import ThreadAlgorithmError, format_threads, thread

log = logging.getLogger("vmail.imapd")

FETCH_BATCH = 1000
INVALID_SET = "Error in IMAP command: Invalid messageset"


def _selected(conn: ImapConnection) -> Selection:
    assert conn.selected is not None
    return conn.selected


def _uids(selection: Selection, seqset: SequenceSet, uid: bool) -> list[int]:
    try:
        return selection.view.seqset_to_uids(seqset, uid)
    except SequenceRangeError:
        raise Bad(INVALID_SET) from None


def _writable(selection: Selection) -> None:
    if selection.readonly:
        raise No("Mailbox is read-only.", "READ-ONLY")


# -- FETCH --------------------------------------------------------------------------------


@handler(t.Fetch, SELECTED)
async def fetch(conn: ImapConnection, cmd: t.Fetch) -> Done:
    selection = _selected(conn)
    if cmd.changedsince is not None:
        conn.enabled.add("CONDSTORE")
        selection.view.condstore = True
    if cmd.vanished and not (cmd.uid and "QRESYNC" in conn.enabled):
        raise Bad("VANISHED needs UID FETCH and QRESYNC")
    uids = _uids(selection, cmd.seqset, cmd.uid)
    folder, view = selection.folder, selection.view
    plan = FetchPlan.of(cmd, condstore="CONDSTORE" in conn.enabled, readonly=selection.readonly)
    if cmd.changedsince is not None:
        since = cmd.changedsince
        uids = [u for u in uids if (r := folder.by_uid(u)) is not None and r.modseq > since]
        if cmd.vanished:
            _vanished_earlier(conn, selection, cmd.seqset)
    seen_now: set[int] = set()  # as Dovecot, FLAGS only where \\Seen was just set
    if plan.sets_seen:
        unseen = [
            u for u in uids if (r := folder.by_uid(u)) is not None and "\\Seen" not in r.flags
        ]
        if unseen:
            result = await in_thread(folder.store, unseen, "add", ["\\Seen"])
            seen_now = {rec.uid for rec in result.changed}
            selection.suppress.update(seen_now)
    if plan.envelope_only and len(uids) > FETCH_BATCH:
        await in_thread(folder.read_envelopes_ahead, uids)
    chunks = [uids[start : start + FETCH_BATCH] for start in range(0, len(uids), FETCH_BATCH)]

    def built(chunk: list[int]) -> asyncio.Future[tuple[bytes, int, int]]:
        batch = [(view.seq_of(u) or 0, u) for u in chunk]
        return asyncio.ensure_future(
            in_thread(build, plan, folder, batch, view.is_recent, seen_now)
        )

    # Without message data (whose batches can be big), the next batch is built in its
    # thread while this one goes out: the client's reading and the server's building
    # then overlap, on two cores.
    ahead = not plan.needs_data
    skipped = 0
    upcoming = built(chunks[0]) if chunks else None
    try:
        for number in range(1, len(chunks) + 1):
            assert upcoming is not None
            try:
                data, sent, gone = await upcoming
            except FetchError as e:
                raise No(e.text, e.code) from None
            upcoming = None
            if ahead and number < len(chunks):
                upcoming = built(chunks[number])
            conn.counters.fetched += sent
            skipped += gone
            await conn.stream.send(data)
            if not ahead and number < len(chunks):
                upcoming = built(chunks[number])
    finally:
        if upcoming is not None:  # the client went, or a batch failed: drop the next
            upcoming.add_done_callback(_forget)
    if skipped:
        return Done("OK", "Some messages were already expunged.", "EXPUNGEISSUED")  # Dovecot
    return Done("OK", "Fetch completed")


def _forget(future: asyncio.Future[tuple[bytes, int, int]]) -> None:
    """Retrieve the outcome of a batch built for nothing (so asyncio does not log it)."""
    if not future.cancelled():
        future.exception()


def _vanished_earlier(conn: ImapConnection, selection: Selection, seqset: SequenceSet) -> None:
    """UIDs in the set that no longer exist (no tombstones: every such UID is reported)."""
    folder = selection.folder
    last = folder.uidnext - 1
    if last < 1:
        return
    present = set(selection.view.uids)
    gone = [u for u in seqset.resolve(last) if u not in present][:100_000]
    if gone:
        conn.stream.write(b"* VANISHED (EARLIER) " + compress_sorted(gone) + b"\r\n")


# -- STORE --------------------------------------------------------------------------------


@handler(t.Store, SELECTED)
async def store(conn: ImapConnection, cmd: t.Store) -> Done:
    selection = _selected(conn)
    _writable(selection)
    if cmd.unchangedsince is not None:
        conn.enabled.add("CONDSTORE")
        selection.view.condstore = True
    uids = _uids(selection, cmd.seqset, cmd.uid)
    folder, view = selection.folder, selection.view
    result = await asyncio.to_thread(
        folder.store, uids, cmd.mode, cmd.flags, unchangedsince=cmd.unchangedsince
    )
    selection.announce_keywords(conn)  # the STORE may have defined keywords
    changed = {rec.uid for rec in result.changed}
    selection.suppress.update(changed)
    condstore = "CONDSTORE" in conn.enabled
    failed = set(result.failed_modified)
    for uid in uids:
        # As Dovecot: FETCH only for messages whose flags changed (none for a no-op STORE);
        # with CONDSTORE a .SILENT store still reports the new MODSEQ (RFC 7162 3.1.3).
        if uid in failed or uid not in changed:
            continue
        if cmd.silent and not condstore:
            continue
        record = folder.by_uid(uid)
        seq = view.seq_of(uid)
        if record is None or seq is None:
            continue
        # Dovecot's order: UID, MODSEQ, FLAGS (none when silent, UNCHANGEDSINCE or not).
        parts: list[bytes] = []
        if cmd.uid or "QRESYNC" in conn.enabled:  # with QRESYNC every FETCH has UID (RFC 7162)
            parts.append(b"UID %d" % uid)
        if condstore:
            parts.append(b"MODSEQ (%d)" % record.modseq)
        if not cmd.silent:
            parts.append(b"FLAGS " + format_flags(record.flags, view.is_recent(uid), view.keywords))
        conn.stream.write(b"* %d FETCH (%b)\r\n" % (seq, b" ".join(parts)))
    if failed:
        numbers = sorted(failed) if cmd.uid else sorted(view.seq_of(u) or 0 for u in failed)
        return Done(
            "OK", "Conditional store failed", "MODIFIED " + compress_sorted(numbers).decode()
        )
    return Done("OK", "Store completed")


# -- COPY / MOVE --------------------------------------------------------------------------


async def _destination(conn: ImapConnection, name: str) -> Folder:
    assert conn.store is not None
    try:
        folder: Folder = await in_thread(conn.store.folder, name)
    except NoSuchFolderError:
        raise No(f"Mailbox doesn't exist: {name}", "TRYCREATE") from None
    return folder


async def _check_quota(conn: ImapConnection, folder: Folder, uids: list[int]) -> None:
    assert conn.store is not None
    usage = await in_thread(conn.store.quota)
    if not usage.storage_limit and not usage.messages_limit:
        return
    size = sum(r.size for u in uids if (r := folder.by_uid(u)) is not None)
    if (usage.storage_limit and usage.storage_used + size > usage.storage_limit) or (
        usage.messages_limit and usage.messages_used + len(uids) > usage.messages_limit
    ):
        raise No("Quota exceeded (mailbox for user is full)", "OVERQUOTA")


@handler(t.Copy, SELECTED)
async def copy(conn: ImapConnection, cmd: t.Copy) -> Done:
    selection = _selected(conn)
    uids = _uids(selection, cmd.seqset, cmd.uid)
    dest = await _destination(conn, cmd.mailbox)
    if not uids:
        return Done("OK", "No messages found.")
    await _check_quota(conn, selection.folder, uids)
    pairs: list[tuple[int, int]] = await in_thread(selection.folder.copy, uids, dest)
    if not pairs:
        return Done("OK", "No messages found.")
    return Done("OK", "Copy completed", _copyuid(dest, pairs))


def _copyuid(dest: Folder, pairs: list[tuple[int, int]]) -> str:
    pairs = sorted(pairs)
    source = ",".join(str(s) for s, _ in pairs)
    target = ",".join(str(d) for _, d in pairs)
    if len(pairs) > 1:
        source = compress_sorted([s for s, _ in pairs]).decode()
        targets = [d for _, d in pairs]
        if targets == sorted(targets):
            target = compress_sorted(targets).decode()
    return f"COPYUID {dest.uidvalidity} {source} {target}"


@handler(t.Move, SELECTED)
async def move(conn: ImapConnection, cmd: t.Move) -> Done:
    selection = _selected(conn)
    _writable(selection)
    uids = _uids(selection, cmd.seqset, cmd.uid)
    dest = await _destination(conn, cmd.mailbox)
    if not uids:
        return Done("OK", "No messages found.")
    folder = selection.folder
    pairs: list[tuple[int, int]] = await in_thread(folder.copy, uids, dest)
    if pairs:
        conn.stream.write(f"* OK [{_copyuid(dest, pairs)}] Moved UIDs.\r\n".encode())
    moved = [s for s, _ in pairs]
    await in_thread(_expunge_these, folder, moved)
    conn.counters.expunged += len(moved)
    return Done("OK", "Move completed")


def _expunge_these(folder: Folder, uids: list[int]) -> list[int]:
    """Expunge exactly ``uids`` whatever their flags (MOVE)."""
    folder.store(uids, "add", ["\\Deleted"])
    return folder.expunge(uids)


# -- EXPUNGE / CLOSE / UNSELECT / CHECK -----------------------------------------------


@handler(t.Expunge, SELECTED)
async def expunge(conn: ImapConnection, cmd: t.Expunge) -> Done:
    selection = _selected(conn)
    _writable(selection)
    uids = None
    if cmd.uids is not None:
        uids = _uids(selection, cmd.uids, True)
    gone: list[int] = await in_thread(selection.folder.expunge, uids)
    conn.counters.expunged += len(gone)
    if "CONDSTORE" in conn.enabled:  # as Dovecot: the modseq the expunges reached
        return Done("OK", "Expunge completed", f"HIGHESTMODSEQ {selection.folder.highestmodseq}")
    return Done("OK", "Expunge completed")


@handler(t.Close, SELECTED)
async def close(conn: ImapConnection, cmd: t.Close) -> Done:
    selection = _selected(conn)
    if not selection.readonly:
        gone = await in_thread(selection.folder.expunge, None)
        conn.counters.expunged += len(gone)
    close_selected(conn)
    return Done("OK", "Close completed.")


@handler(t.Unselect, SELECTED)
async def unselect(conn: ImapConnection, cmd: t.Unselect) -> Done:
    close_selected(conn)
    return Done("OK", "Unselect completed.")


@handler(t.Check, SELECTED)
async def check(conn: ImapConnection, cmd: t.Check) -> Done:
    return Done("OK", "Check completed")


# -- SEARCH / SORT / THREAD -------------------------------------------------------------


async def _matching(selection: Selection, key: t.SearchKey) -> list[int]:
    try:
        uids: list[int] = await in_thread(evaluate, key, selection.view, selection.folder)
    except (SearchError, SequenceRangeError) as e:
        raise Bad(str(e) or INVALID_SET) from None
    return uids


def _highest_modseq(selection: Selection, uids: list[int]) -> int:
    by_uid = selection.folder.by_uid
    return max((r.modseq for u in uids if (r := by_uid(u)) is not None), default=0)


def _uses_modseq(key: t.SearchKey) -> bool:
    if isinstance(key, t.SearchModseq):
        return True
    if isinstance(key, t.SearchNot):
        return _uses_modseq(key.key)
    if isinstance(key, t.SearchOr):
        return _uses_modseq(key.a) or _uses_modseq(key.b)
    if isinstance(key, t.SearchAnd):
        return any(_uses_modseq(k) for k in key.keys)
    return False


@handler(t.Search, SELECTED)
async def search(conn: ImapConnection, cmd: t.Search) -> Done:
    selection = _selected(conn)
    uids = await _matching(selection, cmd.key)
    view = selection.view
    modseq = _highest_modseq(selection, uids) if _uses_modseq(cmd.key) else None
    if modseq is not None:
        conn.enabled.add("CONDSTORE")
    numbers = uids if cmd.uid else [view.seq_of(u) or 0 for u in uids]
    if cmd.returns is not None:
        options = [o.upper() for o in cmd.returns]
        if "SAVE" in options:
            view.save_result(uids)
        if options == ["SAVE"]:
            return Done("OK", "Search completed")
        try:
            line = esearch_response(cmd.tag, cmd.uid, numbers, options, modseq if uids else None)
        except SearchError as e:
            raise Bad(str(e)) from None
        conn.stream.write(line)
    else:
        conn.stream.write(search_response(numbers, modseq if uids else None))
    return Done("OK", "Search completed")


@handler(t.Sort, SELECTED)
async def sort(conn: ImapConnection, cmd: t.Sort) -> Done:
    selection = _selected(conn)
    uids = await _matching(selection, cmd.key)
    try:
        ordered: list[int] = await in_thread(sort_uids, list(cmd.criteria), uids, selection.folder)
    except SortCriteriaError as e:
        raise Bad(str(e)) from None
    view = selection.view
    numbers = ordered if cmd.uid else [view.seq_of(u) or 0 for u in ordered]
    if cmd.returns is not None:
        opts = {o.upper() for o in cmd.returns} or {"ALL"}
        parts = [f'* ESEARCH (TAG "{cmd.tag}")'] + (["UID"] if cmd.uid else [])
        # RFC 5267 3.2: MIN and MAX are the first and last in the sort order; Dovecot's
        # order of the items is MIN MAX ALL COUNT.
        if numbers and "MIN" in opts:
            parts.append(f"MIN {numbers[0]}")
        if numbers and "MAX" in opts:
            parts.append(f"MAX {numbers[-1]}")
        if numbers and "ALL" in opts:
            parts.append("ALL " + ",".join(map(str, numbers)))
        if "COUNT" in opts:
            parts.append(f"COUNT {len(numbers)}")
        conn.stream.write((" ".join(parts) + "\r\n").encode())
    else:
        conn.stream.write(("* SORT" + "".join(f" {n}" for n in numbers) + "\r\n").encode())
    return Done("OK", "Sort completed")


@handler(t.Thread, SELECTED)
async def thread_(conn: ImapConnection, cmd: t.Thread) -> Done:
    selection = _selected(conn)
    uids = await _matching(selection, cmd.key)
    try:
        threads = await in_thread(thread, cmd.algorithm, uids, selection.folder)
    except ThreadAlgorithmError as e:
        raise Bad(str(e)) from None
    view = selection.view
    number = None if cmd.uid else (lambda u: view.seq_of(u) or 0)
    conn.stream.write(b"* THREAD " + format_threads(threads, number) + b"\r\n")
    return Done("OK", "Thread completed")


# -- IDLE ---------------------------------------------------------------------------------


@handler(t.Idle, frozenset({State.AUTHENTICATED, State.SELECTED}))
async def idle(conn: ImapConnection, cmd: t.Idle) -> Done:
    selection = conn.selected
    if selection is not None:
        # Watch before the client hears "+ idling" (it may deliver at once), and sync once
        # more: mail that arrived since the last command's sync is not a change to a watcher.
        selection.watch(conn.server.watcher)
        selection.changed.set()
    conn.stream.write(b"+ idling\r\n")
    await conn.stream.flush()
    line = await _idle_until_input(conn, selection)
    if line is None:
        if conn.state != State.LOGOUT:
            conn.stream.write(b"* BYE Disconnected for inactivity.\r\n")
            conn.state = State.LOGOUT
        return Done("")
    if line.strip().upper() != b"DONE":
        raise Bad("Expected DONE.")
    return Done("OK", "Idle completed.")


async def _idle_until_input(conn: ImapConnection, selection: Selection | None) -> bytes | None:
    """Report changes (and "Still here") until the client sends something; then its line
    (None: end of input, or nothing for ``imapd_timeout``). While nothing happens the
    session hibernates: no task, no read in progress, one future and one timer."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + conn.settings.timeout
    try:
        while not conn.reader.has_input():
            left = deadline - loop.time()
            if left <= 0:
                return None
            change = selection.changed.future() if selection is not None else None
            woken = await conn.stream.hibernate(
                change, min(conn.settings.idle_notify_interval, left)
            )
            if change is not None and not change.done():
                change.cancel()
            if woken:
                break
            if selection is not None and selection.changed.is_set():
                await selection.refresh(conn, allow_expunge=True)
            elif loop.time() < deadline:
                conn.stream.write(b"* OK Still here\r\n")
            await conn.stream.flush()
    finally:
        if selection is not None:
            selection.unwatch()
    return await conn.read_line(timeout=conn.settings.timeout)
