"""header_checks(5): the action a table gives for one logical message header.

Cleanup asks :class:`HeaderChecks` once per header of the message's primary header
section: the whole logical header (``Name: value``, continuation lines joined by their
``\\n``, without the final line break) is the lookup key, as in Postfix, so
``regexp:``/``pcre:`` tables see it all. The first table that answers decides.

Actions, as header_checks(5) defines them: ``REJECT [text]`` (the message is refused at
the end of DATA), ``DISCARD``, ``HOLD``, ``IGNORE`` (the header is left out),
``PREPEND text`` (a header line before this one), ``REPLACE text`` (this header becomes
``text``), ``WARN``/``INFO`` (only logged), ``FILTER transport:destination`` (the message
goes to that content filter; the last FILTER wins), ``DUNNO``/``OK`` (nothing).
``REDIRECT`` and ``BCC`` are not supported here and are logged and ignored.
"""

from __future__ import annotations

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


Report = Callable[[str, HeaderAction], None]  # (the header, its action): log it


class HeaderFilter(HeaderSection):
    """Streams message content through :class:`HeaderChecks` (primary header only).

    A logical header is held until the next line shows that it ended, then written as
    its action says. The first empty or non-header line ends the header section, as does
    a header longer than ``limit`` bytes (header_size_limit), which passes unchecked.
    REJECT, DISCARD and HOLD are kept in :attr:`outcome` for cleanup to act on at the end
    (REJECT and DISCARD also stop further checks), the last FILTER's destination in
    :attr:`filter`; every action is passed to ``report``.
    """

    def __init__(self, checks: HeaderChecks, limit: int, report: Report) -> None:
        super().__init__(limit)
        self.checks = checks
        self.report = report
        self.outcome: HeaderAction | None = None
        self.filter = ""  # "transport:destination" of the last FILTER action
        self._lines: list[bytes] = []  # the logical header being read
        self._size = 0

    def finish(self) -> bytes:
        """What is held at the end of the content."""
        out: list[bytes] = []
        partial = self.take_partial()
        if self.in_header and partial and not self.header_line(partial, out):
            out.append(partial)
        if self.in_header:
            self._flush(out)  # the last header is checked too
            self.in_header = False
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
        if self.outcome is not None and self.outcome.verb in ("REJECT", "DISCARD"):
            out.append(raw)
            return
        text = raw.rstrip(b"\r\n").replace(b"\r\n", b"\n").decode("utf-8", "surrogateescape")
        action = self.checks.check(text)
        if action is None:
            out.append(raw)
            return
        self.report(text, action)
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


def _is_header_start(line: bytes) -> bool:
    colon = line.find(b":")
    name = line[:colon].rstrip(b" \t") if colon > 0 else b""
    return bool(name) and all(32 < b < 127 for b in name)


def _line_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape") + b"\r\n"


__all__ = ["DEFAULT_REJECT", "KNOWN", "HeaderAction", "HeaderChecks", "HeaderFilter"]
