"""SMTP replies: a code, an RFC 3463 enhanced status code and a text."""

from __future__ import annotations

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
