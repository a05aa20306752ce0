"""regexp: and pcre: tables, and the POSIX/PCRE translations they rely on."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from vmail.tables import open_table
from vmail.tables.regex_pcre import PcreError, compile_pcre
from vmail.tables.regex_posix import PosixRegexError, compile_posix, translate
from vmail.tables.substitute import TemplateError, parse_template


def table(tmp_path: Path, text: str, table_type: str = "regexp"):  # type: ignore[no-untyped-def]
    src = tmp_path / "rules"
    src.write_text(text)
    return open_table(f"{table_type}:{src}")


@pytest.mark.parametrize("table_type", ["regexp", "pcre"])
def test_substitution_and_case(tmp_path: Path, table_type: str) -> None:
    t = table(tmp_path, "/^(.*)@(.*)$/ u=$1 d=${2} p=$(1) $$\n", table_type)
    assert t.lookup("Foo@Bar") == "u=Foo d=Bar p=Foo $"
    assert t.pattern
    assert not t.fold_case


@pytest.mark.parametrize("table_type", ["regexp", "pcre"])
def test_if_endif_and_negation(tmp_path: Path, table_type: str) -> None:
    rules = "if /^a/\nif !/b$/\n/./ not-b\nendif\n/./ b\nendif\n!/^z/ not-z\n"
    t = table(tmp_path, rules, table_type)
    assert t.lookup("ax") == "not-b"
    assert t.lookup("ab") == "b"
    assert t.lookup("q") == "not-z"
    assert t.lookup("z") is None


def test_unmatched_group_is_empty(tmp_path: Path) -> None:
    assert table(tmp_path, "/^a(x)?(y)$/ [$1][$2]\n").lookup("ay") == "[][y]"


def test_bad_rules_are_skipped_with_location(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "vmail.tables"):
        t = table(tmp_path, "/bad[/ x\n/a/ $3\n!/b/ $1\n/c/I x\nendif\nif /d/\n/./ ok\n")
    assert t.lookup("zzz") is None
    assert t.lookup("d") == "ok"
    text = "\n".join(r.getMessage() for r in caplog.records)
    for line in ("rules:1:", "rules:2: out of range", "rules:3: $number", "rules:4: unknown"):
        assert line in text
    assert "rules:5: ignoring ENDIF" in text
    assert "rules:6: IF has no matching ENDIF" in text


def test_inline_regexp() -> None:
    assert open_table("regexp:{ {/a(b)/ x$1}, {/c/ y} }").lookup("ab") == "xb"


@pytest.mark.parametrize(
    ("pattern", "subject", "matches"),
    [
        ("^a$", "a\n", False),  # $ is the very end without REG_NEWLINE
        ("a.b", "a\nb", True),
        ("[]x]+", "]x", True),
        ("[\\.]", "\\", True),  # backslash is literal in a bracket
        ("[[:digit:]]+$", "123", True),
        ("a+?", "a", True),
        ("\\<w", "a w", True),
        ("(a)\\1", "aa", True),
    ],
)
def test_posix_translation(pattern: str, subject: str, matches: bool) -> None:
    assert bool(compile_posix(pattern).search(subject)) is matches


def test_posix_basic_syntax() -> None:
    assert compile_posix(r"^\(a\)\{2\}+$", extended=False).search("aa+")
    assert translate("a|b", extended=False) == re.escape("a|b")


@pytest.mark.parametrize("pattern", ["a{", "{", "*a", "a{x}", "[a", "(a", "a\\"])
def test_posix_errors(pattern: str) -> None:
    with pytest.raises(PosixRegexError):
        compile_posix(pattern)


@pytest.mark.parametrize(
    ("pattern", "kwargs", "subject", "groups"),
    [
        ("(?<n>z+)", {}, "zz", ("zz",)),
        ("^u(a+)", {"ungreedy": True}, "uaaa", ("a",)),
        ("^end$", {"dollar_endonly": True}, "end\n", None),
        ("^end$", {}, "end\n", ()),
        ("^m(?i)ixed$", {"icase": False}, "mIXED", ()),
        ("^\\Qa.b\\E$", {}, "a.b", ()),
        ("^[[:alpha:]]+$", {}, "abc", ()),
        ("^ a b $", {"extended": True}, "ab", ()),
        ("^x\\z", {}, "x\n", None),
    ],
)
def test_pcre_translation(
    pattern: str, kwargs: dict[str, bool], subject: str, groups: tuple[str, ...] | None
) -> None:
    m = compile_pcre(pattern, **kwargs).search(subject)
    assert (None if m is None else m.groups()) == groups


@pytest.mark.parametrize("pattern", ["\\K", "(?R)", "(*UTF)", "\\p{L}", "(?U)a", "bad("])
def test_pcre_unsupported(pattern: str) -> None:
    with pytest.raises(PcreError):
        compile_pcre(pattern)


def test_template() -> None:
    assert parse_template("a${1}b${2}$$", 2).expand(["x", None]) == "axb$"
    for bad in ("$", "$x", "${1", "$1y", "$0", "$3"):
        with pytest.raises(TemplateError):
            parse_template(bad, 2)
