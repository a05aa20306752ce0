"""One session's view of its selected folder: sequence numbers, pending updates, \\Recent.

RFC 3501 section 5.2 and 7.4.1, RFC 7162 (CONDSTORE/QRESYNC), RFC 5182 (SEARCHRES). The
view holds the session's own sorted list of UIDs; message sequence number ``n`` is
``uids[n - 1]``. The list changes only when the session may tell the client: new mail is
appended when ``* n EXISTS`` goes out; an expunge removes its UID only when ``* n EXPUNGE``
(or ``* VANISHED``) may be sent — during FETCH, STORE and SEARCH (non-UID forms) the
expunged message keeps its sequence number and is remembered as *pending*.

Expunges are reported highest sequence number first, so each line's number is still valid
in the client's view when it reads it (RFC 3501 7.4.1 allows either order; this one needs
no renumbering, and it is what Dovecot does).
"""

from __future__ import annotations

import functools
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Collection, Iterable, Sequence

from vmail.core.errors import VmailError
from vmail.mailstore.records import MessageRecord, SyncResult
from vmail.protocol.imap.sequence import STAR, SequenceSet
from vmail.servers.imapd.sets import compress_sorted

# System flags in the order they are written in FLAGS responses.
_SYSTEM_ORDER = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
_SYSTEM = frozenset(_SYSTEM_ORDER)
# Beyond this many expunges at once, rebuild the UID list instead of deleting one by one.
_REBUILD_THRESHOLD = 32

RecordLookup = Callable[[int], MessageRecord | None]
"""Current record of a UID, or None when the folder no longer has it (``Folder.by_uid``)."""

SeqRange = tuple[int, int]
"""A range of a parsed sequence set: ``STAR`` (0) is ``*``; bounds in any order."""


class SequenceRangeError(VmailError):
    """A message sequence number beyond the mailbox: the command gets ``BAD``."""


def format_flags(
    flags: Iterable[str], recent: bool = False, keywords: tuple[str, ...] = ()
) -> bytes:
    """``(\\Seen $label)``: system flags in a fixed order, ``\\Recent``, then keywords in
    the folder's definition order ``keywords`` (``dovecot-keywords``, as Dovecot), any
    keyword not in it after them, sorted."""
    if isinstance(flags, frozenset):
        return _format_frozen(flags, recent, keywords)  # records share few distinct flag sets
    return _format(flags, recent, keywords)


@functools.lru_cache(maxsize=1024)
def _format_frozen(flags: frozenset[str], recent: bool, keywords: tuple[str, ...]) -> bytes:
    return _format(flags, recent, keywords)


def _format(flags: Iterable[str], recent: bool, keywords: tuple[str, ...]) -> bytes:
    present = set(flags)
    items = [f for f in _SYSTEM_ORDER if f in present]
    if recent:
        items.append("\\Recent")
    rest = [f for f in present if f not in _SYSTEM and f != "\\Recent"]
    if rest:
        rank = {name: i for i, name in enumerate(keywords)}
        items.extend(sorted(rest, key=lambda f: (rank.get(f, len(rank)), f)))
    return ("(" + " ".join(items) + ")").encode("utf-8")


class SelectedView:
    """The client's idea of the selected folder, and the updates it still has to hear."""

    __slots__ = (
        "_pending",
        "_recent",
        "_reported_recent",
        "_saved",
        "_uids",
        "condstore",
        "keywords",
        "qresync",
    )

    def __init__(
        self,
        uids: Iterable[int],
        *,
        recent: Iterable[int] = (),
        condstore: bool = False,
        qresync: bool = False,
    ) -> None:
        self._uids: list[int] = sorted(set(uids))
        self._pending: set[int] = set()  # expunged in the store, not yet reported
        self._recent: set[int] = set(recent).intersection(self._uids)
        self._reported_recent = len(self._recent)
        self._saved: list[int] = []  # SEARCHRES "$", ascending UIDs
        self.condstore = condstore
        self.qresync = qresync
        # The folder's keywords in definition order, as last announced in ``* FLAGS``.
        self.keywords: tuple[str, ...] = ()

    # --- mapping -----------------------------------------------------------------

    @property
    def uids(self) -> Sequence[int]:
        """UIDs in sequence order (do not modify)."""
        return self._uids

    @property
    def exists(self) -> int:
        """The message count the client knows."""
        return len(self._uids)

    @property
    def recent_count(self) -> int:
        """How many messages of the view are \\Recent for this session."""
        return len(self._recent)

    @property
    def pending_expunges(self) -> frozenset[int]:
        """UIDs expunged in the store whose EXPUNGE the client has not heard yet."""
        return frozenset(self._pending)

    def uid_of(self, seq: int) -> int:
        """The UID of sequence number ``seq``; :class:`SequenceRangeError` when out of range."""
        if not 1 <= seq <= len(self._uids):
            raise SequenceRangeError(f"Invalid messageset: {seq} (mailbox has {len(self._uids)})")
        return self._uids[seq - 1]

    def seq_of(self, uid: int) -> int | None:
        """The sequence number of ``uid``, or None when it is not in the view."""
        i = bisect_left(self._uids, uid)
        if i < len(self._uids) and self._uids[i] == uid:
            return i + 1
        return None

    def is_recent(self, uid: int) -> bool:
        """True when ``uid`` is \\Recent in this session."""
        return uid in self._recent

    def is_expunged(self, uid: int) -> bool:
        """True when ``uid`` is gone from the store but still has its sequence number."""
        return uid in self._pending

    # --- sequence sets -------------------------------------------------------------

    def resolve_ranges(self, ranges: Iterable[SeqRange], uid: bool) -> list[int]:
        """UIDs (ascending, no duplicates) that ranges of sequence numbers or UIDs name.

        ``STAR`` is ``*``: the last sequence number, or the highest UID in the view. A UID
        range may reach beyond the last UID (not an error: it names what exists); a sequence
        number beyond the message count, or any sequence number in an empty mailbox, raises
        :class:`SequenceRangeError` (RFC 3501: the server answers BAD).
        """
        uids = self._uids
        count = len(uids)
        chunks: list[list[int]] = []
        for lo, hi in ranges:
            if uid:
                star = uids[-1] if uids else 0
                a = star if lo == STAR else lo
                b = star if hi == STAR else hi
                if a > b:
                    a, b = b, a
                chunks.append(uids[bisect_left(uids, a) : bisect_right(uids, b)])
                continue
            a = count if lo == STAR else lo
            b = count if hi == STAR else hi
            if a > b:
                a, b = b, a
            if a < 1 or b > count:
                raise SequenceRangeError(
                    f"Invalid messageset: {b if b > count else a} (mailbox has {count})"
                )
            chunks.append(uids[a - 1 : b])
        if not chunks:
            return []
        if len(chunks) == 1:
            return chunks[0]
        return sorted({u for chunk in chunks for u in chunk})

    def seqset_to_uids(self, seqset: SequenceSet, uid: bool) -> list[int]:
        """The UIDs a parsed sequence set names (``$`` is the saved SEARCH result)."""
        if seqset.saved:
            return self.saved_uids()
        return self.resolve_ranges(seqset.ranges, uid)

    # --- SEARCHRES ------------------------------------------------------------------

    def save_result(self, uids: Iterable[int]) -> None:
        """Remember a SEARCH result as ``$`` (RFC 5182)."""
        self._saved = sorted(set(uids))

    def saved_uids(self) -> list[int]:
        """The saved ``$`` result: UIDs still in the view, ascending."""
        return list(self._saved)

    # --- updates ----------------------------------------------------------------------

    def update(
        self,
        sync: SyncResult,
        records: RecordLookup,
        *,
        allow_expunge: bool,
        uid_command: bool = False,
        suppress_fetch: Collection[int] = (),
    ) -> list[bytes]:
        """Fold a store sync into the view; return the untagged responses to send now.

        ``allow_expunge`` is False during FETCH, STORE and SEARCH (RFC 3501 7.4.1): the
        expunges wait (still counted in EXISTS) until a later call allows them.
        ``uid_command`` adds ``UID`` to flag updates (always with QRESYNC); CONDSTORE adds
        ``MODSEQ``. ``suppress_fetch`` names UIDs whose flags this session has already
        reported itself (its own STORE).
        """
        out: list[bytes] = []
        for u in sync.expunged_uids:
            if self.seq_of(u) is not None:
                self._pending.add(u)
        if allow_expunge and self._pending:
            out.extend(self._report_expunges())

        expunged_now = set(sync.expunged_uids) if sync.expunged_uids else ()
        new = [u for u in sync.new_uids if u not in expunged_now and self.seq_of(u) is None]
        if new:
            new.sort()
            if self._uids and new[0] < self._uids[-1]:
                self._uids = sorted(self._uids + new)
            else:
                self._uids.extend(new)
        for u in sync.recent_uids:
            if u not in self._pending and self.seq_of(u) is not None:
                self._recent.add(u)
        if new:
            out.append(b"* %d EXISTS\r\n" % len(self._uids))
        if len(self._recent) != self._reported_recent:  # not with every EXISTS (Dovecot)
            out.append(b"* %d RECENT\r\n" % len(self._recent))
            self._reported_recent = len(self._recent)

        if sync.changed_uids:
            out.extend(self._flag_updates(sync.changed_uids, records, uid_command, suppress_fetch))
        return out

    def _report_expunges(self) -> list[bytes]:
        gone = sorted(self._pending)
        self._pending.clear()
        if self.qresync:
            lines = [b"* VANISHED %b\r\n" % compress_sorted(gone)]
        else:
            seqs = [self.seq_of(u) for u in gone]
            lines = [b"* %d EXPUNGE\r\n" % s for s in reversed(seqs) if s is not None]
        if len(gone) > _REBUILD_THRESHOLD:
            dead = set(gone)
            self._uids = [u for u in self._uids if u not in dead]
        else:
            for u in reversed(gone):
                del self._uids[bisect_left(self._uids, u)]
        self._recent.difference_update(gone)
        if self._saved:
            dead_saved = set(gone)
            self._saved = [u for u in self._saved if u not in dead_saved]
        return lines

    def _flag_updates(
        self,
        changed: Iterable[int],
        records: RecordLookup,
        uid_command: bool,
        suppress: Collection[int],
    ) -> list[bytes]:
        out: list[bytes] = []
        with_uid = uid_command or self.qresync
        with_modseq = self.condstore or self.qresync
        for u in changed:
            if u in self._pending or u in suppress:
                continue
            seq = self.seq_of(u)
            if seq is None:
                continue
            rec = records(u)
            if rec is None:
                continue
            items = [b"FLAGS " + format_flags(rec.flags, u in self._recent, self.keywords)]
            if with_uid:
                items.append(b"UID %d" % u)
            if with_modseq:
                items.append(b"MODSEQ (%d)" % rec.modseq)
            out.append(b"* %d FETCH (%b)\r\n" % (seq, b" ".join(items)))
        return out
