"""Errors of folder and message access (the store's user-visible failures)."""

from __future__ import annotations

from vmail.mailstore.errors import MailstoreError


class MessageGoneError(MailstoreError):
    """The message's file was removed (expunged by another process) since the last sync."""


class NoSuchFolderError(MailstoreError):
    """The named folder does not exist (or cannot be selected)."""


class AlreadyExistsError(MailstoreError):
    """CREATE or RENAME to a folder name that already exists."""


class FolderOperationError(MailstoreError):
    """An operation the folder tree does not allow (delete INBOX, rename onto a child…)."""
