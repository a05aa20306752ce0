"""Errors of the directory database, reported to a person as one line."""

from __future__ import annotations

from vmail.core.errors import VmailError


class DatabaseError(VmailError):
    """The directory database cannot be reached, or its schema cannot be used or upgraded.

    The message names the database (password hidden) and says what to do; nothing has
    been half-written when it is raised.
    """
