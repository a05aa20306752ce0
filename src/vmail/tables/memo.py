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

:meth:`LookupMemo.run_inline` runs a decision on the caller's thread (smtpd's event loop)
as long as it needs only remembered answers and tables that are ``local``; the first
lookup that could wait on the network (or code that calls :func:`may_block`) raises
:class:`WouldBlockError`, and the caller runs the decision again in a worker thread with
:meth:`LookupMemo.run` (answers found so far are kept). Decisions run this way must have
no side effects before their last lookup, or tolerate being run twice.
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


class WouldBlockError(Exception):
    """An inline decision needs a lookup that may wait: run it in a worker thread."""


class LookupMemo:
    """The table answers of one transaction: ``(table, key) -> value or None``."""

    __slots__ = ("answers", "inline")

    def __init__(self) -> None:
        self.answers: dict[tuple[Table, str], str | None] = {}
        self.inline = False  # inside run_inline(): only local tables may be asked

    def lookup(self, table: Table, key: str) -> str | None:
        """``table.lookup(key)``, asked once; TableError is raised, not remembered."""
        entry = (table, key)
        answers = self.answers
        if entry in answers:
            return answers[entry]
        if self.inline and not table.local:
            raise WouldBlockError(table.spec)
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

    def run_inline(self, func: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """Like :meth:`run`, but raise :class:`WouldBlockError` instead of waiting."""
        self.inline = True
        try:
            return self.run(func, *args, **kwargs)
        finally:
            self.inline = False


def may_block() -> None:
    """Code about to wait (DNS, opening a table) calls this: no waiting inline."""
    active = current.get()
    if active is not None and active.inline:
        raise WouldBlockError("blocking call")


current: contextvars.ContextVar[LookupMemo | None] = contextvars.ContextVar(
    "vmail_lookup_memo", default=None
)

__all__ = ["LookupMemo", "WouldBlockError", "current", "may_block"]
