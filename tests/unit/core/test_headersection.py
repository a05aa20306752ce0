"""The header section loop: whole lines to the filter in any chunking, then pass-through."""

from __future__ import annotations

import pytest

from vmail.core.headersection import HeaderSection


class Upper(HeaderSection):
    """Upper-cases header lines; the first line without a colon ends the section."""

    def header_line(self, line: bytes, out: list[bytes]) -> bool:
        if b":" not in line:
            self.end(out)
            return False
        out.append(line.upper())
        return True

    def end(self, out: list[bytes]) -> None:
        out.append(b"--\r\n")
        self.in_header = False

    def finish(self) -> bytes:
        return self.take_partial()


@pytest.mark.parametrize("size", [1, 2, 5, 100])
def test_lines_whatever_the_chunking(size: int) -> None:
    content = b"a: b\r\nc: d\r\n\r\ne: f\r\n"
    stream = Upper(limit=1000)
    out = b"".join(stream.feed(content[i : i + size]) for i in range(0, len(content), size))
    assert out == b"A: B\r\nC: D\r\n--\r\n\r\ne: f\r\n"
    assert stream.take_partial() == b""


def test_a_line_past_the_limit_ends_the_section() -> None:
    stream = Upper(limit=10)
    assert stream.feed(b"a: b\r\n" + b"x" * 20) == b"A: B\r\n--\r\n" + b"x" * 20
    assert stream.feed(b": y\r\n") == b": y\r\n"


def test_the_incomplete_last_line_is_kept_for_finish() -> None:
    stream = Upper(limit=100)
    assert stream.feed(b"a: b\r\nc: d") == b"A: B\r\n"
    assert stream.take_partial() == b"c: d"
