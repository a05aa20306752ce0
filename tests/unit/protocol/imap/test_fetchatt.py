"""FETCH items: every item, sections, partials, macros, modifiers and malformed forms."""

from __future__ import annotations

import pytest

from vmail.protocol.imap.types import Fetch, FetchAtt, Section

from .parsing import bad, ok


def items(spec: bytes) -> tuple[FetchAtt, ...]:
    cmd = ok(b"a FETCH 1 " + spec)
    assert isinstance(cmd, Fetch)
    return cmd.items


@pytest.mark.parametrize(
    "name",
    [
        "FLAGS",
        "INTERNALDATE",
        "RFC822",
        "RFC822.HEADER",
        "RFC822.TEXT",
        "RFC822.SIZE",
        "ENVELOPE",
        "BODY",
        "BODYSTRUCTURE",
        "UID",
        "MODSEQ",
    ],
)
def test_simple_items(name: str) -> None:
    assert items(name.lower().encode()) == (FetchAtt(name, name),)


def test_macros() -> None:
    assert [i.name for i in items(b"ALL")] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"]
    assert [i.name for i in items(b"fast")] == ["FLAGS", "INTERNALDATE", "RFC822.SIZE"]
    assert [i.name for i in items(b"FULL")][-1] == "BODY"
    bad(b"a FETCH 1 (ALL)")
    bad(b"a FETCH 1 (FLAGS FAST)")


@pytest.mark.parametrize(
    ("spec", "echo", "section", "peek", "partial"),
    [
        (b"BODY[]", "BODY[]", Section(), False, None),
        (b"BODY.PEEK[]", "BODY[]", Section(), True, None),
        (b"body[header]", "BODY[HEADER]", Section((), "HEADER"), False, None),
        (b"BODY[TEXT]<0.4294967295>", "BODY[TEXT]<0>", Section((), "TEXT"), False, (0, 4294967295)),
        (b"BODY[]<4294967295.0>", "BODY[]<4294967295>", Section(), False, (4294967295, 0)),
        (b"BODY[1]", "BODY[1]", Section((1,)), False, None),
        (b"BODY[1.2.3]", "BODY[1.2.3]", Section((1, 2, 3)), False, None),
        (b"BODY[1.2.MIME]", "BODY[1.2.MIME]", Section((1, 2), "MIME"), False, None),
        (b"BODY[2.HEADER]", "BODY[2.HEADER]", Section((2,), "HEADER"), False, None),
        (b"BODY[2.TEXT]", "BODY[2.TEXT]", Section((2,), "TEXT"), False, None),
        (
            b"BODY.PEEK[HEADER.FIELDS (Subject from)]<10.20>",
            "BODY[HEADER.FIELDS (SUBJECT FROM)]<10>",
            Section((), "HEADER.FIELDS", ("SUBJECT", "FROM")),
            True,
            (10, 20),
        ),
        (
            b'BODY[1.HEADER.FIELDS.NOT ("X-A" {3}\r\nX-B)]',
            "BODY[1.HEADER.FIELDS.NOT (X-A X-B)]",
            Section((1,), "HEADER.FIELDS.NOT", ("X-A", "X-B")),
            False,
            None,
        ),
        (b"BINARY[1]", "BINARY[1]", Section((1,)), False, None),
        (b"BINARY.PEEK[]<0.10>", "BINARY[]<0>", Section(), True, (0, 10)),
        (b"BINARY.SIZE[1.2]", "BINARY.SIZE[1.2]", Section((1, 2)), False, None),
    ],
)
def test_section_items(
    spec: bytes, echo: str, section: Section, peek: bool, partial: tuple[int, int] | None
) -> None:
    (item,) = items(spec)
    assert (item.echo, item.section, item.peek, item.partial) == (echo, section, peek, partial)


def test_list_of_items() -> None:
    got = items(b"(UID FLAGS BODY.PEEK[HEADER] RFC822.SIZE)")
    assert [i.echo for i in got] == ["UID", "FLAGS", "BODY[HEADER]", "RFC822.SIZE"]


@pytest.mark.parametrize(
    "spec",
    [
        b"()",
        b"(FLAGS",
        b"(FLAGS )",
        b"FOO",
        b"BODY[",
        b"BODY[]<0>",
        b"BODY[]<0.>",
        b"BODY[]<.1>",
        b"BODY[]<0.4294967296>",
        b"BODY[]<4294967296.1>",
        b"BODY[MIME]",
        b"BODY[0]",
        b"BODY[1.]",
        b"BODY[1TEXT]",
        b"BODY[1.0]",
        b"BODY[FOO]",
        b"BODY[HEADER.FIELDS]",
        b"BODY[HEADER.FIELDS ()]",
        b"BODY[HEADER.FIELDS (\xc3\xa9)]",
        b"BODY[HEADER.FIELDS (A]",
        b"BINARY[HEADER]",
        b"BINARY[1.MIME]",
        b"BINARY.SIZE[1]<0.1>",
        b"UID[]",
        b"BODY.PEEK",
        b"FLAGS FLAGS",
        b"BODY[]]",
    ],
)
def test_bad_items(spec: bytes) -> None:
    bad(b"a FETCH 1 " + spec)


def test_modifiers() -> None:
    cmd = ok(b"a UID FETCH 1:* (FLAGS) (CHANGEDSINCE 12345 VANISHED)")
    assert isinstance(cmd, Fetch)
    assert (cmd.uid, cmd.changedsince, cmd.vanished) == (True, 12345, True)
    cmd = ok(b"a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775807)")
    assert isinstance(cmd, Fetch)
    assert cmd.changedsince == 2**63 - 1


@pytest.mark.parametrize(
    "line",
    [
        b"a FETCH 1 FLAGS (CHANGEDSINCE 9223372036854775808)",
        b"a FETCH 1 FLAGS (CHANGEDSINCE 1 VANISHED)",
        b"a UID FETCH 1 FLAGS (VANISHED)",
        b"a FETCH 1 FLAGS (FOO)",
        b"a FETCH 1 FLAGS ()",
        b"a FETCH 1",
        b"a FETCH",
        b"a FETCH 0 FLAGS",
        b"a FETCH 1: FLAGS",
        b"a FETCH 1,,2 FLAGS",
        b"a FETCH 4294967296 FLAGS",
    ],
)
def test_bad_fetch_commands(line: bytes) -> None:
    bad(line)


def test_fetch_sets() -> None:
    cmd = ok(b"a FETCH *:* FLAGS")
    assert isinstance(cmd, Fetch)
    assert cmd.seqset.resolve(7) == [7]
    cmd = ok(b"a FETCH $ FLAGS")
    assert isinstance(cmd, Fetch)
    assert cmd.seqset.saved


def test_field_names_that_are_not_atoms_are_quoted_in_the_echo() -> None:
    (item,) = items(b'BODY[HEADER.FIELDS ("A(B" c)]')
    assert item.echo == 'BODY[HEADER.FIELDS ("A(B" C)]'
    assert item.section == Section((), "HEADER.FIELDS", ("A(B", "C"))
