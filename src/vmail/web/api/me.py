"""``GET /api/v1/me`` (who the request is authenticated as) and ``GET /api/v1/overview``
(the dashboard's counts over what the admin may see)."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from vmail.web.api.schemas import Output
from vmail.web.deps import CurrentAdmin, CurrentPrincipal, Service

router = APIRouter(tags=["session"])


class Me(BaseModel):
    kind: str  # "admin" or "user"
    username: str


class Overview(Output):
    """Counts; quotas in bytes; ``quota_used``/``messages`` None when unknown."""

    domains: int
    mailboxes: int
    aliases: int
    alias_domains: int
    quota_allocated: int
    quota_used: int | None
    messages: int | None


@router.get("/me")
def me(principal: CurrentPrincipal) -> Me:
    return Me(kind=principal.kind, username=principal.username)


@router.get("/overview", tags=["overview"])
def overview(actor: CurrentAdmin, service: Service) -> Overview:
    return Overview.model_validate(service.overview(actor))


__all__ = ["Me", "Overview", "router"]
