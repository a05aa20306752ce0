"""IMAP sequence sets (RFC 3501 ``sequence-set``, RFC 5182 ``$``): parsing and resolution."""

from __future__ import annotations

import re
from bisect import bisect_right

MAX_NUMBER = 4294967295
STAR = 0  # stands for "*" (the largest number in use) inside a range


def _set_pattern(number: bytes) -> re.Pattern[bytes]:
    item = rb"(?:" + number + rb"|\*)(?::(?:" + number + rb"|\*))?+"
    return re.compile(item + rb"(?:," + item + rb")*+")


# Numbers of up to 9 digits without leading zero are always valid: the common case needs
# one regex pass. Otherwise (leading zeros, as Dovecot accepts, or 10+ digits) each number
# is checked to be within 1..MAX_NUMBER.
_SET_FAST = _set_pattern(rb"[1-9][0-9]{0,8}+")
_SET_ANY = _set_pattern(rb"[0-9]++")
_SINGLE = re.compile(rb"(?<![:0-9])([0-9]+)(?![:0-9])")
_NUMBERS = re.compile(rb"[0-9]+")


class SequenceSetError(ValueError):
    """The text is not a valid sequence set (the server answers BAD)."""


class SequenceSet:
    """Ranges as written (``STAR`` for ``*``, bounds in any order), or the saved result ``$``.

    Immutable. A parsed set is validated at once but its numbers are converted only when
    first used, so parsing a command stays cheap whatever the size of the set.
    """

    __slots__ = ("_cache", "_ranges", "_text", "saved")

    def __init__(self, ranges: tuple[tuple[int, int], ...] = (), saved: bool = False) -> None:
        self._ranges: tuple[tuple[int, int], ...] | None = tuple(ranges)
        self._text = b""
        self.saved = saved
        self._cache: tuple[int, list[int], list[int]] | None = None

    @classmethod
    def parse(cls, text: bytes) -> SequenceSet:
        """Parse ``1,3:5,7:*`` or ``$``; raise :class:`SequenceSetError`."""
        if text == b"$":
            return cls(saved=True)
        if _SET_FAST.fullmatch(text) is None and (
            _SET_ANY.fullmatch(text) is None or not _numbers_in_range(text)
        ):
            raise SequenceSetError(f"invalid sequence set {text[:40].decode('ascii', 'replace')}")
        new = cls()
        new._ranges = None
        new._text = text
        return new

    @property
    def ranges(self) -> tuple[tuple[int, int], ...]:
        """The ranges as written; ``STAR`` (0) stands for ``*``."""
        if self._ranges is None:
            text = self._text.replace(b"*", b"0")
            if b"," in text or b":" not in text:
                text = _SINGLE.sub(rb"\1:\1", text)
            numbers = list(map(int, _NUMBERS.findall(text)))
            self._ranges = tuple(zip(numbers[::2], numbers[1::2], strict=True))
        return self._ranges

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, SequenceSet):
            return NotImplemented
        return self.saved == other.saved and self.ranges == other.ranges

    def __hash__(self) -> int:
        return hash((self.saved, self.ranges))

    def __repr__(self) -> str:
        return f"SequenceSet({str(self)!r})"

    @classmethod
    def of(cls, numbers: list[int]) -> SequenceSet:
        """A set of the given numbers (one range per run of consecutive numbers)."""
        return cls(tuple((lo, hi) for lo, hi in _merge([(n, n) for n in numbers])))

    def merged(self, max_value: int) -> list[tuple[int, int]]:
        """Sorted, non-overlapping ``(lo, hi)`` ranges clipped to ``1..max_value``."""
        return _clip(_merge(self._concrete(max_value)), max_value)

    def resolve(self, max_value: int) -> list[int]:
        """Every number of the set in ``1..max_value``, ascending, without duplicates."""
        out: list[int] = []
        for lo, hi in self.merged(max_value):
            out.extend(range(lo, hi + 1))
        return out

    def contains(self, n: int, max_value: int) -> bool:
        """True when ``n`` is in the set (binary search over cached merged ranges)."""
        if self._cache is None or self._cache[0] != max_value:
            merged = self.merged(max_value)
            self._cache = (max_value, [lo for lo, _ in merged], [hi for _, hi in merged])
        _, starts, ends = self._cache
        i = bisect_right(starts, n) - 1
        return i >= 0 and n <= ends[i]

    def has_star(self) -> bool:
        """True when ``*`` appears in the set."""
        return any(STAR in r for r in self.ranges)

    def __str__(self) -> str:
        if self.saved:
            return "$"
        if self._ranges is None:
            return self._text.decode("ascii")
        return ",".join(_range_text(lo, hi) for lo, hi in self.ranges)

    def _concrete(self, max_value: int) -> list[tuple[int, int]]:
        if self.saved:
            raise SequenceSetError("the saved search result ($) must be substituted first")
        out = []
        for a, b in self.ranges:
            a = a or max_value
            b = b or max_value
            out.append((a, b) if a <= b else (b, a))
        return out


def _numbers_in_range(text: bytes) -> bool:
    numbers = _NUMBERS.findall(text)
    return all(len(n.lstrip(b"0")) <= 10 for n in numbers) and all(
        1 <= int(n) <= MAX_NUMBER for n in numbers
    )


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    ranges.sort()
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if out and lo <= out[-1][1] + 1:
            if hi > out[-1][1]:
                out[-1] = (out[-1][0], hi)
        else:
            out.append((lo, hi))
    return out


def _clip(ranges: list[tuple[int, int]], max_value: int) -> list[tuple[int, int]]:
    out = []
    for lo, hi in ranges:
        lo, hi = max(lo, 1), min(hi, max_value)
        if lo > max_value:
            break
        if lo <= hi:
            out.append((lo, hi))
    return out


def _range_text(lo: int, hi: int) -> str:
    a = str(lo) if lo else "*"
    return a if lo == hi else f"{a}:{hi if hi else '*'}"


__all__ = ["MAX_NUMBER", "STAR", "SequenceSet", "SequenceSetError"]
