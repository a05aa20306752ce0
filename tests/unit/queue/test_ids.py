"""Queue IDs: Postfix's long-id shape, round trips, ordering, uniqueness under load."""

from __future__ import annotations

import multiprocessing
import threading
from pathlib import Path

import pytest

from vmail.queue.ids import IdClock, id_inode, id_time, is_valid_id, make_id
from vmail.queue.spool import INCOMING

from .helpers import queue, spool_at


def test_decodes_a_real_postfix_id() -> None:
    # from a Postfix 3.7 with enable_long_queue_ids = yes (postqueue -j: arrival 1795766555)
    assert is_valid_id("4jbQrC6PdLzJC10")
    assert int(id_time("4jbQrC6PdLzJC10")) == 1_795_766_555
    assert make_id(1_795_766_555, 902_166, id_inode("4jbQrC6PdLzJC10")) == "4jbQrC6PdLzJC10"


@pytest.mark.parametrize(
    "text",
    [
        "",
        "4jbQrC6PdLJC10",
        "4jbQrC6PdLz",
        "4jbQrAPdLzJC10",
        "../x",
        "4jbQrC6PdLzJC1z",
        "4jbQ zJ",
        "4jbQrz6PdLz",
    ],
)
def test_rejects_bad_ids(text: str) -> None:
    assert not is_valid_id(text)


def test_ids_sort_by_time() -> None:
    ids = [make_id(s, us, ino) for s, us, ino in [(10, 5, 99), (10, 6, 1), (11, 0, 0), (600, 0, 7)]]
    assert sorted(ids) == ids


def test_clock_never_repeats() -> None:
    clock = IdClock(lambda: 1_000_000_000_000)  # frozen time
    stamps = [clock.next() for _ in range(1000)]
    assert len(set(stamps)) == 1000
    assert stamps == sorted(stamps)


def test_threads_never_collide(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    found: list[str] = []

    def work() -> None:
        for _ in range(50):
            found.append(queue(spool))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(found)) == 400
    assert len(spool.ids(INCOMING)) == 400


def _child(root: str, n: int) -> None:
    from vmail.queue import Spool

    spool = Spool(root)
    for _ in range(n):
        queue(spool)


def test_processes_never_collide(tmp_path: Path) -> None:
    spool = spool_at(tmp_path)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_child, args=(str(spool.root), 40)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
        assert p.exitcode == 0
    assert len(spool.ids(INCOMING)) == 160


def test_time_part_may_contain_the_separator_letter() -> None:
    qid = make_id(1_795_766_555 - 1_795_766_555 % 52 + 51, 51, 51 * 51)
    assert "z" in qid[:10]
    assert is_valid_id(qid)
    assert id_inode(qid) == 51 * 51
