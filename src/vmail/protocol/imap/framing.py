"""IMAP command framing: client bytes → whole commands, with literals, in bounded memory.

A command is one or more lines joined by literals (RFC 3501 section 4.3): a line ending in
``{n}`` (synchronising: the server answers ``+`` first), ``{n+}`` (LITERAL+, RFC 7888),
``{n-}`` (LITERAL-: non-synchronising only up to 4096 bytes) or ``~{n}`` (literal8,
RFC 3516) is followed by exactly ``n`` bytes and then the rest of the command.

Usage: ``reader.feed(chunk)`` then call ``reader.next_event()`` until it returns None.
While a :class:`NeedContinuation` is pending the reader stops consuming input until the
server calls :meth:`CommandReader.accept_literal` or :meth:`CommandReader.reject_literal`
(the server should not read from the socket meanwhile: a conforming client sends nothing);
:meth:`CommandReader.pending_command` shows what the client sent before the literal, so
the server can refuse a doomed command before it answers ``+``.

Every error is reported once, as a :class:`FramingError`; the rest of the offending command
is then skipped without being stored (an over-long line is skipped to its end, the payload
of a refused non-synchronising literal is counted off byte by byte), so memory stays
bounded by ``max_line`` + ``max_literal_total`` whatever the client sends.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from vmail.core.errors import VmailError

MAX_NUMBER = 4294967295  # number = 1*DIGIT ; unsigned 32-bit integer
LITERAL_MINUS_MAX = 4096  # RFC 7888 section 5

_LITERAL_RE = re.compile(rb"(~?)\{([0-9]+)([+-]?)\}$")
_TAIL = 48  # enough bytes to recognise a literal marker at the end of a skipped line
_TAG_RE = re.compile(rb'([^\x00-\x20(){%*"\\+\x7f-\xff]+)(?: |\Z)')
_TAG_PREFIX_RE = re.compile(rb'([^\x00-\x20(){%*"\\+\x7f-\xff]+) ')


@dataclass(frozen=True, slots=True)
class Literal:
    """The payload of a literal; ``binary`` for a literal8 (``~{n}``)."""

    data: bytes
    binary: bool = False


@dataclass(frozen=True, slots=True)
class CommandLine:
    """A whole command: line pieces (without CRLF and literal markers) and literal payloads.

    Pieces alternate: ``bytes, Literal, bytes, Literal, ..., bytes``.
    """

    parts: list[bytes | Literal]


@dataclass(frozen=True, slots=True)
class NeedContinuation:
    """The client announced a synchronising literal of ``size`` bytes and waits for ``+``."""

    size: int
    tag: bytes | None


@dataclass(frozen=True, slots=True)
class FramingError:
    """The command cannot be framed; the server answers ``<tag> BAD <text>`` (or ``*``)."""

    tag: bytes | None
    text: str


@dataclass(frozen=True, slots=True)
class RawLine:
    """A line read after :meth:`CommandReader.expect_line` (SASL response, IDLE's DONE)."""

    data: bytes


Event = CommandLine | NeedContinuation | FramingError | RawLine


class ReaderStateError(VmailError):
    """The server called a reader method that does not fit the reader's state."""


class _Mode(enum.Enum):
    LINE = "line"
    SKIP_LINE = "skip-line"
    LITERAL = "literal"
    SKIP_LITERAL = "skip-literal"
    DECIDE = "decide"


def tag_of(first: bytes, *, complete: bool = True) -> bytes | None:
    """The tag at the start of a command line, or None when it is not a valid tag."""
    m = (_TAG_RE if complete else _TAG_PREFIX_RE).match(first)
    return m.group(1) if m else None


class CommandReader:
    """Incremental IMAP command reader; see the module docstring."""

    def __init__(
        self,
        max_line: int = 8192 * 8,
        max_literal: int = 64 * 1024 * 1024,
        max_literal_total: int = 128 * 1024 * 1024,
        literal_plus: bool = True,
    ) -> None:
        self.max_line = max_line
        self.max_literal = max_literal
        self.max_literal_total = max_literal_total
        self.literal_plus = literal_plus
        self._in = bytearray()
        self._pos = 0
        # A list, not a deque (624 B even when empty, per connection): it rarely holds
        # more than one event, since next_event() steps only until one is produced.
        self._events: list[Event] = []
        self._mode = _Mode.LINE
        self._raw = False
        self._line = bytearray()
        self._tail = b""
        self._lit = bytearray()
        self._lit_need = 0
        self._lit_binary = False
        self._reset_command()

    def _reset_command(self) -> None:
        self._parts: list[bytes | Literal] = []
        self._tag_value: bytes | None = None  # the command's tag, once known
        self._first = True  # the next line piece is the command's first
        self._text_total = 0
        self._lit_total = 0
        self._discarding = False

    # -- public API -------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Add bytes received from the client (any split is fine)."""
        self._in += data

    def expect_line(self) -> None:
        """Make the next event a :class:`RawLine` (no literal processing)."""
        if self._mode is not _Mode.LINE or self._parts or self._line:
            raise ReaderStateError("expect_line() is only allowed between commands")
        self._raw = True

    def accept_literal(self) -> None:
        """Accept the pending synchronising literal (the server sends ``+ OK``)."""
        if self._mode is not _Mode.DECIDE:
            raise ReaderStateError("no synchronising literal is waiting for a decision")
        self._mode = _Mode.LITERAL

    def reject_literal(self) -> None:
        """Refuse the pending literal: the whole command is dropped (the server answers it)."""
        if self._mode is not _Mode.DECIDE:
            raise ReaderStateError("no synchronising literal is waiting for a decision")
        self._reset_command()
        self._mode = _Mode.LINE

    def pending_command(self) -> CommandLine:
        """The command so far, while a synchronising literal awaits accept/reject.

        Its pieces are those read before the literal (markers removed, earlier literals
        included) followed by an empty placeholder for the pending literal (``binary``
        for ``~{n}``) and an empty last piece: ``parse_command`` then checks everything
        the client sent before ``{n}``. For APPEND (whose message literal may end the
        command) this refuses a bad mailbox name, a ``\\Recent`` flag or a bad date
        before ``+ OK``, as Dovecot does; the parsed message's data is the placeholder's
        ``b""`` (the real size is :attr:`NeedContinuation.size`). For commands whose
        literal must be followed by more arguments the parse fails where the placeholder
        ends. Raises :class:`ReaderStateError` when no literal is waiting.
        """
        if self._mode is not _Mode.DECIDE:
            raise ReaderStateError("no synchronising literal is waiting for a decision")
        return CommandLine([*self._parts, Literal(b"", self._lit_binary), b""])

    @property
    def buffered(self) -> int:
        """Bytes fed but not yet consumed; the server should stop reading when it grows."""
        return len(self._in) - self._pos

    def has_input(self) -> bool:
        """Whether anything was fed that no event has consumed yet."""
        return bool(self._events) or len(self._in) > self._pos

    def take_unconsumed(self) -> bytes:
        """Remove and return the bytes fed but not consumed (COMPRESS: the rest of the
        input is compressed and must go through the inflater first)."""
        data = bytes(self._in[self._pos :])
        del self._in[:]
        self._pos = 0
        return data

    @property
    def waiting_for_decision(self) -> bool:
        """True while a :class:`NeedContinuation` awaits accept/reject."""
        return self._mode is _Mode.DECIDE

    def next_event(self) -> Event | None:
        """The next event, or None when more input (or a literal decision) is needed."""
        while not self._events:
            if self._mode is _Mode.DECIDE or not self._step():
                if self._pos:
                    del self._in[: self._pos]
                    self._pos = 0
                return None
        return self._events.pop(0)

    # -- state machine ----------------------------------------------------------------

    def _step(self) -> bool:
        """Consume some input; False when nothing more can be done now."""
        start = self._pos
        if start >= len(self._in):
            return False
        if self._mode in (_Mode.LITERAL, _Mode.SKIP_LITERAL):
            self._read_literal()
            return True
        idx = self._in.find(b"\n", start)
        complete = idx >= 0
        end = idx if complete else len(self._in)
        self._pos = idx + 1 if complete else end
        if self._mode is _Mode.SKIP_LINE:
            self._tail = (self._tail + self._in[max(start, end - _TAIL) : end])[-_TAIL:]
            if complete:
                self._mode = _Mode.LINE
                self._end_piece(None)
            return True
        if len(self._line) + end - start > self.max_line - self._text_total:
            self._too_long(start, end, complete)
        elif not complete:
            self._line += self._in[start:end]
        else:
            if end > start:
                if self._in[end - 1] == 13:  # CR
                    end -= 1
            elif self._line.endswith(b"\r"):  # CR was the last byte of an earlier chunk
                self._line.pop()
            if self._line:
                self._line += self._in[start:end]
                piece = bytes(self._line)
                self._line.clear()
            else:
                piece = bytes(self._in[start:end])
            self._end_piece(piece)
        return True

    def _too_long(self, start: int, end: int, complete: bool) -> None:
        if self._raw:
            self._events.append(FramingError(None, "line too long"))
        else:
            if self._first:
                n = min(128, self.max_line)  # always available, however the input was split
                head = bytes((self._line[:n] + self._in[start : start + n])[:n])
                self._tag_value = tag_of(head, complete=False)
            self._error(self._tag_value, "command line too long")
        self._tail = bytes((self._line[-_TAIL:] + self._in[max(start, end - _TAIL) : end])[-_TAIL:])
        self._line.clear()
        self._mode = _Mode.SKIP_LINE
        if complete:
            self._mode = _Mode.LINE
            self._end_piece(None)

    def _end_piece(self, piece: bytes | None) -> None:
        """A line piece ended; ``piece`` is None when it was skipped (only its tail kept)."""
        if self._raw:
            self._raw = False
            if piece is not None:
                self._events.append(RawLine(piece))
            return
        text = piece if piece is not None else self._tail.rstrip(b"\r")
        first, self._first = self._first, False
        m = _LITERAL_RE.search(text[-_TAIL:])
        if m is None:
            if not self._discarding and piece is not None:
                self._parts.append(piece)
                self._events.append(CommandLine(self._parts))
            self._reset_command()
            return
        if first and piece is not None:
            self._tag_value = tag_of(piece)
        binary, digits, kind = m.group(1) == b"~", m.group(2), m.group(3)
        size = int(digits) if len(digits) <= 12 else MAX_NUMBER + 1
        sync = kind == b""
        if piece is not None:
            self._text_total += len(piece)
            if not self._discarding:
                self._parts.append(piece[: len(piece) - len(m.group(0))])
        problem = self._literal_problem(size, kind)
        if problem is not None and not self._discarding:
            self._error(self._tag_value, problem)
        if self._discarding:
            if sync:
                self._reset_command()  # the client waits for "+" that never comes
            else:
                self._lit_need = size
                self._mode = _Mode.SKIP_LITERAL
            return
        self._lit_total += size
        self._lit_need = size
        self._lit_binary = binary
        self._lit.clear()
        if sync:
            self._mode = _Mode.DECIDE
            self._events.append(NeedContinuation(size, self._tag_value))
        else:
            self._mode = _Mode.LITERAL

    def _literal_problem(self, size: int, kind: bytes) -> str | None:
        if size > MAX_NUMBER:
            return "literal size out of range"
        if kind and (kind == b"-" or not self.literal_plus) and size > LITERAL_MINUS_MAX:
            return f"non-synchronizing literal larger than {LITERAL_MINUS_MAX} bytes"
        if size > self.max_literal or self._lit_total + size > self.max_literal_total:
            return "literal too big"
        return None

    def _read_literal(self) -> None:
        take = min(self._lit_need, len(self._in) - self._pos)
        if self._mode is _Mode.LITERAL:
            self._lit += self._in[self._pos : self._pos + take]
        self._pos += take
        self._lit_need -= take
        if self._lit_need:
            return
        if self._mode is _Mode.LITERAL:
            self._parts.append(Literal(bytes(self._lit), self._lit_binary))
            self._lit.clear()
        self._mode = _Mode.LINE

    def _error(self, tag: bytes | None, text: str) -> None:
        self._events.append(FramingError(tag, text))
        self._discarding = True
        self._parts = []


__all__ = [
    "MAX_NUMBER",
    "CommandLine",
    "CommandReader",
    "Event",
    "FramingError",
    "Literal",
    "NeedContinuation",
    "RawLine",
    "ReaderStateError",
    "tag_of",
]
