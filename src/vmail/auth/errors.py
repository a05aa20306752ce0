"""Errors of the authentication package."""

from __future__ import annotations

from vmail.core.errors import VmailError


class CorruptHashError(VmailError):
    """A stored password hash is malformed or asks for something vmail cannot compute.

    Verification treats it as "no match"; the authentication service logs it, so an
    administrator learns about the bad row instead of a user seeing a mere wrong password.
    """


class AccountLookupError(VmailError):
    """The account source could not answer (database down, timeout): a *temporary* failure.

    This is not "no such user": the service answers with a temporary failure and does not
    count it against the client.
    """
