"""Exceptions of the mail store: one base class and the specific failures callers handle."""

from __future__ import annotations

from vmail.core.errors import VmailError


class MailstoreError(VmailError):
    """Base class of every error the mail store raises on purpose."""


class CorruptFileError(MailstoreError):
    """A store file (uidlist, keywords, maildirsize, ...) cannot be parsed; names path and line."""

    def __init__(self, path: object, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}" if line else f"{path}: {reason}")
        self.path = str(path)
        self.line = line
        self.reason = reason


class LockTimeoutError(MailstoreError):
    """A dotlock could not be acquired before the deadline."""


class InvalidNameError(MailstoreError):
    """A mailbox name cannot be stored (bad characters, components, encoding or length)."""
