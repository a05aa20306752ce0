"""The listing machinery: LIKE escaping, and correct pages at a few thousand mailboxes
(the timing at 100,000 is ``bench/admin_bench.py``'s)."""

from __future__ import annotations

import pytest
from bench.admin_bench import domain_name, fill
from sqlalchemy import Engine

from vmail.admin import Actor, AdminService, ListQuery
from vmail.admin.listing import like_pattern

N = 2000


def test_like_pattern_escapes_wildcards() -> None:
    assert like_pattern("A%b_c\\") == "%a\\%b\\_c\\\\%"


@pytest.fixture
def many(engine: Engine) -> AdminService:
    fill(engine, N, 20)
    return AdminService(engine)


def test_pages_at_size(many: AdminService) -> None:
    cli = Actor.cli("t")
    last = many.page_mailboxes(cli, ListQuery(offset=N - 10, limit=50))
    assert (last.total, len(last.items)) == (N, 10)
    assert last.items[-1]["username"] == f"user{N - 1:06d}@{domain_name((N - 1) % 20)}"
    seen = []
    for offset in range(0, N, 500):
        seen += [
            m["username"]
            for m in many.page_mailboxes(cli, ListQuery(offset=offset, limit=500)).items
        ]
    assert seen == sorted(seen)
    assert len(set(seen)) == N
    by_name = many.page_mailboxes(cli, ListQuery(sort="name", descending=True, limit=5))
    names = [m["name"] for m in by_name.items]
    assert names == sorted(names, reverse=True)
    assert many.page_mailboxes(cli, ListQuery(q="USER00012")).total == 10
    da = Actor.domain_admin("da@d0000.example", {domain_name(i) for i in range(5)})
    scoped = many.page_mailboxes(da, ListQuery(limit=500))
    assert scoped.total == N // 4
    assert {m["domain"] for m in scoped.items} <= da.domains
    assert many.page_aliases(cli, ListQuery()).total == N // 10
    assert many.page_log(da, ListQuery()).total == N // 4
    assert many.overview(cli)["mailboxes"] == N


@pytest.mark.parametrize(
    ("table", "column", "key"),
    [
        ("mailbox", "name", "username"),
        ("mailbox", "quota", "username"),
        ("mailbox", "created", "username"),
        ("mailbox", "modified", "username"),
        ("mailbox", "domain", "username"),
        ("mailbox", "active", "username"),
        ("alias", "created", "address"),
        ("alias", "modified", "address"),
        ("alias", "domain", "address"),
        ("alias", "active", "address"),
    ],
)
def test_sorted_page_keys_walk_an_index(engine: Engine, table: str, column: str, key: str) -> None:
    # a page deep in 100,000 rows must not sort the table (migration 0003's indexes)
    if engine.dialect.name != "sqlite":
        pytest.skip("the query plan is SQLite's")
    query = f"SELECT {key} FROM {table} ORDER BY {column} DESC, {key} DESC LIMIT 50 OFFSET 900"
    with engine.connect() as connection:
        plan = " ".join(
            str(row[-1]) for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}")
        )
    assert "USING COVERING INDEX" in plan
    assert "TEMP B-TREE" not in plan
