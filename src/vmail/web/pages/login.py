"""``/login`` and ``/logout``: one form for admins and mailbox users.

The name and password are tried against the ``admin`` table first
(:meth:`~vmail.admin.AdminService.authenticate`), then as a mailbox
(:class:`~vmail.auth.service.Authenticator`, service name ``web``). Failures are counted
per client address and per username by the context's
:class:`~vmail.auth.throttle.Throttle`: answers are delayed, and a locked-out client or
name gets 429 without its password being checked. Each failure is logged in the
authentication service's fail2ban-friendly format; passwords never are. A successful
login starts a new session (new CSRF token: no session fixation).
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated

from fastapi import APIRouter, Form
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vmail.admin.errors import AdminError, DatabaseError
from vmail.auth.service import AuthReason, AuthStatus, log_failure
from vmail.web.context import WebContext
from vmail.web.deps import web_context
from vmail.web.sessions import Principal, WebSession, session_of, set_session
from vmail.web.templating import render

router = APIRouter()

SERVICE = "web"
HOME = {"admin": "/", "user": "/account"}
MAX_FIELD = 1024


def safe_next(target: str | None, default: str) -> str:
    """A local path to go to after login (never another site: no ``//host`` or scheme)."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return default
    if any(ch in target for ch in "\r\n\t"):
        return default
    return target


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


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


@router.post("/login")
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=MAX_FIELD)],
    password: Annotated[str, Form(max_length=MAX_FIELD)],
    next: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    context = web_context(request)
    name = username.strip().lower()
    client_ip = _client_ip(request)
    locked_for = context.throttle.locked_for(client_ip, name)
    if locked_for > 0:
        log_failure(name, client_ip, SERVICE, AuthReason.LOCKED_OUT)
        minutes = max(1, math.ceil(locked_for / 60))
        return _form_again(
            request,
            username,
            next,
            429,
            f"Too many failed logins: try again in {minutes} minute{'s' * (minutes > 1)}.",
        )
    principal = await _check(context, name, password, client_ip)
    if principal is None:
        delay = context.throttle.failed(client_ip, name)
        if delay > 0:
            await asyncio.sleep(delay)
        return _form_again(request, username, next, 401, "Wrong username or password.")
    context.throttle.succeeded(name)
    set_session(request, WebSession(principal))
    return RedirectResponse(safe_next(next, HOME[principal.kind]), status_code=303)


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


__all__ = ["router", "safe_next"]
