"""``/api/v1/alias-domains``: list, create, show, change and delete alias domains
(``alias_domain`` -> ``target_domain``); a domain admin needs both sides."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vmail.admin import ListQuery
from vmail.admin.pages import ALIAS_DOMAINS
from vmail.web.api.schemas import (
    DomainName,
    DomainPath,
    Input,
    ListPage,
    Output,
    changes,
    created,
    list_params,
    page_of,
)
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["alias domains"])


class AliasDomain(Output):
    alias_domain: str
    target_domain: str
    created: datetime
    modified: datetime
    active: bool


class AliasDomainCreate(Input):
    alias_domain: DomainName
    target_domain: DomainName
    active: bool = True


class AliasDomainUpdate(Input):
    target_domain: DomainName | None = None
    active: bool | None = None


@router.get("/alias-domains")
def list_alias_domains(
    actor: CurrentAdmin,
    service: Service,
    query: Annotated[ListQuery, Depends(list_params(ALIAS_DOMAINS))],
    domain: Annotated[DomainName | None, Query(description="from or to this domain")] = None,
) -> ListPage[AliasDomain]:
    return page_of(service.page_alias_domains(actor, query, domain), AliasDomain.model_validate)


@router.post("/alias-domains", status_code=201)
def create_alias_domain(
    actor: CurrentAdmin, service: Service, body: AliasDomainCreate, response: Response
) -> AliasDomain:
    row = service.add_alias_domain(actor, body.alias_domain, body.target_domain, active=body.active)
    created(response, "alias-domains", row["alias_domain"])
    return AliasDomain.model_validate(row)


@router.get("/alias-domains/{alias_domain}")
def get_alias_domain(
    actor: CurrentAdmin, service: Service, alias_domain: DomainPath
) -> AliasDomain:
    return AliasDomain.model_validate(service.get_alias_domain(actor, alias_domain))


@router.patch("/alias-domains/{alias_domain}")
def edit_alias_domain(
    actor: CurrentAdmin, service: Service, alias_domain: DomainPath, body: AliasDomainUpdate
) -> AliasDomain:
    row = service.edit_alias_domain(actor, alias_domain, **changes(body))
    return AliasDomain.model_validate(row)


@router.delete("/alias-domains/{alias_domain}", status_code=204)
def delete_alias_domain(
    actor: CurrentAdmin, service: Service, alias_domain: DomainPath
) -> Response:
    service.delete_alias_domain(actor, alias_domain)
    return Response(status_code=204)


__all__ = ["AliasDomain", "AliasDomainCreate", "AliasDomainUpdate", "router"]
