"""The milters of one session, asked in order (Postfix's milter.c).

For each event the applications are asked in the order configured; the first that
answers with a reply (a rejection, a discard, a hold) decides, and the ones after it
are not asked. At the end of a message each application sees the message as the ones
before it left it, and makes its own edits; a hold (``H``) does not stop the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from vmail.core.reply import Reply, parse_reply_lines
from vmail.milter.client import Macros, Milter, MilterSpec
from vmail.milter.edits import MessageEdits


class MilterChain:
    """One session's conversations with the configured applications (blocking)."""

    def __init__(self, specs: Sequence[MilterSpec], logger: logging.Logger | None = None) -> None:
        self.milters = [Milter(spec, logger) if logger else Milter(spec) for spec in specs]

    def _first(self, ask: Callable[[Milter], str | None]) -> str | None:
        for milter in self.milters:
            reply = ask(milter)
            if reply is not None:
                return reply
        return None

    def connect(self, name: str, address: str, port: int, macros: Macros) -> str | None:
        return self._first(lambda m: m.connect(name, address, port, macros))

    def helo(self, name: str, macros: Macros) -> str | None:
        return self._first(lambda m: m.helo(name, macros))

    def mail(self, args: Sequence[str], macros: Macros) -> str | None:
        return self._first(lambda m: m.mail(args, macros))

    def rcpt(self, args: Sequence[str], macros: Macros) -> str | None:
        return self._first(lambda m: m.rcpt(args, macros))

    def rejected_rcpt(self, args: Sequence[str], macros: Macros) -> None:
        """A recipient smtpd rejected, for the applications that asked (their answer
        changes nothing: the recipient is already refused)."""
        for milter in self.milters:
            if milter.wants_rejected:
                milter.rcpt(args, macros)

    def data(self, macros: Macros) -> str | None:
        return self._first(lambda m: m.data(macros))

    def unknown(self, command: str, macros: Macros) -> str | None:
        return self._first(lambda m: m.unknown(command, macros))

    def message(
        self, edits: MessageEdits, macros: Macros, logger: logging.Logger | None = None
    ) -> str | None:
        """The end of the message: headers, body, edits; the decision (``H`` when only
        a hold was asked for). ``logger``: who logs the applications' failures now (cleanup,
        as in Postfix)."""
        held = False
        for milter in self.milters:
            if logger is not None:
                milter.log = logger
            reply = milter.message(edits.visible_headers(), edits.visible_body(), macros, edits)
            if reply == "H":
                held = True
            elif reply is not None:
                return reply
        return "H" if held else None

    def abort(self) -> None:
        for milter in self.milters:
            milter.abort()

    def disconnect(self, aborts: int = 0) -> None:
        for milter in self.milters:
            milter.disconnect(aborts)


def to_reply(text: str) -> Reply:
    """A milter's SMTP reply (``550 5.7.1 text``, multi-line with CRLF) as a Reply."""
    code, enhanced, lines = parse_reply_lines(text.replace("\r\n", "\n").split("\n"))
    return Reply(code or 451, enhanced, "\n".join(lines))


def printable(reply: str) -> str:
    """A milter's reply as Postfix logs it: line breaks shown as ``?``."""
    return reply.replace("\r", "?").replace("\n", "?")
