"""Typed values: booleans, numbers, sizes, times and lists."""

from __future__ import annotations

import pytest

from vmail.config.values import parse_bool, parse_int, parse_size, parse_time, split_list
from vmail.core.errors import ConfigError


@pytest.mark.parametrize(("text", "expected"), [("yes", True), ("YES", True), ("No", False)])
def test_bool(text: str, expected: bool) -> None:
    assert parse_bool("p", text) is expected


@pytest.mark.parametrize("text", ["maybe", "true", "1", ""])
def test_bad_bool(text: str) -> None:
    with pytest.raises(ConfigError, match=f"bad boolean configuration: p = {text}"):
        parse_bool("p", text)


@pytest.mark.parametrize(("text", "expected"), [("5", 5), ("+5", 5), ("-1", -1), (" 7 ", 7)])
def test_int(text: str, expected: int) -> None:
    assert parse_int("p", text) == expected


@pytest.mark.parametrize("text", ["abc", "10k", "1.5", "", "1_000"])
def test_bad_int(text: str) -> None:
    with pytest.raises(ConfigError, match="bad numerical configuration"):
        parse_int("p", text)


def test_size() -> None:
    assert parse_size("message_size_limit", "10240000") == 10240000
    for bad in ("10M", "-1"):
        with pytest.raises(ConfigError):
            parse_size("message_size_limit", bad)


@pytest.mark.parametrize(
    ("text", "unit", "seconds"),
    [
        ("300s", "s", 300),
        ("5d", "s", 432000),
        ("5", "d", 432000),
        ("0", "h", 0),
        ("2w", "s", 1209600),
        ("1h30m", "s", 5400),
        ("1h30", "s", 3630),
        (" 5", "s", 5),
    ],
)
def test_time(text: str, unit: str, seconds: int) -> None:
    assert parse_time("p", text, unit) == seconds


@pytest.mark.parametrize("text", ["5x", "5 m", "-5s", "5M", "", "s"])
def test_bad_time(text: str) -> None:
    with pytest.raises(ConfigError, match="parameter p: bad time value or unit"):
        parse_time("p", text)


@pytest.mark.parametrize(
    ("text", "items"),
    [
        ("a, b c", ["a", "b", "c"]),
        ("a,,b\n\tc", ["a", "b", "c"]),
        ("{ a b }, c", ["a b", "c"]),
        ("inline:{ a=b, c=d } x", ["inline:{ a=b, c=d }", "x"]),
        ("", []),
    ],
)
def test_split_list(text: str, items: list[str]) -> None:
    assert split_list(text) == items


def test_split_list_unbalanced() -> None:
    with pytest.raises(ConfigError, match="missing"):
        split_list("{ a")
