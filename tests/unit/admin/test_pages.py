"""Paginated lists: SQL search, sort, count and scope, per kind of object."""

from __future__ import annotations

import pytest

from tests.unit.admin.conftest import PASSWORD
from vmail.admin import Actor, AdminService, ForbiddenError, InvalidError, ListQuery, NotFoundError


@pytest.fixture
def filled(svc: AdminService, cli: Actor) -> AdminService:
    for domain in ("a.example", "b.example"):
        svc.add_domain(cli, domain, description=f"domain {domain[0].upper()}")
    svc.add_domain(cli, "alias-a.example")
    for i in range(7):
        svc.add_mailbox(cli, f"user{i}@a.example", PASSWORD, name=f"User_{i} Smith")
    svc.add_mailbox(cli, "boss@b.example", PASSWORD, name="100% Boss")
    svc.add_alias(cli, "info@a.example", "user1@a.example,ext@else.where")
    svc.add_alias(cli, "@a.example", "user0@a.example")
    svc.add_alias(cli, "sales@b.example", "boss@b.example")
    svc.add_alias_domain(cli, "alias-a.example", "a.example")
    svc.add_admin(cli, "da@a.example", PASSWORD, domains=["a.example"])
    svc.add_admin(cli, "root@a.example", PASSWORD, superadmin=True)
    return svc


DA = Actor.domain_admin("da@a.example", {"a.example"})


def names(page: object, key: str) -> list[str]:
    return [item[key] for item in page.items]  # type: ignore[attr-defined]


def test_query_is_validated() -> None:
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"q": "x" * 256}):
        with pytest.raises(InvalidError):
            ListQuery(**bad)
    assert ListQuery(limit=500).limit == 500


def test_mailboxes_paginate_sort_and_count(filled: AdminService, cli: Actor) -> None:
    first = filled.page_mailboxes(cli, ListQuery(limit=3))
    assert (first.total, first.offset, first.limit) == (8, 0, 3)
    assert names(first, "username") == ["boss@b.example", "user0@a.example", "user1@a.example"]
    rest = filled.page_mailboxes(cli, ListQuery(offset=6, limit=3))
    assert names(rest, "username") == ["user5@a.example", "user6@a.example"]
    down = filled.page_mailboxes(cli, ListQuery(sort="name", descending=True, limit=2))
    assert names(down, "name") == ["User_6 Smith", "User_5 Smith"]
    assert "password" not in first.items[0]
    assert first.items[0]["usage_bytes"] is None  # no mail root: unknown


def test_bad_sort_is_a_clear_error(filled: AdminService, cli: Actor) -> None:
    with pytest.raises(InvalidError, match=r"cannot sort mailboxes by 'password': use one of"):
        filled.page_mailboxes(cli, ListQuery(sort="password"))


def test_search_is_case_insensitive_and_escapes_wildcards(filled: AdminService, cli: Actor) -> None:
    assert filled.page_mailboxes(cli, ListQuery(q="USER3")).total == 1
    assert names(filled.page_mailboxes(cli, ListQuery(q="smith")), "username")[0] == (
        "user0@a.example"
    )
    assert names(filled.page_mailboxes(cli, ListQuery(q="100%")), "username") == ["boss@b.example"]
    assert filled.page_mailboxes(cli, ListQuery(q="r_1")).total == 1  # "_" is literal
    assert filled.page_mailboxes(cli, ListQuery(q="%")).total == 1
    assert filled.page_mailboxes(cli, ListQuery(q="nobody")).items == []


def test_domain_admin_sees_only_their_domains(filled: AdminService) -> None:
    page = filled.page_mailboxes(DA, ListQuery(limit=500))
    assert page.total == 7
    assert all(m["domain"] == "a.example" for m in page.items)
    assert filled.page_mailboxes(DA, ListQuery(q="boss")).total == 0
    assert names(filled.page_domains(DA, ListQuery()), "domain") == ["a.example"]
    with pytest.raises(ForbiddenError):
        filled.page_mailboxes(DA, ListQuery(), domain="b.example")
    with pytest.raises(ForbiddenError):
        filled.page_aliases(DA, ListQuery(), domain="b.example")
    with pytest.raises(ForbiddenError):
        filled.page_admins(DA, ListQuery())


def test_domain_filter(filled: AdminService, cli: Actor) -> None:
    page = filled.page_mailboxes(cli, ListQuery(), domain="B.example")
    assert names(page, "username") == ["boss@b.example"]
    with pytest.raises(NotFoundError):
        filled.page_mailboxes(cli, ListQuery(), domain="c.example")


def test_aliases_hide_mailbox_rows_but_list_catch_alls(filled: AdminService, cli: Actor) -> None:
    page = filled.page_aliases(cli, ListQuery())
    assert names(page, "address") == ["@a.example", "info@a.example", "sales@b.example"]
    assert page.total == 3
    every = filled.page_aliases(cli, ListQuery(limit=500), include_mailbox_aliases=True)
    assert every.total == 11
    assert names(filled.page_aliases(cli, ListQuery(q="ELSE.where")), "address") == [
        "info@a.example"
    ]
    assert filled.page_aliases(DA, ListQuery()).total == 2
    by_goto = filled.page_aliases(cli, ListQuery(sort="goto"))
    assert names(by_goto, "address")[0] == "sales@b.example"


def test_domains_alias_domains_and_admins(filled: AdminService, cli: Actor) -> None:
    assert names(filled.page_domains(cli, ListQuery(q="domain b")), "domain") == ["b.example"]
    assert names(filled.page_domains(cli, ListQuery(descending=True)), "domain") == [
        "b.example",
        "alias-a.example",
        "a.example",
    ]
    assert names(filled.page_alias_domains(cli, ListQuery()), "alias_domain") == ["alias-a.example"]
    assert filled.page_alias_domains(DA, ListQuery()).total == 0  # alias side is not theirs
    assert filled.page_alias_domains(cli, ListQuery(), domain="a.example").total == 1
    admins = filled.page_admins(cli, ListQuery(sort="superadmin", descending=True))
    assert [(a["username"], a["domains"]) for a in admins.items] == [
        ("root@a.example", []),
        ("da@a.example", ["a.example"]),
    ]
    assert filled.page_admins(cli, ListQuery(q="root")).total == 1


def test_domain_pages_carry_the_same_usage_as_domain_usage(
    filled: AdminService, cli: Actor
) -> None:
    for row in filled.page_domains(cli, ListQuery()).items:
        assert row["usage"] == filled.domain_usage(cli, row["domain"]), row["domain"]
