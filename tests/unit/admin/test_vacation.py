"""Vacation as PostfixAdmin stores it: the ``vacation`` row and the alias's autoreply target."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService, ForbiddenError, InvalidError, NotFoundError
from vmail.directory.models import Alias, Vacation, VacationNotification

START = datetime(2030, 7, 1, 8, 0)
END = datetime(2030, 7, 15, 18, 0)


@pytest.fixture
def mailbox(svc: AdminService, cli: Actor) -> AdminService:
    svc.add_domain(cli, "a.example")
    svc.add_domain(cli, "b.example")
    svc.add_mailbox(cli, "u@a.example", PASSWORD)
    return svc


def _goto(engine: Engine) -> str:
    with Session(engine) as s:
        alias = s.get(Alias, "u@a.example")
        assert alias is not None
        return alias.goto


def test_set_and_clear_keeps_the_alias_consistent(mailbox: AdminService, engine: Engine) -> None:
    user = Actor.user("u@a.example")
    assert mailbox.get_vacation(user, "u@a.example")["active"] is False
    with Session(engine) as s, s.begin():
        s.add(Vacation(email="u@a.example", subject="s", body="b", domain="a.example"))
        s.flush()
        s.add(VacationNotification(on_vacation="u@a.example", notified="x@y.example"))
    got = mailbox.set_vacation(
        user,
        "u@a.example",
        subject="Away",
        body="Back on the 15th.\nRegards",
        active_from=START,
        active_until=END.replace(tzinfo=UTC),
        interval_time=86400,
    )
    assert (got["subject"], got["active"], got["interval_time"]) == ("Away", True, 86400)
    assert _goto(engine) == "u@a.example,u#a.example@autoreply.a.example"
    with Session(engine) as s:
        row = s.get(Vacation, "u@a.example")
        assert row is not None
        naive = (row.activefrom.replace(tzinfo=None), row.activeuntil.replace(tzinfo=None))
        assert (row.domain, row.cache, naive) == ("a.example", "", (START, END))
        assert s.query(VacationNotification).count() == 0  # everyone is answered again
    # changing the forwarding keeps the autoreply target
    mailbox.edit_alias(Actor.cli("t"), "u@a.example", goto="u@a.example,fw@b.example")
    assert _goto(engine) == "u@a.example,fw@b.example,u#a.example@autoreply.a.example"
    mailbox.set_vacation(user, "u@a.example", subject="Away", body="", active=False)
    assert _goto(engine) == "u@a.example,fw@b.example"
    assert mailbox.get_vacation(user, "u@a.example")["active"] is False


def test_configured_vacation_domain(engine: Engine, cli: Actor) -> None:
    svc = AdminService(engine, vacation_domain="autoreply.mail.example")
    svc.add_domain(cli, "a.example")
    svc.add_mailbox(cli, "u@a.example", PASSWORD)
    svc.set_vacation(cli, "u@a.example", subject="Away", body="Gone")
    assert _goto(engine) == "u@a.example,u#a.example@autoreply.mail.example"
    svc.set_vacation(cli, "u@a.example", subject="Away", body="Gone again")  # idempotent
    assert _goto(engine) == "u@a.example,u#a.example@autoreply.mail.example"


def test_who_may(mailbox: AdminService, cli: Actor) -> None:
    with pytest.raises(ForbiddenError):
        mailbox.get_vacation(Actor.user("v@a.example"), "u@a.example")
    with pytest.raises(ForbiddenError):
        mailbox.set_vacation(
            Actor.domain_admin("d@b.example", {"b.example"}), "u@a.example", subject="", body="x"
        )
    da = Actor.domain_admin("d@a.example", {"a.example"})
    assert mailbox.set_vacation(da, "u@a.example", subject="", body="x")["active"] is True
    with pytest.raises(NotFoundError):
        mailbox.get_vacation(cli, "none@a.example")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"body": ""}, "needs a message body"),
        ({"subject": "a\nb"}, "control characters"),
        ({"interval_time": -1}, "interval_time"),
        ({"active_from": END, "active_until": START}, "must end after it starts"),
        ({"body": "x" * 65001}, "at most"),
    ],
)
def test_bad_input(
    mailbox: AdminService, cli: Actor, changes: dict[str, object], message: str
) -> None:
    values: dict[str, object] = {"subject": "Away", "body": "Gone"} | changes
    with pytest.raises(InvalidError, match=message):
        mailbox.set_vacation(cli, "u@a.example", **values)  # type: ignore[arg-type]
