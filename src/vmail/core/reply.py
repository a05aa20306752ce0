"""SMTP replies: a code, an RFC 3463 enhanced status code and a text."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Reply:
    """One SMTP reply, e.g. ``Reply(550, "5.1.1", "<a@b>: Recipient address rejected: ...")``."""

    code: int
    enhanced: str
    text: str

    @property
    def temporary(self) -> bool:
        return 400 <= self.code < 500

    @property
    def permanent(self) -> bool:
        return self.code >= 500

    @property
    def ok(self) -> bool:
        return self.code < 400

    def __str__(self) -> str:
        if self.enhanced:
            return f"{self.code} {self.enhanced} {self.text}"
        return f"{self.code} {self.text}"


OK = Reply(250, "2.1.5", "Ok")

_REPLY_LINE = re.compile(r"(\d{3})(?:[ -]|$)(?:([245]\.\d{1,3}\.\d{1,3})(?: |$))?(.*)")


def parse_reply_lines(lines: Iterable[str]) -> tuple[int, str, list[str]]:
    """A (multi-line) SMTP reply another program wrote: the first code and enhanced
    status code found (0 and "" when none), and each line's text without them (a line
    without a code is kept whole)."""
    code, enhanced, texts = 0, "", []
    for line in lines:
        found = _REPLY_LINE.fullmatch(line)
        if found is None:
            texts.append(line)
            continue
        code = code or int(found.group(1))
        enhanced = enhanced or (found.group(2) or "")
        texts.append(found.group(3))
    return code, enhanced, texts
