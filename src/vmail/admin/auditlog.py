"""Reading the ``log`` table: one page of change records, newest first, with filters.

A domain admin sees only rows of their domains (admin-account rows, whose domain is '',
belong to no domain and are a superadmin's). Filters combine: ``domain``, ``action``
(exact verb), ``username`` (exact actor), ``since``/``until`` (inclusive/exclusive
timestamps), plus the search text over ``username``, ``domain``, ``action`` and ``data``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from vmail.admin import rules
from vmail.admin.actor import Actor
from vmail.admin.errors import InvalidError
from vmail.admin.guards import managed_domains, require_manages
from vmail.admin.listing import Kind, ListQuery, Page, fetch_page
from vmail.admin.records import Record, record
from vmail.directory.models import Log

LOG = Kind(
    "log",
    Log.id,
    {
        "timestamp": Log.timestamp,
        "id": Log.id,
        "username": Log.username,
        "domain": Log.domain,
        "action": Log.action,
    },
    "timestamp",
    [Log.username, Log.domain, Log.action, Log.data],
)


def _records(_session: Session, rows: Sequence[Log]) -> list[Record]:
    return [record(row) for row in rows]


def page_log(
    session: Session,
    actor: Actor,
    query: ListQuery,
    *,
    domain: str | None = None,
    action: str | None = None,
    username: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Page[Record]:
    """Log rows; newest first unless ``query.sort`` is given (then ``descending`` applies)."""
    if not query.sort:
        query = ListQuery(query.q, "timestamp", True, query.offset, query.limit)
    if since is not None and until is not None and until <= since:
        raise InvalidError("the log period is empty: 'until' must be later than 'since'")
    base = select(Log)
    if domain is not None:
        name = rules.domain_name(domain)
        require_manages(actor, name)
        base = base.where(Log.domain == name)
    domains = managed_domains(actor)
    if domains is not None:
        base = base.where(Log.domain.in_(domains))
    if action:
        base = base.where(Log.action == action.strip())
    if username:
        base = base.where(Log.username == username.strip())
    if since is not None:
        base = base.where(Log.timestamp >= since)
    if until is not None:
        base = base.where(Log.timestamp < until)
    return fetch_page(session, LOG, query, base, _records)
