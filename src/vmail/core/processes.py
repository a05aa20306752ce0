"""Whether a process named in a lock or a file name still exists on this host.

Dovecot's dotlocks (and vmail's, which share their files) hold ``<pid>:<hostname>``:
:func:`dotlock_content` writes that, :func:`dotlock_owner_gone` tells a lock whose
process has died, so :func:`remove_stale_dotlock` may break it before it is stale by age.
"""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path


def pid_alive(pid: int) -> bool:
    """True unless process ``pid`` certainly does not exist (it may be another user's)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # EPERM: it exists and belongs to someone else
        return True
    return True


def dotlock_content() -> bytes:
    """What Dovecot writes into a dotlock: ``<pid>:<hostname>`` of this process."""
    return f"{os.getpid()}:{socket.gethostname()}".encode()


def dotlock_owner_gone(path: Path) -> bool:
    """True when the dotlock at ``path`` names a process on this host that no longer
    exists; False when that cannot be told (unreadable, another host, no pid)."""
    try:
        content = path.read_bytes()[:256].decode("ascii")
    except (OSError, UnicodeDecodeError):
        return False
    pid_text, _, host = content.partition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    return not pid_alive(int(pid_text))


def remove_stale_dotlock(path: Path, stale_after: float) -> None:
    """Remove the dotlock at ``path`` if it is older than ``stale_after`` seconds or its
    owner is gone, unless it was replaced meanwhile (same inode and mtime, checked just
    before the unlink). A lock that is no longer there is fine; other errors are raised."""
    try:
        st = path.stat()
        if time.time() - st.st_mtime < stale_after and not dotlock_owner_gone(path):
            return
        again = path.stat()
        if (again.st_ino, again.st_mtime_ns) == (st.st_ino, st.st_mtime_ns):
            path.unlink()
    except FileNotFoundError:
        return


__all__ = ["dotlock_content", "dotlock_owner_gone", "pid_alive", "remove_stale_dotlock"]
