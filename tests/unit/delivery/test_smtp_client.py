"""Reply parsing, EHLO keywords and dot-stuffing of the blocking SMTP client."""

from __future__ import annotations

import socket

import pytest

from vmail.delivery.smtp_client import (
    ClientConnection,
    ConnectionLostError,
    DotStuffer,
    Extensions,
    ProtocolError,
    Reply,
)


@pytest.mark.parametrize(
    ("code", "line", "dsn"),
    [
        (250, "250 2.1.5 Ok", "2.1.5"),
        (550, "550 5.1.1 <a@b>: unknown", "5.1.1"),
        (550, "550 unknown", "5.0.0"),
        (451, "451 Try later", "4.0.0"),
        (250, "250 Ok", "2.0.0"),
        (550, "550 4.1.1 mismatched class", "5.0.0"),
        (354, "354 go ahead", "5.5.0"),
        (250, "250 2.0.0", "2.0.0"),
    ],
)
def test_reply_dsn(code: int, line: str, dsn: str) -> None:
    assert Reply(code, (line,)).dsn == dsn


def test_extensions() -> None:
    reply = Reply(
        250, ("250-mx.test Hello", "250-PIPELINING", "250-SIZE 1000", "250-AUTH=LOGIN", "250 dsn")
    )
    ext = Extensions.parse(reply)
    assert ext.greeting_name == "mx.test"
    assert all(ext.has(k) for k in ("PIPELINING", "DSN", "AUTH"))
    assert ext.size_limit == 1000
    assert Extensions.parse(Reply(250, ("250-x", "250 SIZE"))).size_limit == 0


def stuff(*chunks: bytes) -> bytes:
    stuffer = DotStuffer()
    return b"".join(stuffer.feed(c) for c in chunks) + stuffer.finish()


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((b"a\r\n",), b"a\r\n.\r\n"),
        ((b"a",), b"a\r\n.\r\n"),
        ((b"",), b".\r\n"),
        ((b".x\r\n",), b"..x\r\n.\r\n"),
        ((b"a\r\n.\r\nb\r\n",), b"a\r\n..\r\nb\r\n.\r\n"),
        ((b"a\r", b"\n.b\r\n"), b"a\r\n..b\r\n.\r\n"),
        ((b"a\r\n", b".b\r\n"), b"a\r\n..b\r\n.\r\n"),
        ((b"a\n.b\n",), b"a\r\n..b\r\n.\r\n"),
        ((b"a\r",), b"a\r\n.\r\n"),
        ((b"x.y\r\n",), b"x.y\r\n.\r\n"),
    ],
)
def test_dot_stuffing(chunks: tuple[bytes, ...], expected: bytes) -> None:
    assert stuff(*chunks) == expected


def pair() -> tuple[ClientConnection, socket.socket]:
    left, right = socket.socketpair()
    return ClientConnection(left), right


def test_read_multiline_reply() -> None:
    conn, peer = pair()
    peer.sendall(b"250-first\r\n250-second\r\n250 last\r\n")
    reply = conn.read_reply(1)
    assert reply.code == 250
    assert reply.text == "250-first 250-second 250 last"
    conn.close()
    peer.close()


@pytest.mark.parametrize("junk", [b"hello\r\n", b"25\r\n", b"250x\r\n"])
def test_malformed_reply(junk: bytes) -> None:
    conn, peer = pair()
    peer.sendall(junk)
    with pytest.raises(ProtocolError):
        conn.read_reply(1)
    conn.close()
    peer.close()


def test_closed_connection() -> None:
    conn, peer = pair()
    peer.sendall(b"250-partial\r\n")
    peer.close()
    with pytest.raises(ConnectionLostError):
        conn.read_reply(1)
    conn.close()


def fold(limit: int, *chunks: bytes) -> bytes:
    stuffer = DotStuffer(limit)
    return b"".join(stuffer.feed(c) for c in chunks) + stuffer.finish()


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ((b"abcde\r\n",), b"abcde\r\n.\r\n"),  # exactly the limit: unchanged
        ((b"abcdefgh\r\n",), b"abcde\r\n fgh\r\n.\r\n"),
        ((b"abcdefghijklm\r\n",), b"abcde\r\n fghi\r\n jklm\r\n.\r\n"),
        ((b"abc", b"de", b"fg\r\n"), b"abcde\r\n fg\r\n.\r\n"),
        ((b"abcde", b"\r\nx\r\n"), b"abcde\r\nx\r\n.\r\n"),
        ((b".bcdefg\r\n",), b"..bcde\r\n fg\r\n.\r\n"),  # the stuffed dot does not count
    ],
)
def test_long_lines_fold_like_postfix(chunks: tuple[bytes, ...], expected: bytes) -> None:
    assert fold(5, *chunks) == expected
