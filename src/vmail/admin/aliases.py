"""Alias operations: multi-target ``goto``, catch-alls (``@domain``), mailbox forwarding.

An address is either an alias or a mailbox, never both by accident:

* ``alias add`` refuses an address that is a mailbox (or an alias already);
* a mailbox's own alias row *is* its forwarding: ``alias edit user@d --goto user@d,x@y``
  keeps a copy and forwards, ``--goto x@y`` forwards only (PostfixAdmin's "forward only"),
  ``--goto user@d`` resets it. It is activated with the mailbox, and it cannot be deleted
  on its own (delete the mailbox). Its vacation target (``local#domain@autoreply…``,
  see :mod:`vmail.admin.vacation`) is kept when the forwarding is changed: the vacation
  settings add and remove it;
* a plain alias may not list itself among its targets (a loop). Targets may be external.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AlreadyExistsError, InvalidError, NotFoundError
from vmail.admin.guards import check_alias_limit, domain_row, managed_domains, require_manages
from vmail.admin.records import Record, record
from vmail.admin.vacation import is_autoreply_target
from vmail.directory.models import Alias, Mailbox

Targets = str | Iterable[str]


def _target(actor: Actor, address: str) -> tuple[str, str]:
    stored = rules.alias_address(address)
    domain = rules.split_address(stored)[1]
    require_manages(actor, domain)
    return stored, domain


def _is_mailbox(session: Session, address: str) -> bool:
    return session.get(Mailbox, address) is not None


def _targets(address: str, goto: Targets, *, mailbox: bool) -> str:
    targets = rules.goto_list(goto)
    if not mailbox and address in targets:
        raise InvalidError(f"alias {address} cannot forward to itself")
    return ",".join(targets)


def alias_row(session: Session, address: str) -> Alias:
    row = session.get(Alias, address)
    if row is None:
        raise NotFoundError(f"alias not found: {address}")
    return row


def add(
    session: Session, actor: Actor, address: str, goto: Targets, *, active: bool = True
) -> Record:
    stored, domain = _target(actor, address)
    targets = _targets(stored, goto, mailbox=False)
    row = domain_row(session, domain, lock=True)
    if _is_mailbox(session, stored):
        raise AlreadyExistsError(
            f"{stored} is a mailbox: set its forwarding with 'alias edit {stored} --goto ...'"
        )
    if session.get(Alias, stored) is not None:
        raise AlreadyExistsError(f"alias already exists: {stored}")
    check_alias_limit(session, row)
    alias = Alias(address=stored, goto=targets, domain=domain, active=active)
    session.add(alias)
    session.flush()
    audit.record(session, actor, domain, "create_alias", f"{stored} -> {targets}")
    return record(alias)


def edit(
    session: Session,
    actor: Actor,
    address: str,
    *,
    goto: Targets | None = None,
    active: bool | None = None,
) -> Record:
    stored, domain = _target(actor, address)
    mailbox = _is_mailbox(session, stored)
    targets = None if goto is None else _targets(stored, goto, mailbox=mailbox)
    if active is not None and mailbox:
        raise InvalidError(
            f"{stored} is a mailbox: its forwarding is active with it"
            f" (use 'mailbox edit {stored} --active/--inactive')"
        )
    alias = alias_row(session, stored)
    changed: dict[str, object] = {}
    if targets is not None and mailbox:
        kept = [t for t in alias.goto.split(",") if is_autoreply_target(stored, t)]
        targets = ",".join([t for t in targets.split(",") if t not in kept] + kept)
    if targets is not None:
        alias.goto = changed["goto"] = targets
    if active is not None:
        alias.active = active
        changed["active"] = active
    session.flush()
    audit.record(session, actor, domain, "edit_alias", f"{stored} " + audit.changes(changed))
    return record(alias)


def delete_alias(session: Session, actor: Actor, address: str) -> None:
    stored, domain = _target(actor, address)
    if _is_mailbox(session, stored):
        raise InvalidError(
            f"{stored} is a mailbox: delete the mailbox, or reset its forwarding with"
            f" 'alias edit {stored} --goto {stored}'"
        )
    session.delete(alias_row(session, stored))
    session.flush()
    audit.record(session, actor, domain, "delete_alias", stored)


def list_aliases(
    session: Session, actor: Actor, domain: str | None = None, *, mailboxes: bool = False
) -> list[Record]:
    """Aliases, without mailboxes' own alias rows unless ``mailboxes``."""
    query = select(Alias).order_by(Alias.domain, Alias.address)
    if domain is not None:
        name = rules.domain_name(domain)
        require_manages(actor, name)
        domain_row(session, name)
        query = query.where(Alias.domain == name)
    else:
        domains = managed_domains(actor)
        if domains is not None:
            query = query.where(Alias.domain.in_(domains))
    if not mailboxes:
        query = query.where(Alias.address.not_in(select(Mailbox.username)))
    return [record(row) for row in session.scalars(query)]


def show(session: Session, actor: Actor, address: str) -> Record:
    stored, _ = _target(actor, address)
    return record(alias_row(session, stored))
