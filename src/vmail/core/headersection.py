"""Streaming a message's header section line by line, whatever the chunking.

:class:`HeaderSection` is the loop that cleanup's header filters share: it hands each
complete line of the header section to :meth:`HeaderSection.header_line`, keeps an
incomplete line for the next chunk, and once the section is over (the filter said so, or
a line grew past ``limit`` bytes, as Postfix's header_size_limit) passes the rest through
untouched — through :meth:`HeaderSection.body`, which a subclass may override to look at
the body too.
"""

from __future__ import annotations

import itertools
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence

_FIELD_NAME = re.compile(rb"([!-9;-~]+)[ \t]*:")  # printable ASCII but ":", then ":"


def header_name(line: bytes) -> bytes | None:
    """The field name of a line that starts a header (``Name:``, as written), else None."""
    found = _FIELD_NAME.match(line)
    return found.group(1) if found is not None else None


class HeaderSection(ABC):
    """Base of the streaming header filters; subclasses decide per line."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.in_header = True
        self._partial = b""

    def feed(self, chunk: bytes) -> bytes:
        """The bytes to write now for ``chunk``."""
        if not self.in_header:
            return self.body(chunk)
        data = self._partial + chunk
        out: list[bytes] = []
        start = 0
        while self.in_header:
            nl = data.find(b"\n", start)
            if nl < 0 or not self.header_line(data[start : nl + 1], out):
                break
            start = nl + 1
        rest = data[start:]
        if self.in_header and len(rest) + self.held_size() > self.limit:
            self.end(out)  # an endless line: the rest passes untouched
        if self.in_header:
            self._partial = rest
        else:
            self._partial = b""
            out.append(self.body(rest))
        return b"".join(out)

    def body(self, data: bytes) -> bytes:
        """What to write for ``data`` after the header section (the line that ended it
        first); as it is unless a subclass looks at the body."""
        return data

    def take_partial(self) -> bytes:
        """The incomplete last line held at the end of the content (for ``finish``)."""
        partial, self._partial = self._partial, b""
        return partial

    def held_size(self) -> int:
        """Bytes a subclass holds besides the incomplete line (they count for ``limit``)."""
        return 0

    @abstractmethod
    def header_line(self, line: bytes, out: list[bytes]) -> bool:
        """Take one complete line of the header section (writing to ``out``); False when
        the header section ended before it (the line is then written as it is)."""

    @abstractmethod
    def finish(self) -> bytes:
        """What is held at the end of the content."""

    @abstractmethod
    def end(self, out: list[bytes]) -> None:
        """The header section is over: write what is held and set :attr:`in_header`."""


def through_stages(stages: Sequence[HeaderSection], chunk: bytes, *, last: bool = False) -> bytes:
    """``chunk`` through each stage in order; ``last``: the stages give what they hold."""
    for stage in stages:
        chunk = stage.feed(chunk) + stage.finish() if last else stage.feed(chunk)
    return chunk


def stream_stages(chunks: Iterable[bytes], stages: Sequence[HeaderSection]) -> Iterator[bytes]:
    """Content through ``stages``: the header section is read and passed now (so that a
    table failing on a header shows before anything is sent), the body streams."""
    source = iter(chunks)
    head: list[bytes] = []
    for chunk in source:
        head.append(through_stages(stages, chunk))
        if not any(stage.in_header for stage in stages):
            break
    else:
        head.append(through_stages(stages, b"", last=True))
        return iter([b"".join(head)])

    def rest() -> Iterator[bytes]:
        for chunk in source:
            yield through_stages(stages, chunk)
        yield through_stages(stages, b"", last=True)

    return itertools.chain([b"".join(head)], rest())
