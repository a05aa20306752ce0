"""The per-transaction lookup memo: one query per (table, key), failures not remembered."""

from __future__ import annotations

import asyncio

import pytest

from vmail.core.errors import TableError
from vmail.tables import Table
from vmail.tables import memo as memo_module
from vmail.tables.base import Trace
from vmail.tables.maps import Maps, query
from vmail.tables.memo import LookupMemo, WouldBlockError, may_block


class Counting(Table):
    """A fixed-string table that counts its lookups and can be made to fail."""

    def __init__(self, data: dict[str, str]) -> None:
        super().__init__("counting:test")
        self.data = data
        self.calls: list[str] = []
        self.failing = False

    def lookup(self, key: str) -> str | None:
        self.calls.append(key)
        if self.failing:
            raise TableError(self.spec, "down")
        return self.data.get(key)


def test_without_a_memo_every_query_reaches_the_table() -> None:
    table = Counting({"a": "1"})
    assert query(table, "a") == "1"
    assert query(table, "a") == "1"
    assert table.calls == ["a", "a"]


def test_a_memo_asks_each_key_once_hits_and_misses_alike() -> None:
    table = Counting({"a": "1"})
    memo = LookupMemo()

    def ask() -> list[str | None]:
        return [query(table, "A"), query(table, "b"), query(table, "a"), query(table, "b")]

    assert memo.run(ask) == ["1", None, "1", None]
    assert table.calls == ["a", "b"]  # folded keys, each once
    assert memo.run(Maps("p", [table]).find, "a") == "1"
    assert table.calls == ["a", "b"]
    assert query(table, "a") == "1"  # outside run(): no memo
    assert table.calls == ["a", "b", "a"]


def test_tables_are_told_apart() -> None:
    one, two = Counting({"k": "1"}), Counting({"k": "2"})
    memo = LookupMemo()
    assert memo.run(lambda: (query(one, "k"), query(two, "k"))) == ("1", "2")


def test_failures_are_raised_and_not_remembered() -> None:
    table = Counting({"a": "1"})
    memo = LookupMemo()
    table.failing = True
    with pytest.raises(TableError):
        memo.run(query, table, "a")
    table.failing = False
    assert memo.run(query, table, "a") == "1"
    assert table.calls == ["a", "a"]


def test_traced_queries_bypass_the_memo_and_are_all_recorded() -> None:
    table = Counting({"a": "1"})
    memo = LookupMemo()
    trace = Trace()
    memo.run(lambda: [query(table, "a", trace) for _ in range(2)])
    assert len(trace.events) == 2
    assert table.calls == ["a", "a"]


def test_a_full_memo_starts_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memo_module, "LIMIT", 2)
    table = Counting({})
    memo = LookupMemo()
    memo.run(lambda: [query(table, k) for k in ("a", "b", "c", "a")])
    assert table.calls == ["a", "b", "c", "a"]
    assert len(memo.answers) <= 2


def test_the_memo_is_active_in_the_worker_thread_of_run() -> None:
    table = Counting({"a": "1"})
    memo = LookupMemo()

    async def main() -> None:
        await asyncio.to_thread(memo.run, query, table, "a")
        await asyncio.to_thread(memo.run, query, table, "a")
        assert memo_module.current.get() is None  # nothing leaks into the caller

    asyncio.run(main())
    assert table.calls == ["a"]


class Remote(Counting):
    local = False


class Local(Counting):
    local = True


def test_inline_runs_use_local_tables_and_stop_before_a_remote_one() -> None:
    local, remote = Local({"a": "1"}), Remote({"b": "2"})
    memo = LookupMemo()

    def decide() -> tuple[str | None, str | None]:
        return query(local, "a"), query(remote, "b")

    with pytest.raises(WouldBlockError):
        memo.run_inline(decide)
    assert not memo.inline
    assert (local.calls, remote.calls) == (["a"], [])
    assert memo.run(decide) == ("1", "2")  # in a thread: the local answer is reused
    assert (local.calls, remote.calls) == (["a"], ["b"])
    assert memo.run_inline(decide) == ("1", "2")  # everything remembered: fine inline


def test_may_block_refuses_only_inline() -> None:
    memo = LookupMemo()
    may_block()
    memo.run(may_block)
    with pytest.raises(WouldBlockError):
        memo.run_inline(may_block)
