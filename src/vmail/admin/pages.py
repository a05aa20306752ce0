"""One page of domains, mailboxes, aliases, alias domains or admins, scoped in SQL.

A domain admin's pages hold only their domains' objects (the scope is part of the WHERE
clause, counts included); asking for another domain is ForbiddenError, as everywhere.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import ColumnElement, exists, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vmail.admin import rules
from vmail.admin.actor import Actor
from vmail.admin.guards import domain_row, managed_domains, require_manages, require_superadmin
from vmail.admin.listing import Kind, ListQuery, Page, fetch_page
from vmail.admin.records import Record, record
from vmail.admin.usage import maildir_usage, usage_fields
from vmail.directory.models import Admin, Alias, AliasDomain, Base, Domain, DomainAdmin, Mailbox

DOMAINS = Kind(
    "domains",
    Domain.domain,
    {
        "domain": Domain.domain,
        "description": Domain.description,
        "aliases": Domain.aliases,
        "mailboxes": Domain.mailboxes,
        "maxquota": Domain.maxquota,
        "quota": Domain.quota,
        "created": Domain.created,
        "modified": Domain.modified,
        "active": Domain.active,
    },
    "domain",
    [Domain.domain, Domain.description],
)
MAILBOXES = Kind(
    "mailboxes",
    Mailbox.username,
    {
        "username": Mailbox.username,
        "name": Mailbox.name,
        "domain": Mailbox.domain,
        "quota": Mailbox.quota,
        "created": Mailbox.created,
        "modified": Mailbox.modified,
        "active": Mailbox.active,
    },
    "username",
    [Mailbox.username, Mailbox.name],
)
ALIASES = Kind(
    "aliases",
    Alias.address,
    {
        "address": Alias.address,
        "goto": Alias.goto,
        "domain": Alias.domain,
        "created": Alias.created,
        "modified": Alias.modified,
        "active": Alias.active,
    },
    "address",
    [Alias.address, Alias.goto],
)
ALIAS_DOMAINS = Kind(
    "alias domains",
    AliasDomain.alias_domain,
    {
        "alias_domain": AliasDomain.alias_domain,
        "target_domain": AliasDomain.target_domain,
        "created": AliasDomain.created,
        "modified": AliasDomain.modified,
        "active": AliasDomain.active,
    },
    "alias_domain",
    [AliasDomain.alias_domain, AliasDomain.target_domain],
)
ADMINS = Kind(
    "admins",
    Admin.username,
    {
        "username": Admin.username,
        "superadmin": Admin.superadmin,
        "created": Admin.created,
        "modified": Admin.modified,
        "active": Admin.active,
    },
    "username",
    [Admin.username],
)


def _plain(_session: Session, rows: Sequence[Base]) -> list[Record]:
    return [record(row) for row in rows]


def _scope(
    session: Session, actor: Actor, column: InstrumentedAttribute[str], domain: str | None
) -> ColumnElement[bool] | None:
    """WHERE ``column`` is ``domain`` (checked) or one of the actor's domains (None: all)."""
    if domain is not None:
        name = rules.domain_name(domain)
        require_manages(actor, name)
        domain_row(session, name)
        return column == name
    domains = managed_domains(actor)
    return None if domains is None else column.in_(domains)


def page_domains(session: Session, actor: Actor, query: ListQuery) -> Page[Record]:
    """Domains, each with ``usage`` (mailbox_count, alias_count, quota_allocated) as
    :func:`vmail.admin.domains.usage` counts it: three grouped queries for the page."""
    base = select(Domain)
    domains = managed_domains(actor)
    if domains is not None:
        base = base.where(Domain.domain.in_(domains))
    return fetch_page(session, DOMAINS, query, base, _with_usage)


def _with_usage(session: Session, rows: Sequence[Domain]) -> list[Record]:
    names = [row.domain for row in rows]
    boxes = {
        domain: (count, int(quota or 0))
        for domain, count, quota in session.execute(
            select(Mailbox.domain, func.count(), func.coalesce(func.sum(Mailbox.quota), 0))
            .where(Mailbox.domain.in_(names))
            .group_by(Mailbox.domain)
        )
    }
    aliases = dict(
        session.execute(
            select(Alias.domain, func.count())
            .where(Alias.domain.in_(names), ~exists().where(Mailbox.username == Alias.address))
            .group_by(Alias.domain)
        ).all()
    )
    return [
        record(
            row,
            usage={
                "mailbox_count": boxes.get(row.domain, (0, 0))[0],
                "alias_count": aliases.get(row.domain, 0),
                "quota_allocated": boxes.get(row.domain, (0, 0))[1],
            },
        )
        for row in rows
    ]


def page_mailboxes(
    session: Session,
    actor: Actor,
    query: ListQuery,
    domain: str | None = None,
    mail_root: Path | None = None,
) -> Page[Record]:
    """Mailboxes with ``usage_bytes``/``usage_messages`` from ``maildirsize`` (None: unknown)."""
    base = select(Mailbox)
    condition = _scope(session, actor, Mailbox.domain, domain)
    if condition is not None:
        base = base.where(condition)

    def records(_session: Session, rows: Sequence[Mailbox]) -> list[Record]:
        return [record(row, **usage_fields(maildir_usage(mail_root, row.maildir))) for row in rows]

    return fetch_page(session, MAILBOXES, query, base, records)


def page_aliases(
    session: Session,
    actor: Actor,
    query: ListQuery,
    domain: str | None = None,
    include_mailbox_aliases: bool = False,
) -> Page[Record]:
    """Aliases (catch-alls included); a mailbox's own alias row only when asked for."""
    base = select(Alias)
    condition = _scope(session, actor, Alias.domain, domain)
    if condition is not None:
        base = base.where(condition)
    if not include_mailbox_aliases:
        base = base.where(~exists().where(Mailbox.username == Alias.address))
    return fetch_page(session, ALIASES, query, base, _plain)


def page_alias_domains(
    session: Session, actor: Actor, query: ListQuery, domain: str | None = None
) -> Page[Record]:
    """Alias domains from or to ``domain``; a domain admin's only when both sides are theirs."""
    base = select(AliasDomain)
    if domain is not None:
        name = rules.domain_name(domain)
        require_manages(actor, name)
        base = base.where(or_(AliasDomain.alias_domain == name, AliasDomain.target_domain == name))
    domains = managed_domains(actor)
    if domains is not None:
        base = base.where(
            AliasDomain.alias_domain.in_(domains), AliasDomain.target_domain.in_(domains)
        )
    return fetch_page(session, ALIAS_DOMAINS, query, base, _plain)


def page_admins(session: Session, actor: Actor, query: ListQuery) -> Page[Record]:
    """Admins with their ``domains`` (superadmins: []), fetched for the page only."""
    require_superadmin(actor, "manage admins")

    def records(session: Session, rows: Sequence[Admin]) -> list[Record]:
        names = [row.username for row in rows]
        domains: dict[str, list[str]] = {name: [] for name in names}
        pairs = session.execute(
            select(DomainAdmin.username, DomainAdmin.domain)
            .where(DomainAdmin.username.in_(names), DomainAdmin.domain != rules.ALL_DOMAINS)
            .order_by(DomainAdmin.domain)
        )
        for username, name in pairs:
            domains[username].append(name)
        return [record(row, domains=domains[row.username]) for row in rows]

    return fetch_page(session, ADMINS, query, select(Admin), records)
