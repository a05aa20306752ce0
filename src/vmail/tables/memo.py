"""Per-message lookup memo: one table query per (table, key) while one message is handled.

smtpd asks the tables about a recipient at RCPT time (restrictions, ``reject_unlisted_recipient``)
and cleanup asks them again when it expands the same recipient at the end of DATA. Postfix
avoids part of that with its resolve/rewrite client caches; vmail keeps the answers of the
whole transaction in a :class:`LookupMemo` and :func:`vmail.tables.maps.query` consults
the memo that is active in the current context (a :mod:`contextvars` variable, so each
SMTP session has its own, and ``asyncio.to_thread`` carries it into the worker thread).

A memo lives for one mail transaction (MAIL FROM to the end of DATA or RSET); the next
message sees table changes. Failed lookups are never remembered. Queries made for a
trace (``vmail route``) bypass the memo, so every lookup is shown.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import TYPE_CHECKING, ParamSpec, TypeVar

if TYPE_CHECKING:
    from vmail.tables.base import Table

P = ParamSpec("P")
R = TypeVar("R")

LIMIT = 4096  # answers kept per memo; a transaction asking more starts over


class LookupMemo:
    """The table answers of one transaction: ``(table, key) -> value or None``."""

    __slots__ = ("answers",)

    def __init__(self) -> None:
        self.answers: dict[tuple[Table, str], str | None] = {}

    def lookup(self, table: Table, key: str) -> str | None:
        """``table.lookup(key)``, asked once; TableError is raised, not remembered."""
        entry = (table, key)
        answers = self.answers
        if entry in answers:
            return answers[entry]
        value = table.lookup(key)
        if len(answers) >= LIMIT:
            answers.clear()
        answers[entry] = value
        return value

    def run(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``func`` with this memo active (in the calling thread)."""
        token = current.set(self)
        try:
            return func(*args, **kwargs)
        finally:
            current.reset(token)


current: contextvars.ContextVar[LookupMemo | None] = contextvars.ContextVar(
    "vmail_lookup_memo", default=None
)

__all__ = ["LookupMemo", "current"]
