"""The postmap source format reader."""

from __future__ import annotations

import logging

import pytest

from vmail.tables.source import inline_rules, load_entries, logical_lines, parse_entries


def test_continuation_comments_and_whitespace() -> None:
    text = "a x\n\t  y\n# c\n\n  \nb  \n  z\nc v\n  # not a continuation\n  w  \n"
    assert load_entries(text, "f") == {"a": "x\t  y", "b": "z", "c": "v  w"}


def test_logical_lines_report_first_line() -> None:
    lines = list(logical_lines(["a 1", " more", "b 2"], "f"))
    assert [(ln.text, str(ln.location)) for ln in lines] == [("a 1 more", "f:1"), ("b 2", "f:3")]


def test_bad_lines_warn_with_file_and_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, "vmail.tables"):
        entries = load_entries(" lead x\nkeyonly\nk: v\nK dup\nk first\n", "src")
    assert entries == {"k:": "v", "k": "dup"}
    messages = [r.getMessage() for r in caplog.records]
    assert messages == [
        'src:1: logical line must not start with whitespace: " lead x"',
        "src:2: expected format: key whitespace value",
        'src:3: record is in "key: value" format; is this an alias file?',
        'src:5: duplicate entry: "k"',
    ]


def test_fold_case_off() -> None:
    assert [e[:2] for e in parse_entries("Foo Bar\n", "f", fold_case=False)] == [("Foo", "Bar")]


def test_inline_rules() -> None:
    assert inline_rules("{ {/a/ b}, { /c/ d } }", "regexp") == ["/a/ b", "/c/ d"]
    with pytest.raises(Exception, match="no '\\{' at start"):
        inline_rules("{1.2.3.4 ok}", "cidr")


def test_alias_syntax() -> None:
    from vmail.tables.source import load_entries as load

    text = 'Root: a,\n\tb\npostmaster : root\nnocolon x\n"c d" : z\nempty:\n'
    assert load(text, "aliases", alias_syntax=True) == {
        "root": "a, b",
        "postmaster": "root",
        "c d": "z",
    }
