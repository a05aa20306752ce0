"""A mailbox user's own password change, shared by ``/account`` and the REST API.

The current password is checked by the admin service
(:meth:`~vmail.admin.AdminService.change_own_password`); a wrong one counts as a failed
login (:mod:`vmail.web.lockout`), so a stolen session cannot be used to guess it faster
than the login form allows. After a change the authentication service forgets the user's
cached credentials at once (its cache is keyed on the stored hash anyway, so the old
password is refused by IMAP, POP3 and SMTP AUTH from the next attempt on).
"""

from __future__ import annotations

from fastapi import HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from vmail.admin import AdminService
from vmail.admin.errors import AuthenticationError
from vmail.auth.service import AuthReason
from vmail.web.deps import web_context
from vmail.web.lockout import count_failure, count_success, lockout

WRONG_PASSWORD = "wrong current password"


async def change_password(
    request: Request, service: AdminService, user: str, old_password: str, new_password: str
) -> None:
    """Change ``user``'s password. HTTPException 429 while locked out;
    AuthenticationError (counted) for a wrong current password; InvalidError for a new
    password the rules refuse."""
    refused = lockout(request, user)
    if refused is not None:
        raise HTTPException(429, refused)
    try:
        await run_in_threadpool(service.change_own_password, user, old_password, new_password)
    except AuthenticationError:
        await count_failure(request, user, AuthReason.PASSWORD_MISMATCH, "password change")
        raise AuthenticationError(WRONG_PASSWORD) from None
    count_success(request, user)
    authenticator = web_context(request).authenticator
    if authenticator is not None and authenticator.cache is not None:
        authenticator.cache.invalidate(user)


__all__ = ["WRONG_PASSWORD", "change_password"]
