"""``GET /api/v1/log``: the audit log (who changed what, when), newest first, filtered by
domain, action, acting username and period; a domain admin sees their domains' rows."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from vmail.admin import ListQuery
from vmail.admin.auditlog import LOG
from vmail.web.api.schemas import DomainName, ListPage, Name, Output, list_params, page_of
from vmail.web.deps import CurrentAdmin, Service

router = APIRouter(tags=["log"])


class LogEntry(Output):
    id: int
    timestamp: datetime
    username: str
    domain: str
    action: str
    data: str


@router.get("/log")
def list_log(
    actor: CurrentAdmin,
    service: Service,
    query: Annotated[ListQuery, Depends(list_params(LOG))],
    domain: Annotated[DomainName | None, Query()] = None,
    action: Annotated[Name | None, Query(description="exact action, e.g. create_mailbox")] = None,
    username: Annotated[Name | None, Query(description="exact acting admin")] = None,
    since: Annotated[datetime | None, Query(description="from this time on")] = None,
    until: Annotated[datetime | None, Query(description="before this time")] = None,
) -> ListPage[LogEntry]:
    page = service.page_log(
        actor, query, domain=domain, action=action, username=username, since=since, until=until
    )
    return page_of(page, LogEntry.model_validate)


__all__ = ["LogEntry", "router"]
