"""What the mail store knows about one message of a selected folder, and result records."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(slots=True)
class MessageRecord:
    """One message as the folder's current view sees it.

    ``filename`` is the current name in ``subdir`` (``new`` or ``cur``), including the
    ``:2,<letters>`` info; ``flags`` holds system flags (``\\Seen``…) and keyword names;
    ``internaldate`` is the file's mtime (as Dovecot); ``size`` the size with CRLF line ends.
    """

    uid: int
    base: str
    filename: str
    subdir: str
    flags: frozenset[str]
    internaldate: float
    size: int
    modseq: int


@dataclass(slots=True)
class SyncResult:
    """How a :meth:`Folder.sync` changed the view (UIDs in ascending order)."""

    new_uids: list[int] = field(default_factory=list)
    expunged_uids: list[int] = field(default_factory=list)
    changed_uids: list[int] = field(default_factory=list)
    recent_uids: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new_uids or self.expunged_uids or self.changed_uids)


@dataclass(slots=True)
class StoreResult:
    """Messages whose flags a STORE changed, and UIDs refused by UNCHANGEDSINCE."""

    changed: list[MessageRecord] = field(default_factory=list)
    failed_modified: list[int] = field(default_factory=list)
