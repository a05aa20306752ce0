"""RETR/TOP bodies: CRLF line ends, dot-stuffing and TOP's line limit, chunk by chunk.

:class:`BodyEncoder` is fed the message file a chunk at a time and returns what to send, so
a 100 MB message is never held twice (or at all). Lone LFs become CRLF, a lone CR is kept
(as Dovecot does), a line starting with ``.`` gets another one, and the output always ends
with CRLF before the terminating ``.`` line (:meth:`finish`). With ``top_lines`` set, the
header, the empty line and that many body lines are sent (a message without an empty line
is sent whole, as Dovecot does), and :attr:`done` tells the reader to stop early.
"""

from __future__ import annotations

from vmail.core.linebreaks import lf_to_crlf
from vmail.protocol.pop3.replies import CRLF, END


class BodyEncoder:
    """One message's transfer encoding; feed chunks, then :meth:`finish`."""

    def __init__(self, top_lines: int | None = None) -> None:
        self._lines_left = top_lines
        self._in_body = False
        self._carry = b""
        self._line_start = True
        self.done = False
        self.sent = 0

    def feed(self, chunk: bytes) -> bytes:
        """The encoded form of ``chunk`` (possibly empty); nothing once :attr:`done`."""
        if self.done:
            return b""
        data = self._carry + chunk if self._carry else chunk
        self._carry = b""
        if data.endswith(b"\r"):
            self._carry, data = b"\r", data[:-1]
        if b"\n" in data:
            data = lf_to_crlf(data)
        if self._lines_left is not None:
            data = self._limit(data)
        return self._stuff(data)

    def finish(self) -> bytes:
        """The rest: a pending CR, a final CRLF if missing, and the ``.`` line."""
        tail = b"" if self.done else self._stuff(self._carry)
        self._carry = b""
        self.done = True
        ending = END if self._line_start else CRLF + END
        self.sent += len(ending)
        return tail + ending

    def _stuff(self, data: bytes) -> bytes:
        if not data:
            return data
        if b"\n." in data:
            data = data.replace(b"\n.", b"\n..")
        if self._line_start and data[:1] == b".":
            data = b"." + data
        self._line_start = data.endswith(b"\n")
        self.sent += len(data)
        return data

    def _limit(self, data: bytes) -> bytes:
        assert self._lines_left is not None
        pos = 0
        if not self._in_body:
            prefix = b"\n" if self._line_start else b""
            found = (prefix + data).find(b"\n\r\n")
            if found < 0:
                return data
            self._in_body = True
            pos = found + 3 - len(prefix)
        while self._lines_left > 0:
            newline = data.find(b"\n", pos)
            if newline < 0:
                return data
            pos = newline + 1
            self._lines_left -= 1
        self.done = True
        self._carry = b""
        return data[:pos]
