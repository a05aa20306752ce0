"""The ASGI middleware around the whole application: sessions, security headers, 500s.

For every HTTP request :class:`WebMiddleware`

* decodes the session cookie into ``request.state.session`` (None when absent, forged or
  idle too long) — handlers use :func:`vmail.web.sessions.session_of`/``set_session``;
* on the response, writes the cookie back when the session changed (or deletes it), and
  re-issues a live one once it is older than :data:`REFRESH_AFTER` so the timeout counts
  idle time; cookies are ``HttpOnly``, ``SameSite=Strict``, ``Path=/``, and ``Secure``
  when the request came over HTTPS;
* adds the security headers (:data:`SECURITY_HEADERS`; HSTS over HTTPS) to every response;
* turns an exception no handler took into a logged 500 answer (JSON or page);
* logs one access line per request to ``vmail.web`` (client, method, path without the
  query, status, milliseconds), e.g. ``127.0.0.1 "GET /login" 200 2.1ms``.
"""

from __future__ import annotations

import logging
import time
from http.cookies import SimpleCookie

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from vmail.auth.service import safe_log_text
from vmail.web.errors import error_response
from vmail.web.sessions import COOKIE_NAME, SessionCodec, WebSession

log = logging.getLogger("vmail.web")

REFRESH_AFTER = 60.0  # seconds; a live session's cookie is re-issued at most this often
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
SECURITY_HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("cross-origin-opener-policy", "same-origin"),
)
HSTS = "max-age=31536000"


def _cookie_value(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"cookie":
            jar: SimpleCookie = SimpleCookie()
            try:
                jar.load(value.decode("latin-1"))
            except Exception:  # a malformed Cookie header is no session, not an error
                continue
            if COOKIE_NAME in jar:
                return jar[COOKIE_NAME].value
    return None


class WebMiddleware:
    """Sessions, security headers and the last-resort error answer (see the module)."""

    def __init__(self, app: ASGIApp, codec: SessionCodec) -> None:
        self.app = app
        self.codec = codec
        self.refresh_after = min(REFRESH_AFTER, codec.timeout / 2)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"
        raw = _cookie_value(scope)
        loaded = self.codec.loads(raw) if raw else None
        original, age = loaded if loaded else (None, 0.0)
        state = scope.setdefault("state", {})
        state["session"] = original
        started = False
        status = 0
        began = time.perf_counter()

        async def send_with_headers(message: Message) -> None:
            nonlocal started, status
            if message["type"] == "http.response.start":
                started = True
                status = message["status"]
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if secure:
                    headers.setdefault("strict-transport-security", HSTS)
                cookie = self._cookie(state.get("session"), original, raw, age, secure)
                if cookie:
                    headers.append("set-cookie", cookie)
                    headers.setdefault("cache-control", "no-store")
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            if started:
                raise
            log.exception("internal error serving %s %s", scope.get("method"), scope.get("path"))
            request = Request(scope)
            response = error_response(request, 500, "internal error; the details are logged")
            await response(scope, receive, send_with_headers)
        finally:
            client = scope.get("client")
            log.info(
                '%s "%s %s" %d %.1fms',
                client[0] if client else "-",
                scope.get("method"),
                safe_log_text(scope.get("path", ""), 200, forbidden='"'),
                status,
                (time.perf_counter() - began) * 1000,
            )

    def _cookie(
        self,
        session: WebSession | None,
        original: WebSession | None,
        raw: str | None,
        age: float,
        secure: bool,
    ) -> str | None:
        """The Set-Cookie value this response needs, or None."""
        flags = "; Path=/; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")
        if session is None:
            if raw is None:
                return None
            return f"{COOKIE_NAME}=; Max-Age=0{flags}"  # forged, expired or logged out
        if session is original and age < self.refresh_after:
            return None
        return f"{COOKIE_NAME}={self.codec.dumps(session)}{flags}"


__all__ = ["CSP", "SECURITY_HEADERS", "WebMiddleware"]
