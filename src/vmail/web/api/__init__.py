"""The REST API under ``/api/v1/`` (OpenAPI at ``/api/v1/openapi.json``).

To add endpoints: write ``api/NAME.py`` with ``router = APIRouter()`` whose handlers take
``actor: CurrentAdmin`` (or ``user: CurrentUser``) and return pydantic models or dicts;
add it to :data:`ROUTERS`. Errors are ``{"error": "..."}`` with a 4xx status
(:mod:`vmail.web.errors`); a request without a session gets 401. Requests authenticated
by a session cookie must send ``X-CSRF-Token`` on unsafe methods (token-authenticated
requests, when API tokens come, carry no cookie and need none).
"""

from __future__ import annotations

from fastapi import APIRouter

from vmail.web.api import (
    account,
    admins,
    alias_domains,
    aliases,
    domains,
    log,
    mailboxes,
    me,
    queue,
    route,
    tokens,
)

PREFIX = "/api/v1"
ROUTERS: tuple[APIRouter, ...] = (
    me.router,
    domains.router,
    mailboxes.router,
    aliases.router,
    alias_domains.router,
    admins.router,
    log.router,
    tokens.router,
    queue.router,
    route.router,
    account.router,
)

__all__ = ["PREFIX", "ROUTERS"]
