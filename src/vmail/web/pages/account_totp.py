"""``/account/totp``: an admin turns their own TOTP second factor on and off.

Turning it on is two steps, as :mod:`vmail.admin.totp` wants: ``POST
/account/totp/enable`` makes a pending secret and shows it as an ``otpauth://`` URI, its
base32 text and a QR code (inline SVG drawn by segno: no script, no style, so the strict
CSP holds); ``POST /account/totp/confirm`` with a current code makes it the account's.
Turning it off (``POST /account/totp/disable``) takes a current code or the admin's
password; a wrong one counts as a failed login (:mod:`vmail.web.lockout`).
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Form
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vmail.admin import Actor, AdminService
from vmail.admin.errors import AuthenticationError, ForbiddenError, InvalidError
from vmail.auth.service import AuthReason
from vmail.web.deps import CurrentAdmin, Service
from vmail.web.lockout import count_failure, lockout
from vmail.web.templating import render

router = APIRouter()

PAGE = "/account/totp"
MAX_FIELD = 1024
DONE = {"on": "The second factor is on.", "off": "The second factor is off."}


def qr_svg(text: str) -> Markup:
    """``text`` as a QR code in an inline ``<svg>`` (black on white, no style attribute)."""
    code = segno.make(text, error="m")
    svg = code.svg_inline(scale=4, dark="#000", light="#fff", title="QR code", svgclass="qr")
    return Markup(svg)  # segno writes only path data and the fixed title


def _page(
    request: Request,
    actor: Actor,
    enabled: bool,
    *,
    status_code: int = 200,
    done: str = "",
    error: str = "",
    secret: str = "",
    uri: str = "",
) -> Response:
    context = {
        "actor": actor,
        "enabled": enabled,
        "done": DONE.get(done, ""),
        "error": error,
        "secret": secret,
        "uri": uri,
        "qr": qr_svg(uri) if uri else "",
    }
    return render(request, "account_totp.html", context, status_code=status_code)


@router.get(PAGE)
def totp_page(request: Request, actor: CurrentAdmin, service: Service, done: str = "") -> Response:
    return _page(request, actor, service.totp_enabled(actor.username), done=done)


@router.post(f"{PAGE}/enable")
def enable(request: Request, actor: CurrentAdmin, service: Service) -> Response:
    """A new pending secret to scan; the current factor (if any) stays until confirmed."""
    secret, uri = service.enable_totp(actor, actor.username)
    enabled = service.totp_enabled(actor.username)
    return _page(request, actor, enabled, secret=secret, uri=uri)


@router.post(f"{PAGE}/confirm")
async def confirm(
    request: Request,
    actor: CurrentAdmin,
    service: Service,
    code: Annotated[str, Form(max_length=MAX_FIELD)],
    secret: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    uri: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """``secret`` and ``uri`` only show the pending secret again after a wrong code (the
    code is checked against the pending secret stored by ``enable``)."""
    try:
        await run_in_threadpool(service.confirm_totp, actor, actor.username, code)
    except AuthenticationError as e:
        enabled = await run_in_threadpool(service.totp_enabled, actor.username)
        return _page(request, actor, enabled, status_code=401, error=str(e), secret=secret, uri=uri)
    except InvalidError as e:  # nothing pending (confirmed in another tab, or never begun)
        enabled = await run_in_threadpool(service.totp_enabled, actor.username)
        return _page(request, actor, enabled, status_code=400, error=str(e))
    return RedirectResponse(f"{PAGE}?done=on", status_code=303)


@router.post(f"{PAGE}/disable")
async def disable(
    request: Request,
    actor: CurrentAdmin,
    service: Service,
    code: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    password: Annotated[str, Form(max_length=MAX_FIELD)] = "",
) -> Response:
    """Off, given a current code or the admin's password."""
    enabled = await run_in_threadpool(service.totp_enabled, actor.username)
    refused = lockout(request, actor.username)
    if refused is not None:
        return _page(request, actor, enabled, status_code=429, error=refused)
    if not code.strip() and not password:
        message = "Give a current code or your password."
        return _page(request, actor, enabled, status_code=400, error=message)
    if not await run_in_threadpool(_proven, service, actor.username, code, password):
        reason = AuthReason.WRONG_SECOND_FACTOR if code.strip() else AuthReason.PASSWORD_MISMATCH
        await count_failure(request, actor.username, reason, "turning TOTP off")
        message = "Wrong code or password."
        return _page(request, actor, enabled, status_code=401, error=message)
    await run_in_threadpool(service.disable_totp, actor, actor.username)
    return RedirectResponse(f"{PAGE}?done=off", status_code=303)


def _proven(service: AdminService, username: str, code: str, password: str) -> bool:
    if code.strip():
        return service.verify_totp(username, code)
    try:
        service.authenticate(username, password)
    except (AuthenticationError, ForbiddenError):
        return False
    return True


__all__ = ["qr_svg", "router"]
