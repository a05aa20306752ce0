"""Macro expansion: every form Postfix 3.7 accepts, and its errors."""

from __future__ import annotations

import pytest

from vmail.config.expand import MacroError, expand, references

VALUES = {"x": "1", "empty": "", "h": "mail.example", "ref": "$h", "deep": "<$ref>"}


def lookup(name: str) -> str | None:
    return VALUES.get(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$x", "1"),
        ("${x}", "1"),
        ("$(x)", "1"),
        ("$x.y", "1.y"),
        ("${x}y", "1y"),
        ("$$", "$"),
        ("a$$x", "a$x"),
        ("$undefined", ""),
        ("$deep", "<mail.example>"),
        ("${x?yes}", "yes"),
        ("${empty?yes}", ""),
        ("${undefined?yes}", ""),
        ("${x:no}", ""),
        ("${empty:no}", "no"),
        ("${undefined:no}", "no"),
        ("${x?{a}:{b}}", "a"),
        ("${y?{a}:{b}}", "b"),
        ("${x?{a} : {b}}", "a"),
        ("${y?{a}:b}", "b"),
        ("${x?{a}:b}", "a"),
        ("${y?{a} }", ""),
        ("${y?{a}:{b} }", "b"),
        ("${y:{a} }", "a"),
        ("${y:  {a}}", "a"),
        ("${ y}", ""),
        ("$(y:a)", "a"),
        ("$(y?{a}:{b})", "b"),
        ("${x?{a{b}c}:{d}}", "a{b}c"),
        ("${x?a{b}c}", "a{b}c"),
        ("${x?$h}", "mail.example"),
        ("{$y}", "{}"),
        ("${x}}", "1}"),
        ("${{$x} == {1} ? {eq} : {ne}}", "eq"),
        ("${{$x} != {1} ? {eq} : {ne}}", "ne"),
        ("${{$x} < {10} ? {lt} : {ge}}", "lt"),
        ("${{3.6} <level {2} ? {old}:{new}}", "new"),
        ("${{3.6} >=level {3.6} ? {yes}:{no}}", "yes"),
        ("${{abc} == {abc} ? {same}:{diff}}", "same"),
    ],
)
def test_forms(text: str, expected: str) -> None:
    assert expand(text, lookup) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("$", "empty macro name"),
        ("a$-b", "empty macro name"),
        ("${}", "empty macro name"),
        ("${x", "truncated macro reference"),
        ("$(x", "truncated macro reference"),
        ("${x?{a}", "truncated macro reference"),
        ("${x?{a}:{b}", "truncated macro reference"),
        ("${x-y}", "attribute name syntax error"),
        ("${x?{a}:{b}:{c}}", "unexpected input"),
        ("${y:{a}:{b}}", "unexpected input"),
        ("${y?{a}x}", '":" expected'),
    ],
)
def test_errors(text: str, message: str) -> None:
    with pytest.raises(MacroError, match=message):
        expand(text, lookup)


def test_recursion_names_the_chain() -> None:
    loop = {"a": "$b", "b": "${c}", "c": "x $a"}
    with pytest.raises(MacroError, match="recursive parameter expansion: a -> b -> c -> a"):
        expand("$a", loop.get, stack=())


def test_undefined_callback() -> None:
    seen: list[str] = []
    expand("$nope ${x}", lookup, on_undefined=seen.append)
    assert seen == ["nope"]


def test_references() -> None:
    assert references("$a ${b?{$c}} $(d) $$e ${ f}") == {"a", "b", "c", "d", "f"}
