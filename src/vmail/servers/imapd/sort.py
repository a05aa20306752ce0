"""SORT (RFC 5256, with DISPLAYFROM/DISPLAYTO from RFC 5957) over a set of UIDs.

Criteria are applied as successive stable sorts from the last to the first, each in its
own direction (REVERSE affects only the criterion after it); messages that compare equal
on every criterion stay in mailbox order (ascending UID is ascending sequence number).
Strings compare with ``i;ascii-casemap``: ASCII letters fold to upper case, nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from vmail.core.errors import VmailError
from vmail.mailstore.records import MessageRecord
from vmail.servers.imapd.inputs import FolderLike, SummaryLike

_RECORD_KEYS = frozenset({"ARRIVAL", "SIZE"})
_SUMMARY_KEYS = frozenset({"CC", "FROM", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"})
SORT_KEYS = _RECORD_KEYS | _SUMMARY_KEYS | {"DATE"}
_ASCII_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")

SortKey = tuple[str, bool]
"""One criterion: its name (``DATE``...) and whether it is reversed."""


class SortCriteriaError(VmailError):
    """The client's sort criteria are not valid: the command gets ``BAD``."""


def parse_criteria(words: Iterable[str]) -> list[SortKey]:
    """``["REVERSE", "DATE", "subject"]`` -> ``[("DATE", True), ("SUBJECT", False)]``."""
    out: list[SortKey] = []
    reverse = False
    for word in words:
        name = word.upper()
        if name == "REVERSE":
            if reverse:
                raise SortCriteriaError("REVERSE REVERSE is not a sort criterion")
            reverse = True
            continue
        if name not in SORT_KEYS:
            raise SortCriteriaError(f"Unknown sort criterion: {word[:40]!r}")
        out.append((name, reverse))
        reverse = False
    if reverse:
        raise SortCriteriaError("REVERSE must be followed by a sort criterion")
    if not out:
        raise SortCriteriaError("Empty sort criteria")
    return out


def casemap(text: str) -> str:
    """The ``i;ascii-casemap`` form of ``text`` (only a-z change)."""
    return text.upper() if text.isascii() else text.translate(_ASCII_UPPER)


def sent_or_internal(summary: SummaryLike | None, record: MessageRecord | None) -> float:
    """The sent date, or INTERNALDATE when Date: is missing or unparsable (RFC 5256 2.2)."""
    if summary is not None and summary.sent_date is not None:
        return summary.sent_date
    return record.internaldate if record is not None else 0.0


def _summary_field(name: str) -> Callable[[SummaryLike], str]:
    attr = {
        "CC": "cc_sort",
        "FROM": "from_sort",
        "SUBJECT": "base_subject",
        "TO": "to_sort",
        "DISPLAYFROM": "display_from",
        "DISPLAYTO": "display_to",
    }[name]

    def get(summary: SummaryLike) -> str:
        value: str = getattr(summary, attr)
        return value

    return get


def sort_uids(criteria: Sequence[SortKey], uids: Iterable[int], folder: FolderLike) -> list[int]:
    """The UIDs ordered by ``criteria`` (ties in mailbox order)."""
    order = sorted(set(uids))
    if not order:
        return []
    names = {name for name, _ in criteria}
    summaries: dict[int, SummaryLike] = {}
    if names & (_SUMMARY_KEYS | {"DATE"}):
        summaries = dict(folder.summaries(order))
    records: dict[int, MessageRecord | None] = {}
    if names & (_RECORD_KEYS | {"DATE"}):
        records = {u: folder.by_uid(u) for u in order}
    for name, reverse in reversed(criteria):
        values: dict[int, float] | dict[int, str]
        if name == "ARRIVAL":
            values = {u: r.internaldate if (r := records[u]) else 0.0 for u in order}
        elif name == "SIZE":
            values = {u: float(r.size) if (r := records[u]) else 0.0 for u in order}
        elif name == "DATE":
            values = {u: sent_or_internal(summaries.get(u), records[u]) for u in order}
        else:
            get = _summary_field(name)
            values = {u: casemap(get(s)) if (s := summaries.get(u)) else "" for u in order}
        order.sort(key=values.__getitem__, reverse=reverse)
    return order
