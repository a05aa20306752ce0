"""Dovecot-style Maildir file names: parse, format, new unique bases and flag letters."""

from __future__ import annotations

import itertools
import os
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass

INFO_SEPARATOR = ":"
INFO_PREFIX = "2,"

SYSTEM_FLAG_LETTERS: dict[str, str] = {
    "\\Draft": "D",
    "\\Flagged": "F",
    "\\Answered": "R",
    "\\Seen": "S",
    "\\Deleted": "T",
}
LETTER_SYSTEM_FLAGS: dict[str, str] = {v: k for k, v in SYSTEM_FLAG_LETTERS.items()}
KEYWORD_LETTERS = "abcdefghijklmnopqrstuvwxyz"
_KEYWORD_SET = frozenset(KEYWORD_LETTERS)
_FLAG_CHARS = frozenset(KEYWORD_LETTERS + KEYWORD_LETTERS.upper())

_counter = itertools.count(1)


@dataclass(frozen=True, slots=True)
class MaildirName:
    """A Maildir file name split into its parts.

    ``base`` is everything before the first ``:`` (Dovecot's uidlist key; it holds the
    ``,S=``/``,W=`` fields). ``flags`` are the letters after ``:2,``, sorted, including
    letters Dovecot does not interpret (e.g. ``P``), which a rename keeps. ``extra`` keeps
    anything else verbatim: non-letter characters after ``:2,``, or a whole info part that
    does not start with ``:2,`` (then ``extra`` includes its ``:``).
    """

    base: str
    size: int | None
    vsize: int | None
    flags: str = ""
    extra: str = ""


_FIELDS = {key: re.compile(f",{key}=([0-9]+)") for key in ("S", "W")}


def _base_field(base: str, key: str) -> int | None:
    """The integer value of ``,<key>=<digits>`` in a base, or None."""
    match = _FIELDS[key].search(base)
    return int(match.group(1)) if match else None


def vsize_of(filename: str) -> int | None:
    """The ``,W=`` (CRLF size) of a file name, or None: the fast path of a folder scan."""
    if ",W=" not in filename:  # most names of a folder never indexed
        return None
    match = _FIELDS["W"].search(filename)
    return int(match.group(1)) if match else None


def parse_name(filename: str) -> MaildirName:
    """Split a Maildir file name; never raises (unknown parts land in ``extra``)."""
    base, sep, info = filename.partition(INFO_SEPARATOR)
    size = _base_field(base, "S") if ",S=" in base else None
    vsize = _base_field(base, "W") if ",W=" in base else None
    if not sep:
        return MaildirName(base, size, vsize)
    if not info.startswith(INFO_PREFIX):
        return MaildirName(base, size, vsize, "", sep + info)
    letters = info[2:]
    if all(c in _FLAG_CHARS for c in letters):
        return MaildirName(base, size, vsize, "".join(sorted(set(letters))), "")
    flags = "".join(sorted({c for c in letters if c in _FLAG_CHARS}))
    extra = "".join(c for c in letters if c not in _FLAG_CHARS)
    return MaildirName(base, size, vsize, flags, extra)


def format_name(name: MaildirName) -> str:
    """The file name for *name*: ``base:2,<flags><extra>`` (or ``base<extra>`` for foreign info)."""
    if name.extra.startswith(INFO_SEPARATOR):
        return name.base + name.extra
    return f"{name.base}{INFO_SEPARATOR}{INFO_PREFIX}{name.flags}{name.extra}"


def escape_hostname(hostname: str) -> str:
    """Dovecot's escaping of the host part: ``/`` becomes ``\\057`` and ``:`` becomes ``\\072``."""
    return hostname.replace("/", "\\057").replace(":", "\\072")


def new_base(hostname: str, *, size: int, vsize: int) -> str:
    """A unique Dovecot-style base ``<secs>.M<usecs>P<pid>Q<n>.<host>,S=<size>,W=<vsize>``."""
    now = time.time_ns() // 1000
    secs, usecs = divmod(now, 1_000_000)
    return (
        f"{secs}.M{usecs}P{os.getpid()}Q{next(_counter)}.{escape_hostname(hostname)}"
        f",S={size},W={vsize}"
    )


def flags_to_letters(system: Iterable[str], keyword_letters: Iterable[str]) -> str:
    """Sorted flag letters for system flag names (unknown ones ignored) plus keyword letters."""
    letters = {SYSTEM_FLAG_LETTERS[f] for f in system if f in SYSTEM_FLAG_LETTERS}
    letters.update(c for c in keyword_letters if c in _KEYWORD_SET)
    return "".join(sorted(letters))


def letters_to_system(letters: str) -> frozenset[str]:
    """The system flag names encoded in *letters* (keyword and unknown letters ignored)."""
    return frozenset(LETTER_SYSTEM_FLAGS[c] for c in letters if c in LETTER_SYSTEM_FLAGS)


def keyword_letters(letters: str) -> str:
    """The keyword letters (``a``..``z``) in a flags string."""
    return "".join(c for c in letters if c in _KEYWORD_SET)


def with_flags(name: MaildirName, system: Iterable[str], keyword_letters_: Iterable[str]) -> str:
    """The file name of *name* with new flags; letters Dovecot does not interpret are kept."""
    kept = {c for c in name.flags if c not in _KEYWORD_SET and c not in LETTER_SYSTEM_FLAGS}
    flags = "".join(sorted(kept.union(flags_to_letters(system, keyword_letters_))))
    extra = "" if name.extra.startswith(INFO_SEPARATOR) else name.extra
    return f"{name.base}{INFO_SEPARATOR}{INFO_PREFIX}{flags}{extra}"
