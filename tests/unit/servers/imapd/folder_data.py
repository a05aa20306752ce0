"""A folder held in memory (records, summaries, raw bytes) for SEARCH/SORT/THREAD tests."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from vmail.mailstore.records import MessageRecord
from vmail.servers.imapd.inputs import SummaryLike


@dataclass(frozen=True)
class Summary:
    """The summary fields SEARCH, SORT and THREAD read."""

    subject: str = ""
    base_subject: str = ""
    sent_date: float | None = None
    from_sort: str = ""
    to_sort: str = ""
    cc_sort: str = ""
    display_from: str = ""
    display_to: str = ""
    message_id: str = ""
    in_reply_to: str = ""
    references: tuple[str, ...] = ()


@dataclass
class MemoryFolder:
    """Records, summaries and message bytes by UID."""

    records: dict[int, MessageRecord] = field(default_factory=dict)
    summary: dict[int, SummaryLike] = field(default_factory=dict)
    data: dict[int, bytes] = field(default_factory=dict)
    reads: int = 0

    def add(
        self,
        uid: int,
        *,
        flags: Iterable[str] = (),
        internaldate: float = 0.0,
        size: int = 100,
        modseq: int = 1,
        summary: SummaryLike | None = None,
        data: bytes = b"",
    ) -> None:
        self.records[uid] = MessageRecord(
            uid, f"b{uid}", f"b{uid}:2,", "cur", frozenset(flags), internaldate, size, modseq
        )
        self.summary[uid] = summary or Summary()
        self.data[uid] = data

    def by_uid(self, uid: int) -> MessageRecord | None:
        return self.records.get(uid)

    def summaries(self, uids: Sequence[int]) -> Iterator[tuple[int, SummaryLike]]:
        for u in uids:
            s = self.summary.get(u)
            if s is not None:
                yield u, s

    def subjects(self, uids: Sequence[int]) -> dict[int, str]:
        return {u: s.subject for u, s in self.summaries(uids)}

    def read(self, uid: int) -> bytes:
        self.reads += 1
        return self.data[uid]
