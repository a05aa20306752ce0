"""The time-limited memo of the routing caches."""

from __future__ import annotations

from vmail.core.ttlcache import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_an_answer_is_reused_until_it_expires() -> None:
    clock = Clock()
    cache: TtlCache[str, bool] = TtlCache(1.0, 10, clock)
    assert cache.get("a", None) is None
    cache.put("a", False)
    assert cache.get("a", None) is False  # a false answer is an answer
    clock.now += 0.999
    assert cache.get("a", None) is False
    clock.now += 0.001
    assert cache.get("a", "expired") == "expired"


def test_a_full_cache_starts_over() -> None:
    cache: TtlCache[int, int] = TtlCache(60.0, 3, Clock())
    for key in range(3):
        cache.put(key, key)
    cache.put(3, 3)
    assert [cache.get(key, None) for key in range(4)] == [None, None, None, 3]
    cache.clear()
    assert cache.get(3, None) is None
