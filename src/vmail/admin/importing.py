"""Bringing existing data into the directory: the plan, and applying it idempotently.

An :class:`ImportPlan` lists domains, mailboxes and aliases found in another system (a
Postfix configuration, a Dovecot passwd-file). :func:`apply_plan` makes the directory hold
them, inside the admin service's transaction:

* an object that is missing is **created** (and logged, like any admin change);
* one that already holds the same data is left **unchanged** — importing twice changes
  nothing;
* one that differs is a **conflict**: left as it is and reported, never overwritten —
  except a mailbox password that is still the import placeholder (:data:`NO_PASSWORD`),
  which a later passwd-file import fills in (**updated**).

Imported password hashes are stored as they are (any scheme the authentication service
verifies); mailboxes found without one get :data:`NO_PASSWORD`, which no password matches.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from vmail.admin import audit, rules
from vmail.admin.actor import Actor
from vmail.admin.errors import InvalidError
from vmail.admin.guards import require_superadmin
from vmail.directory.models import Alias, Domain, Mailbox

NO_PASSWORD = "!"  # never verifies: "no password set yet" (as a locked Unix account)

CREATED, UNCHANGED, UPDATED, CONFLICT, SKIPPED = (
    "created",
    "unchanged",
    "updated",
    "conflict",
    "skipped",
)


@dataclass(frozen=True)
class MailboxImport:
    username: str
    password: str | None = None  # a stored hash ({SCHEME}...), None if unknown
    maildir: str | None = None  # relative to virtual_mailbox_base; None: domain/user/
    name: str = ""
    quota: int = 0  # bytes, 0 = unlimited


@dataclass(frozen=True)
class AliasImport:
    address: str
    goto: tuple[str, ...]


@dataclass
class ImportPlan:
    """What a source holds, in the directory's terms."""

    domains: list[str] = field(default_factory=list)
    mailboxes: list[MailboxImport] = field(default_factory=list)
    aliases: list[AliasImport] = field(default_factory=list)
    skipped: list[tuple[str, str, str]] = field(default_factory=list)  # kind, name, why

    def skip(self, kind: str, name: str, why: str) -> None:
        self.skipped.append((kind, name, why))


@dataclass(frozen=True)
class Outcome:
    kind: str  # domain, mailbox, alias
    name: str
    result: str  # created, unchanged, updated, conflict, skipped
    detail: str = ""


@dataclass
class ImportReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def add(self, kind: str, name: str, result: str, detail: str = "") -> None:
        self.outcomes.append(Outcome(kind, name, result, detail))

    def count(self, result: str) -> int:
        return sum(1 for o in self.outcomes if o.result == result)

    @property
    def conflicts(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result == CONFLICT]


def apply_plan(session: Session, actor: Actor, plan: ImportPlan, source: str) -> ImportReport:
    """Make the directory hold ``plan`` (see the module docstring). Superadmin only."""
    require_superadmin(actor, "import directory data")
    report = ImportReport()
    for kind, name, why in plan.skipped:
        report.add(kind, name, SKIPPED, why)
    for name in plan.domains:
        _domain(session, actor, name, report, source)
    for mailbox in plan.mailboxes:
        _mailbox(session, actor, mailbox, report, source)
    for alias in plan.aliases:
        _alias(session, actor, alias, report, source)
    session.flush()
    return report


def _domain(session: Session, actor: Actor, text: str, report: ImportReport, source: str) -> None:
    try:
        name = rules.domain_name(text)
    except InvalidError as e:
        report.add("domain", text, SKIPPED, str(e))
        return
    if session.get(Domain, name) is not None:
        report.add("domain", name, UNCHANGED)
        return
    session.add(Domain(domain=name, description=f"imported from {source}"[:255], transport=""))
    session.flush()
    audit.record(session, actor, name, "create_domain", audit.changes({"imported_from": source}))
    report.add("domain", name, CREATED)


def _ensure_domain_of(
    session: Session, actor: Actor, address: str, report: ImportReport, source: str
) -> None:
    domain = rules.split_address(address)[1]
    if session.get(Domain, domain) is None:
        _domain(session, actor, domain, report, source)


def _mailbox(
    session: Session, actor: Actor, item: MailboxImport, report: ImportReport, source: str
) -> None:
    try:
        username = rules.address(item.username)
        name = rules.text_field(item.name, "name")
    except InvalidError as e:
        report.add("mailbox", item.username, SKIPPED, str(e))
        return
    local, domain = rules.split_address(username)
    maildir = item.maildir or f"{domain}/{local}/"
    password = item.password or NO_PASSWORD
    existing = session.get(Mailbox, username)
    if existing is not None:
        _reconcile_mailbox(session, actor, existing, item, maildir, report)
        return
    if session.get(Alias, username) is not None:
        report.add("mailbox", username, CONFLICT, "an alias with this address exists")
        return
    _ensure_domain_of(session, actor, username, report, source)
    session.add(
        Mailbox(
            username=username,
            password=password,
            name=name,
            maildir=maildir,
            quota=item.quota,
            local_part=local,
            domain=domain,
        )
    )
    session.add(Alias(address=username, goto=username, domain=domain))
    session.flush()
    audit.record(
        session,
        actor,
        domain,
        "create_mailbox",
        audit.changes({"username": username, "maildir": maildir, "imported_from": source}),
    )
    report.add("mailbox", username, CREATED)


def _reconcile_mailbox(
    session: Session,
    actor: Actor,
    existing: Mailbox,
    item: MailboxImport,
    maildir: str,
    report: ImportReport,
) -> None:
    username = existing.username
    differences = []
    if item.maildir is not None and existing.maildir != maildir:
        differences.append(f"maildir {existing.maildir} != {maildir}")
    if item.password is not None and existing.password != item.password:
        if existing.password != NO_PASSWORD:
            differences.append("a different password is set")
        else:
            existing.password = item.password
            session.flush()
            audit.record(
                session, actor, existing.domain, "edit_mailbox",
                audit.changes({"username": username, "password": "(imported)"}),
            )  # fmt: skip
            report.add("mailbox", username, UPDATED, "password set")
            return
    if differences:
        report.add("mailbox", username, CONFLICT, "; ".join(differences))
    else:
        report.add("mailbox", username, UNCHANGED)


def _alias(
    session: Session, actor: Actor, item: AliasImport, report: ImportReport, source: str
) -> None:
    try:
        address = rules.alias_address(item.address)
        goto = rules.goto_list(item.goto)
    except InvalidError as e:
        report.add("alias", item.address, SKIPPED, str(e))
        return
    text = ",".join(goto)
    existing = session.get(Alias, address)
    if existing is not None:
        if set(existing.goto.split(",")) == set(goto):
            report.add("alias", address, UNCHANGED)
        elif session.get(Mailbox, address) is not None and existing.goto == address:
            existing.goto = text  # a mailbox's forwarding, still at its default
            session.flush()
            audit.record(session, actor, existing.domain, "edit_alias",
                         audit.changes({"address": address, "goto": text}))  # fmt: skip
            report.add("alias", address, UPDATED, "forwarding set")
        else:
            report.add("alias", address, CONFLICT, f"goto {existing.goto} != {text}")
        return
    _ensure_domain_of(session, actor, address, report, source)
    domain = rules.split_address(address)[1]
    session.add(Alias(address=address, goto=text, domain=domain))
    session.flush()
    audit.record(
        session,
        actor,
        domain,
        "create_alias",
        audit.changes({"address": address, "goto": text, "imported_from": source}),
    )
    report.add("alias", address, CREATED)
