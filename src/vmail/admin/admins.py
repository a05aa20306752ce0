"""Admin accounts: superadmins and domain admins (``admin`` + ``domain_admins`` rows).

A superadmin has ``admin.superadmin = 1`` *and* a ``domain_admins`` row for the pseudo-domain
``ALL``, as PostfixAdmin 3.3 writes it (older PostfixAdmin code reads only the latter). A
domain admin has one ``domain_admins`` row per domain. Only superadmins (and the CLI) manage
admins; nobody can delete, deactivate or demote themselves.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AlreadyExistsError, ForbiddenError, InvalidError, NotFoundError
from vmail.admin.guards import domain_row, require_superadmin
from vmail.admin.records import Record, record
from vmail.auth.passwords import hash_password, verify_password
from vmail.directory.models import Admin, DomainAdmin, TotpState


def admin_row(session: Session, username: str) -> Admin:
    row = session.get(Admin, username)
    if row is None:
        raise NotFoundError(f"admin not found: {username}")
    return row


def _domains(session: Session, username: str) -> list[str]:
    return list(
        session.scalars(
            select(DomainAdmin.domain)
            .where(DomainAdmin.username == username)
            .order_by(DomainAdmin.domain)
        )
    )


def _record(session: Session, row: Admin) -> Record:
    domains = [d for d in _domains(session, row.username) if d != rules.ALL_DOMAINS]
    return record(row, domains=domains)


def _check_domains(session: Session, domains: Iterable[str]) -> list[str]:
    names = sorted({rules.domain_name(d) for d in domains})
    for name in names:
        domain_row(session, name)
    return names


def _set_domains(session: Session, username: str, domains: list[str], active: bool) -> None:
    session.execute(delete(DomainAdmin).where(DomainAdmin.username == username))
    for domain in domains:
        session.add(DomainAdmin(username=username, domain=domain, active=active))


def add(
    session: Session,
    actor: Actor,
    username: str,
    password: str,
    *,
    superadmin: bool = False,
    domains: Iterable[str] = (),
    active: bool = True,
) -> Record:
    require_superadmin(actor, "manage admins")
    name = rules.address(username)
    plain = rules.password(password)
    domains = list(domains)
    if superadmin and domains:
        raise InvalidError(
            "a superadmin manages every domain: give superadmin or domains, not both"
        )
    if not superadmin and not domains:
        raise InvalidError(f"admin {name} needs at least one domain (or superadmin rights)")
    if session.get(Admin, name) is not None:
        raise AlreadyExistsError(f"admin already exists: {name}")
    names = [rules.ALL_DOMAINS] if superadmin else _check_domains(session, domains)
    row = Admin(username=name, password=hash_password(plain), superadmin=superadmin, active=active)
    session.add(row)
    session.flush()
    _set_domains(session, name, names, active)
    session.flush()
    audit.record(
        session,
        actor,
        "",
        "create_admin",
        audit.changes({"username": name, "superadmin": superadmin, "domains": ",".join(names)}),
    )
    return _record(session, row)


def edit(
    session: Session,
    actor: Actor,
    username: str,
    *,
    password: str | None = None,
    superadmin: bool | None = None,
    domains: Iterable[str] | None = None,
    active: bool | None = None,
) -> Record:
    """Change the given fields. ``domains`` replaces the domain list (and clears superadmin)."""
    require_superadmin(actor, "manage admins")
    name = rules.address(username)
    hashed = None if password is None else hash_password(rules.password(password))
    row = admin_row(session, name)
    if superadmin and domains is not None:
        raise InvalidError(
            "a superadmin manages every domain: give superadmin or domains, not both"
        )
    if name == actor.username and (superadmin is False or domains is not None or active is False):
        raise ForbiddenError(f"{name} may not remove their own rights")
    changed: dict[str, object] = {}
    new_active = row.active if active is None else active
    current = _domains(session, name)
    if superadmin:
        names = [rules.ALL_DOMAINS]
    elif domains is not None:
        names = _check_domains(session, domains)
        if not names:
            raise InvalidError(f"admin {name} needs at least one domain (or superadmin rights)")
    elif superadmin is False:
        names = [d for d in current if d != rules.ALL_DOMAINS]
        if not names:
            raise InvalidError(
                f"admin {name} would have no domains: give domains with superadmin off"
            )
    else:
        names = current
    if superadmin is not None or domains is not None:
        row.superadmin = names == [rules.ALL_DOMAINS]
        changed["superadmin"] = row.superadmin
        changed["domains"] = ",".join(names)
    if active is not None:
        row.active = active
        changed["active"] = active
    if hashed is not None:
        row.password = hashed
        changed["password"] = "(changed)"
    if names != current or active is not None:
        _set_domains(session, name, names, new_active)
    session.flush()
    audit.record(session, actor, "", "edit_admin", audit.changes({"username": name} | changed))
    return _record(session, row)


def delete_admin(session: Session, actor: Actor, username: str) -> None:
    require_superadmin(actor, "manage admins")
    name = rules.address(username)
    if name == actor.username:
        raise ForbiddenError(f"{name} may not delete themselves")
    row = admin_row(session, name)
    session.execute(delete(DomainAdmin).where(DomainAdmin.username == name))
    session.execute(delete(TotpState).where(TotpState.username == name))
    session.delete(row)
    session.flush()
    audit.record(session, actor, "", "delete_admin", name)


def list_admins(session: Session, actor: Actor) -> list[Record]:
    require_superadmin(actor, "manage admins")
    rows = session.scalars(select(Admin).order_by(Admin.username))
    return [_record(session, row) for row in rows]


def show(session: Session, actor: Actor, username: str) -> Record:
    require_superadmin(actor, "manage admins")
    return _record(session, admin_row(session, rules.address(username)))


def actor_for(session: Session, username: str) -> Actor:
    """The principal an active admin account acts as; ForbiddenError if unknown or inactive."""
    name = username.strip().lower()
    row = session.get(Admin, name)
    if row is None or not row.active:
        raise ForbiddenError(f"{name} is not an active admin")
    rows = session.execute(
        select(DomainAdmin.domain, DomainAdmin.active).where(DomainAdmin.username == name)
    ).all()
    domains = {domain for domain, active in rows if active}
    if row.superadmin or rules.ALL_DOMAINS in domains:
        return Actor.superadmin(name)
    return Actor.domain_admin(name, domains)


def authenticate(session: Session, username: str, password: str) -> Actor:
    """:func:`actor_for` after checking the password (ForbiddenError, the same way, if wrong)."""
    name = username.strip().lower()
    row = session.get(Admin, name)
    if row is None or not row.active or not verify_password(password, row.password):
        raise ForbiddenError("wrong admin username or password")
    return actor_for(session, name)
