"""dovecot-uidlist: Dovecot's files read back exactly, versions 1 and 3, corruption, speed."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

from vmail.mailstore.errors import CorruptFileError
from vmail.mailstore.uidlist import (
    UidEntry,
    UidList,
    append_uidlist,
    format_uidlist,
    new_guid,
    new_uidvalidity,
    read_uidlist,
    write_uidlist,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_reads_dovecot_file_and_writes_it_back_identically(tmp_path: Path) -> None:
    original = (FIXTURES / "dovecot-uidlist").read_text()
    uidlist = read_uidlist(FIXTURES / "dovecot-uidlist")
    assert uidlist is not None
    # Dovecot appended UID 3 without rewriting the header (N3): next_uid follows the records.
    assert (uidlist.uidvalidity, uidlist.next_uid) == (1795781573, 4)
    assert uidlist.guid == "81ebe517c373096b3f33000083ecc375"
    assert uidlist.entries[3] == UidEntry("1795781600.M1P1.vm", {})
    target = tmp_path / "dovecot-uidlist"
    write_uidlist(target, uidlist)
    assert target.read_text() == original.replace(" N3 ", " N4 ", 1)
    assert [p.name for p in tmp_path.iterdir()] == ["dovecot-uidlist"]


def test_missing_file_is_none(tmp_path: Path) -> None:
    assert read_uidlist(tmp_path / "dovecot-uidlist") is None


def test_extension_fields_are_kept(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-uidlist"
    text = f"3 V7 N20 G{'a' * 32} Xfuture\n1 W120 Gabc :one,S=100\n5  :five\n7 :seven:2,S\n"
    path.write_text(text)
    uidlist = read_uidlist(path)
    assert uidlist is not None
    assert uidlist.header_extra == {"X": "future"}
    assert uidlist.entries[1] == UidEntry("one,S=100", {"W": "120", "G": "abc"})
    assert uidlist.entries[5].base == "five"
    assert uidlist.entries[7].base == "seven:2,S"  # old Dovecot kept flags; key is the base
    write_uidlist(path, uidlist)
    assert read_uidlist(path) == uidlist
    assert path.read_text().splitlines()[:2] == [
        f"3 V7 N20 G{'a' * 32} Xfuture",
        "1 W120 Gabc :one,S=100",
    ]


def test_version_1(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-uidlist"
    path.write_text("1 1100000000 5\n1 1100000000.1.host:2,S\n4 1100000001.2.host\n")
    uidlist = read_uidlist(path)
    assert uidlist is not None
    assert (uidlist.uidvalidity, uidlist.next_uid, uidlist.guid) == (1100000000, 5, "")
    assert uidlist.entries[4].base == "1100000001.2.host"
    write_uidlist(path, uidlist)
    assert path.read_text().startswith("3 V1100000000 N5\n1 :1100000000.1.host:2,S\n")


def test_next_uid_never_below_last_uid(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-uidlist"
    path.write_text("3 V1 N2\n9 :x\n")
    uidlist = read_uidlist(path)
    assert uidlist is not None
    assert uidlist.next_uid == 10


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("", 0),
        ("2 V1 N1\n", 1),
        ("3 V0 N1\n", 1),
        ("3 Vx N1\n", 1),
        ("3 N1\n", 1),
        ("3 V1 N1 Gnothex\n", 1),
        ("1 1\n", 1),
        ("3 V1 N5\n1 :a\n1 :b\n", 3),
        ("3 V1 N5\n2 :a\n1 :b\n", 3),
        ("3 V1 N5\nx :a\n", 2),
        ("3 V1 N5\n0 :a\n", 2),
        ("3 V1 N5\n1 :\n", 2),
        ("3 V1 N5\n1 W1\n", 2),
        ("3 V1 N5\n1 w1 :a\n", 2),
        ("3 V1 N5\n1 :a\n2 :../../etc/passwd\n", 3),
        ("3 V1 N5\n4294967295 :a\n", 2),
    ],
)
def test_corrupt_files(tmp_path: Path, text: str, line: int) -> None:
    path = tmp_path / "dovecot-uidlist"
    path.write_text(text)
    with pytest.raises(CorruptFileError) as info:
        read_uidlist(path)
    assert info.value.line == line
    assert str(path) in str(info.value)


def test_invalid_utf8_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-uidlist"
    path.write_bytes(b"3 V1 N5\n1 :caf\xe9\n")
    uidlist = read_uidlist(path)
    assert uidlist is not None
    write_uidlist(path, uidlist)
    assert path.read_bytes() == b"3 V1 N5\n1 :caf\xe9\n"


def test_new_values() -> None:
    # The clock, or ahead of it when this process already took values this second.
    assert -5 < new_uidvalidity() - time.time() < 600
    guid = new_guid()
    assert len(guid) == 32
    assert int(guid, 16) >= 0


def test_100k_entries_round_trip_quickly(tmp_path: Path) -> None:
    entries = {
        uid: UidEntry(f"17957815{uid:02}.M{uid}P1.vm,S=31,W=34", {}) for uid in range(1, 100_001)
    }
    uidlist = UidList(new_uidvalidity(), 100_001, new_guid(), entries)
    path = tmp_path / "dovecot-uidlist"
    start = time.perf_counter()
    write_uidlist(path, uidlist)
    written = time.perf_counter()
    assert read_uidlist(path) == uidlist
    done = time.perf_counter()
    # Generous bound for a loaded CI machine; typically far less (see the report).
    assert written - start < 2
    assert done - written < 2
    assert format_uidlist(uidlist).count("\n") == 100_001


def test_rewrite_during_read_sees_whole_file(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-uidlist"
    shutil.copy(FIXTURES / "dovecot-uidlist", path)
    first = read_uidlist(path)
    assert first is not None
    first.entries[4] = UidEntry("new", {})
    first.next_uid = 5
    write_uidlist(path, first)
    again = read_uidlist(path)
    assert again is not None
    assert list(again.entries) == [1, 2, 3, 4]


def test_file_dovecot_rewrote_after_we_wrote_it() -> None:
    """Dovecot accepted a file written here, kept its W field and appended UID 10."""
    uidlist = read_uidlist(FIXTURES / "dovecot-uidlist-ext")
    assert uidlist is not None
    assert (uidlist.uidvalidity, uidlist.next_uid) == (12345, 11)
    assert uidlist.entries[8].extra == {"W": "21"}
    assert list(uidlist.entries) == [7, 8, 10]


def test_append_adds_records_and_readers_take_the_next_uid_from_them(tmp_path: Path) -> None:
    path = tmp_path / "dovecot-uidlist"
    write_uidlist(path, UidList(7, 3, "", {1: UidEntry("a"), 2: UidEntry("b")}))
    assert append_uidlist(path, [(3, UidEntry("c")), (4, UidEntry("d", {"W": "10"}))])
    assert path.read_text() == "3 V7 N3\n1 :a\n2 :b\n3 :c\n4 W10 :d\n"  # header untouched
    uidlist = read_uidlist(path)
    assert uidlist is not None
    assert uidlist.next_uid == 5
    assert [e.base for e in uidlist.entries.values()] == ["a", "b", "c", "d"]


@pytest.mark.parametrize(
    "text",
    [
        "1 7 3\n1 a\n",  # version 1 (Courier): rewritten in version 3 instead
        "3 V7 N3\n1 :a\n2 :b",  # a last line cut short: appending would glue onto it
    ],
)
def test_append_refuses_files_it_cannot_extend(tmp_path: Path, text: str) -> None:
    path = tmp_path / "dovecot-uidlist"
    path.write_text(text)
    assert not append_uidlist(path, [(3, UidEntry("c"))])
    assert path.read_text() == text
    assert not append_uidlist(tmp_path / "missing", [(1, UidEntry("a"))])


@pytest.mark.parametrize(
    ("text", "bases"),
    [
        ("3 V7 N3\n1 :a\n2", ["a"]),  # torn inside the UID: dropped
        ("3 V7 N3\n1 :a\n2 :b", ["a", "b"]),  # only the LF missing: a whole record
        ("3 V7 N3\n1 :a\n1 :b", ["a"]),  # not after the last UID: dropped
    ],
)
def test_a_torn_last_line_is_never_corruption(tmp_path: Path, text: str, bases: list[str]) -> None:
    path = tmp_path / "dovecot-uidlist"
    path.write_text(text)
    uidlist = read_uidlist(path)
    assert uidlist is not None
    assert [e.base for e in uidlist.entries.values()] == bases
