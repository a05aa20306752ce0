"""The log page: newest first, filters, search, and a domain admin's scope."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService, ForbiddenError, InvalidError, ListQuery


@pytest.fixture
def logged(svc: AdminService, cli: Actor) -> AdminService:
    svc.add_domain(cli, "a.example")
    svc.add_domain(cli, "b.example")
    svc.add_mailbox(cli, "x@a.example", PASSWORD)
    svc.add_mailbox(cli, "y@b.example", PASSWORD)
    svc.add_admin(cli, "da@a.example", PASSWORD, domains=["a.example"])
    svc.set_password(Actor.domain_admin("da@a.example", {"a.example"}), "x@a.example", PASSWORD)
    return svc


def test_newest_first_with_filters(logged: AdminService, cli: Actor) -> None:
    page = logged.page_log(cli, ListQuery())
    assert page.total == 6
    assert [r["action"] for r in page.items][:2] == ["edit_password", "create_admin"]
    assert [r["id"] for r in page.items] == sorted((r["id"] for r in page.items), reverse=True)
    oldest = logged.page_log(cli, ListQuery(sort="id", limit=1))
    assert oldest.items[0]["action"] == "create_domain"
    assert logged.page_log(cli, ListQuery(), action="create_mailbox").total == 2
    assert logged.page_log(cli, ListQuery(), username="da@a.example").total == 1
    assert logged.page_log(cli, ListQuery(), domain="b.example").total == 2
    assert logged.page_log(cli, ListQuery(q="Y@B")).total == 1
    assert "password" not in " ".join(r["data"] for r in page.items).replace("edit_password", "")


def test_time_filters(logged: AdminService, cli: Actor) -> None:
    now = datetime.now()
    assert logged.page_log(cli, ListQuery(), since=now + timedelta(hours=13)).total == 0
    assert logged.page_log(cli, ListQuery(), until=now - timedelta(hours=13)).total == 0
    assert (
        logged.page_log(
            cli, ListQuery(), since=now - timedelta(hours=13), until=now + timedelta(hours=13)
        ).total
        == 6
    )
    with pytest.raises(InvalidError, match="until"):
        logged.page_log(cli, ListQuery(), since=now, until=now)


def test_domain_admin_sees_their_domains_only(logged: AdminService) -> None:
    da = Actor.domain_admin("da@a.example", {"a.example"})
    page = logged.page_log(da, ListQuery())
    assert page.total == 3
    assert {r["domain"] for r in page.items} == {"a.example"}
    with pytest.raises(ForbiddenError):
        logged.page_log(da, ListQuery(), domain="b.example")
