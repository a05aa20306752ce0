"""Message content framing: DATA (dot-stuffed, ends on CRLF.CRLF only) and BDAT chunks.

Both work on whole buffers with ``bytes`` methods (no per-line Python loop) and keep at
most four bytes back between reads. Only ``<CR><LF>.<CR><LF>`` ends DATA: ``<LF>.<LF>``,
``<CR><LF>.<LF>``, ``<LF>.<CR><LF>``, ``<CR>.<CR>`` and friends are content, so nothing a
client sends after them can become a second message (SMTP smuggling). Bare ``<LF>``
handling follows Postfix's ``smtpd_forbid_bare_newline``: ``reject`` marks the message
bad (the session answers 550 at its end), ``normalize`` turns it into ``<CR><LF>``,
``no`` passes it through. A bare ``<CR>`` is content in every mode, as in Postfix.
"""

from __future__ import annotations

from vmail.protocol.smtp.config import BareNewline

END = b"\r\n.\r\n"


def count_bare_lf(piece: bytes, after_cr: bool) -> int:
    """``<LF>`` not preceded by ``<CR>``; ``after_cr``: the byte before ``piece`` was CR."""
    bare = piece.count(b"\n") - piece.count(b"\r\n")
    if after_cr and piece.startswith(b"\n"):
        bare -= 1
    return bare


def normalize(piece: bytes, after_cr: bool) -> bytes:
    """Every bare ``<LF>`` becomes ``<CR><LF>``."""
    if after_cr and piece.startswith(b"\n"):
        return b"\n" + normalize(piece[1:], False)
    return piece.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


class DataReader:
    """Incremental DATA decoder; a virtual CRLF before the first byte makes line 1 a line."""

    def __init__(self, bare_newline: BareNewline) -> None:
        self.mode = bare_newline
        self.hold = b"\r\n"
        self.first = True
        self.bare_lf = False
        self.size = 0

    def feed(self, data: bytes) -> tuple[bytes, bytes | None]:
        """Decoded content ready now, and the bytes after the end marker (None: not yet)."""
        chunk = self.hold + data if self.hold else data
        end = chunk.find(END)
        if end >= 0:
            self.hold = b""
            return self._decode(chunk[: end + 2]), chunk[end + 5 :]
        cut = len(chunk)
        for i in range(max(0, len(chunk) - 4), len(chunk)):
            if chunk[i] in (10, 13):
                cut = i
                break
        if cut < len(chunk) and chunk[cut] == 10 and cut > 0 and chunk[cut - 1] == 13:
            cut -= 1
        if self.first and cut < 2:
            cut = 0  # never split the virtual CRLF
        self.hold = chunk[cut:]
        return self._decode(chunk[:cut]), None

    def _decode(self, piece: bytes) -> bytes:
        if not piece:
            return b""
        if self.mode == "reject":
            if not self.bare_lf and count_bare_lf(piece, False):
                self.bare_lf = True
        elif self.mode == "normalize":
            piece = normalize(piece, False)
        out = piece.replace(b"\r\n.", b"\r\n")
        if self.first:
            out = out[2:]
            self.first = False
        self.size += len(out)
        return out
