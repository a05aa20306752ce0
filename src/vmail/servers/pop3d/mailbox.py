"""The INBOX a POP3 session works on: the snapshot at login, message streams, the QUIT update.

Every method blocks (file system, uidlist lock): call them in a worker thread. The message
list is fixed at login; mail delivered later is not in the session, and a message another
client expunged meanwhile answers ``-ERR Message N expunged.``.
"""

from __future__ import annotations

from typing import BinaryIO

from vmail.mailstore.folder import Folder
from vmail.mailstore.records import MessageRecord
from vmail.protocol.pop3.session import Maildrop
from vmail.protocol.pop3.uidl import UidlFormat

CHUNK = 1 << 16
SEEN = "\\Seen"
DELETED = "\\Deleted"


class MessageGoneError(Exception):
    """The message file is no longer there."""


class Pop3Mailbox:
    """A folder and the records of the login snapshot."""

    def __init__(self, folder: Folder, uidl_format: UidlFormat) -> None:
        self.folder = folder
        folder.sync()
        self.records: list[MessageRecord] = list(folder.messages)
        records = self.records
        uidls = uidl_format.render_all(
            [rec.uid for rec in records], folder.uidvalidity, [rec.base for rec in records]
        )
        self.maildrop = Maildrop(
            [rec.size for rec in records], uidls, [SEEN in rec.flags for rec in records]
        )

    def open(self, index: int) -> BinaryIO:
        """The message file, opened (cheap: call it on the event loop); FileNotFoundError
        if it moved or went away — then :meth:`find` it in a worker thread."""
        return open(self.folder.path_of(self.records[index]), "rb")

    def find(self, index: int) -> BinaryIO:
        """Blocking: look for a moved message file again; MessageGoneError if expunged."""
        self.folder.sync()
        current = self.folder.by_uid(self.records[index].uid)
        if current is None:
            raise MessageGoneError(index)
        try:
            return open(self.folder.path_of(current), "rb")
        except FileNotFoundError:
            raise MessageGoneError(index) from None

    def update(self, deleted: list[int], seen: list[int]) -> None:
        """QUIT: expunge ``deleted`` and mark ``seen`` (snapshot indexes)."""
        if deleted:
            uids = [self.records[i].uid for i in deleted]
            self.folder.store(uids, "add", [DELETED])
            self.folder.expunge(uids)
        if seen:
            self.folder.store([self.records[i].uid for i in seen], "add", [SEEN])
