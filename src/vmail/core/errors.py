"""Typed errors shared by all layers.

Every error vmail reports to a person names where the problem is: a file and line for
configuration and table sources, a table name for lookups, a reply for protocol errors.
"""

from __future__ import annotations

from dataclasses import dataclass

from vmail.core.reply import Reply


class VmailError(Exception):
    """Base class of every error vmail raises on purpose."""


@dataclass(frozen=True)
class Location:
    """A place in a text file, for messages of the form ``file:line: text``."""

    filename: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.filename}:{self.line}" if self.line else self.filename


class ConfigError(VmailError):
    """A configuration file (or table source) cannot be used as written."""

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location else message)


class TableError(VmailError):
    """A lookup table could not answer: the lookup *failed*, which is not "not found".

    Callers turn this into a temporary failure (``451 4.3.0 Temporary lookup failure``,
    or a deferred delivery), exactly as Postfix does for a dictionary error.
    """

    def __init__(self, table: str, message: str) -> None:
        self.table = table
        # one line: database drivers' messages have line breaks, log lines must not
        self.message = " ".join(message.split())
        super().__init__(f"{table}: {self.message}")


class MailError(VmailError):
    """An error that carries the SMTP reply to give for it."""

    def __init__(self, reply: Reply) -> None:
        self.reply = reply
        super().__init__(str(reply))

    @property
    def temporary(self) -> bool:
        return self.reply.temporary


class TemporaryError(MailError):
    """Try again later (4xx)."""


class PermanentError(MailError):
    """Do not try again (5xx)."""
