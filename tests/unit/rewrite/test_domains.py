from __future__ import annotations

from pathlib import Path

import pytest

from vmail.core.errors import ConfigError
from vmail.rewrite.domains import DomainList
from vmail.tables import open_table


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
