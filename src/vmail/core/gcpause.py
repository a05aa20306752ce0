"""Pausing the cyclic garbage collector around bulk work that creates no cycles.

Building the view of a big folder makes hundreds of thousands of records, tuples and
dict entries that all live on. Each 700 allocations start a collection, and every few
of them a full one walks all of the process's objects again: half a second of a 4 s
first open of a 100,000-message folder. :func:`gc_paused` turns the collector off for
the duration (process-wide, counted, so that overlapping pauses from several threads
end with the last one) and back on only if it was on before the first.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside the ``with`` block (see the module)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _was_enabled:
                gc.enable()


__all__ = ["gc_paused"]
