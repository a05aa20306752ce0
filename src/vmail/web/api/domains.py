"""``/api/v1/domains``: list, create, show (with usage), change and delete domains.

Creating, changing and deleting domains is for superadmins (the admin service refuses
others with 403); a domain admin lists and reads their own domains only.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response

from vmail.admin import ListQuery
from vmail.admin.pages import DOMAINS
from vmail.web.api.schemas import (
    DomainName,
    DomainPath,
    Input,
    Limit,
    ListPage,
    Megabytes,
    Name,
    Output,
    changes,
    created,
    list_params,
    page_of,
)
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["domains"])


class Domain(Output):
    """A domain (``maxquota``/``quota`` in MB; limits: 0 unlimited, -1 disabled)."""

    domain: str
    description: str
    aliases: int
    mailboxes: int
    maxquota: int
    quota: int
    transport: str | None
    backupmx: bool
    created: datetime
    modified: datetime
    active: bool


class DomainUsage(Output):
    mailbox_count: int
    alias_count: int
    quota_allocated: int  # bytes


class DomainDetail(Domain):
    usage: DomainUsage


class DomainSettings(Input):
    description: Name = ""
    aliases: Limit = 0
    mailboxes: Limit = 0
    maxquota: Megabytes = 0
    quota: Megabytes = 0
    transport: Name | None = None
    backupmx: bool = False
    active: bool = True


class DomainCreate(DomainSettings):
    domain: DomainName


class DomainUpdate(Input):
    description: Name | None = None
    aliases: Limit | None = None
    mailboxes: Limit | None = None
    maxquota: Megabytes | None = None
    quota: Megabytes | None = None
    transport: Name | None = None
    backupmx: bool | None = None
    active: bool | None = None


@router.get("/domains")
def list_domains(
    actor: CurrentAdmin,
    service: Service,
    query: Annotated[ListQuery, Depends(list_params(DOMAINS))],
) -> ListPage[Domain]:
    return page_of(service.page_domains(actor, query), Domain.model_validate)


@router.post("/domains", status_code=201)
def create_domain(
    actor: CurrentAdmin, service: Service, body: DomainCreate, response: Response
) -> Domain:
    settings = body.model_dump(exclude={"domain"})
    row = service.add_domain(actor, body.domain, **settings)
    created(response, "domains", row["domain"])
    return Domain.model_validate(row)


@router.get("/domains/{domain}")
def get_domain(actor: CurrentAdmin, service: Service, domain: DomainPath) -> DomainDetail:
    row = service.get_domain(actor, domain)
    usage = service.domain_usage(actor, row["domain"])
    return DomainDetail.model_validate(row | {"usage": usage})


@router.patch("/domains/{domain}")
def edit_domain(
    actor: CurrentAdmin, service: Service, domain: DomainPath, body: DomainUpdate
) -> Domain:
    return Domain.model_validate(service.edit_domain(actor, domain, **changes(body)))


@router.delete("/domains/{domain}", status_code=204)
def delete_domain(actor: CurrentAdmin, service: Service, domain: DomainPath) -> Response:
    service.delete_domain(actor, domain)
    return Response(status_code=204)


__all__ = ["Domain", "DomainCreate", "DomainDetail", "DomainUpdate", "DomainUsage", "router"]
