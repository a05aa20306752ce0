"""``GET /api/v1/me``: who the request is authenticated as."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from vmail.web.deps import CurrentPrincipal

router = APIRouter(tags=["session"])


class Me(BaseModel):
    kind: str  # "admin" or "user"
    username: str


@router.get("/me")
def me(principal: CurrentPrincipal) -> Me:
    return Me(kind=principal.kind, username=principal.username)


__all__ = ["Me", "router"]
