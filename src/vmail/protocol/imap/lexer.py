"""IMAP token reader over a framed command (line pieces and literals), RFC 3501 section 9.

Every method either returns a token or raises :class:`CommandSyntaxError`, whose message
is sent to the client.
"""

from __future__ import annotations

import re

from vmail.protocol.imap.framing import Literal
from vmail.protocol.imap.sequence import MAX_NUMBER, SequenceSet, SequenceSetError

# ATOM-CHAR: any CHAR except ( ) { SP CTL % * " \ ]
_ATOM = re.compile(rb'[^\x00-\x20(){%*"\\\]\x7f-\xff]+')
_ASTRING = re.compile(rb'[^\x00-\x20(){%*"\\\x7f-\xff]+')  # ATOM-CHAR / "]"
_LIST_MAILBOX = re.compile(rb'[^\x00-\x20(){"\\\x7f-\xff]+')  # + list-wildcards
_QUOTED = re.compile(rb'"((?:[^"\\\x00]|\\["\\])*)"')
_UNESCAPE = re.compile(rb"\\([\"\\])")
_DIGITS = re.compile(rb"[0-9]+")
_SEQSET = re.compile(rb"[0-9*:,$]+")
_SPACES = re.compile(rb" +")


MISSING_PAREN = "Missing ')'"
EIGHT_BIT = "8bit data in atom"
MISSING_QUOTE = "Missing '\"'"


class CommandSyntaxError(Exception):
    """A syntax error; the message is sent to the client.

    Messages that begin with a capital letter are Dovecot's own reason for the same
    mistake (``Missing ')'``): the server sends them as ``Error in IMAP command NAME:
    <reason>``. Lower-case messages are vmail's explanations, which the server may reword.
    """


class Cursor:
    """Reads tokens from the pieces of a :class:`~vmail.protocol.imap.framing.CommandLine`."""

    __slots__ = ("buf", "depth", "i", "parts", "pos")

    def __init__(self, parts: list[bytes | Literal]) -> None:
        first = parts[0]
        assert isinstance(first, bytes)
        self.parts = parts
        self.i = 0
        self.buf: bytes = first
        self.pos = 0
        self.depth = 0

    # -- position -------------------------------------------------------------------

    def at_end(self) -> bool:
        """True when everything has been read but trailing spaces (Dovecot ignores them)."""
        if self.i < len(self.parts) - 1:
            return False
        return self.pos >= len(self.buf) or _SPACES.fullmatch(self.buf, self.pos) is not None

    def at_literal(self) -> bool:
        """True when the next token is a literal."""
        return self.pos >= len(self.buf) and self.i < len(self.parts) - 1

    def peek(self, c: bytes) -> bool:
        """True when the next byte is ``c`` (never consumes)."""
        return self.buf.startswith(c, self.pos)

    def peek_end_of_list(self) -> bool:
        """True at ``)`` or at the end of the command."""
        return self.peek(b")") or self.at_end()

    def accept(self, c: bytes) -> bool:
        """Consume ``c`` if it is next."""
        if self.buf.startswith(c, self.pos):
            self.pos += len(c)
            return True
        return False

    def close(self) -> bool:
        """Consume ``)`` if it is next; at the end of the command the list is unclosed."""
        if self.accept(b")"):
            return True
        if self.at_end():
            raise CommandSyntaxError(MISSING_PAREN)
        return False

    def expect(self, c: bytes, what: str) -> None:
        """Consume ``c`` or fail with ``what`` in the message."""
        if not self.accept(c):
            raise CommandSyntaxError(f"expected {what}")

    def sp(self) -> None:
        """One space."""
        if self.buf[self.pos : self.pos + 1] == b" ":
            self.pos += 1
        else:
            self._unexpected_paren()
            raise CommandSyntaxError("missing argument" if self.at_end() else "expected a space")

    def more(self) -> bool:
        """Consume the space before a further argument; False at the end of the command."""
        if self.at_end():
            return False
        self.sp()
        return True

    def end(self) -> None:
        """Nothing may follow."""
        if not self.at_end():
            self._unexpected_paren()
            raise CommandSyntaxError("unexpected extra arguments")

    def _unexpected_paren(self) -> None:
        """Dovecot's errors for what no token can start with: ``)``, an unclosed quote."""
        if self.peek(b")"):
            raise CommandSyntaxError("Unexpected ')'")
        if self.peek(b'"') and self.buf.find(b'"', self.pos + 1) < 0:
            raise CommandSyntaxError(MISSING_QUOTE)

    def enter(self) -> None:
        """Count one level of nesting (parentheses, NOT/OR)."""
        self.depth += 1
        if self.depth > 100:
            raise CommandSyntaxError("too deeply nested")

    def leave(self) -> None:
        """Undo :meth:`enter`."""
        self.depth -= 1

    # -- tokens ---------------------------------------------------------------------

    def _match(self, pattern: re.Pattern[bytes]) -> bytes | None:
        m = pattern.match(self.buf, self.pos)
        self._no_8bit(m.end() if m else self.pos)
        if m is None:
            return None
        self.pos = m.end()
        return m.group(0)

    def atom(self, what: str = "an atom") -> bytes:
        """An atom."""
        tok = self._match(_ATOM)
        if tok is None:
            self._unexpected_paren()
            raise CommandSyntaxError(f"expected {what}")
        return tok

    def _no_8bit(self, at: int) -> None:
        """Dovecot's error for an 8-bit byte where an atom goes on (``SUBJECT résumé``)."""
        if self.buf[at : at + 1] >= b"\x80":
            raise CommandSyntaxError(EIGHT_BIT)

    def keyword(self) -> str:
        """An atom, upper-cased as ``str`` (command names, options, search keys)."""
        m = _ATOM.match(self.buf, self.pos)
        self._no_8bit(m.end() if m else self.pos)
        if m is None:
            self._unexpected_paren()
            raise CommandSyntaxError("expected a keyword")
        self.pos = m.end()
        return m.group(0).decode("ascii").upper()

    def literal(self) -> Literal:
        """A literal (payload as framed)."""
        if not self.at_literal():
            raise CommandSyntaxError("expected a literal")
        lit = self.parts[self.i + 1]
        nxt = self.parts[self.i + 2]
        assert isinstance(lit, Literal)
        assert isinstance(nxt, bytes)
        self.i += 2
        self.buf = nxt
        self.pos = 0
        return lit

    def string(self, what: str = "a string") -> bytes:
        """A quoted string or a literal (no NUL; literal8 is not a string)."""
        if self.at_literal():
            lit = self.literal()
            if lit.binary:
                raise CommandSyntaxError("literal8 is not allowed here")
            if b"\x00" in lit.data:
                raise CommandSyntaxError("NUL in literal")
            return lit.data
        if self.peek(b'"'):
            m = _QUOTED.match(self.buf, self.pos)
            if m is None:
                end = self.buf.find(b'"', self.pos + 1)
                if b"\x00" in self.buf[self.pos : end if end > 0 else None]:
                    raise CommandSyntaxError("NUL in quoted string")
                raise CommandSyntaxError("invalid quoted string" if end > 0 else MISSING_QUOTE)
            self.pos = m.end()
            value = m.group(1)
            return _UNESCAPE.sub(rb"\1", value) if b"\\" in value else value
        raise CommandSyntaxError(f"expected {what}")

    def astring(self, what: str = "a string") -> bytes:
        """An atom (``]`` allowed), quoted string or literal."""
        tok = self._match(_ASTRING)
        return tok if tok is not None else self.string(what)

    def nstring(self) -> bytes | None:
        """NIL or a string."""
        if self.buf[self.pos : self.pos + 3].upper() == b"NIL" and not self._atom_continues(3):
            self.pos += 3
            return None
        return self.string("a string or NIL")

    def list_mailbox(self, what: str = "a mailbox pattern") -> bytes:
        """A LIST pattern: atom characters plus ``%`` and ``*``, or a string.

        Mailbox names are read the same way: Dovecot accepts ``CREATE a%b``.
        """
        tok = self._match(_LIST_MAILBOX)
        return tok if tok is not None else self.string(what)

    def _atom_continues(self, n: int) -> bool:
        return _ASTRING.match(self.buf, self.pos + n) is not None

    def number(self, limit: int = MAX_NUMBER, what: str = "a number") -> int:
        """An unsigned number up to ``limit``."""
        tok = self._match(_DIGITS)
        if tok is None:
            raise CommandSyntaxError(f"expected {what}")
        if len(tok) > 20 or int(tok) > limit:
            raise CommandSyntaxError(f"{what} out of range")
        return int(tok)

    def nz_number(self, limit: int = MAX_NUMBER, what: str = "a number") -> int:
        """A number from 1 to ``limit``."""
        n = self.number(limit, what)
        if n == 0:
            raise CommandSyntaxError(f"{what} must not be zero")
        return n

    def seqset(self, invalid: str = "Invalid messageset") -> SequenceSet:
        """A sequence set; ``invalid`` is the error (Dovecot's words, which vary)."""
        tok = self._match(_SEQSET)
        if tok is None:
            raise CommandSyntaxError(invalid)
        try:
            return SequenceSet.parse(tok)
        except SequenceSetError:
            raise CommandSyntaxError(invalid) from None

    def text(self, data: bytes, utf8: bool = True) -> str:
        """Bytes of a string argument as ``str`` (UTF-8, or ASCII when not ``utf8``)."""
        try:
            return data.decode("utf-8" if utf8 else "ascii")
        except UnicodeDecodeError:
            raise CommandSyntaxError(
                "invalid UTF-8" if utf8 else "8-bit characters not allowed"
            ) from None


__all__ = ["EIGHT_BIT", "MISSING_PAREN", "CommandSyntaxError", "Cursor"]
