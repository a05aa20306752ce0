"""Cursor: strings, literals, numbers and nesting bounds over framed pieces."""

from __future__ import annotations

import pytest

from vmail.protocol.imap.framing import Literal
from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor


def test_quoted_escapes() -> None:
    c = Cursor([b'"a\\"b\\\\c" rest'])
    assert c.string() == b'a"b\\c'
    assert c.accept(b" ")
    assert c.atom() == b"rest"
    assert c.at_end()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'"a\x00b"', "NUL in quoted string"),
        (b'"a\\nb"', "invalid quoted string"),
        (b'"open', "Missing '\"'"),
        (b"atom", "expected a string"),
    ],
)
def test_bad_strings(data: bytes, message: str) -> None:
    with pytest.raises(CommandSyntaxError, match=message):
        Cursor([data]).string()


def test_literals_between_pieces() -> None:
    c = Cursor([b"x ", Literal(b"one"), b" ", Literal(b"two"), b""])
    assert c.atom() == b"x"
    c.sp()
    assert c.at_literal()
    assert c.astring() == b"one"
    c.sp()
    assert c.string() == b"two"
    assert c.at_end()


def test_literal8_and_nul_are_not_strings() -> None:
    with pytest.raises(CommandSyntaxError, match="literal8"):
        Cursor([b"", Literal(b"x", True), b""]).string()
    with pytest.raises(CommandSyntaxError, match="NUL in literal"):
        Cursor([b"", Literal(b"\x00", False), b""]).string()
    with pytest.raises(CommandSyntaxError, match="expected a literal"):
        Cursor([b"x"]).literal()


def test_nstring() -> None:
    assert Cursor([b"nil"]).nstring() is None
    with pytest.raises(CommandSyntaxError):
        Cursor([b"NILS"]).nstring()
    assert Cursor([b'"NIL"']).nstring() == b"NIL"


def test_astring_allows_bracket_atom_does_not() -> None:
    assert Cursor([b"a]b"]).astring() == b"a]b"
    c = Cursor([b"a]b"])
    assert c.atom() == b"a"


@pytest.mark.parametrize(
    ("data", "limit", "message"),
    [
        (b"4294967296", 4294967295, "out of range"),
        (b"9" * 5000, 2**63 - 1, "out of range"),
        (b"x", 10, "expected a number"),
    ],
)
def test_number_bounds(data: bytes, limit: int, message: str) -> None:
    with pytest.raises(CommandSyntaxError, match=message):
        Cursor([data]).number(limit)


def test_nz_number_rejects_zero() -> None:
    with pytest.raises(CommandSyntaxError, match="zero"):
        Cursor([b"0"]).nz_number()


def test_nesting_bound() -> None:
    c = Cursor([b""])
    for _ in range(100):
        c.enter()
    with pytest.raises(CommandSyntaxError, match="too deeply nested"):
        c.enter()


def test_text_decoding() -> None:
    c = Cursor([b""])
    assert c.text(b"\xc3\xa9") == "\xe9"
    with pytest.raises(CommandSyntaxError, match="8-bit"):
        c.text(b"\xc3\xa9", False)
    with pytest.raises(CommandSyntaxError, match="invalid UTF-8"):
        c.text(b"\xff")


def test_trailing_spaces_end_the_command() -> None:
    """Dovecot ignores spaces at the end of a command line."""
    c = Cursor([b"x  "])
    assert c.atom() == b"x"
    assert c.at_end()
    assert not c.more()
    c.end()
    c = Cursor([b"x ", Literal(b"y"), b""])
    assert c.atom() == b"x"
    assert not c.at_end()
    assert c.more()


def test_unclosed_list_is_dovecot_missing_paren() -> None:
    c = Cursor([b"(a b "])
    assert c.accept(b"(")
    assert c.atom() == b"a"
    assert not c.close()
    c.sp()
    assert c.atom() == b"b"
    with pytest.raises(CommandSyntaxError) as exc:
        c.close()
    assert str(exc.value) == "Missing ')'"
    assert Cursor([b")"]).close()


def test_mailbox_pattern_characters() -> None:
    c = Cursor([b"a%b*c] rest"])
    assert c.list_mailbox("a mailbox name") == b"a%b*c]"
    with pytest.raises(CommandSyntaxError, match="expected a mailbox name"):
        Cursor([b"(x"]).list_mailbox("a mailbox name")


@pytest.mark.parametrize("data", [b"r\xc3\xa9sum\xc3\xa9", b"\xc3\xa9", b"12\xc3\xa9"])
def test_8bit_in_atom_is_dovecots_error(data: bytes) -> None:
    for read in (Cursor.astring, Cursor.atom, Cursor.keyword, Cursor.list_mailbox):
        with pytest.raises(CommandSyntaxError) as exc:
            read(Cursor([data]))
        assert str(exc.value) == "8bit data in atom"
    assert Cursor([b'"\xc3\xa9"']).astring() == b"\xc3\xa9"
