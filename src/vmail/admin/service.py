"""The admin service: the only writer of directory data.

Every public method is one transaction: it commits when the whole operation succeeded
(log row included) and rolls back otherwise, so nothing is ever half-written. Each takes
the acting principal (:class:`~vmail.admin.actor.Actor`) first and refuses, with
:class:`~vmail.admin.errors.ForbiddenError`, what that principal may not do. Failures are
:class:`~vmail.admin.errors.AdminError` subclasses with one-line messages; database
trouble (server down, no tables) is :class:`~vmail.admin.errors.DatabaseError`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from vmail.admin import (
    admins,
    alias_domains,
    aliases,
    auditlog,
    domains,
    mailboxes,
    overview,
    pages,
    selfservice,
    tokens,
    totp,
    vacation,
)
from vmail.admin.actor import Actor
from vmail.admin.errors import AdminError, AlreadyExistsError, DatabaseError
from vmail.admin.importing import ImportPlan, ImportReport, apply_plan
from vmail.admin.listing import ListQuery, Page
from vmail.admin.records import Record
from vmail.admin.usage import Usage, maildir_usage

P = ParamSpec("P")
T = TypeVar("T")


class _RolledBack(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Carries a preview's report out of the transaction, which it rolls back."""

    def __init__(self, report: ImportReport) -> None:
        super().__init__("preview")
        self.report = report


def _apply_and_roll_back(session: Session, actor: Actor, plan: ImportPlan, source: str) -> None:
    raise _RolledBack(apply_plan(session, actor, plan, source))


class AdminService:
    """Domains, mailboxes, aliases, alias domains and admins, PostfixAdmin's way.

    ``mail_root`` is ``virtual_mailbox_base`` (where ``mailbox.maildir`` paths start), for
    quota usage; None: usage unknown. ``vacation_domain`` is the autoreply domain of
    vacation targets (None: ``autoreply.<the mailbox's domain>``).
    """

    def __init__(
        self,
        engine: Engine,
        mail_root: Path | None = None,
        vacation_domain: str | None = None,
    ) -> None:
        self.engine = engine
        self.mail_root = mail_root
        self.vacation_domain = vacation_domain
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    def _run(
        self, operation: Callable[Concatenate[Session, P], T], *args: P.args, **kwargs: P.kwargs
    ) -> T:
        try:
            with self._sessions() as session, session.begin():
                return operation(session, *args, **kwargs)
        except AdminError:
            raise
        except IntegrityError as e:
            # Lost a race with a concurrent writer (the checks passed, the insert did not).
            raise AlreadyExistsError(
                f"conflicting change in the database: {_first_line(e)}"
            ) from None
        except SQLAlchemyError as e:
            raise DatabaseError(describe_database_error(e)) from None

    # -- import -----------------------------------------------------------------------

    def import_plan(self, actor: Actor, plan: ImportPlan, source: str) -> ImportReport:
        """Bring a plan's objects in, idempotently, in one transaction (superadmin only)."""
        return self._run(apply_plan, actor, plan, source)

    def preview_import(self, actor: Actor, plan: ImportPlan, source: str) -> ImportReport:
        """What :meth:`import_plan` would do; its transaction is rolled back."""
        try:
            self._run(_apply_and_roll_back, actor, plan, source)
        except _RolledBack as done:
            return done.report
        raise AssertionError("unreachable")  # pragma: no cover

    # -- principals -----------------------------------------------------------------

    def actor_for(self, username: str) -> Actor:
        return self._run(admins.actor_for, username)

    def authenticate(self, username: str, password: str) -> Actor:
        return self._run(admins.authenticate, username, password)

    # -- domains ----------------------------------------------------------------------

    def add_domain(self, actor: Actor, domain: str, **settings: Any) -> Record:
        """Settings: description, aliases, mailboxes, maxquota, quota, transport, backupmx,
        active (see :func:`vmail.admin.domains.add`)."""
        return self._run(domains.add, actor, domain, **settings)

    def edit_domain(self, actor: Actor, domain: str, **changes: Any) -> Record:
        return self._run(domains.edit, actor, domain, **changes)

    def delete_domain(self, actor: Actor, domain: str) -> dict[str, int]:
        return self._run(domains.delete_domain, actor, domain)

    def list_domains(self, actor: Actor) -> list[Record]:
        return self._run(domains.list_domains, actor)

    def domain_names(self, actor: Actor) -> list[str]:
        """Just the names of :meth:`list_domains` (cheap: for forms and filters)."""
        return self._run(domains.domain_names, actor)

    def get_domain(self, actor: Actor, domain: str) -> Record:
        return self._run(domains.show, actor, domain)

    def domain_usage(self, actor: Actor, domain: str) -> dict[str, int]:
        return self._run(domains.usage, actor, domain)

    # -- mailboxes ----------------------------------------------------------------------

    def add_mailbox(
        self,
        actor: Actor,
        address: str,
        password: str,
        *,
        name: str = "",
        quota: int | None = None,
        active: bool = True,
    ) -> Record:
        """``quota`` in bytes (None: the domain's maxquota)."""
        return self._run(
            mailboxes.add, actor, address, password, name=name, quota=quota, active=active
        )

    def edit_mailbox(
        self,
        actor: Actor,
        address: str,
        *,
        name: str | None = None,
        quota: int | None = None,
        active: bool | None = None,
        password: str | None = None,
        goto: aliases.Targets | None = None,
    ) -> Record:
        """``goto``: the mailbox's forwarding targets (None: keep), in the same transaction."""
        return self._run(
            mailboxes.edit,
            actor,
            address,
            name=name,
            quota=quota,
            active=active,
            password=password,
            goto=goto,
        )

    def set_password(self, actor: Actor, address: str, password: str) -> None:
        self._run(mailboxes.set_password, actor, address, password)

    def upgrade_password_hash(self, username: str, old_hash: str, new_hash: str) -> bool:
        """Replace ``old_hash`` by ``new_hash`` (login re-hash); False if it had changed."""
        return self._run(mailboxes.upgrade_hash, username, old_hash, new_hash)

    def delete_mailbox(self, actor: Actor, address: str) -> None:
        self._run(mailboxes.delete_mailbox, actor, address)

    def list_mailboxes(self, actor: Actor, domain: str | None = None) -> list[Record]:
        return self._run(mailboxes.list_mailboxes, actor, domain)

    def get_mailbox(self, actor: Actor, address: str) -> Record:
        return self._run(mailboxes.show, actor, address)

    # -- aliases --------------------------------------------------------------------------

    def add_alias(
        self, actor: Actor, address: str, goto: aliases.Targets, *, active: bool = True
    ) -> Record:
        return self._run(aliases.add, actor, address, goto, active=active)

    def edit_alias(
        self,
        actor: Actor,
        address: str,
        *,
        goto: aliases.Targets | None = None,
        active: bool | None = None,
    ) -> Record:
        return self._run(aliases.edit, actor, address, goto=goto, active=active)

    def delete_alias(self, actor: Actor, address: str) -> None:
        self._run(aliases.delete_alias, actor, address)

    def list_aliases(
        self, actor: Actor, domain: str | None = None, *, mailboxes: bool = False
    ) -> list[Record]:
        return self._run(aliases.list_aliases, actor, domain, mailboxes=mailboxes)

    def get_alias(self, actor: Actor, address: str) -> Record:
        return self._run(aliases.show, actor, address)

    # -- alias domains --------------------------------------------------------------------

    def add_alias_domain(
        self, actor: Actor, alias_domain: str, target_domain: str, *, active: bool = True
    ) -> Record:
        return self._run(alias_domains.add, actor, alias_domain, target_domain, active=active)

    def edit_alias_domain(
        self,
        actor: Actor,
        alias_domain: str,
        *,
        target_domain: str | None = None,
        active: bool | None = None,
    ) -> Record:
        return self._run(
            alias_domains.edit, actor, alias_domain, target_domain=target_domain, active=active
        )

    def delete_alias_domain(self, actor: Actor, alias_domain: str) -> None:
        self._run(alias_domains.delete_alias_domain, actor, alias_domain)

    def list_alias_domains(self, actor: Actor, domain: str | None = None) -> list[Record]:
        return self._run(alias_domains.list_alias_domains, actor, domain)

    def get_alias_domain(self, actor: Actor, alias_domain: str) -> Record:
        return self._run(alias_domains.show, actor, alias_domain)

    # -- admins ---------------------------------------------------------------------------

    def add_admin(
        self,
        actor: Actor,
        username: str,
        password: str,
        *,
        superadmin: bool = False,
        domains: Iterable[str] = (),
        active: bool = True,
    ) -> Record:
        return self._run(
            admins.add,
            actor,
            username,
            password,
            superadmin=superadmin,
            domains=list(domains),
            active=active,
        )

    def edit_admin(
        self,
        actor: Actor,
        username: str,
        *,
        password: str | None = None,
        superadmin: bool | None = None,
        domains: Iterable[str] | None = None,
        active: bool | None = None,
    ) -> Record:
        return self._run(
            admins.edit,
            actor,
            username,
            password=password,
            superadmin=superadmin,
            domains=None if domains is None else list(domains),
            active=active,
        )

    def delete_admin(self, actor: Actor, username: str) -> None:
        self._run(admins.delete_admin, actor, username)

    def list_admins(self, actor: Actor) -> list[Record]:
        return self._run(admins.list_admins, actor)

    def get_admin(self, actor: Actor, username: str) -> Record:
        return self._run(admins.show, actor, username)

    # -- pages (web UI, REST API) -----------------------------------------------------------

    def page_domains(self, actor: Actor, query: ListQuery) -> Page[Record]:
        return self._run(pages.page_domains, actor, query)

    def page_mailboxes(
        self, actor: Actor, query: ListQuery, domain: str | None = None
    ) -> Page[Record]:
        """Records carry ``usage_bytes``/``usage_messages`` (None: unknown)."""
        return self._run(pages.page_mailboxes, actor, query, domain, self.mail_root)

    def page_aliases(
        self,
        actor: Actor,
        query: ListQuery,
        domain: str | None = None,
        include_mailbox_aliases: bool = False,
    ) -> Page[Record]:
        return self._run(pages.page_aliases, actor, query, domain, include_mailbox_aliases)

    def page_alias_domains(
        self, actor: Actor, query: ListQuery, domain: str | None = None
    ) -> Page[Record]:
        return self._run(pages.page_alias_domains, actor, query, domain)

    def page_admins(self, actor: Actor, query: ListQuery) -> Page[Record]:
        return self._run(pages.page_admins, actor, query)

    def page_log(
        self,
        actor: Actor,
        query: ListQuery,
        domain: str | None = None,
        action: str | None = None,
        username: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> Page[Record]:
        """Log rows, newest first by default; a domain admin's domains only."""
        return self._run(
            auditlog.page_log,
            actor,
            query,
            domain=domain,
            action=action,
            username=username,
            since=since,
            until=until,
        )

    def overview(self, actor: Actor) -> dict[str, Any]:
        return self._run(overview.overview, actor, self.mail_root)

    # -- quota usage ----------------------------------------------------------------------

    def mailbox_usage(self, actor: Actor, address: str) -> Usage | None:
        """(bytes, messages) from the mailbox's ``maildirsize``; None when unknown."""
        row = self.get_mailbox(actor, address)
        return maildir_usage(self.mail_root, row["maildir"])

    def mailbox_usages(self, mailboxes: Iterable[Record]) -> dict[str, Usage | None]:
        """Usage of mailbox records already fetched (one page) by username; no database."""
        return {m["username"]: maildir_usage(self.mail_root, m["maildir"]) for m in mailboxes}

    # -- self-service -----------------------------------------------------------------------

    def change_own_password(self, address: str, old_password: str, new_password: str) -> None:
        """A user's own password change; AuthenticationError if the old one is wrong."""
        self._run(selfservice.change_own_password, address, old_password, new_password)

    def get_vacation(self, actor: Actor, address: str) -> Record:
        """``actor`` may be :meth:`Actor.user` (own mailbox only) or an admin."""
        return self._run(vacation.get_vacation, actor, address)

    def set_vacation(
        self,
        actor: Actor,
        address: str,
        *,
        subject: str,
        body: str,
        active_from: datetime | None = None,
        active_until: datetime | None = None,
        interval_time: int = 0,
        active: bool = True,
    ) -> Record:
        return self._run(
            vacation.set_vacation,
            actor,
            address,
            subject=subject,
            body=body,
            active_from=active_from,
            active_until=active_until,
            interval_time=interval_time,
            active=active,
            vacation_domain=self.vacation_domain,
        )

    # -- API tokens -------------------------------------------------------------------------

    def create_token(
        self,
        actor: Actor,
        name: str,
        role: str,
        domains: Iterable[str] = (),
        expires: datetime | None = None,
    ) -> tuple[Record, str]:
        """(record, secret): the secret is shown once and stored only as SHA-256."""
        return self._run(tokens.create_token, actor, name, role, list(domains), expires)

    def list_tokens(self, actor: Actor) -> list[Record]:
        return self._run(tokens.list_tokens, actor)

    def page_tokens(self, actor: Actor, query: ListQuery) -> Page[Record]:
        return self._run(tokens.page_tokens, actor, query)

    def get_token(self, actor: Actor, token_id: int) -> Record:
        """The token ``token_id`` as this actor may see it (NotFoundError otherwise)."""
        return self._run(tokens.get_token, actor, token_id)

    def revoke_token(self, actor: Actor, token_id: int) -> Record:
        return self._run(tokens.revoke_token, actor, token_id)

    def actor_for_token(self, secret: str) -> Actor:
        """The principal of an API token (see :func:`vmail.admin.tokens.actor_for_token`);
        its ``last_used`` is written afterwards, best effort: a busy database never fails
        the request for that."""
        actor, due = self._run(tokens.actor_for_token, secret)
        if due is not None:
            with contextlib.suppress(DatabaseError, AdminError):
                self._run(tokens.mark_used, due)
        return actor

    # -- TOTP second factor (admins) ------------------------------------------------------

    def enable_totp(self, actor: Actor, username: str) -> tuple[str, str]:
        """(secret, otpauth URI) of a pending secret; active once confirmed."""
        return self._run(totp.enable_totp, actor, username)

    def confirm_totp(self, actor: Actor, username: str, code: str) -> None:
        self._run(totp.confirm_totp, actor, username, code)

    def disable_totp(self, actor: Actor, username: str) -> None:
        self._run(totp.disable_totp, actor, username)

    def totp_enabled(self, username: str) -> bool:
        return self._run(totp.totp_enabled, username)

    def verify_totp(self, username: str, code: str) -> bool:
        """A code of the current step ±1, never accepted twice."""
        return self._run(totp.verify_totp, username, code)


_MISSING_TABLE = ("no such table", "does not exist", "doesn't exist")


def describe_database_error(error: SQLAlchemyError) -> str:
    """One line for a database failure, with a hint when the tables are missing."""
    text = _first_line(error)
    if any(marker in text.lower() for marker in _MISSING_TABLE):
        return f"directory database has no tables ({text}): run 'vmail init' first"
    return f"directory database unavailable: {text}"


def _first_line(error: SQLAlchemyError) -> str:
    original = getattr(error, "orig", None)
    text = str(original if original is not None else error).strip()
    return text.splitlines()[0] if text else type(error).__name__
