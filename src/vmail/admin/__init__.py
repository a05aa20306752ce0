"""The admin service: the only writer of directory data, enforcing PostfixAdmin's rules.

:class:`AdminService` (one transaction per operation, a ``log`` row for every change),
:class:`Actor` (who acts: the CLI, a superadmin, a domain admin), typed errors in
:mod:`vmail.admin.errors`, pure validation in :mod:`vmail.admin.rules`.
"""

from vmail.admin.actor import Actor
from vmail.admin.errors import (
    AdminError,
    AlreadyExistsError,
    AuthenticationError,
    DatabaseError,
    ForbiddenError,
    InvalidError,
    LimitExceededError,
    NotFoundError,
)
from vmail.admin.listing import ListQuery, Page
from vmail.admin.service import AdminService

__all__ = [
    "Actor",
    "AdminError",
    "AdminService",
    "AlreadyExistsError",
    "AuthenticationError",
    "DatabaseError",
    "ForbiddenError",
    "InvalidError",
    "LimitExceededError",
    "ListQuery",
    "NotFoundError",
    "Page",
]
