"""The verified-credentials cache: hits, TTL, invalidation by hash change, bounds."""

from __future__ import annotations

from tests.unit.auth.fakes import FakeClock
from vmail.auth.cache import CredentialCache

HASH = "{SSHA512}abc"


def test_hit_only_for_same_user_password_and_hash() -> None:
    cache = CredentialCache(clock=FakeClock())
    assert not cache.hit("alice", b"pw", HASH)
    cache.store("alice", b"pw", HASH)
    assert cache.hit("alice", b"pw", HASH)
    assert not cache.hit("alice", b"pw2", HASH)
    assert not cache.hit("alice", b"pw", "{SSHA512}changed")
    assert not cache.hit("bob", b"pw", HASH)
    assert (cache.hits, cache.misses) == (1, 4)


def test_ttl() -> None:
    clock = FakeClock()
    cache = CredentialCache(ttl=60, clock=clock)
    cache.store("alice", b"pw", HASH)
    clock.advance(59.9)
    assert cache.hit("alice", b"pw", HASH)
    clock.advance(0.1)
    assert not cache.hit("alice", b"pw", HASH)
    assert len(cache) == 0


def test_invalidate_and_clear() -> None:
    cache = CredentialCache(clock=FakeClock())
    cache.store("alice", b"pw", HASH)
    cache.store("bob", b"pw", HASH)
    cache.invalidate("alice")
    assert not cache.hit("alice", b"pw", HASH)
    assert cache.hit("bob", b"pw", HASH)
    cache.clear()
    assert len(cache) == 0


def test_bounded_least_recently_used_first() -> None:
    cache = CredentialCache(max_entries=2, clock=FakeClock())
    cache.store("a", b"pw", HASH)
    cache.store("b", b"pw", HASH)
    assert cache.hit("a", b"pw", HASH)  # a is now the most recent
    cache.store("c", b"pw", HASH)
    assert len(cache) == 2
    assert not cache.hit("b", b"pw", HASH)
    assert cache.hit("a", b"pw", HASH)


def test_disabled_cache_stores_nothing() -> None:
    cache = CredentialCache(ttl=0, clock=FakeClock())
    cache.store("a", b"pw", HASH)
    assert len(cache) == 0


def test_no_plaintext_in_entries() -> None:
    cache = CredentialCache(clock=FakeClock())
    cache.store("alice", b"hunter2", HASH)
    assert b"hunter2" not in repr(cache._entries).encode()
