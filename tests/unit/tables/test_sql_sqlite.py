"""sqlite: tables, with PostfixAdmin's queries, compared with real postmap where possible."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from postfixadmin_schema import (
    ALIAS_DOMAIN_SQL,
    ALIAS_QUERY,
    DOMAIN_QUERY,
    KEYS,
    MAILBOX_QUERY,
    ROWS,
    SCHEMA,
)
from sql_support import postfix_available, postmap_answers, vmail_answer, vmail_answers, write_cf

from vmail.core.errors import ConfigError, TableError
from vmail.tables import TableContext, open_table
from vmail.tables.sql_sqlite import column_text


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "directory.db"
    with sqlite3.connect(path) as conn:
        for ddl in SCHEMA:
            conn.execute(ddl)
        for table, rows in ROWS.items():
            for row in rows:
                marks = ",".join("?" * len(row))
                conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)
    conn.close()
    return path


def cf(tmp_path: Path, db: Path, body: str, name: str = "t.cf") -> str:
    return "sqlite:" + str(write_cf(tmp_path, name, f"dbpath = {db}\n{body}\n"))


# Each .cf body is checked for every key in KEYS.
CASES = {
    "mailbox": f"query = {MAILBOX_QUERY}",
    "alias": f"query = {ALIAS_QUERY}",
    "domain": f"query = {DOMAIN_QUERY}",
    "alias_domain": f"query = {ALIAS_DOMAIN_SQL}",
    "domain_list": f"query = {ALIAS_QUERY}\ndomain = example.com, !example.org, alias.example",
    "domain_table": f"query = {ALIAS_QUERY}\ndomain = inline:{{example.org=1}}",
    "result_format": f"query = {ALIAS_QUERY}\nresult_format = smtp:[%s]",
    "result_format_parts": f"query = {ALIAS_QUERY}\nresult_format = <%u|%d|%U|%D|%1|%%>",
    "multi_column": "query = SELECT v, w FROM kv WHERE k='%s'",
    "multi_row_format": "query = SELECT v FROM kv WHERE k='%s'\nresult_format = [%u]",
    "expansion_limit": f"query = {ALIAS_QUERY}\nexpansion_limit = 1",
    "expansion_limit_2": "query = SELECT v FROM kv WHERE k='%s'\nexpansion_limit = 2",
    "split_key": "query = SELECT '%u/%d/%1/%2' FROM domain WHERE domain='example.com'",
    "user_only": "query = SELECT '%u' FROM domain WHERE domain='example.com'",
    "echo_key": "query = SELECT '%s' FROM domain WHERE domain='example.com'",
    "legacy": "select_field = goto\ntable = alias\nwhere_field = address\n"
    "additional_conditions = AND active = '1' and goto like 'a%%'",
    "continuation": "query = SELECT goto\n  FROM alias\n# comment\n\n  WHERE address='%s'",
    "numbers": "query = SELECT quota FROM mailbox WHERE username='%s'",
    "reals": "query = SELECT quota / 3.0 FROM mailbox WHERE username='%s'\n"
    "  UNION ALL SELECT 1e20 FROM domain WHERE domain = '%d' AND domain = 'example.org'",
}


@pytest.mark.postfix
@pytest.mark.skipif(not postfix_available(), reason="needs /usr/sbin/postmap")
@pytest.mark.parametrize("case", sorted(CASES))
def test_same_answers_as_postfix(case: str, tmp_path: Path, db: Path) -> None:
    spec = cf(tmp_path, db, CASES[case])
    keys = [k for k in KEYS if k]  # postmap cannot be asked for an empty key
    expected = postmap_answers(spec, keys, tmp_path / "etc_dir_for_postmap")
    assert vmail_answers(spec, keys) == expected


@pytest.mark.parametrize(
    ("case", "key", "expected"),
    [
        ("mailbox", "alice@example.com", "example.com/alice/"),
        ("mailbox", "gone@example.com", None),
        ("alias", "sales@example.com", "bob@example.com,carol@example.org"),
        ("alias", "@example.org", "carol@example.org"),
        ("alias", "o'brien@example.com", "o'brien@example.com"),
        ("alias", "x' OR '1'='1", None),
        ("alias_domain", "alice@alias.example", "alice@example.com"),
        ("alias_domain", "alice@inactive.example", None),
        ("alias_domain", "alice", None),
        ("domain_list", "carol@example.org", None),
        ("domain_list", "alice@example.com", "alice@example.com"),
        ("domain_list", "alice", None),
        ("domain_table", "carol@example.org", "carol@example.org"),
        ("domain_table", "@example.org", None),
        ("result_format", "info@example.com", "smtp:[alice@example.com,bob@example.com]"),
        ("multi_column", "multi", "u1@d1.com,@nolocal.com,plain"),  # SQLite: first column
        ("multi_row_format", "multi", "[u1],[plain]"),
        ("multi_column", "null", None),
        ("multi_column", "empty", None),
        ("numbers", "bob@example.com", "1024"),
        ("legacy", "alice@example.com", "alice@example.com"),
        ("legacy", "bob@example.com", None),
    ],
)
def test_lookups(case: str, key: str, expected: str | None, tmp_path: Path, db: Path) -> None:
    assert vmail_answer(cf(tmp_path, db, CASES[case]), key) == expected


def test_expansion_limit_is_a_failure(tmp_path: Path, db: Path) -> None:
    table = open_table(cf(tmp_path, db, CASES["expansion_limit"]))
    assert table.lookup("alice@example.com") == "alice@example.com"
    with pytest.raises(TableError, match="expansion limit"):
        table.lookup("sales@example.com")


@pytest.mark.parametrize(
    "key",
    [
        "x' OR '1'='1",
        "x'; DROP TABLE alias; --",
        "x\\' OR 1=1 --",
        "x\0' OR '1'='1",
        "x'/*",
        "\udcff'",
    ],
)
def test_no_sql_injection(key: str, tmp_path: Path, db: Path) -> None:
    table = open_table(cf(tmp_path, db, "query = SELECT goto FROM alias WHERE address='%s'"))
    assert table.lookup(key) is None
    assert table.lookup("alice@example.com") == "alice@example.com"  # alias table still there


def test_key_is_inserted_verbatim(tmp_path: Path, db: Path) -> None:
    table = open_table(cf(tmp_path, db, "query = SELECT '%s'"))
    for key in ["it's", "a\\b", "--", ";", "%s", "''", "é@ü.de"]:
        assert table.lookup(key) == key


def test_relative_dbpath_resolves_against_config_dir(tmp_path: Path, db: Path) -> None:
    write_cf(tmp_path, "rel.cf", f"dbpath = {db.name}\nquery = {MAILBOX_QUERY}\n")
    table = open_table("sqlite:rel.cf", TableContext(tmp_path))
    assert table.lookup("bob@example.com") == "example.com/bob/"


def test_missing_database_fails_and_is_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    table = open_table(cf(tmp_path, missing, f"query = {MAILBOX_QUERY}"))
    with pytest.raises(TableError):
        table.lookup("alice@example.com")
    assert not missing.exists()


def test_database_appearing_later_is_used(tmp_path: Path, db: Path) -> None:
    later = tmp_path / "later.db"
    table = open_table(cf(tmp_path, later, f"query = {MAILBOX_QUERY}"))
    with pytest.raises(TableError):
        table.lookup("alice@example.com")
    db.rename(later)
    assert table.lookup("alice@example.com") == "example.com/alice/"


def test_bad_query_is_a_failure(tmp_path: Path, db: Path) -> None:
    table = open_table(cf(tmp_path, db, "query = SELECT x FROM nowhere WHERE x='%s'"))
    with pytest.raises(TableError, match="no such table"):
        table.lookup("alice@example.com")


def test_suppressed_query_never_reaches_the_database(tmp_path: Path) -> None:
    table = open_table(cf(tmp_path, tmp_path / "missing.db", "query = SELECT '%d'"))
    assert table.lookup("no-domain") is None  # would fail if the database were asked


def test_table_is_read_only(tmp_path: Path, db: Path) -> None:
    table = open_table(cf(tmp_path, db, "query = DELETE FROM alias WHERE address='%s'"))
    with pytest.raises(TableError):
        table.lookup("alice@example.com")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("query = SELECT 1", "dbpath"),
        (None, "table"),
        ("dbpath = x.db\nquery = SELECT '%z'", "invalid query template"),
        ("dbpath = x.db\nquery = SELECT 1\nresult_format = %", "invalid result_format"),
        ("dbpath = x.db\nquery = SELECT 1\nresult_format =", "result_format"),
        ("dbpath = x.db\nquery = SELECT 1\nexpansion_limit = lots", "expansion_limit"),
        ("dbpath = x.db\nquery = SELECT 1\nbogus line", "missing '='"),
        ("dbpath = x.db\nquery = SELECT 1\ndomain = /no/such/domain/file", "/no/such/domain/file"),
    ],
)
def test_config_errors(body: str | None, message: str, tmp_path: Path) -> None:
    path = write_cf(tmp_path, "bad.cf", (body if body is not None else "dbpath = x.db") + "\n")
    with pytest.raises(ConfigError, match=message) as info:
        open_table(f"sqlite:{path}")
    assert str(path) in str(info.value)


def test_missing_cf_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.cf"):
        open_table(f"sqlite:{tmp_path / 'nope.cf'}")


def test_later_setting_wins_and_unknown_ones_warn(
    tmp_path: Path, db: Path, caplog: pytest.LogCaptureFixture
) -> None:
    spec = cf(tmp_path, db, "query = SELECT 'first'\nquery = SELECT 'second'\nhostz = x")
    assert vmail_answer(spec, "k") == "second"
    assert "overriding earlier entry" in caplog.text
    assert "unknown parameter ignored: hostz" in caplog.text


def test_domain_file(tmp_path: Path, db: Path) -> None:
    (tmp_path / "domains").write_text("# ours\nexample.org other.test\n")
    spec = cf(tmp_path, db, f"query = {ALIAS_QUERY}\ndomain = {tmp_path / 'domains'}")
    assert vmail_answer(spec, "carol@example.org") == "carol@example.org"
    assert vmail_answer(spec, "alice@example.com") is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, None),
        ("s", "s"),
        (b"bytes", "bytes"),
        (5, "5"),
        (3.5, "3.5"),
        (100.0, "100.0"),
        (1e20, "1.0e+20"),
        (1.5e-7, "1.5e-07"),
        (1 / 3, "0.333333333333333"),
        (float("inf"), "Inf"),
        (float("-inf"), "-Inf"),
    ],
)
def test_column_text_is_sqlites(value: object, text: str | None) -> None:
    assert column_text(value) == text
    if value is not None and not isinstance(value, bytes):
        with sqlite3.connect(":memory:") as conn:
            assert conn.execute("SELECT CAST(? AS TEXT)", (value,)).fetchone()[0] == text
