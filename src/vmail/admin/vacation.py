"""Vacation (out-of-office) messages, stored exactly as PostfixAdmin stores them.

PostfixAdmin's ``VacationHandler`` (3.3) keeps one ``vacation`` row per mailbox (email,
domain, subject, body, activefrom, activeuntil, interval_time, active, cache '') and makes
mail reach the autoresponder through the mailbox's own alias row: while the vacation is
active, ``goto`` also lists ``local#domain@<vacation_domain>`` (the address with ``@``
turned into ``#``, at the domain routed to the ``vacation`` transport); when it is not,
that target is removed. Setting a vacation clears ``vacation_notification`` (who was
already answered), so a new absence answers everyone again.

vmail does the same, in one transaction. The autoreply domain is the service's
``vacation_domain`` setting; unset, it is ``autoreply.<the mailbox's domain>``
(PostfixAdmin's own default is a placeholder to change). The dates are stored as given
(aware times converted to UTC, naive ones kept): the autoresponder compares them.
A user may read and change only their own vacation; admins those of mailboxes they manage.
Changes are logged ``edit_vacation``.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import ForbiddenError, InvalidError
from vmail.admin.guards import require_manages
from vmail.admin.mailboxes import mailbox_row
from vmail.admin.records import Record, record
from vmail.directory.models import EPOCH, FAR_FUTURE, Alias, Vacation, VacationNotification

MAX_BODY = 65000
FIELDS = ("email", "subject", "body", "activefrom", "activeuntil", "interval_time", "active")


def _target(actor: Actor, address: str) -> tuple[str, str]:
    username = rules.address(address)
    domain = rules.split_address(username)[1]
    if actor.kind == "user":
        if actor.username != username:
            raise ForbiddenError(f"{actor.username} may only change their own vacation")
    else:
        require_manages(actor, domain)
    return username, domain


def autoreply_address(username: str, vacation_domain: str | None) -> str:
    """``local#domain@vacation_domain``, PostfixAdmin's vacation target for a mailbox."""
    domain = rules.split_address(username)[1]
    return f"{username.replace('@', '#')}@{vacation_domain or 'autoreply.' + domain}"


def is_autoreply_target(username: str, target: str) -> bool:
    """Whether an alias target is ``username``'s vacation address (at any autoreply domain)."""
    return target.startswith(username.replace("@", "#") + "@")


def _fields(row: Vacation | None, username: str) -> Record:
    if row is None:
        return {
            "email": username,
            "subject": "",
            "body": "",
            "activefrom": EPOCH,
            "activeuntil": FAR_FUTURE,
            "interval_time": 0,
            "active": False,
        }
    values = record(row)
    return {key: values[key] for key in FIELDS}


def get_vacation(session: Session, actor: Actor, address: str) -> Record:
    """The vacation settings (defaults, inactive, when none were ever set)."""
    username, _ = _target(actor, address)
    mailbox_row(session, username)
    return _fields(session.get(Vacation, username), username)


def _naive(value: datetime | None, default: datetime) -> datetime:
    if value is None:
        return default
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def set_vacation(
    session: Session,
    actor: Actor,
    address: str,
    *,
    subject: str,
    body: str,
    active_from: datetime | None = None,
    active_until: datetime | None = None,
    interval_time: int = 0,
    active: bool = True,
    vacation_domain: str | None = None,
) -> Record:
    """Store the vacation and keep the mailbox's alias row consistent with ``active``."""
    username, domain = _target(actor, address)
    subject = rules.text_field(subject, "subject")
    if len(body) > MAX_BODY or "\0" in body:
        raise InvalidError(f"vacation body must be at most {MAX_BODY} characters, without NUL")
    if active and not body.strip():
        raise InvalidError("an active vacation needs a message body")
    if interval_time < 0:
        raise InvalidError(f"invalid interval_time {interval_time}: seconds, 0 or more")
    start, end = _naive(active_from, EPOCH), _naive(active_until, FAR_FUTURE)
    if end <= start:
        raise InvalidError("the vacation must end after it starts (active_until > active_from)")
    mailbox_row(session, username)
    row = session.get(Vacation, username)
    if row is None:
        row = Vacation(email=username, cache="")
        session.add(row)
    row.domain, row.subject, row.body = domain, subject, body
    row.activefrom, row.activeuntil = start, end
    row.interval_time, row.active = interval_time, active
    session.execute(
        delete(VacationNotification).where(VacationNotification.on_vacation == username)
    )
    _update_alias(session, username, autoreply_address(username, vacation_domain), active)
    session.flush()
    audit.record(
        session,
        actor,
        domain,
        "edit_vacation",
        audit.changes({"email": username, "active": active}),
    )
    return _fields(row, username)


def _update_alias(session: Session, username: str, autoreply: str, active: bool) -> None:
    alias = session.get(Alias, username)
    if alias is None:
        return  # no alias row: nothing routes mail to this mailbox to extend
    targets = [t for t in alias.goto.split(",") if t and not is_autoreply_target(username, t)]
    if active:
        targets.append(autoreply)
    alias.goto = ",".join(targets) or username
