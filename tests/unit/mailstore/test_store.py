"""MailStore: listing, create/delete/rename, subscriptions, status, quota."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from vmail.mailstore.access_errors import (
    AlreadyExistsError,
    FolderOperationError,
    NoSuchFolderError,
)
from vmail.mailstore.errors import InvalidNameError
from vmail.mailstore.store import MailStore

MSG = b"Subject: hi\r\n\r\nbody\r\n"


def make(tmp_path: Path) -> MailStore:
    store = MailStore(tmp_path / "m", autocreate=("Sent", "Trash"), hostname="h")
    store.ensure()
    return store


def test_ensure_autocreates_and_subscribes(tmp_path: Path) -> None:
    store = make(tmp_path)
    names = {f.name: f for f in store.list_folders()}
    assert set(names) == {"INBOX", "Sent", "Trash"}
    assert names["Sent"].special_use == "\\Sent"
    assert store.subscriptions() == ["Sent", "Trash"]


def test_create_delete_with_children(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("A.B")
    info = {f.name: f.attributes for f in store.list_folders()}
    assert "\\Noselect" in info["A"]
    assert "\\HasChildren" in info["A"]
    store.create("A")
    with pytest.raises(AlreadyExistsError):
        store.create("A")
    store.delete("A")  # Dovecot's Maildir++: the children stay
    assert "\\Noselect" in {f.name: f.attributes for f in store.list_folders()}["A"]
    with pytest.raises(NoSuchFolderError):
        store.delete("A")
    with pytest.raises(FolderOperationError):
        store.delete("INBOX")
    with pytest.raises(NoSuchFolderError):
        store.folder("Nope")


def test_rename_moves_children_and_leaves_subscriptions_as_dovecot(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("A")
    store.create("A.B")
    store.subscribe("A.B")
    store.rename("A", "C")
    assert {f.name for f in store.list_folders()} == {"INBOX", "Sent", "Trash", "C", "C.B"}
    assert "A.B" in store.subscriptions()
    assert "C.B" not in store.subscriptions()


def test_rename_inbox_moves_messages(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.folder("INBOX").append(MSG)
    store.rename("INBOX", "Old")
    assert store.status("INBOX", ["MESSAGES"]) == {"MESSAGES": 0}
    assert store.status("Old", ["MESSAGES"]) == {"MESSAGES": 1}


def test_status_and_quota(tmp_path: Path) -> None:
    store = make(tmp_path)
    inbox = store.folder("INBOX")
    inbox.append(MSG, ["\\Seen"])
    inbox.append(MSG)
    st = store.status("INBOX", ["messages", "UNSEEN", "UIDNEXT", "SIZE"])
    assert st == {"MESSAGES": 2, "UNSEEN": 1, "UIDNEXT": 3, "SIZE": 2 * len(MSG)}
    usage = store.quota()
    assert (usage.storage_used, usage.messages_used) == (2 * len(MSG), 2)


def test_bad_names_rejected(tmp_path: Path) -> None:
    store = make(tmp_path)
    for bad in ("../x", "a/b", "a\x00b", ""):
        with pytest.raises(InvalidNameError):
            store.create(bad)


def test_a_deleted_or_renamed_folder_is_not_kept_loaded(tmp_path: Path) -> None:
    store = make(tmp_path)
    store.create("Work")
    first = store.folder("Work")
    first.append(b"Subject: x\r\n\r\nbody\r\n", [])
    assert store.folder("Work") is first
    store.delete("Work")
    store.create("Work")
    del first
    gc.collect()
    again = store.folder("Work")
    assert again.messages == []  # a new folder, not the old view kept for its name
    store.rename("Work", "Play")
    del again
    gc.collect()
    store.create("Work")
    assert store.folder("Work").messages == []
