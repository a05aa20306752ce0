"""SequenceSet: parsing, resolution with *, reversed ranges, $, bounds and speed."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vmail.protocol.imap.sequence import STAR, SequenceSet, SequenceSetError


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        (b"1", ((1, 1),)),
        (b"1:5", ((1, 5),)),
        (b"5:2", ((5, 2),)),
        (b"*", ((STAR, STAR),)),
        (b"*:*", ((STAR, STAR),)),
        (b"3:*,1", ((3, STAR), (1, 1))),
        (b"4294967295", ((4294967295, 4294967295),)),
        (b"01:002", ((1, 2),)),  # leading zeros: Dovecot accepts them
        (b"0004294967295", ((4294967295, 4294967295),)),
    ],
)
def test_parse(text: bytes, ranges: tuple[tuple[int, int], ...]) -> None:
    assert SequenceSet.parse(text).ranges == ranges


@pytest.mark.parametrize(
    "text",
    [
        b"0",
        b"1:",
        b":1",
        b"4294967296",
        b"1,,2",
        b",1",
        b"1,",
        b"1:0",
        b"00",
        b"0004294967296",
        b"1" + b"0" * 5000,
        b"a",
        b"",
        b"$,1",
        b"1:2:3",
    ],
)
def test_parse_rejects(text: bytes) -> None:
    with pytest.raises(SequenceSetError, match="invalid sequence set"):
        SequenceSet.parse(text)


def test_saved_result() -> None:
    s = SequenceSet.parse(b"$")
    assert s.saved
    assert str(s) == "$"
    with pytest.raises(SequenceSetError):
        s.resolve(10)


def test_resolve_star_reversed_and_clipped() -> None:
    assert SequenceSet.parse(b"5:2,9:*,1").resolve(10) == [1, 2, 3, 4, 5, 9, 10]
    assert SequenceSet.parse(b"20:*").resolve(10) == [10]  # * is 10: the range is 10:20
    assert SequenceSet.parse(b"1:*").resolve(0) == []
    assert SequenceSet.parse(b"*").resolve(0) == []
    assert SequenceSet.parse(b"3:4").resolve(2) == []


def test_merged_and_str() -> None:
    s = SequenceSet.parse(b"7,1:3,2:5,*")
    assert s.merged(9) == [(1, 5), (7, 7), (9, 9)]
    assert str(s) == "7,1:3,2:5,*"
    assert s.has_star()
    assert str(SequenceSet.of([5, 1, 2, 3, 9])) == "1:3,5,9"


def test_contains() -> None:
    s = SequenceSet.parse(b"2:4,10:*")
    assert [n for n in range(15) if s.contains(n, 12)] == [2, 3, 4, 10, 11, 12]
    assert s.contains(13, 13)  # cache follows max_value
    assert not s.contains(13, 12)


@given(
    st.lists(st.tuples(st.integers(0, 60), st.integers(0, 60)), min_size=1, max_size=20),
    st.integers(0, 50),
)
def test_resolve_matches_naive(ranges: list[tuple[int, int]], max_value: int) -> None:
    s = SequenceSet(tuple(ranges))
    expected: set[int] = set()
    for a, b in ranges:
        a, b = a or max_value, b or max_value
        expected.update(range(min(a, b), max(a, b) + 1))
    expected = {n for n in expected if 1 <= n <= max_value}
    assert s.resolve(max_value) == sorted(expected)
    assert all(s.contains(n, max_value) == (n in expected) for n in range(max_value + 3))


def test_large_set_is_linear() -> None:
    text = b",".join(b"%d:%d" % (i * 3 + 1, i * 3 + 2) for i in range(100_000))
    start = time.perf_counter()
    s = SequenceSet.parse(text)
    numbers = s.resolve(400_000)
    assert s.contains(299_999, 400_000)
    assert not s.contains(300_000, 400_000)
    assert len(numbers) == 200_000
    assert time.perf_counter() - start < 2.0


@given(
    st.lists(
        st.tuples(st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1)), min_size=1, max_size=20
    )
)
def test_text_round_trip(ranges: list[tuple[int, int]]) -> None:
    built = SequenceSet(tuple(ranges))
    parsed = SequenceSet.parse(str(built).encode())
    assert parsed == built
    assert str(parsed) == str(built)
    assert repr(parsed) == f"SequenceSet({str(built)!r})"
