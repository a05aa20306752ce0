"""Whether a process named in a lock or a file name still exists on this host."""

from __future__ import annotations

import os


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


__all__ = ["pid_alive"]
