"""One Maildir(++) folder: its message view, UIDs, flags, appends, copies and expunges.

The view (``messages``) changes only in :meth:`Folder.sync`, which lists ``new/`` and
``cur/``, gives UIDs to unknown files under the ``dovecot-uidlist.lock`` dotlock (as
Dovecot does, so both may write at the same time), moves ``new/`` files to ``cur/``,
and notices files that others removed or renamed (flag changes). Flags are stored the
Maildir way: system flags as letters after ``:2,`` and keywords as the letters ``a``-``z``
that ``dovecot-keywords`` maps to names. What is costly to recompute (CRLF sizes, modseqs,
message summaries) is cached in the folder's index (:mod:`.index`).

A ``Folder`` is shared by every session of the process that has the folder open
(:func:`open_folder`) and may be used from worker threads: one lock guards its state.
Sessions that keep their own message numbers register with :meth:`Folder.listen` and
receive every change (from any session's sync, store, append or expunge).

The first open of a big folder leaves two chores for two seconds after it, so that the
client gets its folder sooner (:meth:`Folder._catch_up`, on a timer): writing the
rows and envelopes it read into the index, and (with no index yet) moving ``new/`` to
``cur/``.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import dataclasses
import errno
import itertools
import marshal
import os
import socket
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from vmail.core.fileio import write_all
from vmail.core.gcpause import gc_paused
from vmail.core.gcpause import linger as gc_linger
from vmail.mailstore import quota
from vmail.mailstore.access_errors import MessageGoneError
from vmail.mailstore.errors import CorruptFileError, MailstoreError
from vmail.mailstore.filenames import (
    KEYWORD_LETTERS,
    letters_to_system,
    new_base,
    parse_name,
    vsize_of,
    with_flags,
)
from vmail.mailstore.index import FolderIndex, NewRows, Row, fresh_modseq
from vmail.mailstore.keywords import letter_for, read_keywords, write_keywords
from vmail.mailstore.locking import dotlock
from vmail.mailstore.message import (
    SUMMARY_VERSION,
    MessageSummary,
    crlf_size,
    summarize,
    summary_values,
)
from vmail.mailstore.records import MessageRecord, StoreResult, SyncResult
from vmail.mailstore.scan import Scanned, scan_chunks, scan_file, scan_files
from vmail.mailstore.uidlist import (
    UidEntry,
    UidList,
    append_uidlist,
    new_guid,
    new_uidvalidity,
    read_uidlist,
    write_uidlist,
)

UIDLIST = "dovecot-uidlist"
KEYWORDS = "dovecot-keywords"
SUBDIRS = ("new", "cur")
RECENT = "\\Recent"
StoreMode = Literal["set", "add", "remove"]
Listener = Callable[[SyncResult], None]

_SETTLE_SECONDS = 1.0  # a directory changed this recently may change again within its mtime
_SETTLE_FINE = 0.02  # the same for sub-second mtimes (from the kernel's coarse clock)
_WAIT_FROM = 5000  # messages from which listing the folder again costs more than that
_APPEND_FROM = 1000  # uidlist records from which new ones are appended, not all rewritten
_WRITE_BEHIND_FROM = 2000  # envelopes read in one sync (or new/ files to move in a first
# sync without index) from which that is left for a moment after the sync (_catch_up)
_WRITE_BEHIND_AFTER = 2.0  # seconds after the sync
_GC_LINGER = 2.0  # seconds the collector stays off after a sync that made many records
_WRITE_BEHIND_CHUNK = 20_000  # rows or envelopes indexed per hold of the folder lock


class Folder:
    """One Maildir folder directory (``cur/``, ``new/``, ``tmp/`` and Dovecot's files)."""

    def __init__(
        self, path: Path, *, hostname: str | None = None, quota_root: Path | None = None
    ) -> None:
        self.directory = path
        self.hostname = hostname or socket.gethostname()
        self.quota_file = (quota_root or _maildir_root(path)) / "maildirsize"
        self._lock = threading.RLock()
        self._uidlist_cached: tuple[tuple[int, int, int], UidList, dict[str, int] | None] | None = (
            None
        )
        self._index = FolderIndex(path)
        self._records: dict[int, MessageRecord] = {}  # UID order (inserted ascending)
        self._by_base: dict[str, MessageRecord] = {}
        self._sorted: list[MessageRecord] | None = None
        self._uidvalidity = 0
        self._next_uid = 1
        self._highest_modseq = 1
        self._first_recent = 1
        self._loaded = False
        self._stamp: tuple[int, ...] | None = None
        self._scanned_at = 0.0
        self._keywords: list[str | None] = []
        self._keywords_stamp: tuple[int, int] | None = None
        self._flag_cache: dict[str, frozenset[str]] = {}
        self._listeners: list[Listener] = []
        self._expunged_bases: set[str] = set()
        self._unindexed: dict[int, tuple[bytes, str]] = {}  # uid -> (envelope blob, subject)
        self._rows_behind: list[int] = []  # UIDs whose row the index lacks (_catch_up)
        self._move_later = False  # new/ files were left there by a first sync (_catch_up)
        self._write_behind: threading.Timer | None = None

    # -- properties ------------------------------------------------------------------------

    @property
    def uidvalidity(self) -> int:
        self._ensure_loaded()
        return self._uidvalidity

    @property
    def uidnext(self) -> int:
        self._ensure_loaded()
        return self._next_uid

    @property
    def recent_count(self) -> int:
        """Messages no session has claimed as ``\\Recent`` yet (STATUS RECENT)."""
        with self._lock:
            self._ensure_loaded()
            first = self._first_recent
            return sum(1 for uid in self._records if uid >= first)

    def claim_recent(self) -> list[int]:
        """The ``\\Recent`` messages, for the one session that gets them (Dovecot's rule:
        the first session to SELECT the folder read-write after they arrived)."""
        with self._lock:
            self._ensure_loaded()
            first = self._first_recent
            claimed = [uid for uid in self._records if uid >= first]
            if claimed:
                self._first_recent = max(first, claimed[-1] + 1)
                self._index.update(
                    self._uidvalidity, self._highest_modseq, self._first_recent, [], []
                )
            return claimed

    @property
    def highestmodseq(self) -> int:
        self._ensure_loaded()
        return self._highest_modseq

    @property
    def messages(self) -> list[MessageRecord]:
        """The current view in UID order (a list the caller must not modify)."""
        with self._lock:
            self._ensure_loaded()
            if self._sorted is None:
                self._sorted = sorted(self._records.values(), key=_uid_key)
            return self._sorted

    def by_uid(self, uid: int) -> MessageRecord | None:
        with self._lock:
            return self._records.get(uid)

    def by_uids(self, uids: Iterable[int]) -> list[MessageRecord | None]:
        """:meth:`by_uid` of each, under one lock."""
        with self._lock:
            get = self._records.get
            return [get(uid) for uid in uids]

    def keywords(self) -> list[str]:
        """Keyword names defined for this folder (for the FLAGS/PERMANENTFLAGS responses)."""
        with self._lock:
            return [k for k in self._keywords if k is not None]

    def listen(self, listener: Listener) -> Callable[[], None]:
        """Call *listener* with every change of the view; returns the function that stops it."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock, contextlib.suppress(ValueError):
                self._listeners.remove(listener)

        return remove

    # -- sync --------------------------------------------------------------------------------

    def _ensure_loaded(self) -> None:
        if not self._loaded:
            with self._lock:
                if not self._loaded:
                    self.sync()

    def _dir_stamp(self) -> tuple[int, ...]:
        stamp: list[int] = []
        for name in (*SUBDIRS, UIDLIST, KEYWORDS):
            try:
                st = os.stat(self.directory / name)
                stamp += (st.st_mtime_ns, st.st_size, st.st_ino)
            except FileNotFoundError:
                stamp += (0, 0, 0)
        return tuple(stamp)

    def sync(self, *, move_new: bool = True) -> SyncResult:
        """Bring the view up to date with the Maildir; what changed since the last sync."""
        with self._lock:
            stamp = self._dir_stamp()
            if self._loaded and stamp == self._stamp and self._settled(stamp):
                return SyncResult()
            return self._sync_now(move_new)

    def _sync_now(self, move_new: bool) -> SyncResult:
        """:meth:`sync` without looking first whether anything changed (under the lock)."""
        with gc_paused():  # a big folder's records would set off full collections
            result = self._sync(move_new)
            if len(result.new_uids) >= _WRITE_BEHIND_FROM:  # collect them once served
                gc_linger(_GC_LINGER)
        self._stamp = self._dir_stamp()
        self._catch_up_later()
        if result:
            self._notify(result)
        return result

    def _scan(self) -> dict[str, tuple[str, str]]:
        """base -> (subdir, filename) of every message file; ``new/`` is listed first so a
        file moved to ``cur/`` meanwhile is still seen."""
        found: dict[str, tuple[str, str]] = {}
        for sub in SUBDIRS:
            try:
                for name in os.listdir(self.directory / sub):
                    if name[0] != ".":
                        found[name.partition(":")[0]] = (sub, name)
            except FileNotFoundError:
                if sub == "cur" and not self.directory.is_dir():
                    raise MailstoreError(f"{self.directory}: folder directory is missing") from None
        return found

    def _read_keywords(self) -> None:
        kw = self.directory / KEYWORDS
        try:
            st = os.stat(kw)
            stamp = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = (0, 0)
        if stamp != self._keywords_stamp:
            self._keywords = read_keywords(kw) if stamp != (0, 0) else []
            self._keywords_stamp = stamp
            self._flag_cache.clear()

    def _flags(self, filename: str) -> frozenset[str]:
        colon = filename.find(":")
        info = filename[colon:] if colon >= 0 else ""
        flags = self._flag_cache.get(info)  # by the whole info: one slice per message
        if flags is None:
            letters = info[3:] if info.startswith(":2,") else ""
            names = set(letters_to_system(letters))
            for c in letters:
                i = KEYWORD_LETTERS.find(c)
                if 0 <= i < len(self._keywords) and self._keywords[i] is not None:
                    names.add(self._keywords[i])  # type: ignore[arg-type]
            flags = self._flag_cache[info] = frozenset(names)
        return flags

    def _uidlist_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = os.stat(self.directory / UIDLIST)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _remember(
        self,
        uidlist: UidList,
        uid_of: dict[str, int] | None = None,
        stamp: tuple[int, int, int] | None = None,
    ) -> None:
        """Keep the uidlist just read (``stamp``: the file's, taken before reading it) or
        written (under the lock), until the file changes (parsing 100,000 lines on every
        sync would dominate it). Callers must not mutate what they get."""
        if stamp is None:
            stamp = self._uidlist_stamp()
        self._uidlist_cached = None if stamp is None else (stamp, uidlist, uid_of)

    def _uid_map(self, uidlist: UidList) -> dict[str, int]:
        cached = self._uidlist_cached
        if cached is not None and cached[1] is uidlist:
            if cached[2] is None:
                self._uidlist_cached = (cached[0], uidlist, _uid_map(uidlist))
            return self._uidlist_cached[2]  # type: ignore[index, return-value]
        return _uid_map(uidlist)

    def _read_uidlist(self) -> UidList:
        cached = self._uidlist_cached
        stamp = self._uidlist_stamp()  # before reading: a change meanwhile shows next time
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            uidlist = read_uidlist(self.directory / UIDLIST)
        except CorruptFileError:
            uidlist = None  # as Dovecot: start again with a new UIDVALIDITY
        if uidlist is not None and stamp is not None:
            self._remember(uidlist, stamp=stamp)
        if uidlist is None:
            uidlist = UidList(new_uidvalidity(_maildir_root(self.directory)), 1, new_guid(), {})
        return uidlist

    def _settled(self, stamp: tuple[int, ...]) -> bool:
        """Whether ``cur/`` and ``new/`` were last changed long enough before the last
        listing that a later change cannot share their mtime (a change to the uidlist
        or keywords file shows in its size or inode)."""
        mtimes = stamp[0 : 3 * len(SUBDIRS) : 3]
        coarse = all(mtime % 1_000_000_000 == 0 for mtime in mtimes)
        settle = _SETTLE_SECONDS if coarse else _SETTLE_FINE
        return self._scanned_at - max(mtimes) / 1e9 > settle

    def _sync(self, move_new: bool) -> SyncResult:
        self._read_keywords()
        uidlist = self._read_uidlist()
        if move_new:
            first = not self._loaded and not self._index.path.exists()
            self._move_later = self._move_new(len(uidlist.entries), first)
        self._scanned_at = time.time()
        found = self._scan()
        if not (self.directory / UIDLIST).exists():
            uidlist = self._create_uidlist()
        result = SyncResult()
        if not self._loaded:  # now, to know which files are new to the view
            self._reset(uidlist.uidvalidity, result)
        ahead = self._read_ahead(found)
        uid_of = self._uid_map(uidlist)
        if any(base not in uid_of for base in found):
            uidlist, uid_of = self._assign(found)
        if uidlist.uidvalidity != self._uidvalidity:
            self._reset(uidlist.uidvalidity, result)
        self._next_uid = max(uidlist.next_uid, self._next_uid)
        changed_rows: list[Row] = []
        arrived: list[tuple[int, str, str, str]] = []
        for base, (sub, filename) in found.items():
            uid = uid_of.get(base)
            if uid is None:
                continue  # appeared after the locked rescan: the next sync assigns it
            rec = self._records.get(uid)
            if rec is None:
                arrived.append((uid, base, sub, filename))
                continue
            if rec.filename == filename and rec.subdir == sub:
                continue
            flags = self._flags(filename)
            if flags != rec.flags:
                self._highest_modseq += 1
                rec.flags, rec.modseq = flags, self._highest_modseq
                result.changed_uids.append(uid)
            rec.filename, rec.subdir = filename, sub
            changed_rows.append(_row(rec))
        gone = [rec for rec in self._records.values() if rec.base not in found]
        if gone:
            gone = self._confirm_gone(gone)
        for rec in gone:
            del self._records[rec.uid]
            self._by_base.pop(rec.base, None)
            result.expunged_uids.append(rec.uid)
        new_records, indexed = self._new_records(arrived, ahead)
        result.new_uids.extend(rec.uid for rec in new_records)
        if new_records:
            new_records.sort(key=_uid_key)
            for rec in new_records:
                self._records[rec.uid] = rec
                self._by_base[rec.base] = rec
            if not indexed:
                changed_rows.extend(map(_row, new_records))
            result.new_uids.sort()
            if self._records and next(reversed(self._records)) != new_records[-1].uid:
                self._records = dict(sorted(self._records.items()))
        result.expunged_uids.sort()
        result.changed_uids.sort()
        if result or changed_rows:
            self._sorted = None
            self._index.update(
                self._uidvalidity,
                self._highest_modseq,
                self._first_recent,
                changed_rows,
                result.expunged_uids,
                full=self._all_rows,
            )
        self._loaded = True
        return result

    def _reset(self, uidvalidity: int, result: SyncResult) -> None:
        """First load, or UIDVALIDITY changed: start from the index (if it matches)."""
        if self._loaded:  # UIDVALIDITY changed: every message of the old view is gone
            result.expunged_uids.extend(self._records)
        self._records.clear()
        self._by_base.clear()
        self._unindexed.clear()
        self._rows_behind.clear()
        self._sorted = None
        self._uidvalidity = uidvalidity
        state = self._index.load(uidvalidity)
        if state is None:
            self._highest_modseq = fresh_modseq()
            self._first_recent = 1
            self._index.rebuild(uidvalidity, self._highest_modseq, 1, [])
            return
        self._highest_modseq, self._first_recent = state.highest_modseq, state.first_recent_uid
        for uid, filename, sub, size, internaldate, flags, modseq in state.rows:
            rec = MessageRecord(
                uid,
                filename.partition(":")[0],
                filename,
                sub,
                frozenset(flags.split(" ")) - {""},
                internaldate,
                size,
                modseq,
            )
            self._records[uid] = rec
            self._by_base[rec.base] = rec

    def _create_uidlist(self) -> UidList:
        """Write the uidlist of a folder that has none, so its UIDVALIDITY is kept even
        while the folder is empty (as Dovecot does on the first SELECT)."""
        with dotlock(self.directory / (UIDLIST + ".lock")):
            uidlist = self._read_uidlist()
            if not (self.directory / UIDLIST).exists():
                write_uidlist(self.directory / UIDLIST, uidlist)
                self._remember(uidlist)
            return uidlist

    def _assign(self, found: dict[str, tuple[str, str]]) -> tuple[UidList, dict[str, int]]:
        """Give UIDs to the files the uidlist does not know, under the uidlist lock."""
        with dotlock(self.directory / (UIDLIST + ".lock")):
            uidlist = self._read_uidlist()
            uid_of = self._uid_map(uidlist)
            missing = sorted(base for base in found if base not in uid_of)
            if not missing:
                return uidlist, uid_of
            entries, uid_of = dict(uidlist.entries), dict(uid_of)
            stale = [
                uid
                for uid, entry in entries.items()
                if entry.base.partition(":")[0] not in found
                and (uid not in self._records or entry.base in self._expunged_bases)
            ]
            for uid in stale:
                del entries[uid]
            next_uid = uidlist.next_uid
            added = []
            for base in missing:
                entry = entries[next_uid] = UidEntry(base, {})
                added.append((next_uid, entry))
                uid_of[base] = next_uid
                next_uid += 1
            uidlist = dataclasses.replace(uidlist, next_uid=next_uid, entries=entries)
            self._write_uidlist(uidlist, [] if stale else added)
            self._remember(uidlist, uid_of)
            self._expunged_bases.clear()
            return uidlist, uid_of

    def _write_uidlist(self, uidlist: UidList, added: Sequence[tuple[int, UidEntry]]) -> None:
        """Store ``uidlist`` (under the uidlist lock), whose only change since it was
        read is ``added`` when that is not empty: in a big file, those records are then
        appended, as Dovecot does, instead of the whole file rewritten (a small one is
        rewritten, which keeps its header's next UID exact). A big rewrite is left for
        when records must go (expunged files) or the file cannot take an append."""
        path = self.directory / UIDLIST
        cached = self._uidlist_cached  # what was read is what is on disk (not corrupt)
        on_disk = cached is not None and cached[0] == self._uidlist_stamp()
        big = len(uidlist.entries) - len(added) >= _APPEND_FROM
        if not (added and big and on_disk and append_uidlist(path, added)):
            write_uidlist(path, uidlist)

    def _move_new(self, known: int, first: bool = False) -> bool:
        """Rename ``new/`` files into ``cur/`` with an empty ``:2,`` info (as Dovecot);
        whether they were left for later instead (see below).

        Done before the listing, so that these renames do not count as a change after
        it; then, in a big folder (``known`` UIDs and the new files), a clock tick is
        let pass, so that no change made after the listing can share their mtime. Else
        the next sync would list the whole folder again (in a small one, that costs less
        than the wait).

        In a ``first`` sync that must read every file (no index), many new files are
        left where they are for a moment (:meth:`_catch_up`): their renames (0.4 s of
        kernel time for 30,000) would else delay the scan, which cannot overlap them
        (the reads then contend with the renames for the same directories).
        """
        new_dir, cur_dir = str(self.directory / "new"), str(self.directory / "cur")
        try:
            names = [name for name in os.listdir(new_dir) if name[0] != "."]
        except FileNotFoundError:
            return False
        if first and len(names) >= _WRITE_BEHIND_FROM:
            return True
        for filename in names:
            with contextlib.suppress(FileNotFoundError):  # moved or removed meanwhile
                os.rename(f"{new_dir}/{filename}", f"{cur_dir}/{_in_cur(filename)}")
        if names and known + len(names) >= _WAIT_FROM:
            time.sleep(_SETTLE_FINE)
        return False

    def _read_ahead(self, found: dict[str, tuple[str, str]]) -> _ReadAhead:
        """Start reading the files new to the view whose name has no ``,W=`` size: the
        scan workers read on while the UIDs are assigned."""
        ahead = _ReadAhead()
        known = self._by_base
        # In name order, which is UID order (see _assign): the index's B-tree then takes
        # its rows at the end, three times cheaper than in directory order.
        ahead.files = sorted(
            base
            for base, (_, filename) in found.items()
            if base not in known and vsize_of(filename) is None
        )
        if ahead.files:
            where = f"{self.directory}/"
            paths = []
            for base in ahead.files:
                sub, filename = found[base]
                paths.append(f"{where}{sub}/{filename}")
            ahead.chunks = scan_chunks(paths, sizes=True)
        return ahead

    def _new_records(
        self, arrived: Sequence[tuple[int, str, str, str]], ahead: _ReadAhead
    ) -> tuple[list[MessageRecord], bool]:
        """Records for (uid, base, subdir, file name) of files new to the view, and
        whether the index took their rows. A name without ``,W=`` means one read of the
        file for its size, which gives the header too: their ENVELOPE and Subject are
        kept as well. They come from ``ahead`` (the reads started before the UIDs were
        assigned); the few it lacks are read here. The new records share one new modseq
        (as a Dovecot sync transaction).

        Many envelopes (a first open of a big folder) go into the index a moment after
        the sync (:meth:`_catch_up`), not during it, and so do the new records' rows:
        the client that is waiting for the folder then gets it sooner (writing 100,000
        rows took 0.2 s of the core the scan workers need), and its first FETCH
        ENVELOPE takes them from memory. Should the process die meanwhile, the next
        sync finds those messages missing from the index and reads them again."""
        records: list[MessageRecord] = []
        unsized: dict[str, tuple[int, str, str]] = {}  # base -> (uid, subdir, file name)
        if arrived:
            self._highest_modseq += 1
        for uid, base, sub, filename in arrived:
            vsize = vsize_of(filename)
            if vsize is None:
                unsized[base] = (uid, sub, filename)
                continue
            try:
                mtime = os.stat(f"{self.directory}/{sub}/{filename}").st_mtime
            except FileNotFoundError:
                continue
            records.append(self._record_of(uid, base, sub, filename, mtime, vsize))
        if ahead.chunks is not None and not unsized:
            for _ in ahead.chunks:  # the workers must be answered to the end
                pass
        if not unsized:
            return records, False
        write_behind = len(unsized) >= _WRITE_BEHIND_FROM
        kept = self._unindexed

        def scanned(
            files: list[str], chunks: Iterator[tuple[int, list[Scanned | None]]]
        ) -> Iterator[NewRows]:
            for offset, results in chunks:
                rows: list[Row] = []
                envelopes: list[tuple[int, bytes, str]] = []
                for base, got in zip(files[offset : offset + len(results)], results, strict=True):
                    if got is not None and (known := unsized.pop(base, None)) is not None:
                        uid, sub, filename = known
                        mtime, vsize, envelope, subject = got
                        rec = self._record_of(uid, base, sub, filename, mtime, vsize)
                        records.append(rec)
                        if write_behind:
                            kept[uid] = envelope, subject
                        else:
                            rows.append(_row(rec))
                            envelopes.append((uid, envelope, subject))
                yield rows, envelopes

        def chunks() -> Iterator[NewRows]:
            if not write_behind:  # those with a size in their name
                yield [_row(rec) for rec in records], []
            if ahead.chunks is not None:
                yield from scanned(ahead.files, ahead.chunks)
            if unsized:  # new to the view only after the read-ahead had started
                late = {base: (sub, name) for base, (_, sub, name) in unsized.items()}
                rest = self._read_ahead(late)
                if rest.chunks is not None:
                    yield from scanned(rest.files, rest.chunks)

        built = chunks()
        if write_behind:  # rows and envelopes go into the index a moment later
            for _ in built:
                pass
            self._rows_behind.extend(rec.uid for rec in records)
            return records, True
        # The index takes the rows as the chunks come in, while the workers read on.
        try:
            indexed = self._index.add_messages(
                built,
                SUMMARY_VERSION,
                (self._uidvalidity, self._highest_modseq, self._first_recent),
            )
        finally:
            for _ in built:  # the index gave up early: the records are still needed
                pass
        return records, indexed

    def _record_of(
        self, uid: int, base: str, sub: str, filename: str, mtime: float, vsize: int
    ) -> MessageRecord:
        return MessageRecord(
            uid, base, filename, sub, self._flags(filename), mtime, vsize, self._highest_modseq
        )

    def _all_rows(self) -> list[Row]:
        """Every record as an index row (to rewrite an index found corrupt)."""
        return [_row(r) for r in self._records.values()]

    def _confirm_gone(self, gone: list[MessageRecord]) -> list[MessageRecord]:
        """Records missing from a listing and still missing from a second one (a file
        renamed while the directory was being read may be missed once)."""
        again = self._scan()
        return [rec for rec in gone if rec.base not in again]

    def _notify(self, result: SyncResult) -> None:
        for listener in list(self._listeners):
            listener(result)

    # -- reading ----------------------------------------------------------------------------

    def _record(self, uid: int) -> MessageRecord:
        rec = self._records.get(uid)
        if rec is None:
            raise MessageGoneError(f"{self.directory}: no message with UID {uid}")
        return rec

    def _relocate(self, rec: MessageRecord) -> None:
        """Find a file renamed by someone else since the last sync (by its base)."""
        for sub in SUBDIRS:
            try:
                names = os.listdir(self.directory / sub)
            except FileNotFoundError:
                continue
            for name in names:
                if name.partition(":")[0] == rec.base:
                    rec.subdir, rec.filename = sub, name
                    return
        raise MessageGoneError(f"{self.directory}: message UID {rec.uid} was expunged")

    def path(self, uid: int) -> Path:
        with self._lock:
            rec = self._record(uid)
            return self.path_of(rec)

    def path_of(self, rec: MessageRecord) -> Path:
        return self.directory / rec.subdir / rec.filename

    def read(self, uid: int) -> bytes:
        """The message file's content (found again if another process renamed it)."""
        with self._lock:
            rec = self._record(uid)
            try:
                return self.path_of(rec).read_bytes()
            except FileNotFoundError:
                self._relocate(rec)
                try:
                    return self.path_of(rec).read_bytes()
                except FileNotFoundError:
                    raise MessageGoneError(
                        f"{self.directory}: message UID {uid} was expunged"
                    ) from None

    # -- summaries --------------------------------------------------------------------------

    def summaries(self, uids: Sequence[int]) -> Iterator[tuple[int, MessageSummary]]:
        """(uid, summary) for the UIDs still in the view, summarising the missing ones."""
        with self._lock:
            uids = [u for u in uids if u in self._records]
            blobs = self._index.summary_blobs(uids, SUMMARY_VERSION)
            missing = [u for u in uids if u not in blobs]
            if missing:
                built = build_summaries([(u, str(self._located(u))) for u in missing])
                self._index.put_summaries(built)
                blobs.update((uid, data) for uid, _, data, _ in built)
        for uid in uids:
            blob = blobs.get(uid)
            if blob is not None:
                yield uid, MessageSummary(*marshal.loads(blob))

    def envelopes(self, uids: Sequence[int]) -> dict[int, object]:
        """The ENVELOPEs of ``uids``; missing ones are built from the headers alone (about
        4x cheaper than a full summary) and cached, the full summary waits until needed."""
        with self._lock:
            blobs = self._header_data(uids, 0, "envelope")
        return {uid: marshal.loads(blob) for uid, blob in blobs.items()}

    def subjects(self, uids: Sequence[int]) -> dict[int, str]:
        """The decoded Subjects of ``uids`` (SEARCH SUBJECT), cached with the envelopes."""
        with self._lock:
            found: dict[int, str] = self._header_data(uids, 1, "subject")
        return found

    def read_envelopes_ahead(self, uids: Sequence[int]) -> None:
        """Read now, on every core, the envelopes of ``uids`` that are not cached: a FETCH
        of many messages asks for them a batch at a time, each too small for the scan
        workers (a folder whose file names carry their sizes, as Dovecot's do, was not
        read by its first sync). They are indexed a moment later, as a first sync's."""
        with self._lock:
            wanted = [u for u in uids if u in self._records and u not in self._unindexed]
            if len(wanted) < _WRITE_BEHIND_FROM:
                return
            cached = self._index.summarized(wanted, SUMMARY_VERSION)
            missing = [u for u in wanted if u not in cached]
            if len(missing) < _WRITE_BEHIND_FROM:
                return
            for uid, got in zip(missing, scan_files(self._paths(missing), False), strict=True):
                if got is not None:  # else (renamed meanwhile) left to the FETCH
                    self._unindexed[uid] = (got[2], got[3])
            self._catch_up_later()

    def _header_data(self, uids: Sequence[int], field: int, column: str) -> dict[int, Any]:
        """The envelope blobs (``field`` 0) or subjects (1) of the ``uids`` in the view:
        those not yet indexed, then the index's, then those built now."""
        uids = [u for u in uids if u in self._records]
        found: dict[int, Any] = {}
        if self._unindexed:
            unindexed = self._unindexed
            found = {u: unindexed[u][field] for u in uids if u in unindexed}
            uids = [u for u in uids if u not in found]
        found.update(self._index.summary_blobs(uids, SUMMARY_VERSION, column))
        self._add_headers(uids, found, field + 1)
        return found

    def _catch_up_later(self) -> None:
        """Have :meth:`_catch_up` run in a moment if a sync left work (under the lock)."""
        if (self._kept_back() or self._move_later) and self._write_behind is None:
            self._write_behind = threading.Timer(_WRITE_BEHIND_AFTER, self._catch_up)
            self._write_behind.daemon = True
            self._write_behind.start()

    def _catch_up(self) -> None:
        """What syncs left for a moment after them: index the rows and envelopes they
        kept back (see :meth:`_new_records`), a chunk per hold of the folder lock (commands on the
        folder wait less), then move the ``new/`` files a first sync left (a sync)."""
        while True:
            with self._lock:
                if self._index_some():
                    continue
                move, self._move_later = self._move_later, False
                if not move:
                    self._write_behind = None
                    return
                known = len(self._records)
            # The renames need not hold the lock (a session that finds a file gone looks
            # for it again); the sync that takes in the new names does.
            with contextlib.suppress(MailstoreError, OSError):  # (folder gone: never mind)
                self._move_new(known)
                with self._lock:
                    self._sync_now(move_new=True)  # (it may keep envelopes back: go on)

    def _kept_back(self) -> bool:
        """Whether syncs kept rows or envelopes back from the index (see _new_records)."""
        return bool(self._rows_behind or self._unindexed)

    def _index_unindexed(self) -> None:
        """Index every row and envelope kept back now (at close or exit)."""
        while True:
            with self._lock:
                if not self._index_some():
                    return

    def _index_some(self) -> bool:
        """Index a chunk of the rows, else of the envelopes, kept back (under the lock);
        False if none was. Rows are written as the records are now: a record's flags
        or name may have changed since (and have been written then); an expunged one
        is not written."""
        if self._rows_behind:
            uids = self._rows_behind[:_WRITE_BEHIND_CHUNK]
            del self._rows_behind[:_WRITE_BEHIND_CHUNK]
            rows = [_row(rec) for uid in uids if (rec := self._records.get(uid)) is not None]
            self._index.update(
                self._uidvalidity,
                self._highest_modseq,
                self._first_recent,
                rows,
                [],
                full=self._all_rows,
            )
            return True
        items = []
        taken = list(itertools.islice(self._unindexed, _WRITE_BEHIND_CHUNK))
        for uid in taken:
            envelope, subject = self._unindexed.pop(uid)
            if uid in self._records:  # not expunged meanwhile
                items.append((uid, envelope, subject))
        if items:
            self._index.put_envelopes(items, SUMMARY_VERSION)
        return bool(taken)

    def _add_headers(self, uids: Sequence[int], found: dict[int, Any], field: int) -> None:
        """Build, cache and add to ``found`` the header data (envelope blob: ``field`` 1,
        subject: 2) of the ``uids`` it lacks."""
        missing = [u for u in uids if u not in found]
        if not missing:
            return
        built = []
        for uid, got in zip(missing, scan_files(self._paths(missing), False), strict=True):
            if got is None:  # renamed meanwhile (flags changed elsewhere): look again
                got = scan_file(str(self._located(uid)), sizes=False)
            if got is not None:
                built.append((uid, got[2], got[3]))
        self._index.put_envelopes(built, SUMMARY_VERSION)
        found.update((item[0], item[field]) for item in built)

    def _paths(self, uids: Sequence[int]) -> list[str]:
        """The current paths of the files of ``uids`` (all in the view), as text."""
        where = str(self.directory)
        paths = []
        for uid in uids:
            rec = self._records[uid]
            paths.append(f"{where}/{rec.subdir}/{rec.filename}")
        return paths

    def _located(self, uid: int) -> Path:
        rec = self._record(uid)
        path = self.path_of(rec)
        if not path.exists():
            with contextlib.suppress(MessageGoneError):
                self._relocate(rec)
            path = self.path_of(rec)
        return path

    # -- flags ------------------------------------------------------------------------------

    def store(
        self,
        uids: Iterable[int],
        mode: StoreMode,
        flags: Iterable[str],
        *,
        unchangedsince: int | None = None,
    ) -> StoreResult:
        """Change flags by renaming files; unchanged messages keep their name and modseq."""
        flags = list(flags)  # read twice: the set, and the keywords' order
        wanted = frozenset(flags) - {RECENT}
        if mode not in ("set", "add", "remove"):
            raise ValueError(f"unknown STORE mode {mode!r}")
        result = StoreResult()
        with self._lock:
            self._ensure_loaded()
            self._read_keywords()
            self._define_keywords(
                f for f in dict.fromkeys(flags) if f in wanted and not f.startswith("\\")
            )
            letter_of = {k: KEYWORD_LETTERS[i] for i, k in enumerate(self._keywords) if k}
            for uid in uids:
                rec = self._records.get(uid)
                if rec is None:
                    continue
                if unchangedsince is not None and rec.modseq > unchangedsince:
                    result.failed_modified.append(uid)
                    continue
                if mode == "set":
                    new = wanted
                elif mode == "add":
                    new = rec.flags | wanted
                else:
                    new = rec.flags - wanted
                new = frozenset(f for f in new if f.startswith("\\") or f in letter_of)
                if new == rec.flags:
                    continue
                if self._rename_flags(rec, new, letter_of):
                    self._highest_modseq += 1
                    rec.modseq = self._highest_modseq
                    result.changed.append(rec)
            if result.changed:
                self._index.update(
                    self._uidvalidity,
                    self._highest_modseq,
                    self._first_recent,
                    [_row(r) for r in result.changed],
                    [],
                    full=self._all_rows,
                )
                self._notify(SyncResult(changed_uids=[r.uid for r in result.changed]))
        return result

    def _define_keywords(self, names: Iterable[str]) -> None:
        """Give letters to keywords that have none (under the uidlist lock, as Dovecot)."""
        names = [n for n in names if n not in self._keywords]
        if not names:
            return
        with dotlock(self.directory / (UIDLIST + ".lock")):
            self._keywords_stamp = None
            self._read_keywords()
            keywords, changed = self._keywords, False
            for name in names:
                letter, updated = letter_for(keywords, name)
                if letter is not None and updated != keywords:
                    keywords, changed = updated, True
            if changed:
                write_keywords(self.directory / KEYWORDS, keywords)
                self._keywords_stamp = None
                self._read_keywords()

    def _rename_flags(
        self, rec: MessageRecord, flags: frozenset[str], letter_of: dict[str, str]
    ) -> bool:
        system = [f for f in flags if f.startswith("\\")]
        letters = [letter_of[f] for f in flags if f in letter_of]
        for _attempt in range(3):
            target = with_flags(parse_name(rec.filename), system, letters)
            try:
                os.rename(self.path_of(rec), self.directory / "cur" / target)
            except FileNotFoundError:
                try:
                    self._relocate(rec)
                except MessageGoneError:
                    return False
                continue
            rec.filename, rec.subdir, rec.flags = target, "cur", flags
            self._flag_cache.setdefault(target[target.find(":") :], flags)  # has ":2,"
            return True
        return False

    # -- writing ----------------------------------------------------------------------------

    def append(
        self, data: bytes, flags: Iterable[str] = (), internaldate: float | None = None
    ) -> int:
        """Add one message; returns its UID (assigned at once, under the uidlist lock)."""
        return self.append_many([(data, flags, internaldate)])[0]

    def append_many(
        self, messages: Sequence[tuple[bytes, Iterable[str], float | None]]
    ) -> list[int]:
        """Add several messages, all or nothing (MULTIAPPEND); their UIDs in order."""
        with self._lock:
            self._ensure_loaded()
            names: list[tuple[str, str]] = []  # (base, name in cur/)
            try:
                total = 0
                for data, flags, internaldate in messages:
                    names.append(self._write_cur(data, frozenset(flags), internaldate))
                    total += len(data)
                uids = self._assign_bases([base for base, _ in names])
            except BaseException:
                for _, name in names:
                    with contextlib.suppress(OSError):
                        os.unlink(self.directory / "cur" / name)
                raise
            self._account(total, len(names))
            return uids

    def _write_cur(
        self, data: bytes, flags: frozenset[str], internaldate: float | None
    ) -> tuple[str, str]:
        self._read_keywords()
        self._define_keywords(f for f in flags if not f.startswith("\\") and f != RECENT)
        base = new_base(self.hostname, size=len(data), vsize=crlf_size(data))
        tmp = self.directory / "tmp" / base
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            when = time.time() if internaldate is None else internaldate
            os.utime(tmp, (when, when))
            name = self._flagged_name(base, flags)
            _publish(tmp, self.directory / "cur" / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return base, name

    def _flagged_name(self, base: str, flags: frozenset[str]) -> str:
        letter_of = {k: KEYWORD_LETTERS[i] for i, k in enumerate(self._keywords) if k}
        return with_flags(
            parse_name(base),
            [f for f in flags if f.startswith("\\")],
            [letter_of[f] for f in flags if f in letter_of],
        )

    def _assign_bases(self, bases: Sequence[str]) -> list[int]:
        """UIDs for files this process just put into the folder."""
        with dotlock(self.directory / (UIDLIST + ".lock")):
            uidlist = self._read_uidlist()
            entries = dict(uidlist.entries)
            uid_of = dict(self._uid_map(uidlist))  # a copy: the cached map is shared
            uids = []
            added = []
            next_uid = uidlist.next_uid
            for base in bases:
                uid = uid_of.get(base)
                if uid is None:
                    uid, next_uid = next_uid, next_uid + 1
                    entry = entries[uid] = UidEntry(base, {})
                    added.append((uid, entry))
                    uid_of[base] = uid
                uids.append(uid)
            uidlist = dataclasses.replace(uidlist, next_uid=next_uid, entries=entries)
            self._write_uidlist(uidlist, added)
            self._remember(uidlist, uid_of)  # the next APPEND needs no map rebuilt
        return uids

    def copy(self, uids: Iterable[int], dest: Folder) -> list[tuple[int, int]]:
        """Copy messages (hard links when possible) keeping flags and internal dates."""
        with self._lock:
            sources = [
                (uid, self._located(uid), self._records[uid])
                for uid in uids
                if uid in self._records
            ]
        done: list[tuple[int, str, str]] = []  # (source uid, dest base, dest name)
        total = 0
        with dest._lock:
            dest._ensure_loaded()
            try:
                for uid, path, rec in sources:
                    try:
                        size = os.stat(path).st_size
                    except FileNotFoundError:
                        continue  # expunged meanwhile: not copied (RFC 4315 allows it)
                    dest._read_keywords()
                    dest._define_keywords(f for f in rec.flags if not f.startswith("\\"))
                    base = new_base(dest.hostname, size=size, vsize=rec.size)
                    name = dest._flagged_name(base, rec.flags)
                    target = dest.directory / "cur" / name
                    if not _link_or_copy(
                        path, target, dest.directory / "tmp" / base, rec.internaldate
                    ):
                        continue
                    done.append((uid, base, name))
                    total += size
                new_uids = dest._assign_bases([base for _, base, _ in done])
            except BaseException:
                for _, _, name in done:
                    with contextlib.suppress(OSError):
                        os.unlink(dest.directory / "cur" / name)
                raise
            dest._account(total, len(done))
        return [(src, new) for (src, _, _), new in zip(done, new_uids, strict=True)]

    def expunge(self, uids: Iterable[int] | None = None) -> list[int]:
        """Delete the ``\\Deleted`` messages (all, or those of *uids*); the expunged UIDs.

        ``dovecot-uidlist`` keeps their lines until its next rewrite, as Dovecot does."""
        with self._lock:
            self._ensure_loaded()
            wanted = None if uids is None else set(uids)
            expunged: list[int] = []
            freed = 0
            for rec in list(self._records.values()):
                if "\\Deleted" not in rec.flags or (wanted is not None and rec.uid not in wanted):
                    continue
                freed += _unlink_message(self, rec)
                del self._records[rec.uid]
                self._by_base.pop(rec.base, None)
                self._expunged_bases.add(rec.base)
                expunged.append(rec.uid)
            if expunged:
                self._sorted = None
                self._index.update(
                    self._uidvalidity,
                    self._highest_modseq,
                    self._first_recent,
                    [],
                    expunged,
                    full=self._all_rows,
                )
                self._account(-freed, -len(expunged))
                self._notify(SyncResult(expunged_uids=expunged))
            return expunged

    def _account(self, size: int, count: int) -> None:
        """Keep ``maildirsize`` current when the user has one (Maildir++ quota)."""
        if count and self.quota_file.exists():
            quota.append_usage(self.quota_file, size, count)

    def close(self) -> None:
        with self._lock:
            if self._write_behind is not None:
                self._write_behind.cancel()
                self._write_behind = None
        if self._kept_back():
            self._index_unindexed()
        with self._lock:
            self._index.close()


def _unlink_message(folder: Folder, rec: MessageRecord) -> int:
    """Remove a message file (found again if renamed); its size on disk, 0 if already gone."""
    for _attempt in range(3):
        path = folder.path_of(rec)
        try:
            size = os.stat(path).st_size
            os.unlink(path)
            return size
        except FileNotFoundError:
            try:
                folder._relocate(rec)
            except MessageGoneError:
                return 0
    return 0


def _publish(tmp: Path, target: Path) -> None:
    """Move a finished tmp file to its final name: link + unlink (never overwrites)."""
    try:
        os.link(tmp, target)
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV):
            raise
        os.rename(tmp, target)
        return
    os.unlink(tmp)


def _link_or_copy(source: Path, target: Path, tmp: Path, internaldate: float) -> bool:
    """Hard-link *source* as *target*, or copy it through *tmp*; False if the source vanished."""
    try:
        os.link(source, target)
        return True
    except FileNotFoundError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.ENOSYS, errno.EXDEV, errno.EMLINK):
            raise
    try:
        data = source.read_bytes()
    except FileNotFoundError:
        return False
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    try:
        write_all(fd, data)  # one os.write could stop short on a full disk, unnoticed
        os.fsync(fd)
    finally:
        os.close(fd)
    os.utime(tmp, (internaldate, internaldate))
    _publish(tmp, target)
    return True


def build_summaries(items: Sequence[tuple[int, str]]) -> list[tuple[int, bytes, bytes, str]]:
    """(uid, envelope blob, summary blob, subject) for (uid, file path) pairs; files that
    vanished are skipped. A plain function of picklable values, so callers may spread it over
    processes (``ProcessPoolExecutor.map`` on chunks)."""
    built = []
    for uid, path in items:
        try:
            with open(path, "rb") as f:
                summary = summarize(f.read())
        except FileNotFoundError:
            continue
        envelope, values = marshal.dumps(summary.envelope), marshal.dumps(summary_values(summary))
        built.append((uid, envelope, values, summary.subject))
    return built


def _uid_map(uidlist: UidList) -> dict[str, int]:
    """base -> UID (Dovecot may record a whole file name; only the base counts)."""
    return {entry.base.partition(":")[0]: uid for uid, entry in uidlist.entries.items()}


def _row(rec: MessageRecord) -> Row:
    return (
        rec.uid,
        rec.filename,
        rec.subdir,
        rec.size,
        rec.internaldate,
        " ".join(rec.flags),
        rec.modseq,
    )


@dataclasses.dataclass(slots=True)
class _ReadAhead:
    """Files read by the scan workers while a sync goes on: the base name per path, and
    the scan's chunks (``None``: nothing to read)."""

    files: list[str] = dataclasses.field(default_factory=list)
    chunks: Iterator[tuple[int, list[Scanned | None]]] | None = None


def _in_cur(filename: str) -> str:
    """The name a ``new/`` file gets in ``cur/``: an empty ``:2,`` info added if none."""
    return filename if ":" in filename else filename + ":2,"


def _uid_key(rec: MessageRecord) -> int:
    return rec.uid


def _maildir_root(path: Path) -> Path:
    """The Maildir++ root of a folder directory (``.Name`` folders live inside it)."""
    return path.parent if path.name.startswith(".") else path


_open: weakref.WeakValueDictionary[str, Folder] = weakref.WeakValueDictionary()
_open_lock = threading.Lock()
_kept: collections.OrderedDict[str, Folder] = collections.OrderedDict()
KEEP_FOLDERS = 8  # the last folders opened stay loaded after their last user let go...
KEEP_MESSAGES = 200_000  # ...up to this many messages (about 40 MB of records) in all


def open_folder(path: Path, *, hostname: str | None = None) -> Folder:
    """The process's one ``Folder`` for *path* (shared while anybody holds it).

    The last few opened stay loaded a while after: an APPEND to a folder that is not
    selected (a client saving to Sent, an import) would else load the whole folder
    again for every message.
    """
    key = os.path.abspath(path)
    with _open_lock:
        folder = _open.get(key)
        if folder is None:
            folder = Folder(Path(key), hostname=hostname)
            _open[key] = folder
        _kept[key] = folder
        _kept.move_to_end(key)
        kept_messages = sum(len(f._records) for f in _kept.values())
        while len(_kept) > 1 and (len(_kept) > KEEP_FOLDERS or kept_messages > KEEP_MESSAGES):
            _, dropped = _kept.popitem(last=False)
            kept_messages -= len(dropped._records)
        return folder


@atexit.register
def _index_kept_back() -> None:
    """At exit, index the rows and envelopes kept back by syncs (their timers would not
    run)."""
    with _open_lock:
        folders = list(_open.values())
    for folder in folders:
        if folder._kept_back():
            folder._index_unindexed()


def forget_folder(path: Path) -> None:
    """Stop keeping the folder at *path* loaded (it was deleted or renamed)."""
    with _open_lock:
        _kept.pop(os.path.abspath(path), None)
