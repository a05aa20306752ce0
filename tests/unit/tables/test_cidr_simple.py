"""cidr:, static:, inline:, fail:, environ: and unix: tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.core.errors import ConfigError, TableError
from vmail.tables import open_table


def test_cidr(tmp_path: Path) -> None:
    src = tmp_path / "c"
    src.write_text(
        "192.168.1.1 one\n192.168.0.0/16 net\n10.1.2.3/8 bad\n[2001:db8::]/32 v6\n"
        "if !127.0.0.0/8\n!1.2.3.4 not\nendif\n"
    )
    t = open_table(f"cidr:{src}")
    assert t.pattern
    assert t.lookup("192.168.1.1") == "one"
    assert t.lookup("192.168.7.7") == "net"
    assert t.lookup("10.1.2.3") == "not"
    assert t.lookup("2001:0db8::5") == "v6"
    assert t.lookup("1.2.3.4") is None
    assert t.lookup("127.0.0.2") is None
    assert t.lookup("::1") is None  # negation stays within its address family
    assert t.lookup("garbage") is None


@pytest.mark.parametrize(
    ("spec", "key", "value"),
    [
        ("static:{ a b }", "x", "a b"),
        ("static: a", "x", " a"),
        ("static:{}", "x", ""),
        ("inline:{ {k = v w}, a=b }", "k", "v w"),
        ("inline:{a=b, a=c}", "a", "c"),
        ("inline:{a==b}", "a", "=b"),
    ],
)
def test_spec_tables(spec: str, key: str, value: str) -> None:
    assert open_table(spec).lookup(key) == value


@pytest.mark.parametrize(
    "spec",
    ["static:", "static:{a", "static:{a} ", "inline:{}", "inline:{a}", "inline:a=b", "unix:x"],
)
def test_spec_errors(spec: str) -> None:
    with pytest.raises(ConfigError):
        open_table(spec)


def test_fail_and_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(TableError):
        open_table("fail:x").lookup("a")
    monkeypatch.setenv("vmail_test_var", "yes")
    assert open_table("environ:x").lookup("vmail_test_var") == "yes"


def test_unix() -> None:
    assert (open_table("unix:passwd.byname").lookup("root") or "").startswith("root:x:0:0:")
    assert (open_table("unix:group.byname").lookup("root") or "").startswith("root:")
    assert open_table("unix:passwd.byname").lookup("no-such-user-xyz") is None
