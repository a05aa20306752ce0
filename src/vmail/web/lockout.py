"""Failed credential checks on the web: counted, delayed and logged in one place.

The login password, the admins' TOTP codes, the current password of a password change and
the password or code that turns TOTP off all go through here: a failure is logged in the
authentication service's fail2ban-friendly format, counted per client address and per
username in the context's :class:`~vmail.auth.throttle.Throttle` (so guessing one factor
through another form gains nothing), and answered after the throttle's delay. While a
client or a username is locked out, its attempts are refused without being checked.
"""

from __future__ import annotations

import asyncio
import math

from starlette.requests import Request

from vmail.auth.service import AuthReason, log_failure
from vmail.web.deps import web_context

SERVICE = "web"


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def locked_message(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"Too many failed logins: try again in {minutes} minute{'s' * (minutes > 1)}."


def lockout(request: Request, username: str) -> str | None:
    """None if ``username`` may try from this client now; else the message to show (the
    refused attempt is logged)."""
    ip = client_ip(request)
    locked_for = web_context(request).throttle.locked_for(ip, username)
    if locked_for <= 0:
        return None
    log_failure(username, ip, SERVICE, AuthReason.LOCKED_OUT)
    return locked_message(locked_for)


async def count_failure(
    request: Request, username: str, reason: AuthReason | None, detail: str = ""
) -> None:
    """Log (unless ``reason`` is None: already logged) and count one failure, then wait
    the throttle's delay."""
    ip = client_ip(request)
    if reason is not None:
        log_failure(username, ip, SERVICE, reason, detail)
    delay = web_context(request).throttle.failed(ip, username)
    if delay > 0:
        await asyncio.sleep(delay)


def count_success(request: Request, username: str) -> None:
    web_context(request).throttle.succeeded(username)


__all__ = ["SERVICE", "client_ip", "count_failure", "count_success", "locked_message", "lockout"]
