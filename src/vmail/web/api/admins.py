"""``/api/v1/admins``: list, create, show, change and delete admins and their domains
(superadmins only: the admin service refuses everyone else with 403)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from pydantic import Field

from vmail.admin import ListQuery
from vmail.admin.pages import ADMINS
from vmail.web.api.schemas import (
    DomainName,
    Input,
    ListPage,
    MailAddress,
    MailAddressPath,
    Output,
    Password,
    changes,
    created,
    list_params,
    page_of,
)
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["admins"])
Domains = Annotated[list[DomainName], Field(max_length=10_000)]


class AdminAccount(Output):
    """An admin; ``domains`` are a domain admin's (a superadmin's: [])."""

    username: str
    superadmin: bool
    created: datetime
    modified: datetime
    active: bool
    domains: list[str]


class AdminCreate(Input):
    username: MailAddress
    password: Password
    superadmin: bool = False
    domains: Domains = Field(default_factory=list)
    active: bool = True


class AdminUpdate(Input):
    password: Password | None = None
    superadmin: bool | None = None
    domains: Domains | None = None
    active: bool | None = None


@router.get("/admins")
def list_admins(
    actor: CurrentAdmin, service: Service, query: Annotated[ListQuery, Depends(list_params(ADMINS))]
) -> ListPage[AdminAccount]:
    return page_of(service.page_admins(actor, query), AdminAccount.model_validate)


@router.post("/admins", status_code=201)
def create_admin(
    actor: CurrentAdmin, service: Service, body: AdminCreate, response: Response
) -> AdminAccount:
    row = service.add_admin(
        actor,
        body.username,
        body.password,
        superadmin=body.superadmin,
        domains=body.domains,
        active=body.active,
    )
    created(response, "admins", row["username"])
    return AdminAccount.model_validate(row)


@router.get("/admins/{username}")
def get_admin(actor: CurrentAdmin, service: Service, username: MailAddressPath) -> AdminAccount:
    return AdminAccount.model_validate(service.get_admin(actor, username))


@router.patch("/admins/{username}")
def edit_admin(
    actor: CurrentAdmin, service: Service, username: MailAddressPath, body: AdminUpdate
) -> AdminAccount:
    return AdminAccount.model_validate(service.edit_admin(actor, username, **changes(body)))


@router.delete("/admins/{username}", status_code=204)
def delete_admin(actor: CurrentAdmin, service: Service, username: MailAddressPath) -> Response:
    service.delete_admin(actor, username)
    return Response(status_code=204)


__all__ = ["AdminAccount", "AdminCreate", "AdminUpdate", "router"]
