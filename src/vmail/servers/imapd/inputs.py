"""What SEARCH, SORT and THREAD read from the mail store, as structural types.

The store's ``Folder`` and the message parser's ``MessageSummary`` satisfy these
protocols; naming only the attributes used here keeps this package's needs explicit.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

from vmail.mailstore.records import MessageRecord


class SummaryLike(Protocol):
    """The cached parse of one message that SORT, THREAD and header SEARCH use.

    Message-ids are bare (no angle brackets); "" when the header is missing.
    """

    @property
    def sent_date(self) -> float | None: ...
    @property
    def subject(self) -> str: ...
    @property
    def base_subject(self) -> str: ...
    @property
    def from_sort(self) -> str: ...
    @property
    def to_sort(self) -> str: ...
    @property
    def cc_sort(self) -> str: ...
    @property
    def display_from(self) -> str: ...
    @property
    def display_to(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def in_reply_to(self) -> str: ...
    @property
    def references(self) -> tuple[str, ...]: ...


class FolderLike(Protocol):
    """The selected folder: records by UID, cached summaries, raw message bytes."""

    def by_uid(self, uid: int) -> MessageRecord | None: ...
    def summaries(self, uids: Sequence[int]) -> Iterator[tuple[int, SummaryLike]]: ...
    def subjects(self, uids: Sequence[int]) -> dict[int, str]: ...
    def read(self, uid: int) -> bytes: ...
