"""Mailbox operations. A mailbox is two rows, as PostfixAdmin makes it: the ``mailbox`` row
and its own ``alias`` row (``address = goto = user@domain``), which the usual Postfix alias
queries need to accept mail for it. That alias row is the mailbox's *forwarding*: see
:mod:`vmail.admin.aliases`.

``maildir`` is ``domain/local_part/`` (PostfixAdmin's ``domain_path = YES``,
``domain_in_mailbox = NO``). Files on disk are not touched: the Maildir is created on
first delivery and left in place when the mailbox is deleted.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from vmail.admin import aliases, audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AlreadyExistsError, NotFoundError
from vmail.admin.guards import (
    check_mailbox_limit,
    check_quota,
    domain_row,
    managed_domains,
    require_manages,
)
from vmail.admin.records import Record, record
from vmail.auth.passwords import hash_password
from vmail.directory.models import Alias, Mailbox, Quota2, Vacation, VacationNotification


def _target(actor: Actor, address: str) -> tuple[str, str, str]:
    username = rules.address(address)
    local, domain = rules.split_address(username)
    require_manages(actor, domain)
    return username, local, domain


def mailbox_row(session: Session, username: str) -> Mailbox:
    row = session.get(Mailbox, username)
    if row is None:
        raise NotFoundError(f"mailbox not found: {username}")
    return row


def add(
    session: Session,
    actor: Actor,
    address: str,
    password: str,
    *,
    name: str = "",
    quota: int | None = None,
    active: bool = True,
) -> Record:
    """Create a mailbox; ``quota`` in bytes, default the domain's maxquota (0 = unlimited)."""
    username, local, domain = _target(actor, address)
    name = rules.text_field(name, "name")
    plain = rules.password(password)
    row = domain_row(session, domain, lock=True)
    if session.get(Mailbox, username) is not None:
        raise AlreadyExistsError(f"mailbox already exists: {username}")
    if session.get(Alias, username) is not None:
        raise AlreadyExistsError(f"{username} is already an alias: delete the alias first")
    check_mailbox_limit(session, row)
    size = row.maxquota * rules.MB if quota is None else quota
    check_quota(session, row, username, rules.megabytes(size, "quota"))
    mailbox = Mailbox(
        username=username,
        password=hash_password(plain),
        name=name,
        maildir=f"{domain}/{local}/",
        quota=size,
        local_part=local,
        domain=domain,
        active=active,
    )
    session.add(mailbox)
    session.add(Alias(address=username, goto=username, domain=domain, active=active))
    session.flush()
    audit.record(
        session,
        actor,
        domain,
        "create_mailbox",
        audit.changes({"username": username, "name": name, "quota": size, "active": active}),
    )
    return record(mailbox)


def edit(
    session: Session,
    actor: Actor,
    address: str,
    *,
    name: str | None = None,
    quota: int | None = None,
    active: bool | None = None,
    password: str | None = None,
    goto: aliases.Targets | None = None,
) -> Record:
    """Change the given fields (None = keep); (de)activating also (de)activates its alias;
    ``goto`` replaces its forwarding (its own alias row's targets) in the same transaction."""
    username, _, domain = _target(actor, address)
    changed: dict[str, object] = {}
    if name is not None:
        changed["name"] = rules.text_field(name, "name")
    hashed = None if password is None else hash_password(rules.password(password))
    row = domain_row(session, domain, lock=True)
    mailbox = mailbox_row(session, username)
    if quota is not None:
        check_quota(session, row, username, rules.megabytes(quota, "quota"))
        changed["quota"] = quota
    if active is not None:
        changed["active"] = active
        alias = session.get(Alias, username)
        if alias is not None:
            alias.active = active
    for key, value in changed.items():
        setattr(mailbox, key, value)
    if hashed is not None:
        mailbox.password = hashed
        changed["password"] = "(changed)"
    session.flush()
    audit.record(
        session, actor, domain, "edit_mailbox", audit.changes({"username": username} | changed)
    )
    if goto is not None:
        aliases.edit(session, actor, username, goto=goto)
    return record(mailbox)


def set_password(session: Session, actor: Actor, address: str, password: str) -> None:
    username, _, domain = _target(actor, address)
    hashed = hash_password(rules.password(password))
    mailbox = mailbox_row(session, username)
    mailbox.password = hashed
    session.flush()
    audit.record(session, actor, domain, "edit_password", username)


def delete_mailbox(session: Session, actor: Actor, address: str) -> None:
    """Delete the mailbox with its alias row, vacation and quota2 rows.

    Other aliases that forward to it are left alone (as PostfixAdmin does).
    """
    username, _, domain = _target(actor, address)
    domain_row(session, domain, lock=True)
    mailbox = mailbox_row(session, username)
    session.execute(
        delete(VacationNotification).where(VacationNotification.on_vacation == username)
    )
    session.execute(delete(Vacation).where(Vacation.email == username))
    session.execute(delete(Quota2).where(Quota2.username == username))
    session.execute(delete(Alias).where(Alias.address == username))
    session.delete(mailbox)
    session.flush()
    audit.record(session, actor, domain, "delete_mailbox", username)


def list_mailboxes(session: Session, actor: Actor, domain: str | None = None) -> list[Record]:
    query = select(Mailbox).order_by(Mailbox.domain, Mailbox.username)
    if domain is not None:
        name = rules.domain_name(domain)
        require_manages(actor, name)
        domain_row(session, name)
        query = query.where(Mailbox.domain == name)
    else:
        domains = managed_domains(actor)
        if domains is not None:
            query = query.where(Mailbox.domain.in_(domains))
    return [record(row) for row in session.scalars(query)]


def show(session: Session, actor: Actor, address: str) -> Record:
    username, _, _ = _target(actor, address)
    return record(mailbox_row(session, username))


def upgrade_hash(session: Session, username: str, old_hash: str, new_hash: str) -> bool:
    """Store a re-hashed password (after a login proved it), unless it changed meanwhile.

    Called for the authentication service's optional re-hash to the current scheme; the
    compare-and-swap keeps a password set by an admin in the meantime. Not logged: the
    password itself did not change.
    """
    mailbox = session.get(Mailbox, username.lower(), with_for_update=True)
    if mailbox is None or mailbox.password != old_hash:
        return False
    mailbox.password = new_hash
    return True
