"""Domain operations: add, edit, delete (with everything that belongs to it), list, show."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, Delete, delete, func, or_, select
from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AlreadyExistsError, InvalidError
from vmail.admin.guards import domain_row, managed_domains, require_manages, require_superadmin
from vmail.admin.records import Record, record
from vmail.directory.models import (
    Alias,
    AliasDomain,
    Domain,
    DomainAdmin,
    Mailbox,
    Quota2,
    Vacation,
    VacationNotification,
)


def _check_quotas(domain: str, maxquota: int, quota: int) -> None:
    if quota > 0 and maxquota > quota:
        raise InvalidError(
            f"domain {domain}: per-mailbox maxquota ({maxquota} MB) exceeds the domain's"
            f" total quota ({quota} MB)"
        )


def add(
    session: Session,
    actor: Actor,
    name: str,
    *,
    description: str = "",
    aliases: int = 0,
    mailboxes: int = 0,
    maxquota: int = 0,
    quota: int = 0,
    transport: str | None = None,
    backupmx: bool = False,
    active: bool = True,
) -> Record:
    require_superadmin(actor, "create domains")
    domain = rules.domain_name(name)
    row = Domain(
        domain=domain,
        description=rules.text_field(description, "description"),
        aliases=rules.limit(aliases, "aliases"),
        mailboxes=rules.limit(mailboxes, "mailboxes"),
        maxquota=rules.megabytes(maxquota, "maxquota"),
        quota=rules.megabytes(quota, "quota"),
        transport=rules.transport(transport),
        backupmx=backupmx,
        active=active,
    )
    _check_quotas(domain, row.maxquota, row.quota)
    if session.get(Domain, domain) is not None:
        raise AlreadyExistsError(f"domain already exists: {domain}")
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        domain,
        "create_domain",
        audit.changes({"domain": domain} | _settings(row)),
    )
    return record(row)


def edit(
    session: Session,
    actor: Actor,
    name: str,
    *,
    description: str | None = None,
    aliases: int | None = None,
    mailboxes: int | None = None,
    maxquota: int | None = None,
    quota: int | None = None,
    transport: str | None = None,
    backupmx: bool | None = None,
    active: bool | None = None,
) -> Record:
    """Change the given settings (None = keep); ``transport=''`` clears the transport.

    Lowering a limit below what the domain already uses is allowed (as in PostfixAdmin):
    it only stops new mailboxes/aliases/quota.
    """
    require_superadmin(actor, "edit domains")
    row = domain_row(session, rules.domain_name(name), lock=True)
    changed: dict[str, object] = {}
    if description is not None:
        changed["description"] = rules.text_field(description, "description")
    if aliases is not None:
        changed["aliases"] = rules.limit(aliases, "aliases")
    if mailboxes is not None:
        changed["mailboxes"] = rules.limit(mailboxes, "mailboxes")
    new_maxquota = row.maxquota if maxquota is None else rules.megabytes(maxquota, "maxquota")
    new_quota = row.quota if quota is None else rules.megabytes(quota, "quota")
    if maxquota is not None:
        changed["maxquota"] = new_maxquota
    if quota is not None:
        changed["quota"] = new_quota
    if transport is not None:
        changed["transport"] = rules.transport(transport)
    if backupmx is not None:
        changed["backupmx"] = backupmx
    if active is not None:
        changed["active"] = active
    _check_quotas(row.domain, new_maxquota, new_quota)
    for key, value in changed.items():
        setattr(row, key, value)
    session.flush()
    audit.record(session, actor, row.domain, "edit_domain", audit.changes(changed))
    return record(row)


def delete_domain(session: Session, actor: Actor, name: str) -> dict[str, int]:
    """Delete the domain and all it owns; returns how many rows of each kind went."""
    require_superadmin(actor, "delete domains")
    row = domain_row(session, rules.domain_name(name), lock=True)
    domain = row.domain
    users = select(Mailbox.username).where(Mailbox.domain == domain)
    vacations = select(Vacation.email).where(Vacation.domain == domain)

    def remove(statement: Delete) -> int:
        result = cast("CursorResult[Any]", session.execute(statement))
        return int(result.rowcount or 0)

    counts = {
        "quota2": remove(
            delete(Quota2).where(
                or_(Quota2.username.in_(users), Quota2.username.like(f"%@{domain}"))
            )
        ),
        "vacation_notification": remove(
            delete(VacationNotification).where(VacationNotification.on_vacation.in_(vacations))
        ),
        "vacation": remove(delete(Vacation).where(Vacation.domain == domain)),
        "alias": remove(delete(Alias).where(Alias.domain == domain)),
        "mailbox": remove(delete(Mailbox).where(Mailbox.domain == domain)),
        "alias_domain": remove(
            delete(AliasDomain).where(
                or_(AliasDomain.alias_domain == domain, AliasDomain.target_domain == domain)
            )
        ),
        "domain_admins": remove(delete(DomainAdmin).where(DomainAdmin.domain == domain)),
    }
    session.delete(row)
    session.flush()
    audit.record(
        session, actor, domain, "delete_domain", audit.changes({"domain": domain, **counts})
    )
    return counts


def list_domains(session: Session, actor: Actor) -> list[Record]:
    query = select(Domain).order_by(Domain.domain)
    domains = managed_domains(actor)
    if domains is not None:
        query = query.where(Domain.domain.in_(domains))
    return [record(row) for row in session.scalars(query)]


def domain_names(session: Session, actor: Actor) -> list[str]:
    """The names of the domains the actor manages, sorted (for forms and filters)."""
    query = select(Domain.domain).order_by(Domain.domain)
    domains = managed_domains(actor)
    if domains is not None:
        query = query.where(Domain.domain.in_(domains))
    return list(session.scalars(query))


def show(session: Session, actor: Actor, name: str) -> Record:
    domain = rules.domain_name(name)
    require_manages(actor, domain)
    return record(domain_row(session, domain))


def usage(session: Session, actor: Actor, name: str) -> dict[str, int]:
    """How much of its limits a domain uses: mailboxes, aliases, allocated quota (bytes)."""
    domain = rules.domain_name(name)
    require_manages(actor, domain)
    domain_row(session, domain)
    users = select(Mailbox.username).where(Mailbox.domain == domain)
    return {
        "mailbox_count": session.scalar(
            select(func.count()).select_from(Mailbox).where(Mailbox.domain == domain)
        )
        or 0,
        "alias_count": session.scalar(
            select(func.count())
            .select_from(Alias)
            .where(Alias.domain == domain, Alias.address.not_in(users))
        )
        or 0,
        "quota_allocated": int(
            session.scalar(
                select(func.coalesce(func.sum(Mailbox.quota), 0)).where(Mailbox.domain == domain)
            )
            or 0
        ),
    }


def _settings(row: Domain) -> dict[str, object]:
    return {
        "description": row.description,
        "aliases": row.aliases,
        "mailboxes": row.mailboxes,
        "maxquota": row.maxquota,
        "quota": row.quota,
        "transport": row.transport,
        "backupmx": row.backupmx,
        "active": row.active,
    }
