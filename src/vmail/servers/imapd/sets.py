"""Writing a set of numbers as an IMAP sequence set (``1:5,7``): ESEARCH, VANISHED, COPYUID."""

from __future__ import annotations

from collections.abc import Iterable


def compress_set(numbers: Iterable[int]) -> bytes:
    """``1:5,7,9:10`` for the numbers, sorted and deduplicated; ``b""`` for none.

    Ranges are written low to high. The input need not be sorted.
    """
    return compress_sorted(sorted(set(numbers)))


def compress_sorted(values: list[int]) -> bytes:
    """:func:`compress_set` for a list already sorted ascending without duplicates."""
    if not values:
        return b""
    parts: list[str] = []
    start = prev = values[0]
    for n in values:
        if n - prev > 1:
            parts.append(f"{start}:{prev}" if prev != start else str(start))
            start = n
        prev = n
    parts.append(f"{start}:{prev}" if prev != start else str(start))
    return ",".join(parts).encode("ascii")
