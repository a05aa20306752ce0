"""PostfixAdmin 3.3's tables and columns as SQLAlchemy 2 models.

Names, columns and defaults follow PostfixAdmin, so that its own SQL queries, Postfix's and
Dovecot's lookups written for it, and an existing PostfixAdmin database all work with vmail.
Booleans are SQLAlchemy ``Boolean``: ``tinyint(1)`` on MySQL, ``boolean`` on PostgreSQL and
an integer on SQLite — as PostfixAdmin creates them. vmail-only tables may be added beside
these; PostfixAdmin's columns are never changed.

Units as in PostfixAdmin: ``domain.maxquota`` and ``domain.quota`` in MB,
``mailbox.quota`` in bytes; ``domain.aliases``/``mailboxes`` are limits (0 = unlimited,
-1 = disabled); ``alias.goto`` is a comma-separated list.

Column facts follow PostfixAdmin 3.3's ``upgrade.php`` (database version 1847):

* timestamps are ``timestamp with time zone`` on PostgreSQL (``DateTime(timezone=True)``;
  plain ``datetime`` on MySQL and SQLite); ``created``/``modified`` and the other
  ``{DATETIME}`` columns default to ``2000-01-01 00:00:00`` in the database, while rows
  written through these models get the current time, as PostfixAdmin writes them;
* ``domain.transport`` may be NULL (as on PostgreSQL; PostfixAdmin's MySQL and SQLite
  tables say NOT NULL, so write a value when the database may be one of those);
* ``domain.password_expiry`` is a nullable integer defaulting to 0;
* TEXT columns carry no database default (MySQL cannot have one); the models fill in '';
* ``log.id`` and ``config.id`` are auto-increment keys (``AUTOINCREMENT`` on SQLite);
* ``domain_admins`` is keyed by (username, domain): PostfixAdmin's MySQL/PostgreSQL tables
  add a surrogate ``id`` that its SQLite tables lack, and vmail never needs it.

Later revisions add PostfixAdmin 3.4's ``totp_secret`` on ``admin`` and ``mailbox``
(revision 0002) and vmail-only tables prefixed ``vmail_`` (API tokens, TOTP state).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EPOCH = datetime(2000, 1, 1)
FAR_FUTURE = datetime(2038, 1, 18)


class Base(DeclarativeBase):
    """Metadata holder for every directory table."""


# PostfixAdmin's {DATETIME}: NOT NULL, database default 2000-01-01 (its "never").
EPOCH_SQL = text("'2000-01-01 00:00:00'")
FAR_FUTURE_SQL = text("'2038-01-18 00:00:00'")


def Timestamp() -> DateTime:  # noqa: N802 - reads like the type it returns
    """PostfixAdmin's timestamp type: with time zone on PostgreSQL, naive elsewhere."""
    return DateTime(timezone=True)


def _epoch_column() -> Mapped[datetime]:
    return mapped_column(Timestamp(), nullable=False, default=EPOCH, server_default=EPOCH_SQL)


def _created() -> Mapped[datetime]:
    return mapped_column(Timestamp(), nullable=False, default=func.now(), server_default=EPOCH_SQL)


def _modified() -> Mapped[datetime]:
    return mapped_column(
        Timestamp(),
        nullable=False,
        default=func.now(),
        onupdate=func.now(),
        server_default=EPOCH_SQL,
    )


def _active() -> Mapped[bool]:
    return mapped_column(Boolean, nullable=False, default=True, server_default="1")


class Domain(Base):
    __tablename__ = "domain"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(
        String(255), nullable=False, default="", server_default=""
    )
    aliases: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    mailboxes: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    maxquota: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    quota: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    transport: Mapped[str | None] = mapped_column(String(255), nullable=True)
    backupmx: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="0"
    )
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()
    password_expiry: Mapped[int | None] = mapped_column(
        Integer, nullable=True, default=0, server_default="0"
    )


class Mailbox(Base):
    __tablename__ = "mailbox"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    password: Mapped[str] = mapped_column(String(255), nullable=False)
    name: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    maildir: Mapped[str] = mapped_column(String(255), nullable=False)
    quota: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    local_part: Mapped[str] = mapped_column(String(255), nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()
    phone: Mapped[str] = mapped_column(String(30), nullable=False, default="", server_default="")
    email_other: Mapped[str] = mapped_column(
        String(255), nullable=False, default="", server_default=""
    )
    token: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    token_validity: Mapped[datetime] = _epoch_column()
    password_expiry: Mapped[datetime] = _epoch_column()
    totp_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)

    __table_args__ = (  # the admin lists' sort orders (migration 0003)
        Index("ix_mailbox_name", "name", "username"),
        Index("ix_mailbox_quota", "quota", "username"),
        Index("ix_mailbox_created", "created", "username"),
        Index("ix_mailbox_modified", "modified", "username"),
        Index("ix_mailbox_domain_username", "domain", "username"),
        Index("ix_mailbox_active", "active", "username"),
    )


class Alias(Base):
    __tablename__ = "alias"
    __table_args__ = (
        Index("ix_alias_created", "created", "address"),
        Index("ix_alias_modified", "modified", "address"),
        Index("ix_alias_domain_address", "domain", "address"),
        Index("ix_alias_active", "active", "address"),
    )

    address: Mapped[str] = mapped_column(String(255), primary_key=True)
    goto: Mapped[str] = mapped_column(Text, nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()


class AliasDomain(Base):
    __tablename__ = "alias_domain"
    __table_args__ = (Index("ix_alias_domain_active", "active"),)

    alias_domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    target_domain: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()


class Admin(Base):
    __tablename__ = "admin"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    password: Mapped[str] = mapped_column(String(255), nullable=False)
    superadmin: Mapped[bool] = mapped_column(
        Boolean, nullable=False, default=False, server_default="0"
    )
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()
    phone: Mapped[str] = mapped_column(String(30), nullable=False, default="", server_default="")
    email_other: Mapped[str] = mapped_column(
        String(255), nullable=False, default="", server_default=""
    )
    token: Mapped[str] = mapped_column(String(255), nullable=False, default="", server_default="")
    token_validity: Mapped[datetime] = _epoch_column()
    totp_secret: Mapped[str | None] = mapped_column(String(255), nullable=True)


class DomainAdmin(Base):
    __tablename__ = "domain_admins"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    created: Mapped[datetime] = _created()
    active: Mapped[bool] = _active()


class Vacation(Base):
    __tablename__ = "vacation"

    email: Mapped[str] = mapped_column(String(255), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), nullable=False)
    body: Mapped[str] = mapped_column(Text, nullable=False)
    activefrom: Mapped[datetime] = _epoch_column()
    activeuntil: Mapped[datetime] = mapped_column(
        Timestamp(), nullable=False, default=FAR_FUTURE, server_default=FAR_FUTURE_SQL
    )
    cache: Mapped[str] = mapped_column(Text, nullable=False, default="")
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    interval_time: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = mapped_column(
        Timestamp(),
        nullable=False,
        default=func.now(),
        onupdate=func.now(),
        server_default=func.current_timestamp(),
    )
    active: Mapped[bool] = _active()


class VacationNotification(Base):
    __tablename__ = "vacation_notification"

    on_vacation: Mapped[str] = mapped_column(
        String(255), ForeignKey("vacation.email", ondelete="CASCADE"), primary_key=True
    )
    notified: Mapped[str] = mapped_column(String(255), primary_key=True, server_default="")
    notified_at: Mapped[datetime] = mapped_column(
        Timestamp(), nullable=False, default=func.now(), server_default=func.current_timestamp()
    )


class Quota2(Base):
    __tablename__ = "quota2"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    messages: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class Log(Base):
    __tablename__ = "log"
    __table_args__ = (
        Index("ix_log_domain_timestamp", "domain", "timestamp"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(
        Timestamp(), nullable=False, default=func.now(), server_default=EPOCH_SQL, index=True
    )
    username: Mapped[str] = mapped_column(String(255), nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    action: Mapped[str] = mapped_column(String(255), nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="")


class Config(Base):
    __tablename__ = "config"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(20), nullable=False, unique=True, server_default="")
    value: Mapped[str] = mapped_column(String(20), nullable=False, server_default="")


class ApiToken(Base):
    """A REST API token (vmail only): a role and domains, the secret kept as SHA-256 hex.

    ``admin`` is the admin account that created it (NULL when made with the CLI): the token
    stops working when that account is deleted or deactivated. ``created_by`` is who made
    it, as the log names them. ``domains`` is a comma-separated list ('' for superadmin).
    """

    __tablename__ = "vmail_api_token"
    __table_args__ = ({"sqlite_autoincrement": True},)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), nullable=False)
    secret_hash: Mapped[str] = mapped_column(String(64), nullable=False, unique=True)
    role: Mapped[str] = mapped_column(String(20), nullable=False)
    domains: Mapped[str] = mapped_column(Text, nullable=False, default="")
    admin: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    created_by: Mapped[str] = mapped_column(String(255), nullable=False)
    created: Mapped[datetime] = mapped_column(Timestamp(), nullable=False, default=func.now())
    expires: Mapped[datetime | None] = mapped_column(Timestamp(), nullable=True)
    last_used: Mapped[datetime | None] = mapped_column(Timestamp(), nullable=True)
    revoked: Mapped[datetime | None] = mapped_column(Timestamp(), nullable=True)


class TotpState(Base):
    """TOTP enrolment and replay state of an admin (vmail only; the secret itself is
    PostfixAdmin 3.4's ``admin.totp_secret``): a ``pending`` secret until confirmed, and
    the last accepted time step, so that no code is accepted twice."""

    __tablename__ = "vmail_totp_state"

    username: Mapped[str] = mapped_column(String(255), primary_key=True)
    pending: Mapped[str | None] = mapped_column(String(255), nullable=True)
    last_step: Mapped[int] = mapped_column(
        BigInteger, nullable=False, default=0, server_default="0"
    )
