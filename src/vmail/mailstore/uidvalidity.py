"""Dovecot's UIDVALIDITY allocator: ``dovecot-uidvalidity`` in the Maildir root.

A new folder must never get the UIDVALIDITY of a deleted one of the same name, or clients
would keep cached UIDs of other messages. Dovecot (``mailbox-uidvalidity.c``) keeps the
last value handed out in ``dovecot-uidvalidity`` (8 hex digits) and a marker file
``dovecot-uidvalidity.<hex>``; taking the next value is renaming the marker from ``v`` to
``v + 1`` — only one process wins a given rename, so Dovecot and vmail sharing a root
never hand out the same value. Without a root (or when the files cannot be used) the
value is the current time, never twice the same in this process.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path

UIDVALIDITY_FILE = "dovecot-uidvalidity"
_RETRIES = 10
_MASK = 0xFFFFFFFF
_lock = threading.Lock()
_last = 0


def fallback_uidvalidity() -> int:
    """The current time, or one more than the last value this process returned."""
    global _last
    with _lock:
        now = int(time.time()) & _MASK
        _last = now if now > _last else (_last + 1) & _MASK or 1
        return _last


def next_uidvalidity(root: Path) -> int:
    """The next UIDVALIDITY of the Maildir++ tree at ``root`` (Dovecot's protocol)."""
    path = root / UIDVALIDITY_FILE
    current = _read(path)
    if current:
        taken = _take_after(path, current)
        if taken is not None:
            _write(path, taken)
            return taken
    return _rescan(path)


def _read(path: Path) -> int:
    try:
        text = path.read_bytes()[:8].decode("ascii")
        return int(text, 16) if text else 0
    except (OSError, ValueError):
        return 0


def _marker(path: Path, value: int) -> Path:
    return path.with_name(f"{path.name}.{value:08x}")


def _take_after(path: Path, value: int) -> int | None:
    """Rename the marker of ``value`` to its successor; the value taken, or None."""
    for _ in range(_RETRIES):
        following = (value + 1) & _MASK or 1
        try:
            os.rename(_marker(path, value), _marker(path, following))
            return following
        except FileNotFoundError:
            value = following  # another process took it: try the next one
        except OSError:
            return None
    return None


def _rescan(path: Path) -> int:
    """Start from the marker files present (or create one when there is none)."""
    prefix = path.name + "."
    values: list[int] = []
    with contextlib.suppress(OSError), os.scandir(path.parent) as entries:
        for entry in entries:
            if entry.name.startswith(prefix):
                with contextlib.suppress(ValueError):
                    values.append(int(entry.name[len(prefix) :], 16))
    if not values:
        return _create_marker(path)
    if min(values) != max(values):
        with contextlib.suppress(OSError):
            os.unlink(_marker(path, min(values)))
    taken = _take_after(path, max(values))
    if taken is None:
        return fallback_uidvalidity()
    _write(path, taken)
    return taken


def _create_marker(path: Path) -> int:
    value = fallback_uidvalidity()
    for _ in range(_RETRIES):
        try:
            os.close(os.open(_marker(path, value), os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o444))
        except FileExistsError:
            value = fallback_uidvalidity()
            continue
        except OSError:
            return value
        _write(path, value)
        return value
    return value


def _write(path: Path, value: int) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            os.pwrite(fd, f"{value:08x}".encode(), 0)
        finally:
            os.close(fd)


__all__ = ["UIDVALIDITY_FILE", "fallback_uidvalidity", "next_uidvalidity"]
