"""Web sessions: who is logged in and their CSRF token, in a signed, timestamped cookie.

A session is :class:`WebSession` (a :class:`Principal` or None before login, plus the
CSRF token); :class:`SessionCodec` turns it into the cookie value and back with
itsdangerous (HMAC with the ``web_secret_file`` key). The timestamp in the signature is
when the cookie was last issued: a cookie older than the idle timeout is refused, and the
middleware re-issues live sessions as they are used, so the timeout counts idle time.
Nothing secret is in the cookie (it is signed, not encrypted).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from typing import Any, Literal

from itsdangerous import BadSignature, TimestampSigner, URLSafeTimedSerializer
from starlette.requests import Request

from vmail.web.context import Clock

COOKIE_NAME = "vmail_session"
PrincipalKind = Literal["admin", "user"]


@dataclass(frozen=True)
class Principal:
    """Who a session belongs to: an admin (``admin`` table) or a mailbox user (address)."""

    kind: PrincipalKind
    username: str


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class WebSession:
    """One browser's session: the principal (None: not logged in) and its CSRF token."""

    principal: Principal | None = None
    csrf_token: str = field(default_factory=new_csrf_token)


class SessionCodec:
    """Signs sessions into cookie values and checks them (signature, then idle age)."""

    def __init__(self, secret: bytes, timeout: float, clock: Clock) -> None:
        self.timeout = timeout
        self._clock = clock

        class _Signer(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(clock())

        self._serializer = URLSafeTimedSerializer(
            secret, salt="vmail-web-session", signer=_Signer, serializer=json
        )

    def dumps(self, session: WebSession) -> str:
        data: dict[str, Any] = {"c": session.csrf_token}
        if session.principal is not None:
            data["k"], data["u"] = session.principal.kind, session.principal.username
        return str(self._serializer.dumps(data))

    def loads(self, value: str) -> tuple[WebSession, float] | None:
        """The session and the seconds since its cookie was issued; None if forged,
        malformed or idle for longer than the timeout."""
        try:
            data, issued = self._serializer.loads(
                value, max_age=int(self.timeout), return_timestamp=True
            )
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(data, dict) or not isinstance(data.get("c"), str):
            return None
        kind, username = data.get("k"), data.get("u")
        principal = None
        if kind in ("admin", "user") and isinstance(username, str) and username:
            principal = Principal(kind, username)
        return WebSession(principal, data["c"]), self._clock() - issued.timestamp()


def session_of(request: Request) -> WebSession | None:
    """The request's session (None: no valid cookie), as the middleware decoded it."""
    session = getattr(request.state, "session", None)
    return session if isinstance(session, WebSession) else None


def set_session(request: Request, session: WebSession | None) -> None:
    """Replace the request's session; the response carries the new cookie (None: deleted).
    Log in with a *new* :class:`WebSession` (a fresh CSRF token), never by editing one."""
    request.state.session = session


__all__ = [
    "COOKIE_NAME",
    "Principal",
    "SessionCodec",
    "WebSession",
    "new_csrf_token",
    "session_of",
    "set_session",
]
