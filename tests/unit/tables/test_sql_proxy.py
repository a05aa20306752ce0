"""proxy:type:name opens the inner table in-process, shared by every user of the same spec."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sql_support import write_cf

from vmail.core.errors import ConfigError
from vmail.tables import Maps, TableContext, open_table
from vmail.tables.proxy import ProxyTable


@pytest.fixture
def sqlite_spec(tmp_path: Path) -> str:
    db = tmp_path / "p.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE alias (address TEXT, goto TEXT)")
        conn.execute("INSERT INTO alias VALUES ('a@example.com', 'b@example.com')")
    conn.close()
    cf = write_cf(
        tmp_path, "p.cf", f"dbpath = {db}\nquery = SELECT goto FROM alias WHERE address='%s'\n"
    )
    return f"sqlite:{cf}"


def test_proxy_answers_like_the_inner_table(sqlite_spec: str) -> None:
    table = open_table(f"proxy:{sqlite_spec}")
    assert Maps("virtual_alias_maps", [table]).find("A@Example.com") == "b@example.com"
    assert table.lookup("nobody@example.com") is None
    table.close()


def test_one_shared_instance_per_inner_spec(sqlite_spec: str, tmp_path: Path) -> None:
    first = open_table(f"proxy:{sqlite_spec}")
    second = open_table(f"proxy:{sqlite_spec}")
    other_dir = open_table(f"proxy:{sqlite_spec}", TableContext(tmp_path))
    assert isinstance(first, ProxyTable)
    assert isinstance(second, ProxyTable)
    assert isinstance(other_dir, ProxyTable)
    assert first.inner is second.inner
    assert other_dir.inner is not first.inner  # relative names could differ there
    first.close()
    first.close()  # closing twice is harmless
    assert second.lookup("a@example.com") == "b@example.com"  # still open for the other
    second.close()
    third = open_table(f"proxy:{sqlite_spec}")
    assert isinstance(third, ProxyTable)
    assert third.inner is not first.inner  # the last close really closed it
    third.close()
    other_dir.close()


def test_proxy_keeps_the_inner_tables_flags() -> None:
    table = open_table("proxy:static:x")
    inner = open_table("static:x")
    assert (table.pattern, table.fold_case) == (inner.pattern, inner.fold_case)
    assert table.lookup("anything") == "x"
    table.close()


def test_proxy_of_unix_passwd() -> None:
    table = open_table("proxy:unix:passwd.byname")
    assert table.lookup("root") is not None
    table.close()


@pytest.mark.parametrize("spec", ["proxy:nosuchtype:x", "proxy:proxy:static:x", "proxy:"])
def test_bad_proxy_specs(spec: str) -> None:
    with pytest.raises(ConfigError):
        open_table(spec)
