"""Queue IDs in the shape of Postfix's long queue ids (``enable_long_queue_ids = yes``).

An ID such as ``4jbQrC6PdLzJC10`` reads, left to right:

* the arrival second, 6 digits base 52 (most significant first; 6 digits last until
  the year 2594),
* the microsecond, 4 digits base 52,
* the letter ``z``, a separator that cannot occur in what follows,
* the inode number of the queue file, base 51 (the alphabet without ``z``); for an ID
  chosen before its file exists (:func:`reserved_id`: smtpd names the message at its
  first accepted recipient, as Postfix does), the process ID instead.

The 52-digit alphabet is ``0-9``, then the upper-case and lower-case consonants
(vowels are left out so that no word appears by chance). Its ASCII order is its numeric
order, so sorting IDs as strings sorts them by time.

Uniqueness: the time part comes from a per-process clock that never repeats a microsecond
(it steps forward when two IDs are asked for in one microsecond), and the inode part
separates processes; two files that exist at the same time never share an inode on one
file system, nor two live processes a process ID. The spool's final link is also
no-clobber (see :mod:`vmail.queue.file`), so even an inode reused within one microsecond
cannot overwrite a queued message.
Pure computation; nothing here blocks.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable

ALPHABET = "0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz"
INODE_ALPHABET = ALPHABET[:-1]
SEPARATOR = "z"
SECONDS_WIDTH = 6
MICROS_WIDTH = 4
_VALUES = {c: i for i, c in enumerate(ALPHABET)}
# a whole ID in one match (the queue manager checks one per message): head, then "z" inode
_ID_SHAPE = re.compile(f"[{ALPHABET}]{{{SECONDS_WIDTH + MICROS_WIDTH},}}z[{INODE_ALPHABET}]+")

QueueId = str


def _encode(value: int, alphabet: str, width: int = 1) -> str:
    base = len(alphabet)
    digits: list[str] = []
    while value or len(digits) < width:
        value, digit = divmod(value, base)
        digits.append(alphabet[digit])
    return "".join(reversed(digits))


def _decode(text: str, base: int) -> int:
    value = 0
    for c in text:
        value = value * base + _VALUES[c]
    return value


def make_id(seconds: int, micros: int, inode: int) -> QueueId:
    """The ID for a queue file created at ``seconds.micros`` with inode ``inode``."""
    if not 0 <= micros < 1_000_000:
        raise ValueError(f"microseconds out of range: {micros}")
    return (
        _encode(seconds, ALPHABET, SECONDS_WIDTH)
        + _encode(micros, ALPHABET, MICROS_WIDTH)
        + SEPARATOR
        + _encode(inode, INODE_ALPHABET)
    )


def reserved_id(clock: IdClock) -> QueueId:
    """An ID for a queue file that does not exist yet (time, then this process's ID)."""
    return make_id(*clock.next(), os.getpid())


def is_valid_id(text: str) -> bool:
    """Whether ``text`` is a well-formed long queue ID (also safe as a file name)."""
    if _ID_SHAPE.fullmatch(text) is None:
        return False
    head = text.rpartition(SEPARATOR)[0]
    return _decode(head[-MICROS_WIDTH:], len(ALPHABET)) < 1_000_000


def id_time(queue_id: QueueId) -> float:
    """The creation time encoded in a valid ID (seconds since the epoch)."""
    head = queue_id.rpartition(SEPARATOR)[0]
    seconds = _decode(head[:-MICROS_WIDTH], len(ALPHABET))
    return seconds + _decode(head[-MICROS_WIDTH:], len(ALPHABET)) / 1e6


def id_inode(queue_id: QueueId) -> int:
    """The inode number encoded in a valid ID."""
    return _decode(queue_id.rpartition(SEPARATOR)[2], len(INODE_ALPHABET))


class IdClock:
    """Microsecond timestamps that strictly increase within this process (thread-safe)."""

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> tuple[int, int]:
        """``(seconds, microseconds)``, later than every earlier answer."""
        with self._lock:
            now = max(self._clock() // 1000, self._last + 1)
            self._last = now
        return divmod(now, 1_000_000)


DEFAULT_CLOCK = IdClock()
