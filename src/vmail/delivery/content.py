"""Streaming copy of a message into a mailbox file, the way virtual(8) writes it.

The queue stores messages with CRLF line ends (as received over SMTP); mailbox files
hold LF. :class:`LineConverter` turns a stream of byte chunks into the stored form one
chunk at a time — never the whole message in memory — and optionally quotes lines that
start with ``From `` (mbox). Like Postfix, which copies the message record by record and
ends every record with a newline, the copy always ends with a newline. A bare CR (not
followed by LF) is kept.

:func:`delivery_headers` builds the headers virtual(8) prepends; the order on disk is
``Return-Path:``, ``X-Original-To:`` (only when an original recipient is known),
``Delivered-To:`` — the man page lists them as *prepended* in the reverse order.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import BinaryIO

from vmail.core.address import Address
from vmail.core.linebreaks import count_lf, crlf_to_lf
from vmail.delivery.status import file_too_large

Content = BinaryIO | Iterable[bytes] | bytes
"""A message: a binary file (read from its current position), byte chunks, or bytes."""

CHUNK_SIZE = 1 << 16
_FROM = b"From "
_FROM_LINE = re.compile(rb"^From ", re.MULTILINE)


def iter_content(content: Content, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The message as a sequence of non-empty byte chunks."""
    if isinstance(content, bytes | bytearray | memoryview):
        data = bytes(content)
        for i in range(0, len(data), chunk_size):
            yield data[i : i + chunk_size]
        return
    read = getattr(content, "read", None)
    if read is not None:
        while chunk := read(chunk_size):
            yield bytes(chunk)
        return
    for chunk in content:
        if chunk:
            yield bytes(chunk)


def _quote_address(address: str) -> str:
    """An internal-form address in the external (RFC 5321 quoted) form for headers."""
    return Address.from_internal(address).external if address else ""


def delivery_headers(sender: str, original_recipient: str, recipient: str) -> bytes:
    """``Return-Path:``, ``X-Original-To:`` and ``Delivered-To:`` lines (LF ends).

    Addresses are in internal form; they are written quoted where RFC 5321 needs it.
    ``Delivered-To:`` holds the final recipient as given (not case-folded), as Postfix
    writes it. An empty ``original_recipient`` leaves ``X-Original-To:`` out.
    """
    lines = [f"Return-Path: <{_quote_address(sender)}>\n"]
    if original_recipient:
        lines.append(f"X-Original-To: {_quote_address(original_recipient)}\n")
    lines.append(f"Delivered-To: {_quote_address(recipient)}\n")
    return "".join(lines).encode("utf-8", "surrogateescape")


class LineConverter:
    """CRLF → LF and optional ``>From `` quoting over a stream of chunks.

    Bytes that cannot be decided yet (a trailing CR, or the start of a line that may
    become ``From ``) are held back — at most four bytes.
    """

    def __init__(self, *, quote_from: bool = False) -> None:
        self.quote_from = quote_from
        self._pending = b""
        self._at_line_start = True

    def feed(self, data: bytes) -> bytes:
        """Convert the next chunk; returns what can be written now."""
        buf = self._pending + data
        self._pending = b""
        out: list[bytes] = []
        if not self._at_line_start:
            nl = buf.find(b"\n")
            if nl < 0:
                if buf.endswith(b"\r"):
                    buf, self._pending = buf[:-1], b"\r"
                return buf
            out.append(crlf_to_lf(buf[: nl + 1]))
            buf = buf[nl + 1 :]
            self._at_line_start = True
        last = buf.rfind(b"\n")
        complete, tail = buf[: last + 1], buf[last + 1 :]
        if complete:
            complete = crlf_to_lf(complete)
            if self.quote_from:
                complete = _FROM_LINE.sub(b">From ", complete)
            out.append(complete)
        if tail:
            if len(tail) < len(_FROM) and _FROM.startswith(tail):
                self._pending = tail
            else:
                if self.quote_from and tail.startswith(_FROM):
                    tail = b">" + tail
                if tail.endswith(b"\r"):
                    tail, self._pending = tail[:-1], b"\r"
                out.append(tail)
                self._at_line_start = False
        return b"".join(out)

    def finish(self) -> bytes:
        """The held-back bytes, and a final newline if the message lacks one."""
        rest = self._pending
        self._pending = b""
        if rest or not self._at_line_start:
            rest += b"\n"
        self._at_line_start = True
        return rest


class CountingWriter:
    """Writes to a binary file, counting bytes and LFs, refusing to pass ``limit`` bytes.

    ``limit`` (0: none) plays the part of Postfix's file size resource limit: the write
    that would pass it fails with EFBIG, which maps to ``5.2.2`` (mailbox full).
    """

    def __init__(self, out: BinaryIO, limit: int = 0) -> None:
        self.out = out
        self.limit = limit
        self.size = 0
        self.newlines = 0

    def write(self, data: bytes) -> None:
        if not data:
            return
        if self.limit and self.size + len(data) > self.limit:
            raise file_too_large()
        self.out.write(data)
        self.size += len(data)
        self.newlines += count_lf(data)

    @property
    def virtual_size(self) -> int:
        """The size with CRLF line ends (what IMAP reports; Dovecot's ``W=``)."""
        return self.size + self.newlines


class MessageReadError(Exception):
    """Reading the message (the queue file) failed; ``error`` is the cause."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


def _reading(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """``chunks`` with read errors told apart from write errors."""
    while True:
        try:
            chunk = next(chunks)
        except StopIteration:
            return
        except OSError as e:
            raise MessageReadError(e) from e
        yield chunk


def copy_message(
    content: Content,
    writer: CountingWriter,
    *,
    headers: bytes = b"",
    quote_from: bool = False,
    blank_line: bool = False,
) -> None:
    """Write ``headers`` then the converted message to ``writer``.

    ``blank_line`` appends an empty line (mbox: so the next ``From `` line is found).
    """
    converter = LineConverter(quote_from=quote_from)
    if headers:
        writer.write(converter.feed(headers))
    for chunk in _reading(iter_content(content)):
        writer.write(converter.feed(chunk))
    writer.write(converter.finish())
    if blank_line:
        writer.write(b"\n")


def split_headers(content: Content, limit: int = 1 << 20) -> tuple[bytes, Iterator[bytes]]:
    """Read the message header (up to the empty line, at most about ``limit`` bytes).

    Returns the bytes read and an iterator over the *whole* message (those bytes first),
    so a caller can inspect the header and still stream the message once.
    """
    chunks = iter_content(content)
    buf = bytearray()
    end = -1
    for chunk in chunks:
        start = max(0, len(buf) - 2)
        buf += chunk
        end = _end_of_header(buf, start)
        if end >= 0 or len(buf) >= limit:
            break
    head = bytes(buf)
    header = head if end < 0 else head[:end]

    def whole() -> Iterator[bytes]:
        if head:
            yield head
        yield from chunks

    return header, whole()


def _end_of_header(data: bytes | bytearray, start: int = 0) -> int:
    """Offset of the empty line that ends the header (searching from ``start``), or -1."""
    if data.startswith((b"\r\n", b"\n")):
        return 0
    found = [i for i in (data.find(b"\n\n", start), data.find(b"\n\r\n", start)) if i >= 0]
    return min(found) + 1 if found else -1


def header_values(header: bytes, name: str) -> list[str]:
    """Unfolded values of every header field called ``name`` (case-insensitive)."""
    text = header.decode("utf-8", "surrogateescape").replace("\r\n", "\n")
    fields: list[str] = []
    for line in text.split("\n"):
        if line[:1] in (" ", "\t") and fields:
            fields[-1] += line
        elif line:
            fields.append(line)
    wanted = name.lower()
    values = []
    for field in fields:
        label, colon, value = field.partition(":")
        if colon and label.rstrip().lower() == wanted:
            values.append(value.strip())
    return values
