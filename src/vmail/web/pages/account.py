"""``/account``: a mailbox user's own pages, as PostfixAdmin's user pages.

Logged in with their address and password, a user changes their password (current, new,
confirmation: :func:`vmail.web.selfservice.change_password`) and sets their vacation
(out-of-office) message: subject, body, first and last day, how often one sender is
answered, on or off (:meth:`~vmail.admin.AdminService.set_vacation` as
:meth:`Actor.user <vmail.admin.Actor.user>`). Each form shows its errors next to itself;
a change answers with a redirect back (``?done=password`` / ``?done=vacation``).
Dates are whole days: the vacation runs from the first day's 00:00 to the last day's
23:59:59, in the server's time (PostfixAdmin stores them the same way).

The admins' own TOTP page (``/account/totp``) is :mod:`vmail.web.pages.account_totp`,
included here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vmail.admin import Actor, AdminService
from vmail.admin.errors import AuthenticationError, InvalidError
from vmail.admin.records import Record
from vmail.directory.models import EPOCH, FAR_FUTURE
from vmail.web.deps import CurrentUser, Service
from vmail.web.pages import account_totp
from vmail.web.pages.common import day
from vmail.web.selfservice import change_password
from vmail.web.templating import render

router = APIRouter()
router.include_router(account_totp.router)

MAX_FIELD = 1024
MAX_BODY = 65000
DONE = {"password": "Your password has been changed.", "vacation": "Your vacation is saved."}
# (seconds, label): how often one sender gets the vacation reply.
INTERVALS = ((0, "once"), (86400, "once a day"), (604800, "once a week"))


def parse_day(text: str, name: str, *, last: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` form field as its first (or, with ``last``, final) second; None
    when empty; InvalidError otherwise."""
    if not last:
        return day(text, name)
    after = day(text, name, end=True)
    return None if after is None else after - timedelta(seconds=1)


def vacation_form(vacation: Record) -> dict[str, Any]:
    """The vacation form's values from the stored row (default dates shown empty)."""
    start, end = vacation["activefrom"], vacation["activeuntil"]
    return {
        "subject": vacation["subject"],
        "body": vacation["body"],
        "active_from": "" if start == EPOCH else start.date().isoformat(),
        "active_until": "" if end == FAR_FUTURE else end.date().isoformat(),
        "interval_time": vacation["interval_time"],
        "active": bool(vacation["active"]),
    }


def _page(
    request: Request,
    user: str,
    vacation: dict[str, Any],
    *,
    status_code: int = 200,
    done: str = "",
    password_error: str = "",
    vacation_error: str = "",
) -> Response:
    context = {
        "user": user,
        "vacation": vacation,
        "intervals": INTERVALS,
        "done": DONE.get(done, ""),
        "password_error": password_error,
        "vacation_error": vacation_error,
    }
    return render(request, "account.html", context, status_code=status_code)


def _stored_vacation(service: AdminService, user: str) -> dict[str, Any]:
    return vacation_form(service.get_vacation(Actor.user(user), user))


@router.get("/account")
def account(request: Request, user: CurrentUser, service: Service, done: str = "") -> Response:
    return _page(request, user, _stored_vacation(service, user), done=done)


@router.post("/account/password")
async def password(
    request: Request,
    user: CurrentUser,
    service: Service,
    old_password: Annotated[str, Form(max_length=MAX_FIELD)],
    new_password: Annotated[str, Form(max_length=MAX_FIELD)],
    confirm_password: Annotated[str, Form(max_length=MAX_FIELD)],
) -> Response:
    error, status = "", 400
    if new_password != confirm_password:
        error = "The new password and its confirmation differ."
    else:
        try:
            await change_password(request, service, user, old_password, new_password)
        except HTTPException as e:
            error, status = str(e.detail), e.status_code
        except AuthenticationError as e:
            error, status = _sentence(str(e)), 401
        except InvalidError as e:
            error = _sentence(str(e))
    if not error:
        return RedirectResponse("/account?done=password", status_code=303)
    vacation = await run_in_threadpool(_stored_vacation, service, user)
    return _page(request, user, vacation, status_code=status, password_error=error)


@router.post("/account/vacation")
def vacation(
    request: Request,
    user: CurrentUser,
    service: Service,
    subject: Annotated[str, Form(max_length=MAX_FIELD)] = "",
    body: Annotated[str, Form(max_length=MAX_BODY)] = "",
    active_from: Annotated[str, Form(max_length=64)] = "",
    active_until: Annotated[str, Form(max_length=64)] = "",
    interval_time: Annotated[int, Form(ge=0, le=2**31 - 1)] = 0,
    active: Annotated[str, Form(max_length=8)] = "",
) -> Response:
    values = {
        "subject": subject,
        "body": body,
        "active_from": active_from,
        "active_until": active_until,
        "interval_time": interval_time,
        "active": bool(active),
    }
    try:
        service.set_vacation(
            Actor.user(user),
            user,
            subject=subject,
            body=body.replace("\r\n", "\n"),
            active_from=parse_day(active_from, "first day"),
            active_until=parse_day(active_until, "last day", last=True),
            interval_time=interval_time,
            active=bool(active),
        )
    except InvalidError as e:
        return _page(request, user, values, status_code=400, vacation_error=_sentence(str(e)))
    return RedirectResponse("/account?done=vacation", status_code=303)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


__all__ = ["parse_day", "router", "vacation_form"]
