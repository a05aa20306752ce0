"""``/login``, ``/login/totp`` and ``/logout``: one form for admins and mailbox users.

The name and password are tried against the ``admin`` table first
(:meth:`~vmail.admin.AdminService.authenticate`), then as a mailbox
(:class:`~vmail.auth.service.Authenticator`, service name ``web``). An admin with a TOTP
second factor (:meth:`~vmail.admin.AdminService.totp_enabled`) is then asked for a
6-digit code: the form carries a *ticket* (signed with the session key, bound to this
browser's session, valid :data:`TICKET_AGE` seconds) saying the password was right, and
the session is only granted once :meth:`~vmail.admin.AdminService.verify_totp` accepts a
code. Failures of either step are counted per client address and per username by the
context's :class:`~vmail.auth.throttle.Throttle` (:mod:`vmail.web.lockout`): answers are
delayed, and a locked-out client or name gets 429 without its password or code being
checked. Each failure is logged in the authentication service's fail2ban-friendly format;
passwords and codes never are. A successful login starts a new session (new CSRF token:
no session fixation, and the ticket is spent).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Form
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vmail.admin.errors import AdminError, DatabaseError
from vmail.auth.service import AuthReason, AuthStatus, log_failure
from vmail.web.context import WebContext
from vmail.web.deps import web_context
from vmail.web.lockout import SERVICE, client_ip, count_failure, count_success, lockout
from vmail.web.sessions import Principal, WebSession, session_of, set_session
from vmail.web.templating import render

router = APIRouter()

HOME = {"admin": "/", "user": "/account"}
MAX_FIELD = 1024
TICKET_AGE = 300.0  # seconds to type the TOTP code after the password
TICKET_SALT = "vmail-web-totp-ticket"


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after login (never another site: no ``//host`` or scheme)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\t"):
        return default
    return target


@dataclass(frozen=True)
class Ticket:
    """A passed password step: whose, and where to go after the code."""

    username: str
    next: str


def _serializer(context: WebContext) -> URLSafeSerializer:
    return URLSafeSerializer(context.secret, salt=TICKET_SALT)


def issue_ticket(context: WebContext, session: WebSession, username: str, next: str) -> str:
    """The signed ticket of a passed password step, for this session only."""
    data = {"u": username, "n": next, "c": session.csrf_token, "t": context.clock()}
    return str(_serializer(context).dumps(data))


def read_ticket(context: WebContext, session: WebSession | None, value: str) -> Ticket | None:
    """The ticket's content; None if forged, from another session, or too old."""
    if session is None:
        return None
    try:
        data = _serializer(context).loads(value)
    except BadSignature:
        return None
    if not isinstance(data, dict):
        return None
    username, next, csrf, issued = data.get("u"), data.get("n"), data.get("c"), data.get("t")
    if not (isinstance(username, str) and isinstance(next, str) and isinstance(csrf, str)):
        return None
    if not isinstance(issued, int | float) or not 0 <= context.clock() - issued <= TICKET_AGE:
        return None
    if not hmac.compare_digest(csrf.encode(), session.csrf_token.encode()):
        return None
    return Ticket(username, next)


@router.get("/login")
def login_page(request: Request, next: str = "") -> Response:
    session = session_of(request)
    if session is not None and session.principal is not None:
        return RedirectResponse(HOME[session.principal.kind], status_code=303)
    if session is None:
        set_session(request, WebSession())
    return render(request, "login.html", {"next": next, "username": ""})


def _form_again(request: Request, username: str, next: str, status: int, message: str) -> Response:
    context = {"next": next, "username": username, "error": message}
    return render(request, "login.html", context, status_code=status)


def _code_form(request: Request, ticket: str, status: int = 200, message: str = "") -> Response:
    context = {"ticket": ticket, "error": message}
    return render(request, "login_totp.html", context, status_code=status)


def _grant(request: Request, principal: Principal, next: str) -> Response:
    count_success(request, principal.username)
    set_session(request, WebSession(principal))
    return RedirectResponse(safe_next(next, HOME[principal.kind]), status_code=303)


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=MAX_FIELD)],
    password: Annotated[str, Form(max_length=MAX_FIELD)],
    next: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    context = web_context(request)
    name = username.strip().lower()
    refused = lockout(request, name)
    if refused is not None:
        return _form_again(request, username, next, 429, refused)
    principal = await _check(context, name, password, client_ip(request))
    if principal is None:
        await count_failure(request, name, None)  # _check has logged it
        return _form_again(request, username, next, 401, "Wrong username or password.")
    if principal.kind == "admin" and await _has_totp(context, principal.username):
        session = session_of(request)
        assert session is not None  # check_csrf refuses a login POST without one
        return _code_form(request, issue_ticket(context, session, principal.username, next))
    return _grant(request, principal, next)


@router.post("/login/totp")
async def login_totp(
    request: Request,
    ticket: Annotated[str, Form(max_length=MAX_FIELD)],
    code: Annotated[str, Form(max_length=MAX_FIELD)],
) -> Response:
    """The second step of an admin's login: the code of their authenticator app."""
    context = web_context(request)
    passed = read_ticket(context, session_of(request), ticket)
    if passed is None or context.admin is None:
        return _form_again(request, "", "", 400, "The login has expired: log in again.")
    refused = lockout(request, passed.username)
    if refused is not None:
        return _form_again(request, passed.username, passed.next, 429, refused)
    if not await run_in_threadpool(context.admin.verify_totp, passed.username, code):
        await count_failure(request, passed.username, AuthReason.WRONG_SECOND_FACTOR)
        return _code_form(request, ticket, 401, "Wrong code: type the current one.")
    return _grant(request, Principal("admin", passed.username), passed.next)


async def _has_totp(context: WebContext, username: str) -> bool:
    return context.admin is not None and await run_in_threadpool(
        context.admin.totp_enabled, username
    )


async def _check(context: WebContext, name: str, password: str, client_ip: str) -> Principal | None:
    """The principal these credentials belong to, or None (failure logged)."""
    if context.admin is None:
        log_failure(name, client_ip, SERVICE, AuthReason.LOOKUP_FAILED, "no directory database")
        return None
    try:
        actor = await run_in_threadpool(context.admin.authenticate, name, password)
    except DatabaseError:
        raise
    except AdminError:
        pass
    else:
        return Principal("admin", actor.username)
    if context.authenticator is None:
        log_failure(name, client_ip, SERVICE, AuthReason.UNKNOWN_USER)
        return None
    result = await context.authenticator.authenticate(
        name, password, client_ip=client_ip, service=SERVICE
    )
    if result.ok:
        return Principal("user", result.username)
    if result.status is AuthStatus.TEMPFAIL and result.reason is not AuthReason.LOCKED_OUT:
        raise DatabaseError("the account database is not available; try again later")
    return None  # the authenticator has logged it


@router.post("/logout")
def logout(request: Request) -> Response:
    set_session(request, None)
    return RedirectResponse("/login", status_code=303)


__all__ = ["TICKET_AGE", "Ticket", "issue_ticket", "read_ticket", "router", "safe_next"]
