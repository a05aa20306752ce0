"""Postfix's byte count after BDAT: the cases measured against a private Postfix 3.7."""

from __future__ import annotations

import pytest

from vmail.protocol.smtp.recordsize import RecordSize


@pytest.mark.parametrize(
    ("chunks", "count"),
    [
        ([b"hello"], 7),
        ([b"hello", b" world\n"], 13),
        ([b"abc", b""], 5),
        ([b"a\r\nb\nc\r\r\nd"], 12),  # every CR before the LF goes
        ([b"a\r\n"], 3),
        ([b""], 0),
        ([b"\r\n"], 2),
        ([b"x\ry\r\n"], 5),  # a CR inside the line stays
        ([b"Subject: t\r\n\r\n" + b"z" * 5000 + b"\r\n"], 5020),  # cut at 2048 bytes
        ([b"a\n\n\n"], 7),
        ([b"\r"], 3),  # a last line without LF keeps its CR
        ([b"a\r"], 4),
        ([b".\r\n..x\r\n"], 8),  # no dot-stuffing in BDAT
        ([b"a\r", b"\nb"], 6),  # a line ending split between chunks
        ([b"ab", b"cd"], 6),
    ],
)
def test_counts_as_postfix(chunks: list[bytes], count: int) -> None:
    size = RecordSize(2048)
    for chunk in chunks:
        size.feed(chunk)
    assert size.total() == count
