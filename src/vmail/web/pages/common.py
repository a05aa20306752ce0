"""What the admin list and form pages share: the list query from the URL, the pager,
form fields, success notices, and re-showing a form with the admin service's message.

A list page reads ``?q=&sort=&desc=1&page=N`` with :func:`list_query`, asks the admin
service for one page, and renders it with :func:`list_context` (links for the column
headers and next/previous that keep the other parameters). An htmx request (live search)
gets only the ``#results`` fragment: :func:`render_list`.

A form page reads the posted fields with :func:`read_form`, calls the admin service in the
thread pool (:func:`call`), and on success redirects (POST/redirect/GET) with
:func:`done_redirect`; the next page shows the notice (``?done=KEY&name=...``: only the
fixed messages of :data:`NOTICES` are ever shown). Input mistakes of the admin service
(:data:`FORM_ERRORS`) re-render the form with the input and the message (:func:`form_error`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlencode

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vmail.admin import (
    AdminError,
    AdminService,
    AlreadyExistsError,
    InvalidError,
    LimitExceededError,
    ListQuery,
    Page,
)
from vmail.web.context import WebContext
from vmail.web.deps import CSRF_FIELD, current_admin
from vmail.web.errors import admin_status
from vmail.web.templating import render

PAGE_SIZE = 50
MAX_PAGE = 10_000_000
MAX_NUMBER = 2**31 - 1  # the limit and MB columns are 32-bit integers in PostfixAdmin
FORM_ERRORS = (InvalidError, AlreadyExistsError, LimitExceededError)
NOTICES = {
    "created": "{what} {name} was created.",
    "saved": "{what} {name} was saved.",
    "deleted": "{what} {name} was deleted.",
    "revoked": "{what} {name} was revoked.",
}
P = ParamSpec("P")
T = TypeVar("T")


def admin_router() -> APIRouter:
    """The router of an admin page module (every route needs an admin session)."""
    return APIRouter(dependencies=[Depends(current_admin)])


def service(context: WebContext) -> AdminService:
    """The admin service (present: :func:`~vmail.web.deps.current_admin` checked it)."""
    assert context.admin is not None
    return context.admin


async def call(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Run a (blocking) admin-service method in the thread pool."""
    return await run_in_threadpool(function, *args, **kwargs)


def _page_number(text: str) -> int:
    try:
        number = int(text or "1")
    except ValueError:
        raise InvalidError(f"invalid page number: {text[:20]!r}") from None
    if not 1 <= number <= MAX_PAGE:
        raise InvalidError(f"invalid page number: {number}")
    return number


def list_query(request: Request) -> ListQuery:
    """The ListQuery of ``?q=&sort=&desc=1&page=N`` (InvalidError: a 400 page)."""
    params = request.query_params
    page = _page_number(params.get("page", ""))
    return ListQuery(
        q=params.get("q", ""),
        sort=params.get("sort", ""),
        descending=params.get("desc", "") == "1",
        offset=(page - 1) * PAGE_SIZE,
        limit=PAGE_SIZE,
    )


def optional(request: Request, name: str) -> str | None:
    """A query parameter, None when absent or blank."""
    value = request.query_params.get(name, "").strip()
    return value or None


@dataclass(frozen=True)
class Pager:
    """Where a list page is and the links around it (all keep the other parameters)."""

    page: int
    pages: int
    total: int
    first: int
    last: int
    previous_url: str | None
    next_url: str | None


def page_url(request: Request, **changes: str | None) -> str:
    """This page's URL with some query parameters changed (None: removed)."""
    params = dict(request.query_params)
    params.pop("done", None)
    params.pop("name", None)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    query = urlencode({k: v for k, v in params.items() if v != ""})
    return request.url.path + (f"?{query}" if query else "")


def pager(request: Request, page: Page[Any]) -> Pager:
    number = page.offset // page.limit + 1
    pages = max(1, -(-page.total // page.limit))
    shown = len(page.items)
    return Pager(
        page=number,
        pages=pages,
        total=page.total,
        first=page.offset + 1 if shown else 0,
        last=page.offset + shown,
        previous_url=page_url(request, page=str(number - 1)) if number > 1 else None,
        next_url=page_url(request, page=str(number + 1)) if number < pages else None,
    )


def sort_url(
    request: Request, query: ListQuery, column: str, default: str, default_descending: bool = False
) -> str:
    """The column header's link: sort by it, or flip the order if it is the sort column."""
    current, descending = sort_state(query, default, default_descending)
    flip = not descending if current == column else False
    return page_url(request, sort=column, desc="1" if flip else None, page=None)


def sort_state(query: ListQuery, default: str, default_descending: bool) -> tuple[str, bool]:
    """(column, descending) the list is sorted by (no ``sort``: the kind's default order)."""
    if not query.sort:
        return default, default_descending
    return query.sort, query.descending


def list_context(
    request: Request,
    query: ListQuery,
    page: Page[Any],
    columns: Iterable[str],
    default: str,
    default_descending: bool = False,
) -> dict[str, Any]:
    """What a list template needs: rows, pager, sort links/state, search text, notice."""
    current, descending = sort_state(query, default, default_descending)
    return {
        "page": page,
        "rows": page.items,
        "pager": pager(request, page),
        "q": query.q,
        "sort": current,
        "descending": descending,
        "sort_urls": {c: sort_url(request, query, c, default, default_descending) for c in columns},
        "notice": notice(request),
    }


def render_list(request: Request, name: str, fragment: str, context: dict[str, Any]) -> Response:
    """The whole page, or only its ``#results`` fragment for an htmx request."""
    if request.headers.get("hx-request") == "true":
        return render(request, fragment, context)
    return render(request, name, context)


def notice(request: Request) -> str | None:
    """The success message of ``?done=KEY&what=...&name=...`` (fixed texts only)."""
    params = request.query_params
    text = NOTICES.get(params.get("done", ""))
    if text is None:
        return None
    what = params.get("what", "")[:40] or "Object"
    return text.format(what=what.capitalize(), name=params.get("name", "")[:300])


def done_redirect(path: str, done: str, what: str, name: str) -> RedirectResponse:
    """POST/redirect/GET to ``path`` with the notice ``done`` about ``what`` ``name``."""
    query = urlencode({"done": done, "what": what, "name": name})
    return RedirectResponse(f"{path}?{query}", status_code=303)


async def read_form(request: Request) -> FormData:
    return await request.form()


def fields(form: FormData) -> dict[str, str]:
    """The posted text fields (last value of each, CSRF token left out)."""
    return {k: v for k, v in form.items() if isinstance(v, str) and k != CSRF_FIELD}


def checked(form: FormData, name: str) -> bool:
    """A checkbox: present (any value but "0"/"") means on."""
    value = form.get(name)
    return isinstance(value, str) and value not in ("", "0")


def number(text: str, what: str, default: int = 0) -> int:
    """An integer form field; blank gives ``default``; else InvalidError naming the field."""
    text = text.strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidError(f"{what}: {text[:20]!r} is not a whole number") from None
    if abs(value) > MAX_NUMBER:
        raise InvalidError(f"{what}: {text[:20]} is too large")
    return value


def day(text: str | None, what: str, *, end: bool = False) -> datetime | None:
    """A ``YYYY-MM-DD`` field as the start of that day (``end``: of the next day); blank None."""
    if text is None or not text.strip():
        return None
    try:
        value = date.fromisoformat(text.strip())
    except ValueError:
        raise InvalidError(f"{what}: {text[:20]!r} is not a date (YYYY-MM-DD)") from None
    start = datetime(value.year, value.month, value.day)
    return start + timedelta(days=1) if end else start


def generate_password() -> str:
    """A random password for "generate" (16 URL-safe characters, about 96 bits)."""
    return secrets.token_urlsafe(12)


def new_password(form: FormData, *, required: bool) -> tuple[str | None, bool]:
    """(password, generated) from ``password``/``password2``/``generate`` fields.

    Blank when not ``required`` gives None (keep the password); the two entries must match.
    """
    if checked(form, "generate"):
        return generate_password(), True
    text = fields(form)
    password = text.get("password", "")
    if not password:
        if required:
            raise InvalidError("give a password (twice), or tick 'generate a password'")
        return None, False
    if password != text.get("password2", ""):
        raise InvalidError("the two passwords differ")
    return password, False


def password_page(request: Request, what: str, name: str, password: str, back: str) -> Response:
    """The page that shows a generated password once (never put in a URL or a redirect)."""
    values = {"what": what, "name": name, "password": password, "back": back}
    return render(request, "password_shown.html", values)


def lines(text: str) -> list[str]:
    """The non-blank lines (or comma-separated items) of a textarea."""
    return [item.strip() for item in text.replace(",", "\n").splitlines() if item.strip()]


def form_error(
    request: Request, template: str, context: dict[str, Any], error: AdminError
) -> Response:
    """The form again, with the input in ``context["form"]`` and the service's message."""
    return render(
        request, template, {**context, "error": str(error)}, status_code=admin_status(error)
    )


__all__ = [
    "FORM_ERRORS",
    "NOTICES",
    "PAGE_SIZE",
    "Pager",
    "admin_router",
    "call",
    "checked",
    "day",
    "done_redirect",
    "fields",
    "form_error",
    "generate_password",
    "lines",
    "list_context",
    "list_query",
    "new_password",
    "notice",
    "number",
    "optional",
    "page_url",
    "pager",
    "password_page",
    "read_form",
    "render_list",
    "service",
    "sort_state",
    "sort_url",
]
