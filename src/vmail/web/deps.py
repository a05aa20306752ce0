"""FastAPI dependencies: the context, the logged-in principal, and the CSRF check.

A page or endpoint for admins takes the acting admin as a parameter::

    @router.get("/domains")
    def domains(request: Request, actor: CurrentAdmin) -> Response:
        rows = web_context(request).admin.list_domains(actor)   # the service checks scope

and one for mailbox users takes ``user: CurrentUser`` (the mail address). Without a
session, pages redirect to ``/login?next=...`` and ``/api/`` paths answer 401 JSON; a
mailbox user on an admin page gets 403. :func:`current_admin` asks the admin service on
every request (:meth:`~vmail.admin.AdminService.actor_for`), so an admin who is
deactivated or deleted, or whose domains change, is affected at once. Sync handlers run
in FastAPI's thread pool: call the (blocking) admin service from ``def`` handlers.

:func:`check_csrf` runs for every route (an app-wide dependency): a POST/PUT/PATCH/DELETE
that comes with a session cookie must carry that session's token in the form field
``csrf_token`` or the header ``X-CSRF-Token``, else 403.

Under ``/api/`` a request may instead carry ``Authorization: Bearer vmail_...`` (an API
token, :meth:`~vmail.admin.AdminService.actor_for_token`): it is then authenticated by the
token alone (a cookie it may carry is ignored) and needs no CSRF token, since a browser
never adds that header on its own. A bad token is
:class:`~vmail.admin.errors.AuthenticationError`: 401 with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, HTTPException
from starlette.requests import Request

from vmail.admin import Actor, AdminService
from vmail.admin.errors import AuthenticationError, ForbiddenError
from vmail.web.context import WebContext
from vmail.web.errors import LoginRequired, bearer_token
from vmail.web.sessions import Principal, WebSession, session_of, set_session

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def web_context(request: Request) -> WebContext:
    context: WebContext = request.app.state.context
    return context


def admin_service(request: Request) -> AdminService:
    """The admin service; 503 when no directory database is configured."""
    admin = web_context(request).admin
    if admin is None:
        raise HTTPException(503, "no directory database is configured")
    return admin


def token_actor(request: Request) -> Actor | None:
    """The API token's principal (checked once per request); None without a token."""
    secret = bearer_token(request)
    if secret is None:
        return None
    cached: Actor | None = getattr(request.state, "token_actor", None)
    if cached is None:
        if not secret:
            raise AuthenticationError("give an API token: 'Authorization: Bearer vmail_...'")
        cached = admin_service(request).actor_for_token(secret)
        request.state.token_actor = cached
    return cached


def current_principal(request: Request) -> Principal:
    """Whoever is logged in (admin or mailbox user); :class:`LoginRequired` if nobody."""
    actor = token_actor(request)
    if actor is not None:
        return Principal("admin", actor.username)
    session = session_of(request)
    if session is None or session.principal is None:
        raise LoginRequired()
    return session.principal


def current_admin(request: Request) -> Actor:
    """The logged-in admin (or API token) as the admin service's :class:`Actor`, checked
    afresh on every request."""
    actor = token_actor(request)
    if actor is None:
        principal = current_principal(request)
        if principal.kind != "admin":
            raise HTTPException(403, "this page is for administrators")
        try:
            actor = admin_service(request).actor_for(principal.username)
        except ForbiddenError:
            set_session(request, None)  # deactivated or deleted: the session ends here
            raise LoginRequired() from None
    request.state.actor = actor  # the menu: superadmin-only entries hidden from others
    return actor


def current_user(request: Request) -> str:
    """The logged-in mailbox user's address; 403 for an admin session."""
    principal = current_principal(request)
    if principal.kind != "user":
        raise HTTPException(403, "this page is for mailbox users")
    return principal.username


async def check_csrf(request: Request) -> None:
    """403 unless an unsafe request with a session carries the session's CSRF token."""
    if request.method in SAFE_METHODS or bearer_token(request) is not None:
        return  # a token-authenticated API request carries no cookie credential
    session = session_of(request)
    if session is None:
        if request.url.path == "/login":
            raise HTTPException(403, "the login form has expired: reload the page")
        return  # no cookie: not logged in either (the route's own check refuses)
    if not _token_matches(await _sent_token(request), session):
        raise HTTPException(403, "missing or wrong CSRF token: reload the page and try again")


async def _sent_token(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header is not None:
        return header
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith(FORM_TYPES):
        return ""
    try:
        form = await request.form()
    except Exception:  # malformed body: python-multipart's errors vary
        raise HTTPException(400, "malformed form data") from None
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else ""


def _token_matches(sent: str, session: WebSession) -> bool:
    return bool(sent) and hmac.compare_digest(sent.encode(), session.csrf_token.encode())


async def _context(request: Request) -> WebContext:
    return web_context(request)


async def _service(request: Request) -> AdminService:
    return admin_service(request)


# FastAPI runs a plain ``def`` dependency in its thread pool: a hand-off to a thread and
# back (~1 ms under load) is worth it for the ones that query the database, not for these.
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
CurrentAdmin = Annotated[Actor, Depends(current_admin)]
CurrentUser = Annotated[str, Depends(current_user)]
Context = Annotated[WebContext, Depends(_context)]
Service = Annotated[AdminService, Depends(_service)]

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "Context",
    "CurrentAdmin",
    "CurrentPrincipal",
    "CurrentUser",
    "Service",
    "admin_service",
    "check_csrf",
    "current_admin",
    "current_principal",
    "current_user",
    "token_actor",
    "web_context",
]
