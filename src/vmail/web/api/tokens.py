"""``/api/v1/tokens``: list, create and revoke API tokens. The secret is in the answer to
``POST`` only (the database keeps its SHA-256); a domain admin sees and makes tokens for
their own domains, never a superadmin token."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response
from pydantic import Field

from vmail.web.api.schemas import INT32, DomainName, Input, Name, Output, created
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["tokens"])
TokenId = Annotated[int, Path(ge=1, le=INT32)]


class Token(Output):
    id: int
    name: str
    role: Literal["superadmin", "domain_admin"]
    domains: list[str]
    admin: str | None
    created_by: str
    created: datetime
    expires: datetime | None
    last_used: datetime | None
    revoked: datetime | None


class NewToken(Token):
    secret: str = Field(description="the token itself: shown only here, once")


class TokenCreate(Input):
    name: Annotated[Name, Field(min_length=1)]
    role: Literal["superadmin", "domain_admin"]
    domains: Annotated[list[DomainName], Field(max_length=10_000)] = Field(default_factory=list)
    expires: datetime | None = None


@router.get("/tokens")
def list_tokens(actor: CurrentAdmin, service: Service) -> list[Token]:
    return [Token.model_validate(row) for row in service.list_tokens(actor)]


@router.post("/tokens", status_code=201)
def create_token(
    actor: CurrentAdmin, service: Service, body: TokenCreate, response: Response
) -> NewToken:
    row, secret = service.create_token(actor, body.name, body.role, body.domains, body.expires)
    created(response, "tokens", str(row["id"]))
    return NewToken.model_validate(row | {"secret": secret})


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(actor: CurrentAdmin, service: Service, token_id: TokenId) -> Response:
    service.revoke_token(actor, token_id)
    return Response(status_code=204)


__all__ = ["NewToken", "Token", "TokenCreate", "router"]
