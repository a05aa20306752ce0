"""Error answers: JSON ``{"error": "..."}`` under ``/api/``, a page in the layout elsewhere.

:func:`install_error_handlers` maps, for every route:

* ``HTTPException`` (raise ``HTTPException(404, "no such domain")``) to its status;
* the admin service's errors (:mod:`vmail.admin.errors`) to 404/409/400/403/503, with
  their one-line message (they are written for people);
* request validation errors to 400 (pages) or 422 (API) with the first problem;
* :class:`~vmail.web.deps.LoginRequired` to a redirect to ``/login`` (pages) or 401;
* :class:`~vmail.admin.errors.AuthenticationError` (a bad API token, a wrong password) to
  401; API 401s carry ``WWW-Authenticate: Bearer`` (``error="invalid_token"`` when a
  token was sent).

Anything else is a bug: :class:`~vmail.web.middleware.WebMiddleware` logs it and answers
500 with :func:`error_response`, never the traceback.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

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
from vmail.web.templating import render

API_PREFIX = "/api/"
BEARER = "bearer"
ADMIN_STATUS: tuple[tuple[type[AdminError], int], ...] = (
    (AuthenticationError, 401),
    (NotFoundError, 404),
    (AlreadyExistsError, 409),
    (LimitExceededError, 409),
    (InvalidError, 400),
    (ForbiddenError, 403),
    (DatabaseError, 503),
)
TITLES = {
    400: "Bad request",
    401: "Not logged in",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Invalid input",
    429: "Too many attempts",
    500: "Internal error",
    503: "Service unavailable",
}


class LoginRequired(Exception):  # noqa: N818 - a signal to log in, not a failure
    """No (valid) session: pages redirect to /login, the API answers 401."""


def is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def bearer_token(request: Request) -> str | None:
    """The API token of an ``/api/`` request's ``Authorization: Bearer`` header, '' when
    the header names another scheme or no token; None without the header (or off the API)."""
    if not is_api(request):
        return None
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, secret = header.strip().partition(" ")
    return secret.strip() if scheme.lower() == BEARER else ""


def _challenge(request: Request) -> dict[str, str]:
    if bearer_token(request) is None:
        return {"WWW-Authenticate": 'Bearer realm="vmail"'}
    return {"WWW-Authenticate": 'Bearer realm="vmail", error="invalid_token"'}


def error_response(request: Request, status: int, message: str) -> Response:
    """The error answer for this request: JSON for the API, else the error page."""
    if is_api(request):
        return JSONResponse({"error": message}, status_code=status)
    title = TITLES.get(status, "Error")
    context = {"status": status, "title": title, "message": message}
    return render(request, "error.html", context, status_code=status)


def admin_status(error: AdminError) -> int:
    for kind, status in ADMIN_STATUS:
        if isinstance(error, kind):
            return status
    return 400


def login_redirect(request: Request) -> Response:
    if is_api(request):
        return JSONResponse(
            {"error": "authentication required"}, status_code=401, headers=_challenge(request)
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    response = error_response(request, exc.status_code, str(exc.detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _admin_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AdminError)
    status = admin_status(exc)
    response = error_response(request, status, str(exc))
    if status == 401 and is_api(request):
        response.headers.update(_challenge(request))
    return response


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    message = "invalid request"
    if problems:
        first = problems[0]
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        message = f"{where}: {first.get('msg', 'invalid')}" if where else str(first.get("msg"))
    return error_response(request, 422 if is_api(request) else 400, message)


async def _login_required(request: Request, exc: Exception) -> Response:
    return login_redirect(request)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(AdminError, _admin_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(LoginRequired, _login_required)


__all__ = [
    "LoginRequired",
    "admin_status",
    "bearer_token",
    "error_response",
    "install_error_handlers",
    "is_api",
    "login_redirect",
]
