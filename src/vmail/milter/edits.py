"""A message as milters see and change it: headers, body and envelope edits.

:class:`MessageEdits` holds the content that cleanup wrote (its own ``Received:`` first)
and applies an application's end-of-message requests the way Postfix's cleanup_milter.c
does: added headers go to the end of the header section; inserted ones at a position
counted over all headers, cleanup's own included (0 is above it); changed or deleted ones
are found by name and instance, not counting cleanup's own header (until something was
inserted above it); a replaced body keeps the empty line that starts it. Envelope requests
(recipients added or deleted, a new sender) are recorded for cleanup to apply.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from vmail.core.headersection import header_name


@dataclass
class EnvelopeEdits:
    """The envelope requests of the applications, in order."""

    added: list[tuple[str, str]] = field(default_factory=list)  # (address, ESMTP args)
    deleted: list[str] = field(default_factory=list)
    sender: tuple[str, str] | None = None  # (address, ESMTP args)


class MessageEdits:
    """The content being inspected, changed in place by the applications' requests."""

    def __init__(
        self, content: bytes, check: Callable[[bytes], bytes | None] | None = None
    ) -> None:
        self.headers, self.body = split_content(content)
        self.check = check  # milter_header_checks: the header to write, or None to drop
        self.own = 1 if self.headers else 0  # cleanup's Received:, not shown to milters
        self.envelope = EnvelopeEdits()
        self.changed = False

    # -- what the applications see ---------------------------------------------------

    def visible_headers(self) -> list[tuple[str, str]]:
        """(name, text after the colon) of each header but cleanup's own; the lines of a
        folded header joined with ``\\n``, as Postfix sends them."""
        out = []
        for header in self.headers[self.own :]:
            name = header_name(header)
            assert name is not None
            colon = header.index(b":")
            text = header[colon + 1 :].removesuffix(b"\r\n").replace(b"\r\n", b"\n")
            out.append((name.decode("utf-8", "replace"), text.decode("utf-8", "surrogateescape")))
        return out

    def visible_body(self) -> bytes:
        """The body after the empty line that ends the headers, CRLF line ends."""
        return self.body.removeprefix(b"\r\n")

    def content(self) -> bytes:
        return b"".join(self.headers) + self.body

    # -- the requests (see vmail.milter.client.Editor) --------------------------------

    def _new(self, name: str, text: str) -> bytes | None:
        header = _header(name, text)
        return header if self.check is None else self.check(header)

    def add_header(self, name: str, text: str) -> None:
        header = self._new(name, text)
        if header is not None:
            self.headers.append(header)
            self.changed = True

    def insert_header(self, index: int, name: str, text: str) -> None:
        if index >= len(self.headers):
            self.add_header(name, text)
            return
        header = self._new(name, text)
        if header is None:
            return
        self.headers.insert(index, header)
        if index < self.own:
            self.own = 0  # from now on cleanup's own header is like the others
        self.changed = True

    def change_header(self, index: int, name: str, text: str | None) -> None:
        """Replace the ``index``-th ``name`` header (from 1), or delete it (``text``
        None); a header that is not there is added (replace) or ignored (delete)."""
        wanted = name.lower().encode()
        seen = 0
        for position in range(self.own, len(self.headers)):
            found = header_name(self.headers[position])
            if found is None or found.lower() != wanted:
                continue
            seen += 1
            if seen == index:
                if text is None:
                    del self.headers[position]
                else:
                    header = self._new(name, text)
                    if header is None:  # milter_header_checks dropped it: the old one stays
                        return
                    self.headers[position] = header
                self.changed = True
                return
        if text is not None:
            self.add_header(name, text)

    def replace_body(self, body: bytes) -> None:
        """The new body: its lines end in CRLF (a last line without one gets it)."""
        lines = body.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        self.body = b"\r\n" + b"".join(line.removesuffix(b"\r") + b"\r\n" for line in lines)
        self.changed = True

    def add_recipient(self, address: str, args: str) -> None:
        self.envelope.added.append((address, args))

    def delete_recipient(self, address: str) -> None:
        self.envelope.deleted.append(address)

    def change_sender(self, address: str, args: str) -> None:
        self.envelope.sender = (address, args)


def split_content(content: bytes) -> tuple[list[bytes], bytes]:
    """The header section as a list of whole headers (continuation lines included, CRLF
    ends) and the rest (the empty line and body, or the first line that is no header)."""
    headers: list[bytes] = []
    start = 0
    while start < len(content):
        end = content.find(b"\n", start)
        end = len(content) if end < 0 else end + 1
        line = content[start:end]
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1] += line
        elif header_name(line) is not None:
            headers.append(line)
        else:
            break
        start = end
    return headers, content[start:]


def _header(name: str, text: str) -> bytes:
    """``Name:text`` with CRLF line ends (a milter separates the lines with ``\\n``)."""
    raw = f"{name}:{text}".encode("utf-8", "surrogateescape")
    return raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
