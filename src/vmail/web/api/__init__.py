"""The REST API under ``/api/v1/`` (OpenAPI at ``/api/v1/openapi.json``).

To add endpoints: write ``api/NAME.py`` with ``router = APIRouter()`` whose handlers take
``actor: CurrentAdmin`` (or ``user: CurrentUser``) and ``service: Service``, and take and
return pydantic models (:mod:`vmail.web.api.schemas`: bounded types, ``Input``/``Output``,
``ListPage``, ``list_params``); add it to :data:`ROUTERS`, and a row for each operation to
the authorization matrix (``tests/unit/web/api/test_authorization.py``), which the fuzz
(``test_fuzz.py``) also runs over. Errors are ``{"error": "..."}`` with a 4xx status
(:mod:`vmail.web.errors`); a request without credentials gets 401. Credentials: an API
token (``Authorization: Bearer vmail_...``; no CSRF token needed) or a session cookie
(then ``X-CSRF-Token`` on unsafe methods).
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
