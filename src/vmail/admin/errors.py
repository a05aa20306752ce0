"""Typed errors of the admin service, one class per kind of refusal.

Each carries a one-line message meant for a person; the CLI maps each class to its own
exit status (see ``docs/cli.md``), the web UI to its own HTTP status.
"""

from __future__ import annotations

from vmail.core.errors import VmailError


class AdminError(VmailError):
    """Base class: the operation was refused or failed, and nothing was changed."""


class NotFoundError(AdminError):
    """The domain, mailbox, alias, alias domain or admin does not exist."""


class AlreadyExistsError(AdminError):
    """Something with that name exists already (or the name is taken by another kind)."""


class LimitExceededError(AdminError):
    """A domain limit (mailboxes, aliases, per-mailbox or total quota) would be exceeded."""


class InvalidError(AdminError):
    """The input is malformed or breaks a rule (bad address, alias loop, chain, …)."""


class ForbiddenError(AdminError):
    """The acting principal may not do this (outside its domains, not a superadmin)."""


class DatabaseError(AdminError):
    """The directory database could not be used (down, refused, no tables)."""


class AuthenticationError(AdminError):
    """Credentials (a password, an API token, a TOTP code) were wrong, unknown or expired."""
