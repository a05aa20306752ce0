"""header_checks(5) and body_checks: the action a table gives for a header or a body line.

Cleanup asks :class:`HeaderChecks` (``header_checks``) once per header of the message's
primary header section: the whole logical header (``Name: value``, continuation lines
joined by their ``\\n``, without the final line break) is the lookup key, as in Postfix,
so ``regexp:``/``pcre:`` tables see it all. The first table that answers decides. Then
``body_checks`` sees each line of the body (without its line break) until
``body_checks_size_limit`` bytes of body were looked at. As in Postfix, empty lines are
not looked at, MIME boundary lines are, and the headers of MIME parts are not (Postfix gives
them to ``mime_header_checks``, which vmail does not have). Unlike Postfix, the headers of
an attached message (``message/rfc822``) are body lines here, and the limit counts the
whole body, not each part.

Actions, as header_checks(5) defines them: ``REJECT [text]`` (the message is refused at
the end of DATA), ``DISCARD``, ``HOLD``, ``IGNORE`` (the header is left out),
``PREPEND text`` (a header line before this one), ``REPLACE text`` (this header becomes
``text``), ``WARN``/``INFO`` (only logged), ``FILTER transport:destination`` (the message
goes to that content filter; the last FILTER wins), ``DUNNO``/``OK`` (nothing).
``REDIRECT`` and ``BCC`` are not supported here and are logged and ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from vmail.core.headersection import HeaderSection
from vmail.tables import Maps
from vmail.tables.maps import query

NOTHING = frozenset({"DUNNO", "OK"})
KNOWN = (
    frozenset(
        {"REJECT", "DISCARD", "HOLD", "IGNORE", "PREPEND", "REPLACE", "WARN", "INFO", "FILTER"}
    )
    | NOTHING
)
DEFAULT_REJECT = "message content rejected"


@dataclass(frozen=True)
class HeaderAction:
    """``verb`` (upper case) and the rest of the table's answer."""

    verb: str
    text: str

    @classmethod
    def parse(cls, value: str) -> HeaderAction:
        verb, _, text = value.strip().partition(" ")
        return cls(verb.upper(), text.strip())

    def reject_reply(self) -> tuple[str, str]:
        """REJECT's enhanced status code and text (``5.7.1 message content rejected``
        when the table gives none)."""
        text = self.text or DEFAULT_REJECT
        first, _, rest = text.partition(" ")
        parts = first.split(".")
        if len(parts) == 3 and first.startswith("5") and all(p.isdigit() for p in parts):
            return first, rest or DEFAULT_REJECT
        return "5.7.1", text


class HeaderChecks:
    """The tables of ``header_checks``, asked one logical header at a time (blocks)."""

    def __init__(self, maps: Maps) -> None:
        self.maps = maps

    def __bool__(self) -> bool:
        return bool(self.maps)

    def check(self, header: str) -> HeaderAction | None:
        """The action for ``header``, or None when no table answers (TableError passes)."""
        for table in self.maps.tables:
            value = query(table, header)
            if value is not None:
                action = HeaderAction.parse(value)
                return None if action.verb in NOTHING else action
        return None


Report = Callable[[str, str, HeaderAction], None]  # ("header" or "body", line, action): log it


class Verdict:
    """What the checks decided for the whole message: :attr:`outcome` (REJECT, DISCARD
    or HOLD) and :attr:`filter` (the last FILTER's ``transport:destination``)."""

    def __init__(self) -> None:
        self.outcome: HeaderAction | None = None
        self.filter = ""

    @property
    def stopped(self) -> bool:
        """REJECT and DISCARD end the checks: nothing after them is looked at."""
        return self.outcome is not None and self.outcome.verb in ("REJECT", "DISCARD")

    def apply(self, action: HeaderAction, raw: bytes, out: list[bytes]) -> None:
        """Write what ``action`` leaves of the line(s) ``raw``, and remember what it says
        of the message."""
        verb = action.verb
        if verb in ("REJECT", "DISCARD") or (verb == "HOLD" and self.outcome is None):
            self.outcome = action
        if verb == "FILTER" and ":" in action.text:
            self.filter = action.text
        if verb == "IGNORE":
            return
        if verb == "REPLACE" and action.text:
            out.append(_line_bytes(action.text))
            return
        if verb == "PREPEND" and action.text:
            out.append(_line_bytes(action.text))
        out.append(raw)


class HeaderFilter(HeaderSection):
    """Streams message content through ``header_checks`` (primary header) and
    ``body_checks`` (the body's lines, the first ``body_limit`` bytes).

    A logical header is held until the next line shows that it ended, then written as
    its action says. The first empty or non-header line ends the header section, as does
    a header longer than ``limit`` bytes (header_size_limit), which passes unchecked.
    What the actions say of the message is kept in :attr:`verdict` for cleanup to act on
    at the end; every action is passed to ``report``.
    """

    def __init__(
        self,
        checks: HeaderChecks,
        limit: int,
        report: Report,
        body_checks: HeaderChecks | None = None,
        body_limit: int = 0,
    ) -> None:
        super().__init__(limit)
        self.checks = checks
        self.report = report
        self.verdict = Verdict()
        self._lines: list[bytes] = []  # the logical header being read
        self._size = 0
        self._body_checks = body_checks if body_checks else None
        self._body_left = body_limit  # bytes of body still to look at
        self._body_partial = b""  # an incomplete body line
        self._boundaries: set[bytes] = set()  # "--boundary" of the multiparts seen
        self._in_part_header = False  # reading the header of a MIME part

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
            out.append(self._check_body_line(self._body_partial))
            self._body_partial = b""
        return b"".join(out)

    def body(self, data: bytes) -> bytes:
        data, self._body_partial = self._body_partial + data, b""
        if self._body_checks is None or self._body_left <= 0 or self.verdict.stopped:
            return data
        out: list[bytes] = []
        start = 0
        while self._body_left > 0 and not self.verdict.stopped:
            nl = data.find(b"\n", start)
            if nl < 0:
                break
            out.append(self._check_body_line(data[start : nl + 1]))
            start = nl + 1
        if self._body_left > 0 and not self.verdict.stopped:
            self._body_partial = data[start:]
        else:
            self._body_partial = b""
            out.append(data[start:])
        return b"".join(out)

    def _check_body_line(self, raw: bytes) -> bytes:
        """What to write for one body line after body_checks looked at it."""
        self._body_left -= len(raw)
        line = raw.rstrip(b"\r\n")
        if self._in_part_header:  # a MIME part's header: not a body line
            self._in_part_header = bool(line)
            self._note_boundary(line)
            return raw
        if not line or self._body_checks is None or self.verdict.stopped:
            return raw
        if line[:2] == b"--" and line.rstrip(b" \t") in self._boundaries:
            self._in_part_header = True  # a part starts (the closing "--b--" is not in the set)
        text = line.decode("utf-8", "surrogateescape")
        action = self._body_checks.check(text)
        if action is None:
            return raw
        self.report("body", text, action)
        out: list[bytes] = []
        self.verdict.apply(action, raw, out)
        return b"".join(out)

    def held_size(self) -> int:
        return self._size

    def header_line(self, line: bytes, out: list[bytes]) -> bool:
        if line[:1] in (b" ", b"\t") and self._lines:
            self._lines.append(line)
            self._size += len(line)
            if self._size > self.limit:
                self.end(out)
            return True
        self._flush(out)
        if not _is_header_start(line):
            self.in_header = False
            return False
        self._lines, self._size = [line], len(line)
        return True

    def end(self, out: list[bytes]) -> None:
        out.extend(self._lines)
        self._lines, self._size = [], 0
        self.in_header = False

    def _flush(self, out: list[bytes]) -> None:
        """Check the held header and write what its action leaves."""
        if not self._lines:
            return
        raw = b"".join(self._lines)
        self._lines, self._size = [], 0
        if raw[:13].lower() == b"content-type:" and self._body_checks is not None:
            self._note_boundary(raw)
        if self.verdict.stopped:
            out.append(raw)
            return
        text = raw.rstrip(b"\r\n").replace(b"\r\n", b"\n").decode("utf-8", "surrogateescape")
        action = self.checks.check(text)
        if action is None:
            out.append(raw)
            return
        self.report("header", text, action)
        self.verdict.apply(action, raw, out)

    def _note_boundary(self, header: bytes) -> None:
        """Remember the boundary a multipart ``Content-Type`` names (in ``header``)."""
        found = _BOUNDARY.search(header)
        if found is not None:
            self._boundaries.add(b"--" + (found.group(1) or found.group(2)))


_BOUNDARY = re.compile(rb'boundary\s*=\s*(?:"([^"\r\n]+)"|([^\s;"]+))', re.IGNORECASE)


def _is_header_start(line: bytes) -> bool:
    colon = line.find(b":")
    name = line[:colon].rstrip(b" \t") if colon > 0 else b""
    return bool(name) and all(32 < b < 127 for b in name)


def _line_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape") + b"\r\n"


__all__ = ["DEFAULT_REJECT", "KNOWN", "HeaderAction", "HeaderChecks", "HeaderFilter", "Verdict"]
