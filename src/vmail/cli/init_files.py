"""Writing ``vmail init``'s files and directories without ever clobbering an admin's work.

Existing files and directories are left alone (and reported) unless ``force`` is set;
files are written to a temporary name with their final mode and renamed into place, so a
private key is never readable by others, not even for a moment, and an interrupted run
leaves no half-written file.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from vmail.core.errors import VmailError


class InitError(VmailError):
    """``vmail init`` cannot create what it was asked to."""


@dataclass(frozen=True)
class Step:
    """One thing ``vmail init`` did: ``created``, ``replaced`` or ``kept`` (and why)."""

    what: str
    status: str
    note: str = ""

    def __str__(self) -> str:
        text = f"{self.status:<8} {self.what}"
        return f"{text} ({self.note})" if self.note else text


@dataclass
class Writer:
    """Creates directories and files, recording a :class:`Step` for each."""

    force: bool = False
    steps: list[Step] = field(default_factory=list)

    def note(self, what: str, status: str, note: str = "") -> None:
        self.steps.append(Step(what, status, note))

    def directory(self, path: Path, mode: int, owner: tuple[int, int] | None = None) -> None:
        """Create ``path`` (and missing parents) with ``mode``; an existing one is kept."""
        if path.is_dir():
            self.note(f"{path}/", "kept", "exists")
            return
        if path.exists() or path.is_symlink():
            raise InitError(f"{path} exists and is not a directory")
        try:
            path.mkdir(parents=True, mode=mode)
            os.chmod(path, mode)  # mkdir's mode is filtered by the umask
            if owner is not None:
                os.chown(path, *owner)
        except OSError as e:
            raise InitError(f"cannot create directory {path}: {e.strerror}") from None
        self.note(f"{path}/", "created")

    def exists(self, path: Path) -> bool:
        """Whether ``path`` is there and must be kept (not forced)."""
        return (path.exists() or path.is_symlink()) and not self.force

    def file(
        self, path: Path, content: str | bytes, mode: int, what: str = "", group: int | None = None
    ) -> bool:
        """Write ``path`` unless it exists (or ``force``); True when it was written.

        ``group`` (as root): the file's group, so the server can read a 0640 file after it
        has dropped root.
        """
        label = f"{path}" + (f" ({what})" if what else "")
        existed = path.exists() or path.is_symlink()
        if existed and not self.force:
            self.note(label, "kept", "exists; --force overwrites")
            return False
        data = content.encode() if isinstance(content, str) else content
        write_atomically(path, data, mode, group)
        self.note(label, "replaced" if existed else "created")
        return True


def write_atomically(path: Path, data: bytes, mode: int, group: int | None = None) -> None:
    """Write ``data`` to ``path`` with ``mode`` through a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
            stream.flush()
            if group is not None:
                os.fchown(stream.fileno(), -1, group)
            os.fchmod(stream.fileno(), mode)
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            temporary.unlink(missing_ok=True)
        raise InitError(f"cannot write {path}: {e.strerror}") from None
