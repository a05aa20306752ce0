"""Pausing the cyclic garbage collector around bulk work that creates no cycles.

Building the view of a big folder makes hundreds of thousands of records, tuples and
dict entries that all live on. Each 700 allocations start a collection, and every few
of them a full one walks all of the process's objects again: half a second of a 4 s
first open of a 100,000-message folder. :func:`gc_paused` turns the collector off for
the duration (process-wide, counted, so that overlapping pauses from several threads
end with the last one) and back on only if it was on before the first.

Turning it back on has a price too: the next allocation starts a collection of every
object made during the pause (0.1-0.15 s after that first open, before the client got
its answer). Work that made that many objects calls :func:`linger` inside the pause:
the collector then stays off a moment longer and comes back on from a timer, when the
client has been served.
"""

from __future__ import annotations

import contextlib
import gc
import threading
import time
from collections.abc import Iterator

_lock = threading.Lock()
_depth = 0
_was_enabled = False
_held = False  # the pauses are over, but the collector stays off until _linger_until
_linger_until = 0.0


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No automatic cyclic collection inside the ``with`` block (see the module)."""
    global _depth, _was_enabled
    with _lock:
        if _depth == 0 and not _held:
            _was_enabled = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                _end_pause()


def linger(seconds: float) -> None:
    """Keep the collector off for ``seconds`` after the pauses end (see the module)."""
    global _linger_until
    with _lock:
        _linger_until = max(_linger_until, time.monotonic() + seconds)


def _end_pause() -> None:
    """The last pause ended (under the lock): the collector back on, now or later."""
    global _held
    wait = _linger_until - time.monotonic()
    if _was_enabled and wait > 0:
        if not _held:
            _held = True
            timer = threading.Timer(wait, _resume)
            timer.daemon = True
            timer.start()
        return
    _held = False
    if _was_enabled:
        gc.enable()


def _resume() -> None:
    """The linger timer: back on, unless a pause runs (its end decides) or a later
    :func:`linger` moved the time (a new timer then waits for it)."""
    global _held
    with _lock:
        if not _held:
            return
        _held = False
        if not _depth:
            _end_pause()


__all__ = ["gc_paused", "linger"]
