"""The arguments every command parser gets, and the shared ``(option ...)`` list reader."""

from __future__ import annotations

from vmail.protocol.imap.lexer import CommandSyntaxError, Cursor


class Args:
    """What a command parser needs: the cursor, tag, UID prefix and UTF-8 mode."""

    __slots__ = ("c", "tag", "uid", "utf8")

    def __init__(self, c: Cursor, tag: str, uid: bool, utf8: bool) -> None:
        self.c, self.tag, self.uid, self.utf8 = c, tag, uid, utf8

    def mailbox(self) -> str:
        """A mailbox name: an astring where Dovecot also allows ``%`` and ``*`` (``CREATE
        a%b``); ``INBOX`` in any case becomes ``INBOX``."""
        name = self.c.text(self.c.list_mailbox("a mailbox name"), self.utf8)
        return "INBOX" if name.upper() == "INBOX" else name

    def sp_mailbox(self) -> str:
        """A space, then a mailbox name."""
        self.c.sp()
        return self.mailbox()

    def astr(self) -> str:
        """An astring as UTF-8 text."""
        return self.c.text(self.c.astring(), True)


def options(c: Cursor, allowed: frozenset[str], what: str, unknown: str | None = None) -> list[str]:
    """``(opt opt ...)`` of known atoms, possibly empty; the '(' is already read.

    An unknown option fails with ``unknown <what> <OPTION>``, or with ``unknown`` when
    given (Dovecot's reason, which does not name the option).
    """
    opts: list[str] = []
    while not c.close():
        if opts:
            c.sp()
        opt = c.keyword()
        if opt not in allowed:
            raise CommandSyntaxError(unknown or f"unknown {what} {opt[:40]}")
        opts.append(opt)
    return opts


__all__ = ["Args", "options"]
