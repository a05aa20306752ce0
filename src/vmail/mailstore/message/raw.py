"""Raw message geometry: CRLF conversion and sizes, where the header ends."""

from __future__ import annotations

import re

_BARE_LF = re.compile(rb"(?<!\r)\n")


def crlf(data: bytes) -> bytes:
    """``data`` with every bare LF turned into CRLF (existing CRLF and bare CR untouched)."""
    if b"\n" not in data:
        return data
    if b"\r" not in data:
        return data.replace(b"\n", b"\r\n")
    return _BARE_LF.sub(b"\r\n", data)


def crlf_size(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Size of ``data[start:end]`` once converted with :func:`crlf` (no copy made)."""
    stop = len(data) if end is None else end
    if stop <= start:
        return 0
    return stop - start + data.count(b"\n", start, stop) - data.count(b"\r\n", start, stop)


def body_offset(data: bytes, start: int = 0, end: int | None = None) -> int:
    """Offset just after the empty line ending the header that begins at ``start``.

    A header with no empty line runs to ``end``: the whole message is header.
    """
    stop = len(data) if end is None else end
    if start >= stop:
        return stop
    if data[start : start + 1] == b"\n":
        return start + 1
    if data[start : start + 2] == b"\r\n":
        return start + 2
    lf = data.find(b"\n\n", start, stop)
    crlf_at = data.find(b"\n\r\n", start, stop if lf < 0 else lf)
    if crlf_at >= 0 and (lf < 0 or crlf_at < lf):
        return crlf_at + 3
    if lf >= 0:
        return lf + 2
    return stop


def header_block(data: bytes) -> bytes:
    """The message header including its terminating empty line (raw, not CRLF-converted)."""
    return data[: body_offset(data)]


__all__ = ["body_offset", "crlf", "crlf_size", "header_block"]
