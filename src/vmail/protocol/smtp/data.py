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

from vmail.core.linebreaks import count_crlf, count_lf, lf_to_crlf
from vmail.protocol.smtp.config import BareNewline

END = b"\r\n.\r\n"


def count_bare_lf(piece: bytes, after_cr: bool) -> int:
    """``<LF>`` not preceded by ``<CR>``; ``after_cr``: the byte before ``piece`` was CR."""
    bare = count_lf(piece) - count_crlf(piece)
    if after_cr and piece.startswith(b"\n"):
        bare -= 1
    return bare


def normalize(piece: bytes, after_cr: bool) -> bytes:
    """Every bare ``<LF>`` becomes ``<CR><LF>``."""
    if after_cr and piece.startswith(b"\n"):
        return b"\n" + normalize(piece[1:], False)
    return lf_to_crlf(piece)


# Line-start dots looked at one by one before a chunk falls back to whole-buffer searches.
DOT_SCAN_LIMIT = 32


def line_start_dots(chunk: bytes, limit: int) -> tuple[int, list[int]] | None:
    """The end marker's offset in ``chunk`` (-1: none) and the offsets of the stuffing dots
    before it (each the ``.`` of a ``<CR><LF>.``), or None after ``limit`` dots.

    Dots are found with ``bytes.find`` of one byte (memchr): base64 and most text have
    few, and this is then far cheaper than searching ``<CR><LF>.<CR><LF>`` and
    ``<CR><LF>.``, whose first bytes occur on every line. Text with many dots gives up
    early and the caller searches the usual way.
    """
    dots: list[int] = []
    seen = 0
    i = chunk.find(b".", 2)
    while i >= 0:
        seen += 1
        if seen > limit:
            return None
        if chunk[i - 2 : i] == b"\r\n":
            if chunk[i + 1 : i + 3] == b"\r\n":
                return i - 2, dots
            dots.append(i)
        i = chunk.find(b".", i + 1)
    return -1, dots


def _without(piece: bytes, dots: list[int]) -> bytes:
    """``piece`` with the bytes at ``dots`` (ascending offsets) left out."""
    if not dots:
        return piece
    parts = []
    start = 0
    for dot in dots:
        parts.append(piece[start:dot])
        start = dot + 1
    parts.append(piece[start:])
    return b"".join(parts)


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
        scanned = line_start_dots(chunk, DOT_SCAN_LIMIT)
        if scanned is None:
            end, dots = chunk.find(END), None
        else:
            end, dots = scanned
        if end >= 0:
            self.hold = b""
            return self._decode(chunk[: end + 2], dots), chunk[end + 5 :]
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
        if dots and dots[-1] >= cut:  # those are in what is held: found again next time
            dots = [dot for dot in dots if dot < cut]
        return self._decode(chunk[:cut], dots), None

    def _decode(self, piece: bytes, dots: list[int] | None) -> bytes:
        """``piece`` unstuffed (``dots``: where its stuffing dots are, None: search)."""
        if not piece:
            return b""
        if self.mode == "reject":
            if not self.bare_lf and count_bare_lf(piece, False):
                self.bare_lf = True
        elif self.mode == "normalize" and count_bare_lf(piece, False):
            piece = normalize(piece, False)
            dots = None  # a bare <LF>. became a <CR><LF>. to unstuff
        out = piece.replace(b"\r\n.", b"\r\n") if dots is None else _without(piece, dots)
        if self.first:
            out = out[2:]
            self.first = False
        self.size += len(out)
        return out
