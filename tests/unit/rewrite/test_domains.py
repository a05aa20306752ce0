from __future__ import annotations

from pathlib import Path

import pytest

from vmail.core.errors import ConfigError, TableError
from vmail.rewrite.domains import CACHE_TTL, DomainList
from vmail.tables import open_table
from vmail.tables.base import Trace


def _list(patterns: list[str], parent_style: bool = False) -> DomainList:
    return DomainList("test_domains", patterns, open_table, parent_style=parent_style)


@pytest.mark.parametrize(
    ("patterns", "parent_style", "domain", "expected"),
    [
        (["example.com"], False, "example.com", True),
        (["example.com"], False, "EXAMPLE.com.", True),
        (["example.com"], False, "sub.example.com", False),
        (["example.com"], True, "sub.example.com", True),
        ([".example.com"], False, "sub.example.com", True),
        ([".example.com"], False, "example.com", False),
        (["!bad.example.com", ".example.com"], False, "bad.example.com", False),
        (["!bad.example.com", ".example.com"], False, "good.example.com", True),
        (["inline:{example.com=x}"], False, "example.com", True),
        (["inline:{.example.com=x}"], False, "a.b.example.com", True),
        (["inline:{example.com=x}"], False, "a.example.com", False),
        (["inline:{example.com=x}"], True, "a.example.com", True),
    ],
)
def test_match(patterns: list[str], parent_style: bool, domain: str, expected: bool) -> None:
    assert _list(patterns, parent_style).match(domain) is expected


def test_patterns_from_file(tmp_path: Path) -> None:
    path = tmp_path / "domains"
    path.write_text("# hosted\none.example two.example\nthree.example, four.example\n")
    domains = _list([str(path)])
    assert domains.match("three.example")
    assert not domains.match("five.example")


def test_unreadable_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="test_domains: cannot read"):
        _list([str(tmp_path / "missing")])


def test_bad_table_type_is_reported_when_built() -> None:
    with pytest.raises(ConfigError, match="unsupported dictionary type: nosuch"):
        _list(["nosuch:thing"])


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_table_answers_are_reused_for_the_cache_ttl(tmp_path: Path) -> None:
    path = tmp_path / "domains"
    path.write_text("old.example x\n")
    clock = Clock()
    domains = DomainList(
        "test_domains", [f"texthash:{path}"], open_table, parent_style=False, clock=clock
    )
    assert domains.match("old.example")
    assert not domains.match("new.example")
    table = domains._tables[f"texthash:{path}"]
    calls: list[str] = []
    lookup = table.lookup

    def counting(key: str) -> str | None:
        calls.append(key)
        return lookup(key)

    table.lookup = counting  # type: ignore[method-assign]
    assert domains.match("OLD.example.")
    assert not domains.match("new.example")
    assert calls == []  # both answered from the cache
    clock.now += CACHE_TTL
    assert domains.match("old.example")
    assert calls[0] == "old.example"


def test_traced_and_failed_matches_are_not_cached(tmp_path: Path) -> None:
    clock = Clock()
    domains = DomainList(
        "test_domains", ["inline:{a.example=x}"], open_table, parent_style=False, clock=clock
    )
    trace = Trace()
    assert domains.match("a.example", trace)
    assert domains.match("a.example", trace)
    assert len(trace.events) == 2
    table = domains._tables["inline:{a.example=x}"]

    def broken(key: str) -> str | None:
        raise TableError("inline", "down")

    table.lookup = broken  # type: ignore[method-assign]
    with pytest.raises(TableError):
        domains.match("b.example")
    with pytest.raises(TableError):
        domains.match("b.example")
