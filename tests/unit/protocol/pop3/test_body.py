"""RETR/TOP transfer encoding, chunk by chunk."""

from __future__ import annotations

import pytest

from vmail.protocol.pop3.body import BodyEncoder


def encode(data: bytes, top: int | None = None, chunk: int = 1 << 16) -> bytes:
    encoder = BodyEncoder(top)
    out = b""
    for start in range(0, len(data), chunk):
        out += encoder.feed(data[start : start + chunk])
        if encoder.done:
            break
    out += encoder.finish()
    assert encoder.sent == len(out)
    return out


MESSAGE = b"Subject: a\n\nline1\n.dot\r\n..two\nlast"


@pytest.mark.parametrize("chunk", [1, 2, 3, 7, 1 << 16])
def test_retr_crlf_and_dot_stuffing(chunk: int) -> None:
    expected = b"Subject: a\r\n\r\nline1\r\n..dot\r\n...two\r\nlast\r\n.\r\n"
    assert encode(MESSAGE, chunk=chunk) == expected


@pytest.mark.parametrize("chunk", [1, 2, 5, 1 << 16])
def test_top(chunk: int) -> None:
    assert encode(MESSAGE, 0, chunk) == b"Subject: a\r\n\r\n.\r\n"
    assert encode(MESSAGE, 2, chunk) == b"Subject: a\r\n\r\nline1\r\n..dot\r\n.\r\n"
    assert encode(MESSAGE, 99, chunk) == encode(MESSAGE)


def test_edge_cases() -> None:
    assert encode(b"") == b".\r\n"
    assert encode(b".") == b"..\r\n.\r\n"
    assert encode(b"a\rb\r") == b"a\rb\r\r\n.\r\n"
    assert encode(b"\r\n\r\nbody", 0) == b"\r\n.\r\n"
    assert encode(b"no body at all\n", 0) == b"no body at all\r\n.\r\n"
    assert encode(b"a\r\n\r\n", 5, 1) == b"a\r\n\r\n.\r\n"


def test_large_message_in_bounded_chunks() -> None:
    data = (b"x" * 999 + b"\n") * 2000
    encoder = BodyEncoder()
    sizes = [len(encoder.feed(data[i : i + 65536])) for i in range(0, len(data), 65536)]
    assert max(sizes) <= 65536 + 65536 // 1000 + 2
    assert sum(sizes) + len(encoder.finish()) == 2000 * 1001 + 3
