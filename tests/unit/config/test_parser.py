"""main.cf syntax: logical lines, continuations, comments, errors with file:line."""

from __future__ import annotations

import pytest

from vmail.config.parser import parse_main_cf, read_settings
from vmail.core.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a = b\n", {"a": "b"}),
        ("a=b\n", {"a": "b"}),
        ("a =\n", {"a": ""}),
        ("a = b # not a comment\n", {"a": "b # not a comment"}),
        # continuation lines are joined as written (leading whitespace kept)
        ("a = b\n  c\n", {"a": "b  c"}),
        ("a = b\n   # comment\n  c\n", {"a": "b  c"}),
        ("a = b\n# comment\n  c\n", {"a": "b  c"}),
        ("a = b\n\n  c\n", {"a": "b  c"}),
        ("a = b   \n    c\n\tdd\n", {"a": "b       c\tdd"}),
        ("a = 1\na = 2\n", {"a": "2"}),
        ("a-b = 1\na.b = 2\n", {"a-b": "1", "a.b": "2"}),
        ("# only a comment\n\n   \n", {}),
    ],
)
def test_settings(text: str, expected: dict[str, str]) -> None:
    assert {e.name: e.value for e in parse_main_cf(text)} == expected


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("justaline\n", 1, "missing '=' after attribute name"),
        ("a = 1\n\nb c = 1\n", 3, "missing '=' after attribute name"),
        ("= 1\n", 1, "missing attribute name"),
    ],
)
def test_malformed_lines(text: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_main_cf(text, "/x/main.cf")
    assert info.value.location is not None
    assert (info.value.location.filename, info.value.location.line) == ("/x/main.cf", line)
    assert message in str(info.value)
    assert str(info.value).startswith(f"/x/main.cf:{line}: ")


def test_duplicate_warns_like_postfix() -> None:
    parsed = read_settings("x = 1\nx = 2\n", "/x/main.cf")
    assert parsed.warnings == ["/x/main.cf, line 2: overriding earlier entry: x=1"]


def test_leading_whitespace_on_first_line_warns_and_is_kept() -> None:
    parsed = read_settings("  x = 1\n", "/x/main.cf")
    assert [(e.name, e.value) for e in parsed.entries] == [("x", "1")]
    assert parsed.warnings == ['/x/main.cf: logical line must not start with whitespace: "  x = 1"']


def test_location_is_first_physical_line() -> None:
    entries = parse_main_cf("# c\n\na = 1\n  2\nb = 3\n", "m.cf")
    assert [(e.name, e.location.line) for e in entries] == [("a", 3), ("b", 5)]
