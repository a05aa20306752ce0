"""SelectedView: sequence mapping, deferred expunges, EXISTS/RECENT/FETCH updates, sets."""

from __future__ import annotations

import re
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vmail.mailstore.records import MessageRecord, SyncResult
from vmail.protocol.imap.sequence import SequenceSet
from vmail.servers.imapd.selected import SelectedView, SequenceRangeError, format_flags


def rec(uid: int, flags: frozenset[str] = frozenset(), modseq: int = 1) -> MessageRecord:
    return MessageRecord(uid, f"b{uid}", f"b{uid}:2,", "cur", flags, 0.0, 10, modseq)


def no_records(uid: int) -> MessageRecord | None:
    return None


def test_mapping_and_bounds() -> None:
    v = SelectedView([5, 2, 9])
    assert list(v.uids) == [2, 5, 9]
    assert v.uid_of(1) == 2
    assert v.uid_of(3) == 9
    assert v.seq_of(5) == 2
    assert v.seq_of(4) is None
    assert v.seq_of(10) is None
    with pytest.raises(SequenceRangeError, match="Invalid messageset"):
        v.uid_of(4)
    with pytest.raises(SequenceRangeError):
        v.uid_of(0)


def test_resolve_ranges_sequence_numbers() -> None:
    v = SelectedView([10, 20, 30, 40])
    assert v.resolve_ranges([(1, 0)], uid=False) == [10, 20, 30, 40]
    assert v.resolve_ranges([(0, 3)], uid=False) == [30, 40]  # *:3 == 3:*
    assert v.resolve_ranges([(2, 2), (4, 4), (1, 2)], uid=False) == [10, 20, 40]
    with pytest.raises(SequenceRangeError, match="5"):
        v.resolve_ranges([(1, 5)], uid=False)
    with pytest.raises(SequenceRangeError):
        SelectedView([]).resolve_ranges([(1, 0)], uid=False)


def test_resolve_ranges_uids() -> None:
    v = SelectedView([10, 20, 30, 40])
    assert v.resolve_ranges([(15, 35)], uid=True) == [20, 30]
    assert v.resolve_ranges([(41, 4294967295)], uid=True) == []
    assert v.resolve_ranges([(0, 0)], uid=True) == [40]
    assert v.resolve_ranges([(50, 0)], uid=True) == [40]  # 50:* includes the last UID
    assert SelectedView([]).resolve_ranges([(1, 0)], uid=True) == []
    assert v.resolve_ranges([(30, 10), (40, 40)], uid=True) == [10, 20, 30, 40]


def test_format_flags_order() -> None:
    flags = frozenset({"\\Seen", "zz", "\\Answered", "$label", "\\Deleted"})
    assert format_flags(flags) == b"(\\Answered \\Deleted \\Seen $label zz)"
    assert format_flags(frozenset(), recent=True) == b"(\\Recent)"
    # keywords in the folder's definition order (Dovecot), unknown ones after, sorted
    order = ("zz", "Urgent", "$label")
    assert format_flags(flags | {"Urgent"}, keywords=order) == (
        b"(\\Answered \\Deleted \\Seen zz Urgent $label)"
    )
    assert format_flags(["b", "a", "$label"], True, order) == b"(\\Recent $label a b)"


def test_expunge_lines_highest_first() -> None:
    v = SelectedView(range(1, 12))
    out = v.update(SyncResult(expunged_uids=[3, 4, 7, 11]), no_records, allow_expunge=True)
    assert out == [b"* 11 EXPUNGE\r\n", b"* 7 EXPUNGE\r\n", b"* 4 EXPUNGE\r\n", b"* 3 EXPUNGE\r\n"]
    assert list(v.uids) == [1, 2, 5, 6, 8, 9, 10]


def test_expunge_many_rebuilds() -> None:
    v = SelectedView(range(1, 101))
    out = v.update(SyncResult(expunged_uids=list(range(1, 101, 2))), no_records, allow_expunge=True)
    assert len(out) == 50
    assert out[0] == b"* 99 EXPUNGE\r\n"
    assert out[-1] == b"* 1 EXPUNGE\r\n"
    assert list(v.uids) == list(range(2, 101, 2))


def test_vanished_with_qresync() -> None:
    v = SelectedView(range(1, 11), qresync=True)
    out = v.update(SyncResult(expunged_uids=[2, 3, 4, 8]), no_records, allow_expunge=True)
    assert out == [b"* VANISHED 2:4,8\r\n"]
    assert v.exists == 6


def test_deferred_expunge_still_counted_in_exists() -> None:
    v = SelectedView([1, 2, 3])
    out = v.update(SyncResult(new_uids=[4], expunged_uids=[2]), no_records, allow_expunge=False)
    assert out == [b"* 4 EXISTS\r\n"]  # RECENT only when its count changed (Dovecot)
    assert v.is_expunged(2)
    assert v.seq_of(2) == 2
    assert v.pending_expunges == {2}
    out = v.update(SyncResult(), no_records, allow_expunge=True)
    assert out == [b"* 2 EXPUNGE\r\n"]
    assert list(v.uids) == [1, 3, 4]


def test_expunge_of_unknown_uid_ignored() -> None:
    v = SelectedView([1, 2])
    assert v.update(SyncResult(expunged_uids=[7]), no_records, allow_expunge=True) == []


def test_new_and_expunged_in_one_sync_never_shown() -> None:
    v = SelectedView([1])
    out = v.update(SyncResult(new_uids=[2], expunged_uids=[2]), no_records, allow_expunge=True)
    assert out == []
    assert list(v.uids) == [1]


def test_recent_bookkeeping() -> None:
    v = SelectedView([1, 2], recent=[2, 99])
    assert v.recent_count == 1
    assert v.is_recent(2)
    assert not v.is_recent(1)
    out = v.update(SyncResult(new_uids=[3, 4], recent_uids=[3, 4]), no_records, allow_expunge=True)
    assert out == [b"* 4 EXISTS\r\n", b"* 3 RECENT\r\n"]
    out = v.update(SyncResult(expunged_uids=[3]), no_records, allow_expunge=True)
    assert out == [b"* 3 EXPUNGE\r\n", b"* 2 RECENT\r\n"]
    assert v.recent_count == 2


def test_flag_updates() -> None:
    records = {1: rec(1, frozenset({"\\Seen"}), 7), 2: rec(2, frozenset({"$x"}), 8)}
    v = SelectedView([1, 2], recent=[2])
    sync = SyncResult(changed_uids=[1, 2])
    assert v.update(sync, records.get, allow_expunge=False) == [
        b"* 1 FETCH (FLAGS (\\Seen))\r\n",
        b"* 2 FETCH (FLAGS (\\Recent $x))\r\n",
    ]
    assert v.update(sync, records.get, allow_expunge=False, uid_command=True) == [
        b"* 1 FETCH (FLAGS (\\Seen) UID 1)\r\n",
        b"* 2 FETCH (FLAGS (\\Recent $x) UID 2)\r\n",
    ]
    v.condstore = True
    out = v.update(sync, records.get, allow_expunge=False, suppress_fetch={2})
    assert out == [b"* 1 FETCH (FLAGS (\\Seen) MODSEQ (7))\r\n"]
    q = SelectedView([1, 2], qresync=True)
    assert q.update(SyncResult(changed_uids=[2]), records.get, allow_expunge=True) == [
        b"* 2 FETCH (FLAGS ($x) UID 2 MODSEQ (8))\r\n"
    ]


def test_flag_update_skips_pending_missing_and_unknown() -> None:
    records = {1: rec(1)}
    v = SelectedView([1, 2, 3])
    v.update(SyncResult(expunged_uids=[1]), records.get, allow_expunge=False)
    out = v.update(SyncResult(changed_uids=[1, 2, 9]), records.get, allow_expunge=False)
    assert out == []


def test_searchres_saved_result_loses_expunged() -> None:
    v = SelectedView([1, 2, 3, 4])
    v.save_result([4, 2, 2])
    assert v.saved_uids() == [2, 4]
    v.update(SyncResult(expunged_uids=[2]), no_records, allow_expunge=True)
    assert v.saved_uids() == [4]


def test_out_of_order_new_uid_is_inserted_sorted() -> None:
    v = SelectedView([1, 5])
    v.update(SyncResult(new_uids=[3]), no_records, allow_expunge=True)
    assert list(v.uids) == [1, 3, 5]


_LINE = re.compile(rb"\* (\d+) (EXPUNGE|EXISTS|RECENT)\r\n")


@settings(max_examples=200, deadline=None)
@given(
    initial=st.integers(0, 30),
    steps=st.lists(
        st.tuples(st.integers(0, 3), st.lists(st.integers(0, 40), max_size=6), st.booleans()),
        max_size=25,
    ),
)
def test_random_interleavings_match_a_naive_client(
    initial: int, steps: list[tuple[int, list[int], bool]]
) -> None:
    store = list(range(1, initial + 1))
    next_uid = initial + 1
    view = SelectedView(store)
    client = list(store)  # what the client believes, driven only by the responses
    for n_new, picks, allowed in steps:
        gone = sorted({store[i % len(store)] for i in picks}) if store else []
        store = [u for u in store if u not in gone]
        new = list(range(next_uid, next_uid + n_new))
        next_uid += n_new
        store += new
        out = view.update(
            SyncResult(new_uids=new, expunged_uids=gone), no_records, allow_expunge=allowed
        )
        for line in out:
            m = _LINE.fullmatch(line)
            assert m, line
            n, what = int(m.group(1)), m.group(2)
            if what == b"EXPUNGE":
                assert allowed
                removed = client.pop(n - 1)
                assert removed not in store
            elif what == b"EXISTS":
                assert n >= len(client)
                client.extend(view.uids[len(client) : n])
        assert client == list(view.uids)
        if allowed:
            assert client == store
        else:
            assert set(store) <= set(client)
            assert set(client) - set(store) == view.pending_expunges
    view.update(SyncResult(), no_records, allow_expunge=True)
    assert list(view.uids) == store


def test_timing_100k() -> None:
    uids = list(range(1, 100_001))
    t0 = time.perf_counter()
    v = SelectedView(uids)
    all_uids = v.resolve_ranges([(1, 0)], uid=False)
    by_uid = v.resolve_ranges([(1, 4294967295)], uid=True)
    t1 = time.perf_counter()
    out = v.update(SyncResult(expunged_uids=uids[::10]), no_records, allow_expunge=True)
    t2 = time.perf_counter()
    assert len(all_uids) == len(by_uid) == 100_000
    assert len(out) == 10_000
    print(f"\nview+1:* on 100k: {t1 - t0:.4f}s; 10k expunges: {t2 - t1:.4f}s")
    assert t1 - t0 < 0.5


def test_seqset_to_uids_with_parsed_sets() -> None:
    v = SelectedView([3, 6, 9, 12])
    assert v.seqset_to_uids(SequenceSet.parse(b"2:*"), uid=False) == [6, 9, 12]
    assert v.seqset_to_uids(SequenceSet.parse(b"*:7,3"), uid=True) == [3, 9, 12]
    assert v.seqset_to_uids(SequenceSet.parse(b"1:4294967295"), uid=True) == [3, 6, 9, 12]
    with pytest.raises(SequenceRangeError):
        v.seqset_to_uids(SequenceSet.parse(b"1:4294967295"), uid=False)
    v.save_result([12, 3])
    assert v.seqset_to_uids(SequenceSet.parse(b"$"), uid=False) == [3, 12]
