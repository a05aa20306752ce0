"""The byte count Postfix's smtpd reports after a BDAT message: ``Ok: N bytes queued as ID``.

Postfix counts the message as its ``smtp_get()`` reads it from the chunks, put end to
end: one record per line, each counted with two bytes for its line ending. A line ends
at LF, and every CR just before that LF is dropped; a line longer than
``line_length_limit`` is cut into records of that many bytes; a last line without LF
counts as it is. So ``hello`` counts 7 bytes, and ``a\\n\\n\\n`` counts 7 bytes.
"""

from __future__ import annotations


class RecordSize:
    """Count a message fed in pieces as Postfix counts it (see the module)."""

    __slots__ = ("_bound", "_crs", "_line", "_total")

    def __init__(self, line_length_limit: int) -> None:
        self._bound = max(1, line_length_limit)
        self._total = 0
        self._line = 0  # bytes of the line not yet ended
        self._crs = 0  # how many of them are CRs at its end

    def feed(self, piece: bytes) -> None:
        """Count the next bytes of the message."""
        *ended, rest = piece.split(b"\n")
        for segment in ended:
            self._grow(segment)
            whole, part = divmod(self._line, self._bound)
            self._total += whole * (self._bound + 2) + part - min(self._crs, part) + 2
            self._line = self._crs = 0
        self._grow(rest)

    def total(self) -> int:
        """The count of the whole message, its last line included."""
        whole, part = divmod(self._line, self._bound)
        return self._total + whole * (self._bound + 2) + (part + 2 if part else 0)

    def _grow(self, segment: bytes) -> None:
        stripped = segment.rstrip(b"\r")
        trailing = len(segment) - len(stripped)
        self._crs = self._crs + trailing if not stripped else trailing
        self._line += len(segment)


__all__ = ["RecordSize"]
