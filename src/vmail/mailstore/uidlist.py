"""Dovecot's ``dovecot-uidlist`` file: UIDVALIDITY, next UID, mailbox GUID and UID → base name.

Version 3 (written): ``3 V<uidvalidity> N<next uid> G<guid> [<key><value> ...]`` then one
``<uid> [<key><value> ...] :<base>`` line per message. Version 1 (read only, also
Courier's): ``1 <uidvalidity> <next uid>`` then ``<uid> <filename>``. Unknown header and
record extension fields are kept verbatim so a rewrite loses nothing.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vmail.core.fileio import write_all
from vmail.mailstore.atomic import write_atomic
from vmail.mailstore.errors import CorruptFileError, MailstoreError
from vmail.mailstore.uidvalidity import fallback_uidvalidity, next_uidvalidity

MAX_UID = 0xFFFFFFFE


@dataclass(slots=True)
class UidEntry:
    """One message: its base file name (Dovecot's key) and extension fields (``W``, ``G``...)."""

    base: str
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class UidList:
    """The parsed file; ``entries`` maps UID to entry in ascending UID order."""

    uidvalidity: int
    next_uid: int
    guid: str
    entries: dict[int, UidEntry]
    header_extra: dict[str, str] = field(default_factory=dict)


def new_uidvalidity(root: Path | None = None) -> int:
    """A fresh UIDVALIDITY: from Dovecot's ``dovecot-uidvalidity`` allocator of the Maildir
    ``root`` when given, else the current time (never twice the same in this process)."""
    return fallback_uidvalidity() if root is None else next_uidvalidity(root)


def new_guid() -> str:
    """A fresh mailbox GUID in Dovecot's form (32 lowercase hex digits)."""
    return uuid.uuid4().hex


def _header_fields(path: Path, text: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for token in text.split():
        fields[token[0]] = token[1:]
    return fields


def _parse_uint(path: Path, lineno: int, text: str, what: str) -> int:
    if not text.isdigit() or not text.isascii():
        raise CorruptFileError(path, lineno, f"invalid {what}: {text!r}")
    return int(text)


def _parse_header(path: Path, line: str) -> tuple[int, UidList]:
    version, _, rest = line.partition(" ")
    if version == "1":
        parts = rest.split()
        if len(parts) != 2:
            raise CorruptFileError(path, 1, "corrupted version 1 header")
        validity = _parse_uint(path, 1, parts[0], "uidvalidity")
        next_uid = _parse_uint(path, 1, parts[1], "next uid")
        guid = ""
        extra: dict[str, str] = {}
    elif version == "3":
        extra = _header_fields(path, rest)
        validity = _parse_uint(path, 1, extra.pop("V", ""), "uidvalidity")
        next_uid = _parse_uint(path, 1, extra.pop("N", ""), "next uid")
        guid = extra.pop("G", "")
        if guid and (len(guid) != 32 or any(c not in "0123456789abcdef" for c in guid)):
            raise CorruptFileError(path, 1, f"invalid mailbox GUID: {guid!r}")
    else:
        raise CorruptFileError(path, 1, f"unsupported version {version!r}")
    if validity == 0 or next_uid == 0 or validity > 0xFFFFFFFF or next_uid > 0xFFFFFFFF:
        raise CorruptFileError(path, 1, f"broken header ({validity=}, {next_uid=})")
    return int(version), UidList(validity, next_uid, guid, {}, extra)


def _parse_extended(path: Path, lineno: int, rest: str) -> UidEntry:
    """Parse ``[<key><value> ...] :<base>`` of a version 3 record."""
    extra: dict[str, str] = {}
    while rest and rest[0] != ":":
        token, _, rest = rest.partition(" ")
        if not token or not ("A" <= token[0] <= "Z"):
            raise CorruptFileError(path, lineno, f"invalid extension field {token!r}")
        extra[token[0]] = token[1:]
        rest = rest.lstrip(" ")
    if not rest:
        raise CorruptFileError(path, lineno, "missing ':' before the file name")
    return UidEntry(rest[1:], extra)


def parse_uidlist(path: Path, data: str) -> UidList:
    """Parse the text of a uidlist file (*path* is only used in error messages)."""
    lines = data.split("\n")
    torn = ""  # a last line without its LF: an append cut short (see append_uidlist)
    if lines and lines[-1] == "":
        lines.pop()
    elif len(lines) > 1:
        torn = lines.pop()
    if not lines:
        raise CorruptFileError(path, 0, "empty file")
    version, result = _parse_header(path, lines[0])
    entries = result.entries
    previous = 0
    lineno = 1
    fast = version == 3
    for line in lines[1:]:
        lineno += 1
        uid_text, sep, base = line.partition(" :") if fast else ("", "", "")
        if sep and uid_text.isdigit() and uid_text.isascii() and base:
            entry = UidEntry(base, {})
        else:
            uid_text, entry = _parse_slow(path, lineno, line, version)
        uid = int(uid_text)
        if uid <= previous or uid > MAX_UID:
            raise CorruptFileError(path, lineno, f"UIDs not ordered or too high ({uid})")
        previous = uid
        entries[uid] = entry
    if torn:  # kept when it reads as a whole record, else dropped (never "corrupt")
        with contextlib.suppress(CorruptFileError):
            uid_text, entry = _parse_slow(path, lineno + 1, torn, version)
            if previous < int(uid_text) <= MAX_UID:
                previous = int(uid_text)
                entries[previous] = entry
    if "/" in data or "\0" in data:
        _check_bases(path, result)
    if result.next_uid <= previous:
        result.next_uid = previous + 1
    return result


def _parse_slow(path: Path, lineno: int, line: str, version: int) -> tuple[str, UidEntry]:
    """Parse a record with extension fields, extra spaces or in version 1 form."""
    uid_text, _, rest = line.partition(" ")
    if not uid_text.isdigit() or not uid_text.isascii():
        raise CorruptFileError(path, lineno, f"invalid data: {line[:80]!r}")
    rest = rest.lstrip(" ")
    entry = _parse_extended(path, lineno, rest) if version == 3 else UidEntry(rest, {})
    if not entry.base:
        raise CorruptFileError(path, lineno, f"missing file name: {line[:80]!r}")
    return uid_text, entry


def _check_bases(path: Path, uidlist: UidList) -> None:
    for lineno, entry in enumerate(uidlist.entries.values(), start=2):
        if "/" in entry.base or "\0" in entry.base:
            raise CorruptFileError(path, lineno, f"broken file name: {entry.base[:80]!r}")


def read_uidlist(path: Path) -> UidList | None:
    """Read *path* at once (safe against a concurrent rename); None when it does not exist."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot read: {exc.strerror}") from exc
    try:
        data = raw.decode("utf-8")
    except UnicodeDecodeError:
        data = raw.decode("utf-8", "surrogateescape")
    return parse_uidlist(path, data)


def format_uidlist(uidlist: UidList) -> str:
    """The version 3 text Dovecot writes for *uidlist*."""
    header = f"3 V{uidlist.uidvalidity} N{uidlist.next_uid}"
    if uidlist.guid:
        header += f" G{uidlist.guid}"
    for key, value in uidlist.header_extra.items():
        header += f" {key}{value}"
    return "\n".join([header, *_records(uidlist.entries.items()), ""])


def _records(entries: Iterable[tuple[int, UidEntry]]) -> Iterator[str]:
    for uid, entry in entries:
        if entry.extra:
            fields = " ".join(k + v for k, v in entry.extra.items())
            yield f"{uid} {fields} :{entry.base}"
        else:
            yield f"{uid} :{entry.base}"


def write_uidlist(path: Path, uidlist: UidList) -> None:
    """Atomically replace *path* with *uidlist* in version 3 layout (entries in UID order)."""
    write_atomic(path, format_uidlist(uidlist).encode("utf-8", "surrogateescape"))


def append_uidlist(path: Path, entries: Sequence[tuple[int, UidEntry]]) -> bool:
    """Add records for new UIDs (above every UID in the file) at the end of *path*, as
    Dovecot does: the header's next UID is left as it is, readers take the last record's
    UID + 1 when that is more. Only under the uidlist lock. False (nothing written) when
    the file is not a version 3 file ending in a complete line: then rewrite it.

    One file write per message added instead of a rewrite of every line: an APPEND to a
    100,000-message folder, or a sync that finds one new message in it.
    """
    data = "".join(f"{line}\n" for line in _records(entries)).encode("utf-8", "surrogateescape")
    try:
        fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot write: {exc.strerror}") from exc
    try:
        size = os.fstat(fd).st_size
        if size < 3 or os.pread(fd, 2, 0) != b"3 " or os.pread(fd, 1, size - 1) != b"\n":
            return False
        write_all(fd, data)
        os.fsync(fd)
        return True
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot write: {exc.strerror}") from exc
    finally:
        os.close(fd)
