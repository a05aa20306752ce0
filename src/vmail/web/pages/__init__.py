"""The HTML pages, one router per module; :data:`ROUTERS` is what the app includes.

To add a page: write ``pages/NAME.py`` with ``router = APIRouter()`` and handlers that
take ``actor: CurrentAdmin`` (or ``user: CurrentUser``) and answer with
:func:`vmail.web.templating.render`; add its router to :data:`ROUTERS`.
"""

from __future__ import annotations

from fastapi import APIRouter

from vmail.web.pages import (
    account,
    admins,
    alias_domains,
    aliases,
    domains,
    home,
    log,
    login,
    mailboxes,
    queue,
    route,
    tokens,
)

ROUTERS: tuple[APIRouter, ...] = (
    login.router,
    home.router,
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

__all__ = ["ROUTERS"]
