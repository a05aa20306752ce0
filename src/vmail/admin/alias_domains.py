"""Alias domains: every address of one domain is an address of another (PostfixAdmin's
``alias_domain`` table, used by the how-to's ``*_catchall``/``*_alias_domain`` queries).

Rules: both domains exist; a domain is not its own alias; a domain is the alias of at most
one target (the primary key); no chains (the target is not itself an alias domain, and an
alias domain is nobody's target); a domain admin must manage both domains.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AlreadyExistsError, InvalidError, NotFoundError
from vmail.admin.guards import domain_row, managed_domains, require_manages
from vmail.admin.records import Record, record
from vmail.directory.models import AliasDomain


def _row(session: Session, alias_domain: str) -> AliasDomain:
    row = session.get(AliasDomain, alias_domain)
    if row is None:
        raise NotFoundError(f"alias domain not found: {alias_domain}")
    return row


def _check_target(session: Session, actor: Actor, alias_domain: str, target: str) -> None:
    if alias_domain == target:
        raise InvalidError(f"{alias_domain} cannot be an alias domain of itself")
    require_manages(actor, target)
    domain_row(session, target)
    chained = session.get(AliasDomain, target)
    if chained is not None:
        raise InvalidError(
            f"{target} is itself an alias domain of {chained.target_domain}:"
            " alias domains cannot be chained"
        )
    pointing = session.scalars(
        select(AliasDomain.alias_domain).where(AliasDomain.target_domain == alias_domain)
    ).first()
    if pointing is not None:
        raise InvalidError(
            f"{alias_domain} is the target of alias domain {pointing}:"
            " alias domains cannot be chained"
        )


def add(
    session: Session, actor: Actor, alias_domain: str, target_domain: str, *, active: bool = True
) -> Record:
    alias = rules.domain_name(alias_domain)
    target = rules.domain_name(target_domain)
    require_manages(actor, alias)
    require_manages(actor, target)
    domain_row(session, alias, lock=True)
    existing = session.get(AliasDomain, alias)
    if existing is not None:
        raise AlreadyExistsError(
            f"{alias} is already an alias domain (of {existing.target_domain})"
        )
    _check_target(session, actor, alias, target)
    row = AliasDomain(alias_domain=alias, target_domain=target, active=active)
    session.add(row)
    session.flush()
    audit.record(session, actor, alias, "create_alias_domain", f"{alias} -> {target}")
    return record(row)


def edit(
    session: Session,
    actor: Actor,
    alias_domain: str,
    *,
    target_domain: str | None = None,
    active: bool | None = None,
) -> Record:
    alias = rules.domain_name(alias_domain)
    require_manages(actor, alias)
    row = _row(session, alias)
    require_manages(actor, row.target_domain)
    changed: dict[str, object] = {}
    if target_domain is not None:
        target = rules.domain_name(target_domain)
        if target != row.target_domain:
            _check_target(session, actor, alias, target)
        row.target_domain = changed["target_domain"] = target
    if active is not None:
        row.active = active
        changed["active"] = active
    session.flush()
    audit.record(session, actor, alias, "edit_alias_domain", f"{alias} " + audit.changes(changed))
    return record(row)


def delete_alias_domain(session: Session, actor: Actor, alias_domain: str) -> None:
    alias = rules.domain_name(alias_domain)
    require_manages(actor, alias)
    row = _row(session, alias)
    require_manages(actor, row.target_domain)
    session.delete(row)
    session.flush()
    audit.record(session, actor, alias, "delete_alias_domain", f"{alias} -> {row.target_domain}")


def list_alias_domains(session: Session, actor: Actor, domain: str | None = None) -> list[Record]:
    """Alias domains from or to ``domain`` (or every one the actor manages)."""
    query = select(AliasDomain).order_by(AliasDomain.alias_domain)
    if domain is not None:
        name = rules.domain_name(domain)
        require_manages(actor, name)
        query = query.where(
            or_(AliasDomain.alias_domain == name, AliasDomain.target_domain == name)
        )
    domains = managed_domains(actor)
    if domains is not None:
        query = query.where(
            AliasDomain.alias_domain.in_(domains), AliasDomain.target_domain.in_(domains)
        )
    return [record(row) for row in session.scalars(query)]


def show(session: Session, actor: Actor, alias_domain: str) -> Record:
    alias = rules.domain_name(alias_domain)
    require_manages(actor, alias)
    return record(_row(session, alias))
