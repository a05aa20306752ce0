"""Line-end conversion, From quoting, delivery headers and header peeking."""

from __future__ import annotations

import io

import pytest

from vmail.delivery.content import (
    CountingWriter,
    LineConverter,
    copy_message,
    delivery_headers,
    header_values,
    split_headers,
)

SMTP = b"From: a@b\r\nSubject: x\r\n\r\nFrom here\r\nbare\rcr\r\n>From x\r\nFrom\r\nlast"


def convert(data: bytes, chunk: int, *, quote: bool) -> bytes:
    converter = LineConverter(quote_from=quote)
    out = [converter.feed(data[i : i + chunk]) for i in range(0, len(data), chunk)]
    return b"".join(out) + converter.finish()


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 6, 7, 13, 1000])
def test_crlf_to_lf_any_chunking(chunk: int) -> None:
    expected = b"From: a@b\nSubject: x\n\nFrom here\nbare\rcr\n>From x\nFrom\nlast\n"
    assert convert(SMTP, chunk, quote=False) == expected


@pytest.mark.parametrize("chunk", [1, 2, 3, 4, 5, 6, 7, 13, 1000])
def test_from_quoting_any_chunking(chunk: int) -> None:
    expected = b"From: a@b\nSubject: x\n\n>From here\nbare\rcr\n>From x\nFrom\nlast\n"
    assert convert(SMTP, chunk, quote=True) == expected


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"", b""),
        (b"x", b"x\n"),
        (b"x\r\n", b"x\n"),
        (b"x\r", b"x\r\n"),
        (b"\r\n\r\n", b"\n\n"),
        (b"Fro", b"Fro\n"),
        (b"From ", b">From \n"),
        (b"a\nFrom b\n", b"a\n>From b\n"),
        (b"a From b\n", b"a From b\n"),
    ],
)
def test_edges(data: bytes, expected: bytes) -> None:
    for chunk in (1, 2, 100):
        assert convert(data, chunk, quote=True) == expected


def test_delivery_headers_golden() -> None:
    assert delivery_headers("s@x.org", "Orig@Example.com", "user@example.com") == (
        b"Return-Path: <s@x.org>\nX-Original-To: Orig@Example.com\nDelivered-To: user@example.com\n"
    )


def test_delivery_headers_null_sender_quoting_and_no_original() -> None:
    assert delivery_headers("", "", "a b@example.com") == (
        b'Return-Path: <>\nDelivered-To: "a b"@example.com\n'
    )


def test_copy_counts_sizes_and_limit() -> None:
    out = io.BytesIO()
    writer = CountingWriter(out)
    copy_message([b"a\r\nb\r\n"], writer, headers=b"H: 1\n")
    assert out.getvalue() == b"H: 1\na\nb\n"
    assert (writer.size, writer.virtual_size) == (9, 12)
    with pytest.raises(OSError, match="File too large"):
        copy_message([b"x" * 100], CountingWriter(io.BytesIO(), limit=50))


def test_split_headers_keeps_the_stream_whole() -> None:
    chunks = [b"Delivered-To: a@b\r\n", b" folded\r\nX: y\r", b"\n\r\nbody\r\n", b"more"]
    header, whole = split_headers(iter(chunks))
    assert header == b"Delivered-To: a@b\r\n folded\r\nX: y\r\n"
    assert b"".join(whole) == b"".join(chunks)
    assert header_values(header, "delivered-to") == ["a@b folded"]


def test_split_headers_stops_at_limit() -> None:
    header, whole = split_headers(iter([b"X: y\n"] * 1000), limit=100)
    assert len(header) == 100
    assert b"".join(whole) == b"X: y\n" * 1000
