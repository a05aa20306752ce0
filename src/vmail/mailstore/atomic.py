"""Write a store file atomically: temp file in the same directory, fsync, rename."""

from __future__ import annotations

import contextlib
import itertools
import os
from pathlib import Path

from vmail.core.fileio import write_all
from vmail.mailstore.errors import MailstoreError

_counter = itertools.count(1)


def write_atomic(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Replace *path* with *data* so readers see the old or the new file, never a mix."""
    temp = path.with_name(f".{path.name}.{os.getpid()}.{next(_counter)}.tmp")
    try:
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        try:
            write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            temp.unlink()
        raise MailstoreError(f"{path}: cannot write: {exc.strerror}") from exc
