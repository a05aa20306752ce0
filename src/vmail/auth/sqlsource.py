"""Accounts from the PostfixAdmin directory database, with SQLAlchemy Core (the login hot path).

One prepared ``SELECT`` per login: ``mailbox`` joined with its ``domain`` on the username,
returning the hash and both ``active`` flags (filtering is left to the service, so the log
can say *why* a login failed). Usernames are compared in lower case, as PostfixAdmin
stores them; a mailbox whose domain row is missing is not found. Database errors become
:class:`~vmail.auth.errors.AccountLookupError` (a temporary failure).

``table_prefix`` is PostfixAdmin's ``$CONF['database_prefix']``: with ``"pfa_"`` the
tables are ``pfa_mailbox`` and ``pfa_domain``.
"""

from __future__ import annotations

from sqlalchemy import Engine, MetaData, Table, bindparam, select
from sqlalchemy.exc import SQLAlchemyError

from vmail.auth.accounts import Account
from vmail.auth.errors import AccountLookupError
from vmail.directory.models import Domain, Mailbox


def prefixed_tables(table_prefix: str) -> tuple[Table, Table]:
    """The ``mailbox`` and ``domain`` tables, renamed with ``table_prefix`` when it is set."""
    mailbox, domain = Mailbox.__table__, Domain.__table__
    assert isinstance(mailbox, Table) and isinstance(domain, Table)  # noqa: PT018 - for mypy
    if not table_prefix:
        return mailbox, domain
    metadata = MetaData()
    return (
        mailbox.to_metadata(metadata, name=table_prefix + mailbox.name),
        domain.to_metadata(metadata, name=table_prefix + domain.name),
    )


class SqlAccountSource:
    """An :class:`~vmail.auth.accounts.AccountSource` over the directory database."""

    def __init__(self, engine: Engine, *, table_prefix: str = "") -> None:
        self.engine = engine
        mailbox, domain = prefixed_tables(table_prefix)
        self._query = (
            select(
                mailbox.c.username,
                mailbox.c.password,
                mailbox.c.active,
                domain.c.active,
                mailbox.c.maildir,
                mailbox.c.quota,
            )
            .select_from(mailbox.join(domain, mailbox.c.domain == domain.c.domain))
            .where(mailbox.c.username == bindparam("username"))
        )

    def lookup(self, username: str) -> Account | None:
        try:
            with self.engine.connect() as connection:
                row = connection.execute(self._query, {"username": username.lower()}).first()
        except SQLAlchemyError as error:
            detail = (str(getattr(error, "orig", None) or error).strip() or "error").splitlines()[0]
            raise AccountLookupError(f"directory lookup failed: {detail}") from None
        if row is None:
            return None
        name, password, mailbox_active, domain_active, maildir, quota = row
        return Account(
            username=name,
            password_hash=password or "",
            mailbox_active=bool(mailbox_active),
            domain_active=bool(domain_active),
            maildir=maildir or "",
            quota_bytes=int(quota or 0),
        )
