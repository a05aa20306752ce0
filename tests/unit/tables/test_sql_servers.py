"""mysql: and pgsql: tables against real MariaDB/PostgreSQL servers, compared with postmap.

Start the servers with ``eval "$(dev/services.sh)"``. Without ``VMAIL_TEST_MYSQL`` /
``VMAIL_TEST_PGSQL`` these tests skip, or fail when ``CI`` is set. The PostfixAdmin-like
tables are (re)created in the test database; an advisory lock keeps parallel test
workers from doing that at the same time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from postfixadmin_schema import (
    ALIAS_DOMAIN_MYSQL,
    ALIAS_DOMAIN_SQL,
    ALIAS_QUERY,
    DOMAIN_QUERY,
    KEYS,
    MAILBOX_QUERY,
    ROWS,
    SCHEMA,
    TABLES,
)
from sql_support import (
    cf_hosts_lines,
    postfix_available,
    postmap_answers,
    server,
    vmail_answer,
    vmail_answers,
    write_cf,
)

from vmail.core.errors import TableError
from vmail.tables import open_table
from vmail.tables.sql_mysql import MysqlTable
from vmail.tables.sql_pgsql import PgsqlTable

LOCK_NAME = "vmail_sql_table_tests"


@dataclass
class Backend:
    kind: str  # "mysql" or "pgsql"
    settings: dict[str, str]
    admin: Any  # a DB-API connection with autocommit, for changing data during tests

    def cf(self, directory: Path, body: str, name: str = "t.cf", **login: str) -> str:
        text = cf_hosts_lines(self.settings, **login) + body + "\n"
        return f"{self.kind}:{write_cf(directory, name, text)}"

    def execute(self, sql: str, params: tuple[object, ...] = ()) -> None:
        with self.admin.cursor() as cursor:
            cursor.execute(sql, params or None)


def _mysql() -> Iterator[Backend]:
    import pymysql

    s = server("VMAIL_TEST_MYSQL")
    conn = pymysql.connect(
        host=s["host"],
        port=int(s["port"]),
        user=s["user"],
        password=s["password"],
        database=s["dbname"],
        autocommit=True,
        charset="utf8mb4",
    )
    backend = Backend("mysql", s, conn)
    backend.execute("SELECT GET_LOCK(%s, 600)", (LOCK_NAME,))
    try:
        yield backend
    finally:
        backend.execute("SELECT RELEASE_LOCK(%s)", (LOCK_NAME,))
        conn.close()


def _pgsql() -> Iterator[Backend]:
    import psycopg

    s = server("VMAIL_TEST_PGSQL")
    conn = psycopg.connect(" ".join(f"{k}={v}" for k, v in s.items()), autocommit=True)
    backend = Backend("pgsql", s, conn)
    backend.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCK_NAME,))
    try:
        yield backend
    finally:
        backend.execute("SELECT pg_advisory_unlock(hashtext(%s))", (LOCK_NAME,))
        conn.close()


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("pgsql", marks=pytest.mark.pgsql),
    ],
)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    make = _mysql if request.param == "mysql" else _pgsql
    for b in make():
        for table in TABLES:
            b.execute(f"DROP TABLE IF EXISTS {table}")
        for ddl in SCHEMA:
            b.execute(ddl)
        for table, rows in ROWS.items():
            for row in rows:
                b.execute(f"INSERT INTO {table} VALUES ({','.join(['%s'] * len(row))})", tuple(row))
        yield b


def cases(kind: str) -> dict[str, str]:
    pipes = {"alias_domain_pipes": f"query = {ALIAS_DOMAIN_SQL}"} if kind == "pgsql" else {}
    return {
        **pipes,  # in MySQL, || means OR
        "mailbox": f"query = {MAILBOX_QUERY}",
        "alias": f"query = {ALIAS_QUERY}",
        "domain": f"query = {DOMAIN_QUERY}",
        "alias_domain": f"query = {ALIAS_DOMAIN_MYSQL}",
        "domain_list": f"query = {ALIAS_QUERY}\ndomain = example.com, !example.org, alias.example",
        "domain_table": f"query = {ALIAS_QUERY}\ndomain = inline:{{example.org=1}}",
        "result_format": f"query = {ALIAS_QUERY}\nresult_format = smtp:[%s]",
        "result_format_parts": f"query = {ALIAS_QUERY}\nresult_format = <%u|%d|%U|%D|%1|%%>",
        "multi_column": "query = SELECT v, w FROM kv WHERE k='%s'",
        "multi_column_format": "query = SELECT v, w FROM kv WHERE k='%s'\nresult_format = [%d]",
        "expansion_limit": f"query = {ALIAS_QUERY}\nexpansion_limit = 1",
        "expansion_limit_multi": "query = SELECT v, w FROM kv WHERE k='%s'\nexpansion_limit = 3",
        "split_key": "query = SELECT '%u/%d/%1/%2' FROM domain WHERE domain='example.com'",
        "echo_key": "query = SELECT '%s' FROM domain WHERE domain='example.com'",
        "legacy": "select_field = goto\ntable = alias\nwhere_field = address\n"
        "additional_conditions = AND active = '1' and goto like 'a%%'",
        "numbers": "query = SELECT quota, quota / 3, active FROM mailbox WHERE username='%s'",
    }


@pytest.mark.postfix
@pytest.mark.skipif(not postfix_available(), reason="needs /usr/sbin/postmap")
def test_same_answers_as_postfix(backend: Backend, tmp_path: Path) -> None:
    keys = [k for k in KEYS if k]
    mismatches = {}
    for case, body in cases(backend.kind).items():
        spec = backend.cf(tmp_path, body, name=f"{case}.cf")
        expected = postmap_answers(spec, keys, tmp_path / "etc")
        got = vmail_answers(spec, keys)
        diff = {k: (e, g) for k, e, g in zip(keys, expected, got, strict=True) if e != g}
        if diff:
            mismatches[case] = diff
    assert mismatches == {}


@pytest.mark.parametrize(
    ("case", "key", "expected"),
    [
        ("mailbox", "alice@example.com", "example.com/alice/"),
        ("mailbox", "gone@example.com", None),
        ("mailbox", "o'brien@example.com", "example.com/obrien/"),
        ("alias", "sales@example.com", "bob@example.com,carol@example.org"),
        ("alias", "back\\slash@example.com", "alice@example.com"),
        ("alias", "pct%s@example.com", "bob@example.com"),
        ("alias", "x' OR '1'='1", None),
        ("alias", "x\\' OR 1=1 -- ", None),
        ("alias", "x\0' OR '1'='1", None),
        ("alias_domain", "alice@alias.example", "alice@example.com"),
        ("alias_domain", "sales@alias.example", "bob@example.com,carol@example.org"),
        ("alias_domain", "alice@inactive.example", None),
        ("alias_domain", "alice", None),
        ("multi_column", "multi", "u1@d1.com,u2@d2.org,@nolocal.com,plain,x%y"),
        ("multi_column_format", "multi", "[d1.com],[d2.org],[nolocal.com]"),
        ("numbers", "bob@example.com", None),  # filled in per backend below
    ],
)
def test_lookups(
    backend: Backend, case: str, key: str, expected: str | None, tmp_path: Path
) -> None:
    if case == "numbers":
        expected = "1024,341.3333,1" if backend.kind == "mysql" else "1024,341,1"
    assert vmail_answer(backend.cf(tmp_path, cases(backend.kind)[case]), key) == expected


def test_expansion_limit_is_a_failure(backend: Backend, tmp_path: Path) -> None:
    table = open_table(backend.cf(tmp_path, cases(backend.kind)["expansion_limit"]))
    assert table.lookup("alice@example.com") == "alice@example.com"
    with pytest.raises(TableError, match="expansion limit"):
        table.lookup("sales@example.com")
    table.close()


def test_wrong_port_is_a_failure(backend: Backend, tmp_path: Path) -> None:
    table = open_table(backend.cf(tmp_path, f"query = {ALIAS_QUERY}", port="1"))
    with pytest.raises(TableError, match="connect to"):
        table.lookup("alice@example.com")
    table.close()


def test_bad_password_is_a_failure(backend: Backend, tmp_path: Path) -> None:
    table = open_table(backend.cf(tmp_path, f"query = {ALIAS_QUERY}", password="wrong"))
    with pytest.raises(TableError):
        table.lookup("alice@example.com")
    table.close()


def test_bad_query_is_a_failure(backend: Backend, tmp_path: Path) -> None:
    table = open_table(backend.cf(tmp_path, "query = SELEC goto FROM alias WHERE a='%s'"))
    with pytest.raises(TableError, match="query failed"):
        table.lookup("alice@example.com")
    table.close()


def test_failover_to_the_working_host(backend: Backend, tmp_path: Path) -> None:
    s = backend.settings
    body = f"query = {ALIAS_QUERY}"
    text = cf_hosts_lines(s) + body + "\n"
    text = text.replace("hosts = ", f"hosts = {s['host']}:1 ", 1)
    spec = f"{backend.kind}:{write_cf(tmp_path, 'failover.cf', text)}"
    table = open_table(spec)
    for _ in range(10):  # whichever order the hosts are tried in
        assert table.lookup("alice@example.com") == "alice@example.com"
    table.close()


def test_connection_is_kept_and_sees_new_data(backend: Backend, tmp_path: Path) -> None:
    table = open_table(backend.cf(tmp_path, f"query = {ALIAS_QUERY}"))
    assert isinstance(table, MysqlTable | PgsqlTable)
    assert table.lookup("new@example.com") is None
    backend.execute(
        "INSERT INTO alias VALUES ('new@example.com', 'alice@example.com', 'example.com', 1)"
    )
    try:
        assert table.lookup("new@example.com") == "alice@example.com"  # autocommit
    finally:
        backend.execute("DELETE FROM alias WHERE address = 'new@example.com'")
    connections = [slot.connection for slot in table.pool.slots]
    assert table.lookup("alice@example.com") == "alice@example.com"
    assert [slot.connection for slot in table.pool.slots] == connections
    table.close()


def test_reconnects_after_the_server_closed_the_connection(
    backend: Backend, tmp_path: Path
) -> None:
    table = open_table(backend.cf(tmp_path, f"query = {ALIAS_QUERY}"))
    assert isinstance(table, MysqlTable | PgsqlTable)
    assert table.lookup("alice@example.com") == "alice@example.com"
    connection = table.pool.slots[0].connection
    if backend.kind == "mysql":
        backend.execute(f"KILL {connection.thread_id()}")
    else:
        backend.execute("SELECT pg_terminate_backend(%s)", (connection.info.backend_pid,))
    assert table.lookup("alice@example.com") == "alice@example.com"
    table.close()


def test_proxy_shares_one_connection(backend: Backend, tmp_path: Path) -> None:
    spec = backend.cf(tmp_path, f"query = {ALIAS_QUERY}")
    first, second = open_table(f"proxy:{spec}"), open_table(f"proxy:{spec}")
    results: list[str | None] = []
    threads = [
        threading.Thread(target=lambda t=t: results.append(t.lookup("bob@example.com")))
        for t in [first, second] * 5
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["bob@example.com"] * 10
    inner = first.inner  # type: ignore[attr-defined]
    assert inner is second.inner  # type: ignore[attr-defined]
    assert sum(slot.connection is not None for slot in inner.pool.slots) == 1
    first.close()
    second.close()
    assert all(slot.connection is None for slot in inner.pool.slots)


@pytest.mark.mysql
def test_mysql_unix_socket(tmp_path: Path) -> None:
    s = server("VMAIL_TEST_MYSQL")
    if s["host"] not in ("127.0.0.1", "localhost"):
        pytest.skip("the MySQL server is not local")
    for hosts in ("unix:/run/mysqld/mysqld.sock", "localhost"):
        text = cf_hosts_lines(s).replace(f"inet:{s['host']}:{s['port']}", hosts)
        spec = f"mysql:{write_cf(tmp_path, 'unix.cf', text + 'query = SELECT 42')}"
        assert vmail_answer(spec, "k") == "42"


@pytest.mark.mysql
def test_mysql_require_result_set(tmp_path: Path) -> None:
    s = server("VMAIL_TEST_MYSQL")
    spec = f"mysql:{write_cf(tmp_path, 'r.cf', cf_hosts_lines(s) + 'query = DO 1')}"
    assert vmail_answer(spec, "k") == "ERROR"
    text = cf_hosts_lines(s) + "query = DO 1\nrequire_result_set = no\n"
    spec = f"mysql:{write_cf(tmp_path, 'r2.cf', text)}"
    assert vmail_answer(spec, "k") is None


@pytest.mark.pgsql
def test_pgsql_uri_and_select_function(tmp_path: Path) -> None:
    s = server("VMAIL_TEST_PGSQL")
    uri = f"postgresql://{s['user']}:{s['password']}@{s['host']}:{s['port']}/{s['dbname']}"
    text = f"hosts = {uri}\ndbname = {s['dbname']}\nselect_function = upper\n"
    spec = f"pgsql:{write_cf(tmp_path, 'uri.cf', text)}"
    assert vmail_answer(spec, "Mixed@Case") == "MIXED@CASE"
