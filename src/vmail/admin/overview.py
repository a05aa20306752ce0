"""Dashboard figures: how many domains, mailboxes, aliases and alias domains the actor
sees, and the quota allocated to (and, when the mail store can tell, used by) them.

Aliases are counted without mailboxes' own alias rows, as PostfixAdmin counts them.
Used quota is read from the mailboxes' ``maildirsize`` files, so only up to
:data:`USAGE_SCAN_LIMIT` mailboxes; above that (or without a mail root) it is None.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vmail.admin.actor import Actor
from vmail.admin.guards import managed_domains
from vmail.admin.usage import maildir_usage
from vmail.directory.models import Alias, AliasDomain, Domain, Mailbox

USAGE_SCAN_LIMIT = 2000


def _in(column: InstrumentedAttribute[str], domains: list[str] | None) -> list[ColumnElement[bool]]:
    return [] if domains is None else [column.in_(domains)]


def overview(session: Session, actor: Actor, mail_root: Path | None = None) -> dict[str, Any]:
    """``domains``, ``mailboxes``, ``aliases``, ``alias_domains`` (counts),
    ``quota_allocated`` (bytes; unlimited mailboxes count 0), ``quota_used`` and
    ``messages`` (None when unknown)."""
    domains = managed_domains(actor)

    def count(*where: ColumnElement[bool], model: Any) -> int:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    mailboxes = count(*_in(Mailbox.domain, domains), model=Mailbox)
    used: int | None = None
    messages: int | None = None
    if mail_root is not None and mailboxes <= USAGE_SCAN_LIMIT:
        used = messages = 0
        for maildir in session.scalars(
            select(Mailbox.maildir).where(*_in(Mailbox.domain, domains))
        ):
            usage = maildir_usage(mail_root, maildir)
            if usage is not None:
                used += usage[0]
                messages += usage[1]
    allocated = session.scalar(
        select(func.coalesce(func.sum(Mailbox.quota), 0)).where(*_in(Mailbox.domain, domains))
    )
    return {
        "domains": count(*_in(Domain.domain, domains), model=Domain),
        "mailboxes": mailboxes,
        "aliases": count(
            *_in(Alias.domain, domains),
            ~exists().where(Mailbox.username == Alias.address),
            model=Alias,
        ),
        "alias_domains": count(
            *_in(AliasDomain.alias_domain, domains),
            *_in(AliasDomain.target_domain, domains),
            model=AliasDomain,
        ),
        "quota_allocated": int(allocated or 0),
        "quota_used": used,
        "messages": messages,
    }
