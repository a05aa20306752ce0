"""``/api/v1/mailboxes``: list (with quota usage), create, show, change, delete mailboxes,
and set a mailbox's password (``PUT /mailboxes/{address}/password``).

Forwarding is the mailbox's own alias row: ``PATCH /api/v1/aliases/{address}``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response

from vmail.admin import ListQuery
from vmail.admin.pages import MAILBOXES
from vmail.admin.records import Record
from vmail.web.api.schemas import (
    Bytes,
    DomainName,
    Input,
    ListPage,
    MailAddress,
    MailAddressPath,
    Name,
    Output,
    Password,
    changes,
    created,
    list_params,
    page_of,
)
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["mailboxes"])


class Mailbox(Output):
    """A mailbox; ``quota`` in bytes (0: unlimited); ``usage_*`` None when unknown."""

    username: str
    name: str
    maildir: str
    quota: int
    local_part: str
    domain: str
    created: datetime
    modified: datetime
    active: bool
    usage_bytes: int | None = None
    usage_messages: int | None = None


class MailboxCreate(Input):
    address: MailAddress
    password: Password
    name: Name = ""
    quota: Bytes | None = None  # None: the domain's maxquota
    active: bool = True


class MailboxUpdate(Input):
    name: Name | None = None
    quota: Bytes | None = None
    active: bool | None = None


class NewPassword(Input):
    password: Password


def _with_usage(service: Service, row: Record) -> Mailbox:
    usage = service.mailbox_usages([row])[row["username"]]
    used, messages = usage if usage is not None else (None, None)
    return Mailbox.model_validate(row | {"usage_bytes": used, "usage_messages": messages})


@router.get("/mailboxes")
def list_mailboxes(
    actor: CurrentAdmin,
    service: Service,
    query: Annotated[ListQuery, Depends(list_params(MAILBOXES))],
    domain: Annotated[DomainName | None, Query()] = None,
) -> ListPage[Mailbox]:
    return page_of(service.page_mailboxes(actor, query, domain), Mailbox.model_validate)


@router.post("/mailboxes", status_code=201)
def create_mailbox(
    actor: CurrentAdmin, service: Service, body: MailboxCreate, response: Response
) -> Mailbox:
    row = service.add_mailbox(
        actor, body.address, body.password, name=body.name, quota=body.quota, active=body.active
    )
    created(response, "mailboxes", row["username"])
    return _with_usage(service, row)


@router.get("/mailboxes/{address}")
def get_mailbox(actor: CurrentAdmin, service: Service, address: MailAddressPath) -> Mailbox:
    return _with_usage(service, service.get_mailbox(actor, address))


@router.patch("/mailboxes/{address}")
def edit_mailbox(
    actor: CurrentAdmin, service: Service, address: MailAddressPath, body: MailboxUpdate
) -> Mailbox:
    return _with_usage(service, service.edit_mailbox(actor, address, **changes(body)))


@router.put("/mailboxes/{address}/password", status_code=204)
def set_password(
    actor: CurrentAdmin, service: Service, address: MailAddressPath, body: NewPassword
) -> Response:
    service.set_password(actor, address, body.password)
    return Response(status_code=204)


@router.delete("/mailboxes/{address}", status_code=204)
def delete_mailbox(actor: CurrentAdmin, service: Service, address: MailAddressPath) -> Response:
    service.delete_mailbox(actor, address)
    return Response(status_code=204)


__all__ = ["Mailbox", "MailboxCreate", "MailboxUpdate", "NewPassword", "router"]
