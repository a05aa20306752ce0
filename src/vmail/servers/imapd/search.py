"""SEARCH evaluation over a selected view, and the SEARCH / ESEARCH response lines.

Keys are evaluated on a shrinking list of candidates (positions in the view): an AND runs
its keys cheapest first, so flags, sizes, dates and sets (from the in-memory records)
prune before keys that need the cached summaries (SUBJECT, SENT*), the message headers
(FROM, TO, CC, BCC, HEADER) or the whole message (BODY, TEXT). A message whose EXPUNGE is
still pending, or that vanished from the store, matches nothing.

Dates: BEFORE/ON/SINCE compare the INTERNALDATE with the server's local day boundaries
(Dovecot does the same); SENT* compare the Date: header's instant against the same local
days, falling back to INTERNALDATE when Date: is missing or unparsable (as SORT DATE).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from vmail.core.errors import VmailError
from vmail.mailstore.message import header_values, matches, search_body, search_text
from vmail.mailstore.records import MessageRecord
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
from vmail.protocol.imap.wire import string
from vmail.servers.imapd.inputs import FolderLike, SummaryLike
from vmail.servers.imapd.selected import SelectedView
from vmail.servers.imapd.sets import compress_set, compress_sorted
from vmail.servers.imapd.sort import sent_or_internal

__all__ = ["compress_set", "esearch_response", "evaluate", "search_response"]

_SYSTEM_FLAGS = frozenset({"\\Answered", "\\Deleted", "\\Draft", "\\Flagged", "\\Seen"})
_HEADER_KEYS = {"from": "From", "to": "To", "cc": "Cc", "bcc": "Bcc"}
ESEARCH_OPTIONS = frozenset({"MIN", "MAX", "COUNT", "ALL", "SAVE"})


class SearchError(VmailError):
    """A search the server cannot evaluate or answer as asked: the command gets ``BAD``."""


@dataclass
class _Context:
    view: SelectedView
    folder: FolderLike
    records: list[MessageRecord | None]
    now: float
    summaries: dict[int, SummaryLike] | None = None
    subjects: dict[int, str] | None = None
    headers: dict[tuple[int, str], str] = field(default_factory=dict)

    def subject(self, uid: int) -> str | None:
        """The decoded Subject (from the index: no full summary needed)."""
        if self.subjects is None:
            uids = [r.uid for r in self.records if r is not None]
            self.subjects = self.folder.subjects(uids)
        return self.subjects.get(uid)

    def summary(self, uid: int) -> SummaryLike | None:
        if self.summaries is None:
            uids = [r.uid for r in self.records if r is not None]
            self.summaries = dict(self.folder.summaries(uids))
        return self.summaries.get(uid)

    def read(self, uid: int) -> bytes | None:
        try:
            return self.folder.read(uid)
        except (OSError, VmailError):  # expunged or renamed away meanwhile: no match
            return None

    def header(self, uid: int, name: str) -> str | None:
        """The decoded values of header ``name`` joined by newlines (None: no such header)."""
        key = (uid, name.lower())
        if key in self.headers:
            return self.headers[key] or None
        data = self.read(uid)
        values = header_values(data, name) if data is not None else []
        text = "\n".join(values)
        self.headers[key] = text if values else ""
        return text if values else None


def evaluate(
    key: SearchKey, view: SelectedView, folder: FolderLike, *, now: float | None = None
) -> list[int]:
    """UIDs (ascending) of the view's messages matching ``key``; blocking (reads files)."""
    uids = view.uids
    pending = view.pending_expunges
    by_uid = folder.by_uid
    records = [None if u in pending else by_uid(u) for u in uids]
    ctx = _Context(view, folder, records, time.time() if now is None else now)
    candidates = [i for i, r in enumerate(records) if r is not None]
    matched = _eval(key, candidates, ctx)
    return [uids[i] for i in matched]


def _cost(key: SearchKey) -> int:
    if isinstance(key, SearchAnd):
        return max((_cost(k) for k in key.keys), default=0)
    if isinstance(key, SearchOr):
        return max(_cost(key.a), _cost(key.b))
    if isinstance(key, SearchNot):
        return _cost(key.key)
    if isinstance(key, SearchText):
        if key.field == "subject":
            return 1
        return 3 if key.field in ("body", "text") else 2
    if isinstance(key, SearchHeader):
        return 1 if key.name.lower() == "subject" else 2
    if isinstance(key, SearchDate) and key.field == "sent":
        return 1
    return 0


def _eval(key: SearchKey, cand: list[int], ctx: _Context) -> list[int]:
    if not cand:
        return cand
    if isinstance(key, SearchAnd):
        for k in sorted(key.keys, key=_cost):
            cand = _eval(k, cand, ctx)
            if not cand:
                break
        return cand
    if isinstance(key, SearchOr):
        first = _eval(key.a, cand, ctx)
        if len(first) == len(cand):
            return cand
        taken = set(first)
        rest = _eval(key.b, [i for i in cand if i not in taken], ctx)
        return sorted(first + rest) if rest else first
    if isinstance(key, SearchNot):
        excluded = set(_eval(key.key, cand, ctx))
        return [i for i in cand if i not in excluded]
    if isinstance(key, SearchAll):
        return cand
    test = _record_test(key, ctx)
    if test is not None:
        recs = ctx.records
        return [i for i in cand if test(recs[i])]  # type: ignore[arg-type]
    itest = _message_test(key, ctx)
    return [i for i in cand if itest(i)]


def _record_test(key: SearchKey, ctx: _Context) -> Callable[[MessageRecord], bool] | None:
    """A test on the record alone, or None when the key needs more than the record."""
    if isinstance(key, SearchFlag):
        return _flag_test(key, ctx.view)
    if isinstance(key, SearchSize):
        n = key.size
        if key.op == "larger":
            return lambda r: r.size > n
        return lambda r: r.size < n
    if isinstance(key, SearchModseq):
        m = key.modseq
        return lambda r: r.modseq >= m
    if isinstance(key, SearchAge):
        limit = ctx.now - key.seconds
        if key.op == "older":
            return lambda r: r.internaldate <= limit
        return lambda r: r.internaldate > limit
    if isinstance(key, SearchDate) and key.field == "internal":
        within = _day_test(key)
        return lambda r: within(r.internaldate)
    if isinstance(key, SearchSet):
        view = ctx.view
        if not view.uids:
            return lambda r: False
        allowed = frozenset(view.seqset_to_uids(key.seqset, key.uid))
        return lambda r: r.uid in allowed
    return None


def _flag_test(key: SearchFlag, view: SelectedView) -> Callable[[MessageRecord], bool]:
    flag, want = key.flag, key.set
    if flag == "\\Recent":
        return lambda r: view.is_recent(r.uid) is want
    if flag in _SYSTEM_FLAGS:
        return lambda r: (flag in r.flags) is want
    lowered = flag.lower()  # keywords are case-insensitive

    def keyword(r: MessageRecord) -> bool:
        return (flag in r.flags or any(f.lower() == lowered for f in r.flags)) is want

    return keyword


def _local_midnight(day: datetime.date) -> float:
    return time.mktime((day.year, day.month, day.day, 0, 0, 0, 0, 0, -1))


def _day_test(key: SearchDate) -> Callable[[float], bool]:
    start = _local_midnight(key.date)
    end = _local_midnight(key.date + datetime.timedelta(days=1))
    if key.op == "before":
        return lambda t: t < start
    if key.op == "since":
        return lambda t: t >= start
    return lambda t: start <= t < end


def _message_test(key: SearchKey, ctx: _Context) -> Callable[[int], bool]:
    """A test by view position for keys that need the summary, headers or message."""
    uids, recs = ctx.view.uids, ctx.records
    if isinstance(key, SearchDate):
        within = _day_test(key)
        return lambda i: within(sent_or_internal(ctx.summary(uids[i]), recs[i]))
    if isinstance(key, SearchText):
        test = _text_test(key.field, key.value, ctx)
        return lambda i: test(uids[i])
    if isinstance(key, SearchHeader):
        test = _header_test(key.name, key.value, ctx)
        return lambda i: test(uids[i])
    raise SearchError(f"unsupported search key {type(key).__name__}")


def _text_test(name: str, value: str, ctx: _Context) -> Callable[[int], bool]:
    if name == "subject":
        return _header_test("Subject", value, ctx)
    if name in _HEADER_KEYS:
        return _header_test(_HEADER_KEYS[name], value, ctx)
    if name not in ("body", "text"):
        raise SearchError(f"unsupported search key {name[:40].upper()}")
    extract = search_body if name == "body" else search_text

    def whole(u: int) -> bool:
        data = ctx.read(u)
        return data is not None and matches(extract(data), value)

    return whole


def _header_test(name: str, value: str, ctx: _Context) -> Callable[[int], bool]:
    if name.lower() == "subject":

        def subject(u: int) -> bool:
            text = ctx.subject(u)
            return text is not None and matches(text, value)

        return subject

    def header(u: int) -> bool:
        text = ctx.header(u, name)
        return text is not None and (not value or matches(text, value))

    return header


# --- responses ------------------------------------------------------------------------


def search_response(numbers: Iterable[int], modseq: int | None = None) -> bytes:
    """``* SEARCH 2 5 9`` (with ``(MODSEQ n)`` for CONDSTORE when there are matches)."""
    items = [str(n).encode() for n in numbers]
    line = b"* SEARCH" + b"".join(b" " + i for i in items)
    if modseq is not None and items:
        line += b" (MODSEQ %d)" % modseq
    return line + b"\r\n"


def esearch_response(
    tag: str, uid: bool, matches: Iterable[int], options: Iterable[str], modseq: int | None = None
) -> bytes:
    """``* ESEARCH (TAG "a1") UID MIN 2 MAX 9 ALL 2,5:9 COUNT 3`` (RFC 4731, Dovecot's order).

    ``options`` are the RETURN options (no option means ALL); MIN, MAX and ALL are left
    out when nothing matched, COUNT is always given when asked for. SAVE only saves.
    """
    opts = {o.upper() for o in options}
    unknown = opts - ESEARCH_OPTIONS
    if unknown:
        raise SearchError(f"Unknown ESEARCH return option: {sorted(unknown)[0][:40]}")
    if not opts:
        opts = {"ALL"}
    values = sorted(set(matches))
    parts = [b"* ESEARCH (TAG " + string(tag) + b")"]
    if uid:
        parts.append(b"UID")
    if values and "MIN" in opts:
        parts.append(b"MIN %d" % values[0])
    if values and "MAX" in opts:
        parts.append(b"MAX %d" % values[-1])
    if values and "ALL" in opts:
        parts.append(b"ALL " + compress_sorted(values))
    if "COUNT" in opts:
        parts.append(b"COUNT %d" % len(values))
    if values and modseq is not None and opts - {"SAVE"}:
        parts.append(b"MODSEQ %d" % modseq)
    return b" ".join(parts) + b"\r\n"
