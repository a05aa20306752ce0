"""header_checks(5): the action a table gives for a header or a body line, and what the
actions decided for the message.

A :class:`HeaderChecks` is one of ``header_checks``, ``mime_header_checks``,
``nested_header_checks`` or ``body_checks``; the key is a whole logical header
(``Name: value``, continuation lines joined by their ``\\n``, without the final line
break), as in Postfix, so ``regexp:``/``pcre:`` tables see it all, or one body line. The
first table that answers decides. :mod:`vmail.policy.contentchecks` streams a message
through them.

Actions, as header_checks(5) defines them: ``REJECT [text]`` (the message is refused at
the end of DATA), ``DISCARD``, ``HOLD``, ``IGNORE`` (the header is left out),
``PREPEND text`` (a header line before this one), ``REPLACE text`` (this header becomes
``text``), ``WARN``/``INFO`` (only logged), ``FILTER transport:destination`` (the message
goes to that content filter; the last FILTER wins), ``DUNNO``/``OK`` (nothing).
``REDIRECT`` and ``BCC`` are not supported here and are logged and ignored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from vmail.tables import Maps
from vmail.tables.maps import query

log = logging.getLogger("vmail.cleanup")
NOTHING = frozenset({"DUNNO", "OK"})
KNOWN = (
    frozenset(
        {"REJECT", "DISCARD", "HOLD", "IGNORE", "PREPEND", "REPLACE", "WARN", "INFO", "FILTER"}
        | {"STRIP", "REDIRECT", "BCC"}
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
    or HOLD), :attr:`filter` (the last FILTER's ``transport:destination``),
    :attr:`redirect` (the last REDIRECT's address: it replaces the recipients) and
    :attr:`bcc` (BCC's addresses, added as recipients)."""

    def __init__(self) -> None:
        self.outcome: HeaderAction | None = None
        self.filter = ""
        self.redirect = ""
        self.bcc: list[str] = []

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
        if verb in ("REDIRECT", "BCC"):
            if "@" not in action.text:
                log.warning('bad %s target "%s" -- need user@domain', verb, action.text)
            elif verb == "REDIRECT":
                self.redirect = action.text
            elif action.text not in self.bcc:
                self.bcc.append(action.text)
        if verb in ("IGNORE", "STRIP"):  # STRIP: the same, but logged
            return
        if verb == "REPLACE" and action.text:
            out.append(_line_bytes(action.text))
            return
        if verb == "PREPEND" and action.text:
            out.append(_line_bytes(action.text))
        out.append(raw)


def _line_bytes(text: str) -> bytes:
    return text.encode("utf-8", "surrogateescape") + b"\r\n"


__all__ = ["DEFAULT_REJECT", "KNOWN", "HeaderAction", "HeaderChecks", "Report", "Verdict"]
