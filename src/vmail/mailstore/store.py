"""One user's Maildir++ tree: folder listing, create/delete/rename, subscriptions, quota,
and STATUS without selecting.

The layout is Dovecot's Maildir++: INBOX is the root directory itself, every other folder
is a directory ``.<name>`` in it (hierarchy separator ``.``), so ``.A.B`` may exist without
``.A`` — ``A`` is then listed ``\\Noselect`` (``\\NonExistent`` for LIST-EXTENDED), and
deleting a folder that has children removes only its own directory (Dovecot 2.3 does the
same). Names are checked by :func:`.names.validate_name`, so no name maps outside the root.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from vmail.mailstore import quota
from vmail.mailstore.access_errors import (
    AlreadyExistsError,
    FolderOperationError,
    NoSuchFolderError,
)
from vmail.mailstore.folder import Folder, forget_folder, open_folder
from vmail.mailstore.names import folder_dir, folder_name, validate_name
from vmail.mailstore.subscriptions import read_subscriptions, write_subscriptions

INBOX = "INBOX"
SPECIAL_USE_FILE = "vmail-special-use"
DEFAULT_SPECIAL_USE: Mapping[str, str] = {
    "Drafts": "\\Drafts",
    "Sent": "\\Sent",
    "Trash": "\\Trash",
    "Junk": "\\Junk",
    "Archive": "\\Archive",
}
STATUS_ITEMS = frozenset(
    {"MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "HIGHESTMODSEQ", "SIZE"}
)


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """One LIST entry."""

    name: str
    attributes: frozenset[str]
    special_use: str | None


@dataclass(frozen=True, slots=True)
class QuotaUsage:
    """Storage (bytes) and message-count usage and limits (0 = unlimited)."""

    storage_used: int
    storage_limit: int
    messages_used: int
    messages_limit: int


class MailStore:
    """The folders of one mailbox under *root* (its Maildir)."""

    def __init__(
        self,
        root: Path,
        *,
        separator: str = ".",
        special_use: Mapping[str, str] | None = None,
        autocreate: Sequence[str] = (),
        hostname: str | None = None,
        quota_bytes: int = 0,
        quota_messages: int = 0,
    ) -> None:
        self.root = root
        self.separator = separator
        self.special_use = dict(DEFAULT_SPECIAL_USE if special_use is None else special_use)
        self.autocreate = tuple(autocreate)
        self.hostname = hostname or socket.gethostname()
        self.quota_bytes = quota_bytes
        self.quota_messages = quota_messages
        self._lock = threading.Lock()

    # -- paths -------------------------------------------------------------------------------

    def _name(self, name: str) -> str:
        name = validate_name(name, self.separator)
        return INBOX if name.upper() == INBOX else name

    def _dir(self, name: str) -> Path:
        return self.root if name == INBOX else folder_dir(self.root, name, self.separator)

    def ensure(self) -> None:
        """Create the Maildir if missing and the autocreate folders that are missing (at every
        login, as Dovecot's ``auto = subscribe``); the first time, write the subscriptions."""
        for sub in ("cur", "new", "tmp"):
            (self.root / sub).mkdir(mode=0o700, parents=True, exist_ok=True)
        for name in self.autocreate:
            if not self.exists(name):
                with contextlib.suppress(AlreadyExistsError):
                    self.create(name)
        subs = self.root / "subscriptions"
        if not subs.exists():
            write_subscriptions(subs, [self._name(n) for n in self.autocreate], self.separator)

    # -- listing -----------------------------------------------------------------------------

    def _existing(self) -> list[str]:
        names = []
        with os.scandir(self.root) as entries:
            for entry in entries:
                if entry.name.startswith(".") and entry.name not in (".", ".."):
                    name = folder_name(entry.name, self.separator)
                    if name is not None and entry.is_dir(follow_symlinks=False):
                        names.append(name)
        return names

    def _special_uses(self) -> dict[str, str]:
        uses = dict(self.special_use)
        with contextlib.suppress(FileNotFoundError):
            for line in (self.root / SPECIAL_USE_FILE).read_text("utf-8").splitlines():
                flag, _, name = line.partition("\t")
                if flag.startswith("\\") and name:
                    uses[name] = flag
        return uses

    def list_folders(self) -> list[FolderInfo]:
        """Every folder, plus the missing parents of existing ones (``\\Noselect``)."""
        existing = {INBOX, *self._existing()}
        sep = self.separator
        parents: set[str] = set()
        for name in existing:
            parts = name.split(sep)
            for i in range(1, len(parts)):
                parents.add(sep.join(parts[:i]))
        uses = self._special_uses()
        infos = []
        for name in sorted(existing | parents):
            attrs = {"\\HasChildren" if name in parents else "\\HasNoChildren"}
            if name not in existing:
                attrs |= {"\\Noselect", "\\NonExistent"}
            use = uses.get(name) if name in existing else None
            if use:
                attrs.add(use)
            infos.append(FolderInfo(name, frozenset(attrs), use))
        return infos

    # -- folders -----------------------------------------------------------------------------

    def exists(self, name: str) -> bool:
        name = self._name(name)
        return name == INBOX or (self._dir(name) / "cur").is_dir()

    def folder(self, name: str) -> Folder:
        name = self._name(name)
        path = self._dir(name)
        if name != INBOX and not (path / "cur").is_dir():
            raise NoSuchFolderError(f"mailbox doesn't exist: {name}")
        if name == INBOX:
            self.ensure()
        return open_folder(path, hostname=self.hostname)

    def create(self, name: str, special_use: str | None = None) -> None:
        name = self._name(name)
        path = self._dir(name)
        if name == INBOX or path.exists():
            raise AlreadyExistsError(f"mailbox already exists: {name}")
        tmp = self.root / f"..vmail-create.{uuid.uuid4().hex}"
        for sub in ("cur", "new", "tmp"):
            (tmp / sub).mkdir(mode=0o700, parents=True)
        (tmp / "maildirfolder").touch(mode=0o600)
        try:
            os.rename(tmp, path)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            if path.exists():
                raise AlreadyExistsError(f"mailbox already exists: {name}") from None
            raise
        if special_use:
            with self._lock, open(self.root / SPECIAL_USE_FILE, "a", encoding="utf-8") as f:
                f.write(f"{special_use}\t{name}\n")

    def delete(self, name: str) -> None:
        """Remove a folder and its messages; its children stay (Dovecot's Maildir++)."""
        name = self._name(name)
        if name == INBOX:
            raise FolderOperationError("INBOX can't be deleted")
        path = self._dir(name)
        trash = self.root / f"..vmail-deleted.{uuid.uuid4().hex}"
        forget_folder(path)
        try:
            os.rename(path, trash)
        except FileNotFoundError:
            raise NoSuchFolderError(f"mailbox doesn't exist: {name}") from None
        shutil.rmtree(trash, ignore_errors=True)

    def rename(self, old: str, new: str) -> None:
        """RENAME: children move too; renaming INBOX moves its messages (RFC 3501).

        Subscriptions stay as they are, as with Dovecot: clients that rename a folder
        subscribe to the new name themselves (RFC 3501 leaves the subscription list alone).
        """
        old, new = self._name(old), self._name(new)
        if new == INBOX or self._dir(new).exists():
            raise AlreadyExistsError(f"mailbox already exists: {new}")
        sep = self.separator
        if new.startswith(old + sep):
            raise FolderOperationError(f"can't rename {old} into itself")
        if old == INBOX:
            self._rename_inbox(new)
            return
        if not self._dir(old).exists():
            raise NoSuchFolderError(f"mailbox doesn't exist: {old}")
        children = [n for n in self._existing() if n.startswith(old + sep)]
        for moved in (old, *children):
            forget_folder(self._dir(moved))
        os.rename(self._dir(old), self._dir(new))
        for child in children:
            target = new + child[len(old) :]
            with contextlib.suppress(FileNotFoundError):
                os.rename(self._dir(child), self._dir(target))

    def _rename_inbox(self, new: str) -> None:
        self.create(new)
        target = self._dir(new)
        for sub in ("new", "cur"):
            with os.scandir(self.root / sub) as entries:
                for entry in entries:
                    with contextlib.suppress(FileNotFoundError):
                        os.rename(entry.path, target / sub / entry.name)

    # -- subscriptions -----------------------------------------------------------------------

    def subscriptions(self) -> list[str]:
        """The subscribed names; the autocreate folders always count as subscribed (as
        Dovecot's ``auto = subscribe``, whatever the file says)."""
        names = read_subscriptions(self.root / "subscriptions", self.separator)
        return list(dict.fromkeys([*names, *(self._name(n) for n in self.autocreate)]))

    def _write_subs(self, names: Iterable[str]) -> None:
        write_subscriptions(self.root / "subscriptions", list(dict.fromkeys(names)), self.separator)

    def subscribe(self, name: str) -> None:
        name = self._name(name)
        with self._lock:
            subs = self.subscriptions()
            if name not in subs:
                self._write_subs([*subs, name])

    def unsubscribe(self, name: str) -> None:
        name = self._name(name)
        with self._lock:
            subs = self.subscriptions()
            if name in subs:
                self._write_subs([s for s in subs if s != name])

    # -- quota and status --------------------------------------------------------------------

    def quota(self) -> QuotaUsage:
        """Usage from ``maildirsize`` (recalculated when missing, stale or over its limit)."""
        storage, count = self.quota_bytes or None, self.quota_messages or None
        size = quota.read_maildirsize(self.root / quota.MAILDIRSIZE)
        if size is None or quota.needs_recalc(size, storage, count):
            size = quota.recalculate(self.root, storage, count)
        return QuotaUsage(size.bytes, self.quota_bytes, size.count, self.quota_messages)

    def status(self, name: str, items: Iterable[str]) -> dict[str, int]:
        """STATUS items of a folder (new messages get UIDs but stay in ``new/``)."""
        wanted = [i.upper() for i in items]
        unknown = [i for i in wanted if i not in STATUS_ITEMS]
        if unknown:
            raise ValueError(f"unknown STATUS item {unknown[0]}")
        folder = self.folder(name)
        folder.sync(move_new=False)
        messages = folder.messages
        values = {
            "MESSAGES": lambda: len(messages),
            "RECENT": lambda: folder.recent_count,
            "UIDNEXT": lambda: folder.uidnext,
            "UIDVALIDITY": lambda: folder.uidvalidity,
            "UNSEEN": lambda: sum(1 for r in messages if "\\Seen" not in r.flags),
            "HIGHESTMODSEQ": lambda: folder.highestmodseq,
            "SIZE": lambda: sum(r.size for r in messages),
        }
        return {item: values[item]() for item in wanted}
