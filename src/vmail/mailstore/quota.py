"""Maildir++ quota file ``maildirsize`` as Dovecot's ``quota = maildir`` backend keeps it.

Line 1 holds the limits (``<bytes>S,<count>C``, either omitted when unlimited); every
further line is a ``<bytes> <count>`` delta. Writers append deltas with one O_APPEND
write; the file is recalculated from the folders when it grows over 5120 bytes, when the
limits change or when it is unreadable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from vmail.mailstore.atomic import write_atomic
from vmail.mailstore.errors import MailstoreError
from vmail.mailstore.filenames import parse_name

MAILDIRSIZE = "maildirsize"
MAX_FILE_SIZE = 5120
_READ_LIMIT = 1 << 20


@dataclass(frozen=True, slots=True)
class MaildirSize:
    """Limits and summed usage of a ``maildirsize`` file, plus its shape for recalc checks."""

    storage_limit: int | None
    count_limit: int | None
    bytes: int
    count: int
    lines: int = 0
    file_size: int = 0


def format_limits(storage_limit: int | None, count_limit: int | None) -> str:
    """The header line (without newline) for the given limits."""
    parts = []
    if storage_limit is not None:
        parts.append(f"{storage_limit}S")
    if count_limit is not None:
        parts.append(f"{count_limit}C")
    return ",".join(parts)


def _parse_limits(header: str) -> tuple[int | None, int | None] | None:
    storage: int | None = None
    count: int | None = None
    for item in header.split(","):
        item = item.strip()
        if not item:
            continue
        value, suffix = item[:-1], item[-1:]
        if not value.isdigit() or not value.isascii():
            return None
        if suffix == "S":
            storage = int(value)
        elif suffix == "C":
            count = int(value)
        else:
            return None
    return storage, count


def read_maildirsize(path: Path | str) -> MaildirSize | None:
    """The parsed file; None when it is missing or unreadable (then recalculate)."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(_READ_LIMIT + 1)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot read: {exc.strerror}") from exc
    if len(raw) > _READ_LIMIT:
        return None
    text = raw.decode("ascii", "replace")
    lines = text.split("\n")
    if len(lines) < 2 or lines[-1] != "":
        return None  # no complete line yet, or a writer is in the middle of appending
    limits = _parse_limits(lines[0])
    if limits is None:
        return None
    total_bytes = total_count = 0
    for line in lines[1:-1]:
        fields = line.split()
        if len(fields) != 2:
            return None
        try:
            total_bytes += int(fields[0])
            total_count += int(fields[1])
        except ValueError:
            return None
    return MaildirSize(limits[0], limits[1], total_bytes, total_count, len(lines) - 1, len(raw))


def needs_recalc(
    current: MaildirSize | None, storage_limit: int | None, count_limit: int | None
) -> bool:
    """Whether the file must be rebuilt: missing/broken, over 5120 bytes, limits changed,
    or negative totals."""
    if current is None:
        return True
    return (
        current.file_size > MAX_FILE_SIZE
        or (current.storage_limit, current.count_limit) != (storage_limit, count_limit)
        or current.bytes < 0
        or current.count < 0
    )


def append_usage(path: Path, bytes_delta: int, count_delta: int) -> bool:
    """Append one ``<bytes> <count>`` line with a single O_APPEND write.

    Returns False (and writes nothing) when the file does not exist: it is then rebuilt by
    :func:`recalculate`, as the Maildir++ rules say.
    """
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot open for append: {exc.strerror}") from exc
    try:
        os.write(fd, f"{bytes_delta} {count_delta}\n".encode("ascii"))
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot append: {exc.strerror}") from exc
    finally:
        os.close(fd)
    return True


def _folder_usage(folder: Path) -> tuple[int, int]:
    total_bytes = total_count = 0
    for sub in ("new", "cur"):
        try:
            entries = os.scandir(folder / sub)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with entries:
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                size = parse_name(entry.name).size if ",S=" in entry.name else None
                if size is None:
                    try:
                        size = entry.stat().st_size
                    except FileNotFoundError:
                        continue  # expunged while we counted
                total_bytes += size
                total_count += 1
    return total_bytes, total_count


def usage(maildir_root: Path) -> tuple[int, int]:
    """Bytes and messages in ``new/`` and ``cur/`` of INBOX and every ``.Folder``."""
    total_bytes, total_count = _folder_usage(maildir_root)
    try:
        children = [e.name for e in os.scandir(maildir_root) if e.is_dir()]
    except FileNotFoundError:
        return total_bytes, total_count
    for name in children:
        if name.startswith(".") and name not in (".", ".."):
            folder_bytes, folder_count = _folder_usage(maildir_root / name)
            total_bytes += folder_bytes
            total_count += folder_count
    return total_bytes, total_count


def recalculate(
    maildir_root: Path, storage_limit: int | None, count_limit: int | None
) -> MaildirSize:
    """Count the whole Maildir and atomically rewrite its ``maildirsize``."""
    total_bytes, total_count = usage(maildir_root)
    data = f"{format_limits(storage_limit, count_limit)}\n{total_bytes} {total_count}\n"
    write_atomic(maildir_root / MAILDIRSIZE, data.encode("ascii"))
    return MaildirSize(storage_limit, count_limit, total_bytes, total_count, 2, len(data))
