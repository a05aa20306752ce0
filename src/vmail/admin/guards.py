"""Checks shared by the operations: authorization, existence, domain limits and quotas."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from vmail.admin.actor import Actor
from vmail.admin.errors import ForbiddenError, LimitExceededError, NotFoundError
from vmail.admin.rules import MB
from vmail.directory.models import Alias, Domain, Mailbox


def require_superadmin(actor: Actor, what: str) -> None:
    if not actor.is_superadmin:
        raise ForbiddenError(f"{actor.username} may not {what}: only a superadmin may")


def require_manages(actor: Actor, domain: str) -> None:
    """Refuse before looking anything up, so a domain admin learns nothing of others."""
    if not actor.manages(domain):
        raise ForbiddenError(f"{actor.username} may not manage domain {domain}")


def domain_row(session: Session, name: str, *, lock: bool = False) -> Domain:
    """The domain row (locked for the transaction when ``lock``), or NotFoundError."""
    row = session.get(Domain, name, with_for_update=lock or None)
    if row is None:
        raise NotFoundError(f"domain not found: {name}")
    return row


def managed_domains(actor: Actor) -> list[str] | None:
    """None for "every domain", else the actor's domains."""
    return None if actor.is_superadmin else sorted(actor.domains)


def check_mailbox_limit(session: Session, domain: Domain) -> None:
    limit = domain.mailboxes
    if limit == -1:
        raise LimitExceededError(f"domain {domain.domain} may not have mailboxes (limit -1)")
    if limit > 0:
        count = session.scalar(
            select(func.count()).select_from(Mailbox).where(Mailbox.domain == domain.domain)
        )
        if (count or 0) >= limit:
            raise LimitExceededError(
                f"domain {domain.domain} has reached its limit of {limit} mailboxes"
            )


def check_alias_limit(session: Session, domain: Domain) -> None:
    """As PostfixAdmin, a mailbox's own alias row does not count as an alias."""
    limit = domain.aliases
    if limit == -1:
        raise LimitExceededError(f"domain {domain.domain} may not have aliases (limit -1)")
    if limit > 0:
        mailboxes = select(Mailbox.username).where(Mailbox.domain == domain.domain)
        count = session.scalar(
            select(func.count())
            .select_from(Alias)
            .where(Alias.domain == domain.domain, Alias.address.not_in(mailboxes))
        )
        if (count or 0) >= limit:
            raise LimitExceededError(
                f"domain {domain.domain} has reached its limit of {limit} aliases"
            )


def check_quota(session: Session, domain: Domain, username: str, quota: int) -> None:
    """A mailbox quota (bytes) against the domain's per-mailbox and total quotas (MB).

    With either domain quota set, an unlimited (0) mailbox is refused: it could use more
    than the domain allows. Other mailboxes' quotas count toward the total; the mailbox
    being changed (``username``) does not.
    """
    if domain.maxquota > 0:
        if quota == 0:
            raise LimitExceededError(
                f"domain {domain.domain} limits mailboxes to {domain.maxquota} MB each:"
                " an unlimited quota is not allowed"
            )
        if quota > domain.maxquota * MB:
            raise LimitExceededError(
                f"quota {mb(quota)} MB exceeds domain {domain.domain}'s maximum of"
                f" {domain.maxquota} MB per mailbox"
            )
    if domain.quota > 0:
        if quota == 0:
            raise LimitExceededError(
                f"domain {domain.domain} has a total quota of {domain.quota} MB:"
                " an unlimited mailbox quota is not allowed"
            )
        used = session.scalar(
            select(func.coalesce(func.sum(Mailbox.quota), 0)).where(
                Mailbox.domain == domain.domain, Mailbox.username != username
            )
        )
        used = int(used or 0)
        if used + quota > domain.quota * MB:
            raise LimitExceededError(
                f"quota {mb(quota)} MB exceeds what is left of domain {domain.domain}'s total"
                f" quota of {domain.quota} MB ({mb(used)} MB given to other mailboxes)"
            )


def mb(size: int) -> str:
    """Bytes as MB for messages: ``10``, or ``9.77`` when not a whole number."""
    whole, rest = divmod(size, MB)
    return str(whole) if rest == 0 else f"{size / MB:.2f}"
