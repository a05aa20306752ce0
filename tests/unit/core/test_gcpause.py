"""The counted, process-wide pause of the cyclic garbage collector."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterator

import pytest

from vmail.core import gcpause
from vmail.core.gcpause import gc_paused, linger


@pytest.fixture(autouse=True)
def _collector_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(gcpause, "_linger_until", 0.0)  # (a big sync of another test)
    monkeypatch.setattr(gcpause, "_held", False)
    was = gc.isenabled()
    gc.enable()
    yield
    if not was:
        gc.disable()


def test_paused_inside_and_back_on_after() -> None:
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_back_on_only_when_the_last_overlapping_pause_ends() -> None:
    inside, release = threading.Event(), threading.Event()

    def other() -> None:
        with gc_paused():
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=other)
    thread.start()
    inside.wait(5)
    with gc_paused():
        pass
    assert not gc.isenabled()  # the other thread's pause still runs
    release.set()
    thread.join()
    assert gc.isenabled()


def test_an_error_inside_still_ends_the_pause() -> None:
    with pytest.raises(RuntimeError), gc_paused():
        raise RuntimeError("boom")
    assert gc.isenabled()


def test_a_collector_that_was_off_stays_off() -> None:
    gc.disable()
    with gc_paused():
        pass
    assert not gc.isenabled()


def _eventually_enabled(within: float = 5.0) -> bool:
    deadline = time.monotonic() + within
    while not gc.isenabled() and time.monotonic() < deadline:
        time.sleep(0.01)
    return gc.isenabled()


def test_linger_keeps_it_off_a_moment_after_the_pause() -> None:
    with gc_paused():
        linger(0.3)
    assert not gc.isenabled()
    assert _eventually_enabled()


def test_a_pause_while_lingering_ends_as_usual() -> None:
    with gc_paused():
        linger(0.05)
    with gc_paused():
        time.sleep(0.2)  # the linger timer fires inside this pause
        assert not gc.isenabled()
    assert gc.isenabled()


def test_a_pause_that_lingers_while_lingering_gets_its_own_timer() -> None:
    with gc_paused():
        linger(0.05)
    with gc_paused():
        time.sleep(0.2)
        linger(0.2)
    assert not gc.isenabled()
    assert _eventually_enabled()


def test_linger_leaves_a_collector_that_was_off_off() -> None:
    gc.disable()
    with gc_paused():
        linger(0.05)
    time.sleep(0.2)
    assert not gc.isenabled()
