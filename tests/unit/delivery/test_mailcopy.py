"""mail_copy(): envelope lines, line conversion and quoting over chunk streams."""

from __future__ import annotations

from vmail.delivery.mailcopy import CopyOptions, copy_lines, envelope_lines, mail_copy


def joined(chunks: list[bytes], options: CopyOptions) -> bytes:
    return b"".join(copy_lines(chunks, options))


def test_lines_split_across_chunks() -> None:
    chunks = [b"a\r", b"\nFr", b"om x\r\n.", b"y\r\nbare\rcr\r\nend"]
    assert joined(chunks, CopyOptions()) == b"a\nFrom x\n.y\nbare\rcr\nend\n"
    options = CopyOptions(quote_from=True, dot_stuff=True, blank_line=True, eol=b"\r\n")
    assert joined(chunks, options) == b"a\r\n>From x\r\n..y\r\nbare\rcr\r\nend\r\n\r\n"


def test_empty_message() -> None:
    assert joined([], CopyOptions()) == b""
    assert joined([], CopyOptions(blank_line=True)) == b"\n"


def test_envelope_lines() -> None:
    options = CopyOptions(from_line=True, return_path=True, original_to=True, delivered_to=True)
    head = envelope_lines(options, "a b@x", "o@y", "r@y", when=0.0)
    lines = head.split(b"\n")
    assert lines[0].startswith(b'From "a b"@x  ')
    assert lines[1:] == [
        b'Return-Path: <"a b"@x>',
        b"X-Original-To: o@y",
        b"Delivered-To: r@y",
        b"",
    ]
    assert envelope_lines(options, "", "", "r@y", when=0.0).split(b"\n")[1:] == [
        b"Return-Path: <>",
        b"Delivered-To: r@y",
        b"",
    ]
    assert envelope_lines(options, "", "", "r@y", when=0.0).startswith(b"From MAILER-DAEMON  ")


def test_mail_copy_streams_batches() -> None:
    big = [b"x" * 1000 + b"\r\n"] * 200
    out = list(mail_copy(big, CopyOptions(return_path=True), sender="s@x"))
    assert out[0] == b"Return-Path: <s@x>\n"
    assert len(out) > 2
    assert b"".join(out[1:]) == (b"x" * 1000 + b"\n") * 200
