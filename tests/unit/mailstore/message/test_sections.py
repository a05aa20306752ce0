"""BODY[section] against Dovecot's recorded answers, and BINARY[part]."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.mailstore.message import SectionError, UnknownEncodingError, binary, section

from .dovecot import MESSAGES, SECTIONS, sections

MIXED = (Path(__file__).parent / "fixtures" / "02-multipart-mixed.eml").read_bytes()


@pytest.mark.parametrize("path", MESSAGES, ids=lambda p: p.stem)
def test_sections_match_dovecot(path: Path) -> None:
    data = path.read_bytes()
    answers = sections(path)
    assert len(answers) == len(SECTIONS)
    for spec, expected in answers:
        got = section(data, *SECTIONS[spec])
        assert (got or b"") == expected, spec


def test_whole_message_is_crlf() -> None:
    assert section(b"A: b\n\nx\n", (), None) == b"A: b\r\n\r\nx\r\n"


def test_header_of_a_leaf_does_not_exist() -> None:
    assert section(MIXED, (1,), "HEADER") is None
    assert section(MIXED, (), "MIME") is None


def test_unknown_text_is_an_error() -> None:
    with pytest.raises(SectionError, match="BOGUS"):
        section(MIXED, (), "BOGUS")


def test_part_zero_and_out_of_range() -> None:
    assert section(MIXED, (0,), None) is None
    assert section(MIXED, (3,), None) is None
    assert section(MIXED, (1, 2), None) is None


def test_binary_decodes_base64_and_qp() -> None:
    assert binary(MIXED, (2,)) == b"Hello world\n"
    assert binary(MIXED, (1,)) == "Café au lait ok".encode()
    assert binary(MIXED, (9,)) is None


def test_binary_base64_is_lenient() -> None:
    data = b"Content-Transfer-Encoding: base64\n\nSGVs!!bG8\n"
    assert binary(data, (1,)) == b"Hello"


def test_binary_unknown_encoding() -> None:
    data = b"Content-Transfer-Encoding: x-uuencode\n\nabc\n"
    with pytest.raises(UnknownEncodingError, match="x-uuencode"):
        binary(data, (1,))


def test_binary_whole_message_and_multipart() -> None:
    assert binary(MIXED, ()) == section(MIXED, (), None)
    assert binary(b"Content-Type: message/rfc822\n\nA: b\n\nx\n", (1,)) == b"A: b\r\n\r\nx\r\n"


def test_binary_text_decodes_the_body_of_the_message_or_the_attached_one() -> None:
    data = b"Content-Transfer-Encoding: base64\n\nSGVsbG8=\n"
    assert binary(data, (), text=True) == b"Hello"
    assert binary(MIXED, (), text=True) == section(MIXED, (), "TEXT")  # multipart: as it is
    attached = b"Content-Type: message/rfc822\n\nContent-Transfer-Encoding: base64\n\nSGk=\n"
    assert binary(attached, (1,), text=True) == b"Hi"
    assert binary(MIXED, (1,), text=True) is None  # not a message/rfc822 part
