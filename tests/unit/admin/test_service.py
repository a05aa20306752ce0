"""The admin service's rules, against SQLite and (when configured) PostgreSQL and MariaDB."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import (
    Actor,
    AdminService,
    AlreadyExistsError,
    DatabaseError,
    ForbiddenError,
    InvalidError,
    LimitExceededError,
    NotFoundError,
)
from vmail.admin.rules import MB
from vmail.auth.passwords import verify_password
from vmail.directory.models import (
    Admin,
    Alias,
    AliasDomain,
    Base,
    Domain,
    DomainAdmin,
    Log,
    Mailbox,
    Quota2,
    Vacation,
    VacationNotification,
)

M = TypeVar("M", bound=Base)


def rows(engine: Engine, model: type[M], **where: object) -> list[M]:
    with Session(engine) as s:
        return list(s.scalars(select(model).filter_by(**where)))


def count(engine: Engine, model: type[Base]) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model)) or 0)


# -- domains ------------------------------------------------------------------------------


def test_domain_add_normalises_and_lists(svc: AdminService, cli: Actor) -> None:
    row = svc.add_domain(cli, " Example.COM ", description="main", mailboxes=5, maxquota=10)
    assert (row["domain"], row["description"], row["mailboxes"], row["maxquota"]) == (
        "example.com",
        "main",
        5,
        10,
    )
    assert svc.add_domain(cli, "Bücher.Example")["domain"] == "xn--bcher-kva.example"
    assert [d["domain"] for d in svc.list_domains(cli)] == ["example.com", "xn--bcher-kva.example"]
    assert svc.get_domain(cli, "bücher.example")["domain"] == "xn--bcher-kva.example"
    with pytest.raises(AlreadyExistsError, match=r"domain already exists: example.com"):
        svc.add_domain(cli, "EXAMPLE.com")


@pytest.mark.parametrize(
    "name", ["", "localhost", "-bad.com", "a..b", "a_b.com", "x" * 64 + ".com", "1.2.3.4", "ALL"]
)
def test_domain_names_refused(svc: AdminService, cli: Actor, name: str) -> None:
    with pytest.raises(InvalidError):
        svc.add_domain(cli, name)


def test_domain_settings_validated_and_edited(svc: AdminService, cli: Actor) -> None:
    with pytest.raises(InvalidError, match=r"aliases limit"):
        svc.add_domain(cli, "a.example", aliases=-2)
    with pytest.raises(InvalidError, match=r"maxquota"):
        svc.add_domain(cli, "a.example", maxquota=200, quota=100)
    with pytest.raises(InvalidError, match=r"transport"):
        svc.add_domain(cli, "a.example", transport="bad transport")
    svc.add_domain(cli, "a.example", transport="lmtp:unix:private/dovecot-lmtp")
    row = svc.edit_domain(cli, "a.example", description="d", quota=100, backupmx=True, active=False)
    assert (row["description"], row["quota"], row["backupmx"], row["active"]) == (
        "d",
        100,
        True,
        False,
    )
    assert row["transport"] == "lmtp:unix:private/dovecot-lmtp"
    assert svc.edit_domain(cli, "a.example", transport="")["transport"] == ""
    with pytest.raises(InvalidError):
        svc.edit_domain(cli, "a.example", maxquota=101)
    with pytest.raises(NotFoundError, match=r"domain not found: b.example"):
        svc.edit_domain(cli, "b.example", description="x")


# -- mailboxes ----------------------------------------------------------------------------


def test_mailbox_add_creates_mailbox_and_self_alias(
    svc: AdminService, cli: Actor, engine: Engine
) -> None:
    svc.add_domain(cli, "example.com", maxquota=50)
    row = svc.add_mailbox(cli, "John.Doe@Example.com", PASSWORD, name="John")
    assert row["username"] == "john.doe@example.com"
    assert (row["local_part"], row["domain"], row["maildir"]) == (
        "john.doe",
        "example.com",
        "example.com/john.doe/",
    )
    assert row["quota"] == 50 * MB  # the domain's maxquota by default
    assert "password" not in row
    (mailbox,) = rows(engine, Mailbox)
    assert mailbox.password.startswith("{ARGON2ID}")
    assert verify_password(PASSWORD, mailbox.password)
    (alias,) = rows(engine, Alias)
    assert (alias.address, alias.goto, alias.domain, alias.active) == (
        "john.doe@example.com",
        "john.doe@example.com",
        "example.com",
        True,
    )
    with pytest.raises(AlreadyExistsError, match=r"mailbox already exists"):
        svc.add_mailbox(cli, "john.doe@example.com", PASSWORD)
    with pytest.raises(NotFoundError, match=r"domain not found: other.example"):
        svc.add_mailbox(cli, "x@other.example", PASSWORD)


@pytest.mark.parametrize(
    "address",
    ["nodomain", "@example.com", "a b@example.com", '"q"@example.com', "a..b@example.com"],
)
def test_mailbox_addresses_refused(svc: AdminService, cli: Actor, address: str) -> None:
    svc.add_domain(cli, "example.com")
    with pytest.raises(InvalidError, match=r"invalid address"):
        svc.add_mailbox(cli, address, PASSWORD)


def test_mailbox_password_rules(svc: AdminService, cli: Actor, engine: Engine) -> None:
    svc.add_domain(cli, "example.com")
    with pytest.raises(InvalidError, match=r"too short"):
        svc.add_mailbox(cli, "a@example.com", "short")
    svc.add_mailbox(cli, "a@example.com", PASSWORD)
    svc.set_password(cli, "A@example.com", "another password")
    (mailbox,) = rows(engine, Mailbox)
    assert verify_password("another password", mailbox.password)
    assert not verify_password(PASSWORD, mailbox.password)
    with pytest.raises(NotFoundError, match=r"mailbox not found: b@example.com"):
        svc.set_password(cli, "b@example.com", "another password")


def test_mailbox_limit(svc: AdminService, cli: Actor) -> None:
    svc.add_domain(cli, "example.com", mailboxes=2)
    svc.add_domain(cli, "none.example", mailboxes=-1)
    svc.add_mailbox(cli, "a@example.com", PASSWORD)
    svc.add_mailbox(cli, "b@example.com", PASSWORD)
    with pytest.raises(LimitExceededError, match=r"limit of 2 mailboxes"):
        svc.add_mailbox(cli, "c@example.com", PASSWORD)
    with pytest.raises(LimitExceededError, match=r"may not have mailboxes"):
        svc.add_mailbox(cli, "a@none.example", PASSWORD)
    svc.delete_mailbox(cli, "a@example.com")
    svc.add_mailbox(cli, "c@example.com", PASSWORD)


def test_mailbox_quotas(svc: AdminService, cli: Actor) -> None:
    svc.add_domain(cli, "example.com", maxquota=100, quota=150)
    with pytest.raises(LimitExceededError, match=r"maximum of 100 MB per mailbox"):
        svc.add_mailbox(cli, "a@example.com", PASSWORD, quota=101 * MB)
    with pytest.raises(LimitExceededError, match=r"unlimited"):
        svc.add_mailbox(cli, "a@example.com", PASSWORD, quota=0)
    svc.add_mailbox(cli, "a@example.com", PASSWORD, quota=100 * MB)
    with pytest.raises(LimitExceededError, match=r"total quota of 150 MB"):
        svc.add_mailbox(cli, "b@example.com", PASSWORD, quota=51 * MB)
    svc.add_mailbox(cli, "b@example.com", PASSWORD, quota=50 * MB)
    # editing a mailbox does not count its own old quota
    assert svc.edit_mailbox(cli, "a@example.com", quota=90 * MB)["quota"] == 90 * MB
    svc.edit_mailbox(cli, "a@example.com", quota=100 * MB)
    with pytest.raises(LimitExceededError):
        svc.edit_mailbox(cli, "b@example.com", quota=51 * MB)
    svc.add_domain(cli, "free.example")
    assert svc.add_mailbox(cli, "x@free.example", PASSWORD)["quota"] == 0


def test_mailbox_edit_and_delete(svc: AdminService, cli: Actor, engine: Engine) -> None:
    svc.add_domain(cli, "example.com")
    svc.add_mailbox(cli, "a@example.com", PASSWORD)
    row = svc.edit_mailbox(cli, "a@example.com", name="Ann", active=False)
    assert (row["name"], row["active"]) == ("Ann", False)
    assert rows(engine, Alias)[0].active is False  # the mailbox's alias follows it
    with Session(engine) as s, s.begin():
        s.add(Vacation(email="a@example.com", subject="away", body="...", domain="example.com"))
        s.flush()
        s.add(VacationNotification(on_vacation="a@example.com", notified="x@y.example"))
        s.add(Quota2(username="a@example.com", bytes=10, messages=1))
    svc.add_alias(cli, "team@example.com", "a@example.com,b@other.example")
    svc.delete_mailbox(cli, "a@example.com")
    for model in (Mailbox, Vacation, VacationNotification, Quota2):
        assert count(engine, model) == 0, model
    # other aliases that name it are left alone, as in PostfixAdmin
    assert [a.address for a in rows(engine, Alias)] == ["team@example.com"]
    with pytest.raises(NotFoundError):
        svc.delete_mailbox(cli, "a@example.com")


def test_mailbox_edit_forwarding_in_one_transaction(svc: AdminService, cli: Actor) -> None:
    svc.add_domain(cli, "example.com")
    svc.add_mailbox(cli, "a@example.com", PASSWORD, name="Ann")
    row = svc.edit_mailbox(cli, "a@example.com", name="Anna", goto=["x@ext.example"])
    assert row["name"] == "Anna"
    assert svc.get_alias(cli, "a@example.com")["goto"] == "x@ext.example"
    with pytest.raises(InvalidError, match=r"invalid address"):
        svc.edit_mailbox(cli, "a@example.com", name="Bob", goto=["not-an-address"])
    # the refused forwarding took the name change with it
    assert svc.get_mailbox(cli, "a@example.com")["name"] == "Anna"
    assert svc.get_alias(cli, "a@example.com")["goto"] == "x@ext.example"


# -- aliases ------------------------------------------------------------------------------


def test_alias_targets(svc: AdminService, cli: Actor) -> None:
    svc.add_domain(cli, "example.com")
    row = svc.add_alias(
        cli, "Info@Example.com", "a@example.com, B@Gmail.com ,b@gmail.com a@example.com"
    )
    assert row["goto"] == "a@example.com,b@gmail.com"
    assert (
        svc.add_alias(cli, "x@example.com", ["y@bücher.example"])["goto"]
        == "y@xn--bcher-kva.example"
    )
    with pytest.raises(InvalidError, match=r"invalid address"):
        svc.add_alias(cli, "y@example.com", "a@example.com,not-an-address")
    with pytest.raises(InvalidError, match=r"at least one target"):
        svc.add_alias(cli, "y@example.com", " , ")
    with pytest.raises(InvalidError, match=r"cannot forward to itself"):
        svc.add_alias(cli, "y@example.com", "y@example.com,z@example.com")
    with pytest.raises(AlreadyExistsError, match=r"alias already exists"):
        svc.add_alias(cli, "info@example.com", "z@example.com")
    row = svc.edit_alias(cli, "info@example.com", goto="z@example.com", active=False)
    assert (row["goto"], row["active"]) == ("z@example.com", False)
    catchall = svc.add_alias(cli, "@Example.com", "a@example.com")
    assert (catchall["address"], catchall["domain"]) == ("@example.com", "example.com")
    svc.delete_alias(cli, "info@example.com")
    with pytest.raises(NotFoundError, match=r"alias not found: info@example.com"):
        svc.get_alias(cli, "info@example.com")


def test_alias_limit_does_not_count_mailboxes(svc: AdminService, cli: Actor) -> None:
    svc.add_domain(cli, "example.com", aliases=1)
    svc.add_domain(cli, "none.example", aliases=-1)
    svc.add_mailbox(cli, "m@example.com", PASSWORD)
    svc.add_alias(cli, "a@example.com", "m@example.com")
    with pytest.raises(LimitExceededError, match=r"limit of 1 aliases"):
        svc.add_alias(cli, "b@example.com", "m@example.com")
    with pytest.raises(LimitExceededError, match=r"may not have aliases"):
        svc.add_alias(cli, "a@none.example", "m@example.com")


def test_alias_and_mailbox_never_clash(svc: AdminService, cli: Actor, engine: Engine) -> None:
    svc.add_domain(cli, "example.com")
    svc.add_mailbox(cli, "m@example.com", PASSWORD)
    svc.add_alias(cli, "a@example.com", "m@example.com")
    with pytest.raises(AlreadyExistsError, match=r"is a mailbox"):
        svc.add_alias(cli, "m@example.com", "x@example.com")
    with pytest.raises(AlreadyExistsError, match=r"is already an alias"):
        svc.add_mailbox(cli, "a@example.com", PASSWORD)
    # a mailbox's alias row is its forwarding: keep a copy, forward only, or reset
    assert svc.edit_alias(cli, "m@example.com", goto="m@example.com,x@ext.example")["goto"] == (
        "m@example.com,x@ext.example"
    )
    assert svc.edit_alias(cli, "m@example.com", goto="x@ext.example")["goto"] == "x@ext.example"
    with pytest.raises(InvalidError, match=r"is a mailbox"):
        svc.edit_alias(cli, "m@example.com", active=False)
    with pytest.raises(InvalidError, match=r"delete the mailbox"):
        svc.delete_alias(cli, "m@example.com")
    assert [a["address"] for a in svc.list_aliases(cli)] == ["a@example.com"]
    assert [a["address"] for a in svc.list_aliases(cli, "example.com", mailboxes=True)] == [
        "a@example.com",
        "m@example.com",
    ]
    assert count(engine, Mailbox) == 1


# -- alias domains ------------------------------------------------------------------------


def test_alias_domain_rules(svc: AdminService, cli: Actor) -> None:
    for name in ("a.example", "b.example", "c.example"):
        svc.add_domain(cli, name)
    with pytest.raises(InvalidError, match=r"of itself"):
        svc.add_alias_domain(cli, "a.example", "a.example")
    with pytest.raises(NotFoundError, match=r"domain not found: x.example"):
        svc.add_alias_domain(cli, "x.example", "a.example")
    with pytest.raises(NotFoundError, match=r"domain not found: x.example"):
        svc.add_alias_domain(cli, "a.example", "x.example")
    row = svc.add_alias_domain(cli, "B.example", "a.example")
    assert (row["alias_domain"], row["target_domain"], row["active"]) == (
        "b.example",
        "a.example",
        True,
    )
    with pytest.raises(AlreadyExistsError, match=r"already an alias domain"):
        svc.add_alias_domain(cli, "b.example", "c.example")
    with pytest.raises(InvalidError, match=r"cannot be chained"):
        svc.add_alias_domain(cli, "c.example", "b.example")  # c -> b -> a
    with pytest.raises(InvalidError, match=r"cannot be chained"):
        svc.add_alias_domain(cli, "a.example", "c.example")  # b -> a -> c
    row = svc.edit_alias_domain(cli, "b.example", target_domain="c.example", active=False)
    assert (row["target_domain"], row["active"]) == ("c.example", False)
    assert [r["alias_domain"] for r in svc.list_alias_domains(cli, "c.example")] == ["b.example"]
    svc.delete_alias_domain(cli, "b.example")
    with pytest.raises(NotFoundError, match=r"alias domain not found"):
        svc.get_alias_domain(cli, "b.example")


# -- deleting a domain --------------------------------------------------------------------


def test_domain_delete_removes_everything_it_owns(
    svc: AdminService, cli: Actor, engine: Engine
) -> None:
    for name in ("gone.example", "kept.example", "other.example"):
        svc.add_domain(cli, name)
    svc.add_mailbox(cli, "a@gone.example", PASSWORD)
    svc.add_mailbox(cli, "b@gone.example", PASSWORD)
    svc.add_mailbox(cli, "k@kept.example", PASSWORD)
    svc.add_alias(cli, "list@gone.example", "a@gone.example,k@kept.example")
    svc.add_alias(cli, "@gone.example", "a@gone.example")
    svc.add_alias(cli, "fw@kept.example", "a@gone.example")
    svc.add_alias_domain(cli, "other.example", "gone.example")
    svc.add_admin(cli, "da@kept.example", PASSWORD, domains=["gone.example", "kept.example"])
    with Session(engine) as s, s.begin():
        s.add(Vacation(email="a@gone.example", subject="s", body="b", domain="gone.example"))
        s.add(Quota2(username="a@gone.example", bytes=1, messages=1))
        s.add(Quota2(username="k@kept.example", bytes=1, messages=1))
    counts = svc.delete_domain(cli, "GONE.example")
    assert counts["mailbox"] == 2
    assert counts["alias"] == 4  # two self-aliases, list@, the catch-all
    assert counts["alias_domain"] == 1
    assert counts["domain_admins"] == 1
    assert (counts["vacation"], counts["quota2"]) == (1, 1)
    assert [d.domain for d in rows(engine, Domain)] == ["kept.example", "other.example"]
    assert [m.username for m in rows(engine, Mailbox)] == ["k@kept.example"]
    assert sorted(a.address for a in rows(engine, Alias)) == ["fw@kept.example", "k@kept.example"]
    assert rows(engine, AliasDomain) == []
    assert [(d.username, d.domain) for d in rows(engine, DomainAdmin)] == [
        ("da@kept.example", "kept.example")
    ]
    assert [q.username for q in rows(engine, Quota2)] == ["k@kept.example"]
    assert count(engine, Vacation) == 0
    (log,) = rows(engine, Log, action="delete_domain")
    assert (log.username, log.domain) == ("tester (cli)", "gone.example")
    assert "mailbox=2" in log.data
    with pytest.raises(NotFoundError):
        svc.delete_domain(cli, "gone.example")


# -- admins and authorization -------------------------------------------------------------


def test_admin_accounts(svc: AdminService, cli: Actor, engine: Engine) -> None:
    svc.add_domain(cli, "a.example")
    svc.add_domain(cli, "b.example")
    boss = svc.add_admin(cli, "Boss@a.example", PASSWORD, superadmin=True)
    assert (boss["username"], boss["superadmin"], boss["domains"]) == ("boss@a.example", True, [])
    assert [(d.username, d.domain) for d in rows(engine, DomainAdmin)] == [
        ("boss@a.example", "ALL")
    ]
    da = svc.add_admin(cli, "da@a.example", PASSWORD, domains=["b.example", "A.example"])
    assert da["domains"] == ["a.example", "b.example"]
    assert verify_password(PASSWORD, rows(engine, Admin, username="da@a.example")[0].password)
    with pytest.raises(AlreadyExistsError):
        svc.add_admin(cli, "da@a.example", PASSWORD, domains=["a.example"])
    with pytest.raises(InvalidError, match=r"at least one domain"):
        svc.add_admin(cli, "x@a.example", PASSWORD)
    with pytest.raises(InvalidError, match=r"not both"):
        svc.add_admin(cli, "x@a.example", PASSWORD, superadmin=True, domains=["a.example"])
    with pytest.raises(NotFoundError, match=r"domain not found: c.example"):
        svc.add_admin(cli, "x@a.example", PASSWORD, domains=["c.example"])
    assert svc.edit_admin(cli, "da@a.example", domains=["b.example"])["domains"] == ["b.example"]
    promoted = svc.edit_admin(cli, "da@a.example", superadmin=True)
    assert (promoted["superadmin"], promoted["domains"]) == (True, [])
    assert svc.actor_for("da@a.example").is_superadmin
    demoted = svc.edit_admin(cli, "da@a.example", domains=["a.example"])
    assert (demoted["superadmin"], demoted["domains"]) == (False, ["a.example"])
    assert svc.actor_for("da@a.example") == Actor.domain_admin("da@a.example", {"a.example"})
    assert [a["username"] for a in svc.list_admins(cli)] == ["boss@a.example", "da@a.example"]
    assert svc.authenticate("DA@a.example", PASSWORD).domains == {"a.example"}
    with pytest.raises(ForbiddenError, match=r"wrong admin username or password"):
        svc.authenticate("da@a.example", "wrong password")
    svc.edit_admin(cli, "da@a.example", active=False)
    with pytest.raises(ForbiddenError, match=r"not an active admin"):
        svc.actor_for("da@a.example")
    svc.delete_admin(cli, "da@a.example")
    assert [d.username for d in rows(engine, DomainAdmin)] == ["boss@a.example"]
    boss_actor = svc.actor_for("boss@a.example")
    with pytest.raises(ForbiddenError, match=r"delete themselves"):
        svc.delete_admin(boss_actor, "boss@a.example")
    with pytest.raises(ForbiddenError, match=r"own rights"):
        svc.edit_admin(boss_actor, "boss@a.example", superadmin=False)


def test_domain_admin_stays_in_its_domains(svc: AdminService, cli: Actor) -> None:
    for name in ("mine.example", "also.example", "theirs.example"):
        svc.add_domain(cli, name)
    svc.add_mailbox(cli, "t@theirs.example", PASSWORD)
    svc.add_admin(cli, "da@mine.example", PASSWORD, domains=["mine.example", "also.example"])
    me = svc.actor_for("da@mine.example")
    # allowed: mailboxes, aliases and alias domains of its own domains
    svc.add_mailbox(me, "m@mine.example", PASSWORD)
    svc.edit_mailbox(me, "m@mine.example", name="M")
    svc.add_alias(me, "a@mine.example", "t@theirs.example")  # external targets are fine
    svc.add_alias_domain(me, "also.example", "mine.example")
    assert [d["domain"] for d in svc.list_domains(me)] == ["also.example", "mine.example"]
    assert svc.domain_names(me) == ["also.example", "mine.example"]
    assert [m["username"] for m in svc.list_mailboxes(me)] == ["m@mine.example"]
    assert svc.list_alias_domains(me) != []
    # refused: other domains, domain and admin management
    refused: list[Callable[[], object]] = [
        lambda: svc.add_domain(me, "new.example"),
        lambda: svc.edit_domain(me, "mine.example", mailboxes=100),
        lambda: svc.delete_domain(me, "mine.example"),
        lambda: svc.get_domain(me, "theirs.example"),
        lambda: svc.add_mailbox(me, "x@theirs.example", PASSWORD),
        lambda: svc.get_mailbox(me, "t@theirs.example"),
        lambda: svc.delete_mailbox(me, "t@theirs.example"),
        lambda: svc.set_password(me, "t@theirs.example", PASSWORD),
        lambda: svc.list_mailboxes(me, "theirs.example"),
        lambda: svc.add_alias(me, "x@theirs.example", "m@mine.example"),
        lambda: svc.edit_alias(me, "t@theirs.example", goto="m@mine.example"),
        lambda: svc.add_alias_domain(me, "theirs.example", "mine.example"),
        lambda: svc.add_alias_domain(me, "mine.example", "theirs.example"),
        lambda: svc.add_admin(me, "x@mine.example", PASSWORD, domains=["mine.example"]),
        lambda: svc.list_admins(me),
        # a domain that does not exist is refused the same way: nothing leaks
        lambda: svc.get_domain(me, "nowhere.example"),
    ]
    for operation in refused:
        with pytest.raises(ForbiddenError):
            operation()
    assert [m["username"] for m in svc.list_mailboxes(cli, "theirs.example")] == [
        "t@theirs.example"
    ]


# -- log, transactions, database trouble ---------------------------------------------------


def test_every_change_is_logged(svc: AdminService, cli: Actor, engine: Engine) -> None:
    svc.add_domain(cli, "example.com")
    svc.edit_domain(cli, "example.com", description="x")
    svc.add_mailbox(cli, "m@example.com", PASSWORD)
    svc.edit_mailbox(cli, "m@example.com", password="new password 1")
    svc.set_password(cli, "m@example.com", "new password 2")
    svc.add_alias(cli, "a@example.com", "m@example.com")
    svc.edit_alias(cli, "a@example.com", goto="x@example.net")
    svc.delete_alias(cli, "a@example.com")
    svc.add_domain(cli, "alias.example")
    svc.add_alias_domain(cli, "alias.example", "example.com")
    svc.edit_alias_domain(cli, "alias.example", active=False)
    svc.delete_alias_domain(cli, "alias.example")
    svc.add_admin(cli, "ad@example.com", PASSWORD, domains=["example.com"])
    svc.edit_admin(cli, "ad@example.com", password="new password 3")
    svc.delete_admin(cli, "ad@example.com")
    svc.delete_mailbox(cli, "m@example.com")
    svc.get_domain(cli, "example.com")  # reads are not logged
    logs = sorted(rows(engine, Log), key=lambda log: log.id)
    assert [log.action for log in logs] == [
        "create_domain",
        "edit_domain",
        "create_mailbox",
        "edit_mailbox",
        "edit_password",
        "create_alias",
        "edit_alias",
        "delete_alias",
        "create_domain",
        "create_alias_domain",
        "edit_alias_domain",
        "delete_alias_domain",
        "create_admin",
        "edit_admin",
        "delete_admin",
        "delete_mailbox",
    ]
    assert {log.username for log in logs} == {"tester (cli)"}
    assert [log.domain for log in logs][:8] == ["example.com"] * 8
    assert logs[9].domain == "alias.example"
    assert logs[12].domain == ""
    assert all(log.timestamp is not None for log in logs)
    assert logs[5].data == "a@example.com -> m@example.com"
    assert not any("password 1" in log.data or "password 3" in log.data for log in logs)
    assert "password=(changed)" in logs[3].data


def test_failed_operation_writes_nothing(
    svc: AdminService, cli: Actor, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc.add_domain(cli, "example.com")

    def broken(*_args: object) -> None:
        raise InvalidError("simulated failure after the rows were added")

    monkeypatch.setattr("vmail.admin.audit.record", broken)
    with pytest.raises(InvalidError, match=r"simulated"):
        svc.add_mailbox(cli, "m@example.com", PASSWORD)
    with pytest.raises(InvalidError, match=r"simulated"):
        svc.delete_domain(cli, "example.com")
    monkeypatch.undo()
    assert (count(engine, Mailbox), count(engine, Alias), count(engine, Domain)) == (0, 0, 1)


def test_database_down_is_one_clear_error() -> None:
    from vmail.directory.database import open_database

    svc = AdminService(open_database("postgresql://u:secret@127.0.0.1:1/nothing"))
    with pytest.raises(DatabaseError, match=r"directory database unavailable") as info:
        svc.list_domains(Actor.cli("t"))
    assert "\n" not in str(info.value)
    assert "secret" not in str(info.value)


def test_database_without_tables_says_run_init(tmp_path: object) -> None:
    from vmail.directory.database import open_database

    svc = AdminService(open_database("sqlite://"))
    with pytest.raises(DatabaseError, match=r"run 'vmail init'"):
        svc.add_domain(Actor.cli("t"), "example.com")
