"""Retry timing: exponential backoff between the configured bounds, and queue lifetimes.

A message deferred for the *n*-th time (``n`` counts the delivery attempts that ended in
a deferral, including this one) waits ``minimal_backoff_time * 2**(n-1)`` seconds, at
most ``maximal_backoff_time``. Postfix derives the wait from the message's age instead;
counting attempts gives the same doubling without depending on when the message
arrived, and is what the status records let us count. Pure; nothing blocks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from vmail.config import MainConfig
from vmail.queue.envelope import DEFERRED


def deferral_count(status_records: Iterable[Mapping[str, Any]]) -> int:
    """How many earlier attempts ended in a deferral (distinct times of ``deferred`` records)."""
    return len(
        {
            r.get("t")
            for r in status_records
            if r.get("op") == "status" and r.get("status") == DEFERRED
        }
    )


def backoff(attempt: int, minimal: float, maximal: float) -> float:
    """Seconds to wait after the ``attempt``-th deferral (1 = the first)."""
    exponent = min(max(attempt, 1) - 1, 64)  # 2**64 * minimal is past any sane maximum
    return float(min(minimal * 2.0**exponent, max(maximal, minimal)))


def queue_lifetime(config: MainConfig, sender: str) -> float:
    """``maximal_queue_lifetime``, or ``bounce_queue_lifetime`` for the null sender."""
    name = "bounce_queue_lifetime" if not sender else "maximal_queue_lifetime"
    return float(config.get_time(name))


__all__ = ["backoff", "deferral_count", "queue_lifetime"]
