"""SORT criteria parsing and ordering (RFC 5256, RFC 5957)."""

from __future__ import annotations

import random
import time

import pytest

from tests.unit.servers.imapd.folder_data import MemoryFolder, Summary
from vmail.servers.imapd.sort import (
    SortCriteriaError,
    casemap,
    parse_criteria,
    sent_or_internal,
    sort_uids,
)


def test_parse_criteria() -> None:
    assert parse_criteria(["reverse", "Date", "SUBJECT"]) == [("DATE", True), ("SUBJECT", False)]
    assert parse_criteria(["DISPLAYFROM", "REVERSE", "DISPLAYTO"]) == [
        ("DISPLAYFROM", False),
        ("DISPLAYTO", True),
    ]


@pytest.mark.parametrize(
    "words", [[], ["REVERSE"], ["DATE", "REVERSE"], ["REVERSE", "REVERSE", "DATE"], ["BOGUS"]]
)
def test_parse_criteria_errors(words: list[str]) -> None:
    with pytest.raises(SortCriteriaError):
        parse_criteria(words)


def test_casemap_ascii_only() -> None:
    assert casemap("abcÄé") == "ABCÄé"
    assert casemap("mixed Case") == "MIXED CASE"


def test_sent_or_internal() -> None:
    f = MemoryFolder()
    f.add(1, internaldate=50.0, summary=Summary(sent_date=None))
    assert sent_or_internal(f.summary[1], f.records[1]) == 50.0
    assert sent_or_internal(Summary(sent_date=7.0), f.records[1]) == 7.0
    assert sent_or_internal(None, None) == 0.0


def folder() -> MemoryFolder:
    f = MemoryFolder()
    f.add(
        1,
        internaldate=30,
        size=300,
        summary=Summary(
            base_subject="b",
            sent_date=5,
            from_sort="zed",
            to_sort="a",
            cc_sort="",
            display_from="Zed",
            display_to="x",
        ),
    )
    f.add(
        2,
        internaldate=10,
        size=100,
        summary=Summary(
            base_subject="A",
            sent_date=None,
            from_sort="Amy",
            to_sort="b",
            cc_sort="c",
            display_from="amy",
            display_to="y",
        ),
    )
    f.add(
        3,
        internaldate=20,
        size=300,
        summary=Summary(
            base_subject="a",
            sent_date=15,
            from_sort="bob",
            to_sort="a",
            cc_sort="b",
            display_from="Bob",
            display_to="X",
        ),
    )
    f.add(
        4,
        internaldate=40,
        size=200,
        summary=Summary(
            base_subject="",
            sent_date=5,
            from_sort="",
            to_sort="",
            cc_sort="a",
            display_from="",
            display_to="",
        ),
    )
    return f


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["ARRIVAL"], [2, 3, 1, 4]),
        (["REVERSE", "ARRIVAL"], [4, 1, 3, 2]),
        (["SIZE"], [2, 4, 1, 3]),  # 1 and 3 tie: mailbox order
        (["REVERSE", "SIZE"], [1, 3, 4, 2]),  # ties stay in mailbox order when reversed
        (["DATE"], [1, 4, 2, 3]),  # 2 has no Date: INTERNALDATE 10
        (["SUBJECT"], [4, 2, 3, 1]),  # "A" == "a" under ascii-casemap: mailbox order
        (["SUBJECT", "REVERSE", "DATE"], [4, 3, 2, 1]),
        (["FROM"], [4, 2, 3, 1]),
        (["TO"], [4, 1, 3, 2]),
        (["CC"], [1, 4, 3, 2]),
        (["DISPLAYFROM"], [4, 2, 3, 1]),
        (["DISPLAYTO"], [4, 1, 3, 2]),
        (["TO", "REVERSE", "SIZE"], [4, 1, 3, 2]),
        (["TO", "SIZE"], [4, 1, 3, 2]),
    ],
)
def test_sort_orders(words: list[str], expected: list[int]) -> None:
    assert sort_uids(parse_criteria(words), [4, 3, 2, 1, 2], folder()) == expected


def test_sort_subset_and_empty_and_missing() -> None:
    f = folder()
    assert sort_uids([("ARRIVAL", False)], [], f) == []
    assert sort_uids([("ARRIVAL", False)], [1, 4], f) == [1, 4]
    assert sort_uids([("SUBJECT", False), ("SIZE", False)], [9, 1], f) == [9, 1]


def test_timing_100k() -> None:
    rng = random.Random(5)
    f = MemoryFolder()
    words = ["alpha", "beta", "gamma", "delta", "Re: x", "zeta"]
    for u in range(1, 100_001):
        f.add(
            u,
            internaldate=rng.random() * 1e9,
            size=rng.randrange(10**6),
            summary=Summary(
                base_subject=f"{rng.choice(words)} {rng.randrange(1000)}",
                sent_date=rng.random() * 1e9 if u % 7 else None,
            ),
        )
    uids = list(range(1, 100_001))
    t0 = time.perf_counter()
    by_date = sort_uids([("DATE", False)], uids, f)
    t1 = time.perf_counter()
    by_subject = sort_uids([("SUBJECT", False)], uids, f)
    t2 = time.perf_counter()
    both = sort_uids(parse_criteria(["REVERSE", "DATE", "SUBJECT"]), uids, f)
    t3 = time.perf_counter()
    print(
        f"\nSORT 100k: DATE {t1 - t0:.3f}s SUBJECT {t2 - t1:.3f}s REVERSE DATE SUBJECT {t3 - t2:.3f}s"
    )
    assert len(by_date) == len(by_subject) == len(both) == 100_000
    assert t1 - t0 < 1.0
    assert t2 - t1 < 1.0
