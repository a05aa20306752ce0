"""CRLF conversion, sizes and header boundaries."""

from __future__ import annotations

from vmail.mailstore.message import body_offset, crlf, crlf_size, header_block


def test_crlf_converts_bare_lf_only() -> None:
    assert crlf(b"a\nb\r\nc\rd\n") == b"a\r\nb\r\nc\rd\r\n"
    assert crlf(b"a\nb\n") == b"a\r\nb\r\n"
    assert crlf(b"abc") == b"abc"


def test_crlf_size_matches_conversion() -> None:
    for data in (b"", b"a\nb\r\nc\rd\n", b"\n\n", b"\r\n"):
        assert crlf_size(data) == len(crlf(data))
    assert crlf_size(b"x\ny\n", 2) == 3
    assert crlf_size(b"x\ny\n", 3, 2) == 0


def test_body_offset_lf_crlf_and_none() -> None:
    assert body_offset(b"A: b\n\nbody") == 6
    assert body_offset(b"A: b\r\n\r\nbody") == 8
    assert body_offset(b"A: b\nC: d\n") == 10
    assert body_offset(b"\nbody") == 1
    assert body_offset(b"\r\nbody") == 2
    assert body_offset(b"") == 0


def test_header_block() -> None:
    assert header_block(b"A: b\n\nbody\n\nmore") == b"A: b\n\n"
