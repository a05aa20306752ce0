"""``fork()`` for a long-lived parent whose children share its memory.

Before forking, :func:`fork` moves every object the parent has into the garbage
collector's permanent generation (``gc.freeze``, CPython's advice for fork without exec):
otherwise the parent's next collections write to the headers of all the objects it
shares with its children, and those pages become private copies on both sides (about
40 MB of the master's memory with the delivery process and the privileged spawner).
Frozen objects are never collected; they are the modules, settings and caches that live
as long as the process anyway.
"""

from __future__ import annotations

import gc
import os


def fork() -> int:
    """``os.fork()`` after freezing the parent's objects (see the module's docstring)."""
    gc.freeze()
    return os.fork()


__all__ = ["fork"]
