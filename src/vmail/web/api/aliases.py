"""``/api/v1/aliases``: list, create, show, change and delete aliases (catch-alls are
``@domain``; ``goto`` is a list of targets). A mailbox's own alias row is its forwarding:
it is listed with ``include_mailboxes=true`` and changed with ``PATCH``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, field_validator

from vmail.admin import ListQuery
from vmail.admin.pages import ALIASES
from vmail.web.api.schemas import (
    Address,
    AddressPath,
    DomainName,
    Input,
    ListPage,
    Output,
    changes,
    created,
    list_params,
    page_of,
    split_list,
)
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["aliases"])
MAX_TARGETS = 1000
Targets = Annotated[list[Address], Field(min_length=1, max_length=MAX_TARGETS)]


class Alias(Output):
    address: str
    goto: list[str]
    domain: str
    created: datetime
    modified: datetime
    active: bool

    @field_validator("goto", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        return split_list(value) if isinstance(value, str) else value


class AliasCreate(Input):
    address: Address  # local@domain, or @domain for a catch-all
    goto: Targets
    active: bool = True


class AliasUpdate(Input):
    goto: Targets | None = None
    active: bool | None = None


@router.get("/aliases")
def list_aliases(
    actor: CurrentAdmin,
    service: Service,
    query: Annotated[ListQuery, Depends(list_params(ALIASES))],
    domain: Annotated[DomainName | None, Query()] = None,
    include_mailboxes: Annotated[bool, Query(description="also mailboxes' own rows")] = False,
) -> ListPage[Alias]:
    page = service.page_aliases(actor, query, domain, include_mailboxes)
    return page_of(page, Alias.model_validate)


@router.post("/aliases", status_code=201)
def create_alias(
    actor: CurrentAdmin, service: Service, body: AliasCreate, response: Response
) -> Alias:
    row = service.add_alias(actor, body.address, body.goto, active=body.active)
    created(response, "aliases", row["address"])
    return Alias.model_validate(row)


@router.get("/aliases/{address}")
def get_alias(actor: CurrentAdmin, service: Service, address: AddressPath) -> Alias:
    return Alias.model_validate(service.get_alias(actor, address))


@router.patch("/aliases/{address}")
def edit_alias(
    actor: CurrentAdmin, service: Service, address: AddressPath, body: AliasUpdate
) -> Alias:
    return Alias.model_validate(service.edit_alias(actor, address, **changes(body)))


@router.delete("/aliases/{address}", status_code=204)
def delete_alias(actor: CurrentAdmin, service: Service, address: AddressPath) -> Response:
    service.delete_alias(actor, address)
    return Response(status_code=204)


__all__ = ["Alias", "AliasCreate", "AliasUpdate", "router"]
