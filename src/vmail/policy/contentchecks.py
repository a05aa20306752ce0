"""Cleanup's built-in content inspection: a message streamed through header_checks(5) tables.

As Postfix's cleanup(8) with MIME processing on (``disable_mime_input_processing = no``),
:class:`ContentFilter` sorts the content into four classes and asks one table list for
each:

* ``header_checks``: the logical headers of the primary header section, except MIME
  headers (``MIME-Version:`` and ``Content-*``);
* ``mime_header_checks`` (default ``$header_checks``): MIME headers anywhere, and every
  header of a MIME part;
* ``nested_header_checks`` (default ``$header_checks``): the headers of an attached
  message (a ``message/rfc822`` part or body), except its MIME headers;
* ``body_checks``: every other non-empty line, MIME boundaries included, until
  ``body_checks_size_limit`` bytes of body were looked at.

A logical header is held until the next line shows that it ended, then written as its
action says; a header longer than ``header_size_limit`` passes unchecked and ends its
header section. Boundaries are those of the multipart ``Content-Type`` headers seen so
far. What the actions decide for the whole message (REJECT, DISCARD, HOLD, FILTER) is kept
in :attr:`ContentFilter.verdict`; REJECT and DISCARD stop the checks. Every action is
passed to ``report``. Differences from Postfix: the body limit counts the whole body,
not each MIME part, and the MIME structure is not checked for errors
(``strict_mime_encoding_domain`` and friends).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vmail.core.headersection import HeaderSection, header_name
from vmail.policy.headerchecks import HeaderChecks, Report, Verdict

# header_opts.c's HDR_OPT_MIME headers: for mime_header_checks wherever they are
MIME_HEADERS = frozenset(
    {
        b"mime-version",
        b"content-description",
        b"content-disposition",
        b"content-id",
        b"content-transfer-encoding",
        b"content-type",
    }
)
PRIMARY, PART, NESTED = "primary", "part", "nested"  # the kinds of header section
_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))', re.IGNORECASE)
_RFC822 = re.compile(rb"^content-type:\s*message/rfc822", re.IGNORECASE)


@dataclass(frozen=True)
class ContentTables:
    """The four table lists, the body limit, and whether MIME is parsed at all."""

    header: HeaderChecks
    mime: HeaderChecks
    nested: HeaderChecks
    body: HeaderChecks
    body_limit: int = 51200
    mime_parsing: bool = True

    def __bool__(self) -> bool:
        return bool(self.header or self.mime or self.nested or self.body)


class ContentFilter(HeaderSection):
    """Streams message content through the :class:`ContentTables` (module docstring)."""

    def __init__(
        self,
        tables: ContentTables,
        limit: int,
        report: Report,
        supported: frozenset[str] | None = None,
    ) -> None:
        super().__init__(limit)
        self.tables = tables
        self.report = report
        self.supported = supported  # the actions taken (smtp's checks: a few); None: all
        self.verdict = Verdict()
        self._lines: list[bytes] = []  # the logical header being read
        self._size = 0
        self._section = PRIMARY  # the header section being read
        self._in_section = False  # reading a part's or attached message's header section
        self._section_over = False  # the last line ended a header section (no blank yet)
        self._nested_next = False  # the section being read announced message/rfc822
        self._boundaries: set[bytes] = set()  # "--boundary" of the multiparts seen
        self._body_left = tables.body_limit  # bytes of body still to look at
        self._body_partial = b""  # an incomplete line after the primary header section

    # -- the primary header section (HeaderSection's loop) ----------------------------

    def header_line(self, line: bytes, out: list[bytes]) -> bool:
        if self._header_line(line, out):
            return True
        self.in_header = False
        self._section_over = True  # the line comes again to body()
        return False

    def end(self, out: list[bytes]) -> None:
        out.extend(self._lines)
        self._lines, self._size = [], 0
        self.in_header = self._in_section = False

    def held_size(self) -> int:
        return self._size

    def finish(self) -> bytes:
        """What is held at the end of the content."""
        out: list[bytes] = []
        partial = self.take_partial()
        if self.in_header and partial and not self.header_line(partial, out):
            out.append(partial)
        if self.in_header:
            self._flush(out)  # the last header is checked too
            self.in_header = False
        if self._body_partial:
            self._line(self._body_partial, out)
            self._body_partial = b""
        self._flush(out)  # the end of an attached message's header section
        return b"".join(out)

    # -- after it ---------------------------------------------------------------------

    def body(self, data: bytes) -> bytes:
        data, self._body_partial = self._body_partial + data, b""
        out: list[bytes] = []
        start = 0
        while self._looking():
            nl = data.find(b"\n", start)
            if nl < 0:
                if len(data) - start > self.limit:
                    break  # an endless line: it passes unchecked
                self._body_partial = data[start:]
                return b"".join(out)
            self._line(data[start : nl + 1], out)
            start = nl + 1
        out.append(data[start:])
        return b"".join(out)

    def _looking(self) -> bool:
        """Whether any line after the primary header section can still be checked."""
        if self.verdict.stopped:
            return False
        tables = self.tables
        mime = tables.mime_parsing and bool(tables.mime or tables.nested)
        return mime or self._in_section or (bool(tables.body) and self._body_left > 0)

    def _line(self, raw: bytes, out: list[bytes]) -> None:
        """One line after the primary header section."""
        if self._in_section:
            if self._header_line(raw, out):
                return
            self._in_section, self._section_over = False, True
        line = raw.rstrip(b"\r\n")
        if self._section_over:
            self._section_over = False
            if not line:  # the blank line that ends a header section
                out.append(raw)
                if self._nested_next:
                    self._start_section(NESTED)
                return
        self._body_line(raw, line, out)

    def _body_line(self, raw: bytes, line: bytes, out: list[bytes]) -> None:
        self._body_left -= len(raw)
        starts_part = (
            self.tables.mime_parsing
            and line[:2] == b"--"
            and line.rstrip(b" \t") in self._boundaries
        )
        if line and self.tables.body and self._body_left + len(raw) > 0:
            self._check(self.tables.body, "body", raw, line, out)
        else:
            out.append(raw)
        if starts_part:
            self._start_section(PART)

    def _start_section(self, section: str) -> None:
        self._section, self._in_section, self._nested_next = section, True, False

    # -- header sections ----------------------------------------------------------------

    def _header_line(self, line: bytes, out: list[bytes]) -> bool:
        """Take one line of a header section; False when the section ended before it."""
        if line[:1] in (b" ", b"\t") and self._lines:
            self._lines.append(line)
            self._size += len(line)
            if self._size > self.limit:
                self.end(out)  # too long: written unchecked, and the section is over
            return True
        self._flush(out)
        if header_name(line) is None:
            return False
        self._lines, self._size = [line], len(line)
        return True

    def _flush(self, out: list[bytes]) -> None:
        """Check the held logical header and write what its action leaves."""
        if not self._lines:
            return
        raw = b"".join(self._lines)
        self._lines, self._size = [], 0
        name = raw[: raw.find(b":")].rstrip(b" \t").lower()
        mime = name in MIME_HEADERS and self.tables.mime_parsing
        if name == b"content-type" and self.tables.mime_parsing:
            self._note_content_type(raw)
        if mime or self._section == PART:
            table = self.tables.mime
        elif self._section == NESTED:
            table = self.tables.nested
        else:
            table = self.tables.header
        self._check(table, "header", raw, raw.rstrip(b"\r\n").replace(b"\r\n", b"\n"), out)

    def _note_content_type(self, header: bytes) -> None:
        """Remember a multipart's boundary, and whether an attached message follows."""
        found = _BOUNDARY.search(header)
        if found is not None:
            self._boundaries.add(b"--" + (found.group(1) or found.group(2)))
        if _RFC822.match(header):
            self._nested_next = True

    def _check(
        self, table: HeaderChecks, what: str, raw: bytes, key: bytes, out: list[bytes]
    ) -> None:
        """Ask ``table`` about ``key`` (a header or a body line) and write what its action
        leaves of ``raw``."""
        if not table or self.verdict.stopped:
            out.append(raw)
            return
        text = key.decode("utf-8", "surrogateescape")
        action = table.check(text)
        if action is None:
            out.append(raw)
            return
        self.report(what, text, action)
        if self.supported is not None and action.verb not in self.supported:
            out.append(raw)  # reported as unsupported, and the line passes
            return
        self.verdict.apply(action, raw, out)


__all__ = ["MIME_HEADERS", "ContentFilter", "ContentTables"]
