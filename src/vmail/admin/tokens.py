"""REST API tokens: a secret that acts as a superadmin or as a domain admin of some domains.

The secret (``vmail_`` + 32 URL-safe random characters) is returned once, by
:func:`create_token`; the database keeps only its SHA-256. A domain admin may create
tokens only for their own domains and never a superadmin token; superadmins (and the CLI)
may create both. :func:`actor_for_token` refuses (AuthenticationError, one message for
all cases) unknown, revoked and expired tokens, and those whose creating admin account was
deleted or deactivated; a domain-admin token made by an admin acts only on the domains that
admin still manages. ``last_used`` is written at most once a minute. Creation and
revocation are logged (``create_token``, ``revoke_token``), never the secret.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from sqlalchemy import Select, or_, select, update
from sqlalchemy.orm import Session

from vmail.admin import admins, audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import AuthenticationError, ForbiddenError, InvalidError, NotFoundError
from vmail.admin.guards import domain_row
from vmail.admin.listing import Kind, ListQuery, Page, fetch_page
from vmail.admin.records import Record, record
from vmail.directory.models import ApiToken

PREFIX = "vmail_"
ROLES = ("superadmin", "domain_admin")
LAST_USED_EVERY = timedelta(minutes=1)
REFUSED = "unknown, revoked or expired API token"
TOKENS = Kind(
    "API tokens",
    ApiToken.id,
    {
        "id": ApiToken.id,
        "name": ApiToken.name,
        "role": ApiToken.role,
        "created": ApiToken.created,
        "expires": ApiToken.expires,
        "last_used": ApiToken.last_used,
    },
    "id",
    [ApiToken.name, ApiToken.created_by, ApiToken.domains],
)


def now() -> datetime:
    """The current UTC time without tzinfo, as the timestamp columns store it."""
    return datetime.now(UTC).replace(tzinfo=None)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogateescape")).hexdigest()


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _record(row: ApiToken) -> Record:
    return record(row, domains=[d for d in row.domains.split(",") if d])


def create_token(
    session: Session,
    actor: Actor,
    name: str,
    role: str,
    domains: Iterable[str] = (),
    expires: datetime | None = None,
) -> tuple[Record, str]:
    """A new token and its secret (shown once)."""
    if actor.kind == "user":
        raise ForbiddenError(f"{actor.username} may not create API tokens")
    name = rules.text_field(name.strip(), "token name")
    if not name:
        raise InvalidError("an API token needs a name")
    if role not in ROLES:
        raise InvalidError(f"invalid token role {role!r}: use {' or '.join(ROLES)}")
    names = sorted({rules.domain_name(d) for d in domains})
    if role == "superadmin":
        if not actor.is_superadmin:
            raise ForbiddenError(f"{actor.username} may not create a superadmin token")
        if names:
            raise InvalidError("a superadmin token acts on every domain: give no domains")
    elif not names:
        raise InvalidError("a domain_admin token needs at least one domain")
    for domain in names:
        if not actor.manages(domain):
            raise ForbiddenError(f"{actor.username} may not manage domain {domain}")
        domain_row(session, domain)
    if expires is not None and _naive(expires) <= now():
        raise InvalidError("the token's expiry time is in the past")
    secret = PREFIX + secrets.token_urlsafe(24)  # 24 bytes: 32 characters
    row = ApiToken(
        name=name,
        secret_hash=digest(secret),
        role=role,
        domains=",".join(names),
        admin=None if actor.kind == "cli" else actor.username,
        created_by=actor.username,
        created=now(),
        expires=None if expires is None else _naive(expires),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor,
        names[0] if len(names) == 1 else "",
        "create_token",
        audit.changes({"id": row.id, "name": name, "role": role, "domains": row.domains}),
    )
    return _record(row), secret


def _visible(actor: Actor, row: ApiToken) -> bool:
    if actor.is_superadmin:
        return True
    return actor.kind == "domain_admin" and row.admin == actor.username


def _listed(actor: Actor) -> Select[ApiToken]:
    """The tokens this actor sees: every one for a superadmin, a domain admin's own."""
    if actor.kind == "user":
        raise ForbiddenError(f"{actor.username} may not list API tokens")
    query = select(ApiToken)
    return query if actor.is_superadmin else query.where(ApiToken.admin == actor.username)


def list_tokens(session: Session, actor: Actor) -> list[Record]:
    """Every token for a superadmin; a domain admin's own tokens for them."""
    return [_record(row) for row in session.scalars(_listed(actor).order_by(ApiToken.id))]


def page_tokens(session: Session, actor: Actor, query: ListQuery) -> Page[Record]:
    """One page of :func:`list_tokens` (searched by name, creator and domains)."""
    return fetch_page(
        session, TOKENS, query, _listed(actor), lambda _s, rows: [_record(r) for r in rows]
    )


def _token_row(session: Session, actor: Actor, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None or not _visible(actor, row):
        raise NotFoundError(f"API token not found: {token_id}")
    return row


def get_token(session: Session, actor: Actor, token_id: int) -> Record:
    """The token ``token_id`` (NotFoundError when it does not exist or is not the actor's)."""
    return _record(_token_row(session, actor, token_id))


def revoke_token(session: Session, actor: Actor, token_id: int) -> Record:
    row = _token_row(session, actor, token_id)
    if row.revoked is None:
        row.revoked = now()
        session.flush()
        audit.record(
            session, actor, "", "revoke_token", audit.changes({"id": row.id, "name": row.name})
        )
    return _record(row)


def actor_for_token(session: Session, secret: str) -> tuple[Actor, int | None]:
    """The principal a token acts as, and the token's id when its ``last_used`` is due
    (:func:`mark_used`, in a transaction of its own); AuthenticationError if it may not
    be used. This one only reads: concurrent API requests never fight over a write."""
    if not secret.startswith(PREFIX) or len(secret) > 200:
        raise AuthenticationError(REFUSED)
    row = session.scalar(select(ApiToken).where(ApiToken.secret_hash == digest(secret)))
    current = now()
    if row is None or row.revoked is not None:
        raise AuthenticationError(REFUSED)
    if row.expires is not None and _naive(row.expires) <= current:
        raise AuthenticationError(REFUSED)
    label = f"{row.created_by} (token {row.id})"
    domains = frozenset(d for d in row.domains.split(",") if d)
    if row.admin is not None:
        try:
            creator = admins.actor_for(session, row.admin)
        except ForbiddenError:
            raise AuthenticationError(REFUSED) from None
        if row.role == "superadmin" and not creator.is_superadmin:
            raise AuthenticationError(REFUSED)
        if not creator.is_superadmin:
            domains &= creator.domains
    due = row.last_used is None or current - _naive(row.last_used) >= LAST_USED_EVERY
    actor = (
        Actor(label, "superadmin")
        if row.role == "superadmin"
        else Actor.domain_admin(label, domains)
    )
    return actor, row.id if due else None


def mark_used(session: Session, token_id: int) -> None:
    """Record that the token was used now, unless another request just did."""
    current = now()
    session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id)
        .where(or_(ApiToken.last_used.is_(None), ApiToken.last_used <= current - LAST_USED_EVERY))
        .values(last_used=current)
    )
