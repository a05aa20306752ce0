"""PostfixAdmin 3.3's tables and columns as SQLAlchemy 2 models.

Names, columns and defaults follow PostfixAdmin, so that its own SQL queries, Postfix's and
Dovecot's lookups written for it, and an existing PostfixAdmin database all work with vmail.
Booleans are SQLAlchemy ``Boolean``: ``tinyint(1)`` on MySQL, ``boolean`` on PostgreSQL and
an integer on SQLite — as PostfixAdmin creates them. vmail-only tables may be added beside
these; PostfixAdmin's columns are never changed.

Units as in PostfixAdmin: ``domain.maxquota`` and ``domain.quota`` in MB,
``mailbox.quota`` in bytes; ``domain.aliases``/``mailboxes`` are limits (0 = unlimited,
-1 = disabled); ``alias.goto`` is a comma-separated list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

EPOCH = datetime(2000, 1, 1)
FAR_FUTURE = datetime(2038, 1, 18)


class Base(DeclarativeBase):
    """Metadata holder for every directory table."""


def _created() -> Mapped[datetime]:
    return mapped_column(DateTime, nullable=False, default=func.now(), server_default=func.now())


def _modified() -> Mapped[datetime]:
    return mapped_column(
        DateTime, nullable=False, default=func.now(), onupdate=func.now(), server_default=func.now()
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
    password_expiry: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
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
    token_validity: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=EPOCH)
    password_expiry: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=EPOCH)


class Alias(Base):
    __tablename__ = "alias"

    address: Mapped[str] = mapped_column(String(255), primary_key=True)
    goto: Mapped[str] = mapped_column(Text, nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()


class AliasDomain(Base):
    __tablename__ = "alias_domain"

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
    token_validity: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=EPOCH)


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
    activefrom: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=EPOCH)
    activeuntil: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=FAR_FUTURE)
    cache: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")
    domain: Mapped[str] = mapped_column(String(255), nullable=False)
    interval_time: Mapped[int] = mapped_column(
        Integer, nullable=False, default=0, server_default="0"
    )
    created: Mapped[datetime] = _created()
    modified: Mapped[datetime] = _modified()
    active: Mapped[bool] = _active()


class VacationNotification(Base):
    __tablename__ = "vacation_notification"

    on_vacation: Mapped[str] = mapped_column(
        String(255), ForeignKey("vacation.email", ondelete="CASCADE"), primary_key=True
    )
    notified: Mapped[str] = mapped_column(String(255), primary_key=True)
    notified_at: Mapped[datetime] = mapped_column(DateTime, nullable=False, default=func.now())


class Quota2(Base):
    __tablename__ = "quota2"

    username: Mapped[str] = mapped_column(String(100), primary_key=True)
    bytes: Mapped[int] = mapped_column(BigInteger, nullable=False, default=0, server_default="0")
    messages: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")


class Log(Base):
    __tablename__ = "log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    timestamp: Mapped[datetime] = mapped_column(
        DateTime, nullable=False, default=func.now(), index=True
    )
    username: Mapped[str] = mapped_column(String(255), nullable=False)
    domain: Mapped[str] = mapped_column(String(255), nullable=False, index=True)
    action: Mapped[str] = mapped_column(String(255), nullable=False)
    data: Mapped[str] = mapped_column(Text, nullable=False, default="", server_default="")


class Config(Base):
    __tablename__ = "config"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(20), nullable=False, unique=True)
    value: Mapped[str] = mapped_column(String(20), nullable=False)
