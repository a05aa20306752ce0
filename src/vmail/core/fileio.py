"""Writing a whole buffer to a file descriptor.

``os.write`` may write less than it was given (a signal, a file system near full: the
next call then fails with ENOSPC). A caller that took one call for the whole message would
leave a truncated file and report success; :func:`write_all` writes until everything is
written or raises.
"""

from __future__ import annotations

import os


def write_all(fd: int, data: bytes) -> None:
    """``os.write`` until everything is written (a short write is retried)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


__all__ = ["write_all"]
