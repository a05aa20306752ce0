"""Folder: UIDs, flags, external changes, appends, copies, expunges, concurrency."""

from __future__ import annotations

import collections
import gc
import multiprocessing
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from vmail.mailstore import folder as folder_module
from vmail.mailstore import scan
from vmail.mailstore.access_errors import MessageGoneError
from vmail.mailstore.folder import Folder, open_folder
from vmail.mailstore.index import INDEX_NAME, FolderIndex
from vmail.mailstore.message import SUMMARY_VERSION, envelope_summary
from vmail.mailstore.uidlist import read_uidlist

MSG = b"Subject: hello\r\nFrom: a@example.com\r\n\r\nbody\r\n"


def make_maildir(path: Path) -> Path:
    for sub in ("cur", "new", "tmp"):
        (path / sub).mkdir(parents=True, exist_ok=True)
    return path


def drop(path: Path, name: str, data: bytes = b"Subject: x\n\nbody\n", sub: str = "new") -> None:
    (path / sub / name).write_bytes(data)


def test_new_files_get_uids_and_move_to_cur(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    drop(md, "1.M1P1.host")
    drop(md, "2.M1P1.host")
    folder = Folder(md)
    result = folder.sync()
    assert [m.uid for m in folder.messages] == [1, 2]
    assert folder.uidnext == 3
    assert sorted(os.listdir(md / "cur")) == ["1.M1P1.host:2,", "2.M1P1.host:2,"]
    assert os.listdir(md / "new") == []
    assert folder.messages[0].size == len(b"Subject: x\r\n\r\nbody\r\n")
    uidlist = read_uidlist(md / "dovecot-uidlist")
    assert uidlist is not None
    assert uidlist.next_uid == 3
    assert result.new_uids == [] or result.new_uids == [1, 2]
    drop(md, "3.M1P1.host")
    assert folder.sync().new_uids == [3]
    assert folder.sync().new_uids == []


def test_external_changes_are_picked_up(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    for i in range(3):
        drop(md, f"{i}.M1P1.host:2,", sub="cur")
    folder = Folder(md)
    folder.sync()
    before = folder.highestmodseq
    os.rename(md / "cur" / "0.M1P1.host:2,", md / "cur" / "0.M1P1.host:2,FS")
    os.unlink(md / "cur" / "1.M1P1.host:2,")
    drop(md, "9.M1P1.host")
    result = folder.sync()
    assert result.changed_uids == [1]
    assert result.expunged_uids == [2]
    assert result.new_uids == [4]
    rec = folder.by_uid(1)
    assert rec is not None
    assert rec.flags == {"\\Seen", "\\Flagged"}
    assert rec.modseq > before
    assert folder.by_uid(2) is None


def test_store_flags_and_keywords(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    folder = Folder(md)
    uid = folder.append(MSG, ["\\Seen"])
    folder.sync()
    rec = folder.by_uid(uid)
    assert rec is not None
    assert rec.flags == {"\\Seen"}
    res = folder.store([uid], "add", ["$Junk", "\\Flagged", "\\Recent"])
    assert [r.uid for r in res.changed] == [uid]
    assert rec.flags == {"\\Seen", "\\Flagged", "$Junk"}
    assert rec.filename.endswith(":2,FSa")
    assert (md / "dovecot-keywords").read_text() == "0 $Junk\n"
    modseq = rec.modseq
    assert folder.store([uid], "add", ["\\Seen"]).changed == []
    assert rec.modseq == modseq
    res = folder.store([uid], "remove", ["\\Seen"], unchangedsince=modseq - 1)
    assert res.failed_modified == [uid]
    assert rec.flags == {"\\Seen", "\\Flagged", "$Junk"}
    folder.store([uid], "set", [])
    assert rec.filename.endswith(":2,")
    assert rec.flags == frozenset()
    assert folder.sync().changed_uids == []  # our own renames are not reported again


def test_read_follows_renames_and_reports_gone(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    folder = Folder(md)
    uid = folder.append(MSG)
    folder.sync()
    rec = folder.by_uid(uid)
    assert rec is not None
    os.rename(md / "cur" / rec.filename, md / "cur" / (rec.base + ":2,S"))
    assert folder.read(uid) == MSG
    os.unlink(md / "cur" / (rec.base + ":2,S"))
    with pytest.raises(MessageGoneError):
        folder.read(uid)


def test_append_copy_expunge(tmp_path: Path) -> None:
    src = Folder(make_maildir(tmp_path / "a"))
    dst = Folder(make_maildir(tmp_path / "b"))
    uids = src.append_many([(MSG, ["\\Seen"], 1_000_000.0), (MSG, ["\\Deleted"], None)])
    assert uids == [1, 2]
    src.sync()
    assert src.by_uid(1).internaldate == 1_000_000.0  # type: ignore[union-attr]
    assert src.copy([1, 2], dst) == [(1, 1), (2, 2)]
    dst.sync()
    assert [m.flags for m in dst.messages] == [{"\\Seen"}, {"\\Deleted"}]
    assert dst.by_uid(1).internaldate == 1_000_000.0  # type: ignore[union-attr]
    assert src.expunge([1]) == []
    assert src.expunge() == [2]
    assert [m.uid for m in src.messages] == [1]
    assert len(os.listdir(src.directory / "cur")) == 1
    assert src.sync().expunged_uids == []


def test_quota_file_updated(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    (md / "maildirsize").write_text("0S\n0 0\n")
    folder = Folder(md)
    folder.append(MSG)
    assert (md / "maildirsize").read_text().splitlines()[-1] == f"{len(MSG)} 1"


def test_corrupt_index_is_rebuilt(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    folder = Folder(md)
    folder.append(MSG, ["\\Seen"])
    folder.sync()
    modseq = folder.highestmodseq
    folder.close()
    (md / INDEX_NAME).write_bytes(b"garbage" * 1000)
    again = Folder(md)
    assert [(m.uid, m.flags) for m in again.messages] == [(1, {"\\Seen"})]
    assert again.highestmodseq >= modseq


def test_index_keeps_state_across_instances(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    folder = Folder(md)
    folder.append(MSG)
    folder.sync()
    folder.store([1], "add", ["\\Seen"])
    modseq = folder.by_uid(1).modseq  # type: ignore[union-attr]
    folder.close()
    again = Folder(md)
    assert again.messages[0].modseq == modseq


def test_summaries_cached(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    folder = Folder(md)
    folder.append(MSG)
    folder.sync()
    first = dict(folder.summaries([1, 99]))
    assert list(first) == [1]
    assert dict(folder.summaries([1])) == first
    assert list(folder.envelopes([1])) == [1]


def test_open_folder_shares_objects(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    a = open_folder(md)
    assert open_folder(md) is a


def test_listeners_get_changes(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    folder = Folder(md)
    folder.sync()
    seen = []
    stop = folder.listen(seen.append)
    folder.append(MSG, ["\\Deleted"])
    folder.sync()
    folder.expunge()
    stop()
    assert next(r.new_uids for r in seen) == [1]
    assert seen[-1].expunged_uids == [1]


def _append_many(path: str, count: int) -> None:
    folder = Folder(Path(path))
    for _ in range(count):
        folder.append(MSG)


def _check_thousand(md: Path) -> None:
    uidlist = read_uidlist(md / "dovecot-uidlist")
    assert uidlist is not None
    assert len(uidlist.entries) == 1000
    assert [m.uid for m in Folder(md).messages] == list(range(1, 1001))


def test_concurrent_appends_in_threads(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    threads = [threading.Thread(target=_append_many, args=(str(md), 500)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_thousand(md)


def test_concurrent_appends_in_processes(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_append_many, args=(str(md), 500)) for _ in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    _check_thousand(md)


@pytest.mark.parametrize("parallel_min", [2000, 10])
def test_first_sync_reads_each_unsized_file_once_for_size_envelope_and_subject(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel_min: int
) -> None:
    monkeypatch.setattr(scan, "PARALLEL_MIN", parallel_min)  # 10: through worker processes
    md = make_maildir(tmp_path)
    for n in range(40):
        data = b"From: a%d@example.org\nSubject: no. %d\n\nbody\n" % (n, n)
        drop(md, f"{n}.M1P1.host", data, sub="new" if n % 2 else "cur")
    folder = Folder(md)
    folder.sync()
    assert [m.uid for m in folder.messages] == list(range(1, 41))
    for rec in folder.messages:
        data = (md / rec.subdir / rec.filename).read_bytes()
        assert rec.size == len(data) + data.count(b"\n")
    cached = FolderIndex(md).summary_blobs(list(range(1, 41)), SUMMARY_VERSION, "envelope")
    assert len(cached) == 40  # the envelopes came with the sizes: FETCH reads no file
    subjects = folder.subjects([1, 2])
    assert sorted(subjects.values()) == sorted(
        f"no. {name.split('.')[0]}" for name in (folder.messages[0].base, folder.messages[1].base)
    )
    assert folder.envelopes([40])[40] == envelope_summary(
        (md / folder.messages[39].subdir / folder.messages[39].filename).read_bytes()
    )


def test_new_messages_of_one_sync_share_a_modseq(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host")
    folder = Folder(md)
    folder.sync()
    assert len({rec.modseq for rec in folder.messages}) == 1  # as one Dovecot transaction
    drop(md, "9.M1P1.host")
    folder.sync()
    rec = folder.by_uid(4)
    assert rec is not None
    assert rec.modseq > folder.messages[0].modseq


KeepBack = Callable[[int], None]


@pytest.fixture
def keep_back(monkeypatch: pytest.MonkeyPatch) -> KeepBack:
    """Have syncs keep back envelopes (and new/ files) from ``n`` on, for later than the
    test lasts (it calls what the timer would)."""
    monkeypatch.setattr(folder_module, "_WRITE_BEHIND_AFTER", 60.0)
    return lambda n: monkeypatch.setattr(folder_module, "_WRITE_BEHIND_FROM", n)


def _count_listings(folder: Folder, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    scan_dirs = folder._scan

    def counted() -> dict[str, tuple[str, str]]:
        calls.append(1)
        return scan_dirs()

    monkeypatch.setattr(folder, "_scan", counted)
    return calls


def test_own_moves_from_new_do_not_make_the_next_sync_list_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_module, "_WAIT_FROM", 1)  # "a big folder"
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host")
    folder = Folder(md)
    listings = _count_listings(folder, monkeypatch)
    folder.sync()
    first = len(listings)
    assert os.listdir(md / "new") == []
    assert folder.sync().new_uids == []
    assert len(listings) == first  # the renames came before the listing: nothing to look at
    drop(md, "9.M1P1.host")  # but a change after it is seen
    assert folder.sync().new_uids == [4]
    assert len(listings) == first + 1


def test_whole_second_mtimes_wait_a_second_before_trusting_a_listing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = make_maildir(tmp_path)
    drop(md, "1.M1P1.host:2,", sub="cur")
    folder = Folder(md)
    listings = _count_listings(folder, monkeypatch)
    now = int(time.time())
    for sub in ("cur", "new"):  # a file system with mtimes in whole seconds
        os.utime(md / sub, ns=(now * 10**9, now * 10**9))
    folder.sync()
    first = len(listings)
    folder.sync()  # changed less than a second before the listing: could change unseen
    assert len(listings) == first + 1
    for sub in ("cur", "new"):
        os.utime(md / sub, ns=((now - 5) * 10**9, (now - 5) * 10**9))
    folder.sync()
    folder.sync()
    assert len(listings) == first + 2


@pytest.mark.parametrize("parallel", [False, True])
def test_a_first_open_moves_and_reads_new_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parallel: bool
) -> None:
    if parallel:
        monkeypatch.setattr(scan, "PARALLEL_MIN", 10)
        monkeypatch.setattr(scan, "CHUNK", 7)
    md = make_maildir(tmp_path)
    for n in range(40):
        drop(md, f"{n:02}.M1P1.host", b"Subject: no. %d\n\n%s\n" % (n, b"x\n" * n), sub="new")
        drop(md, f"{n:02}.M2P1.host:2,S", b"Subject: cur %d\n\nbody\n" % n, sub="cur")
    folder = Folder(md)
    assert len(folder.sync().new_uids) == 80
    assert os.listdir(md / "new") == []
    for rec in folder.messages:
        assert rec.subdir == "cur"
        data = (md / "cur" / rec.filename).read_bytes()
        assert rec.size == len(data) + data.count(b"\n")
        assert folder.envelopes([rec.uid])[rec.uid] == envelope_summary(data)


def _synced_keeping_back(tmp_path: Path, keep_back: KeepBack) -> tuple[Path, Folder]:
    """A folder of four messages after a sync that kept their rows and envelopes back."""
    keep_back(3)
    md = make_maildir(tmp_path)
    for n in range(4):
        drop(md, f"{n}.M1P1.host:2,", b"Subject: no. %d\n\nbody\n" % n, sub="cur")
    folder = Folder(md)
    folder.sync()
    return md, folder


def test_many_envelopes_are_indexed_after_the_sync(tmp_path: Path, keep_back: KeepBack) -> None:
    md, folder = _synced_keeping_back(tmp_path, keep_back)
    index = FolderIndex(md)
    assert index.summary_blobs([1, 2, 3, 4], SUMMARY_VERSION, "envelope") == {}  # not yet
    assert folder.subjects([1, 4]) == {1: "no. 0", 4: "no. 3"}  # from memory meanwhile
    folder.store([2], "add", ["\\Deleted"])
    assert folder.expunge() == [2]
    folder.close()  # indexes what was kept back (else a timer does, after a while)
    assert folder._write_behind is None  # (a later sync may set a new one)
    assert sorted(index.summary_blobs([1, 2, 3, 4], SUMMARY_VERSION, "subject").items()) == [
        (1, "no. 0"),
        (3, "no. 2"),
        (4, "no. 3"),
    ]
    index.close()


def test_the_rows_of_many_new_messages_are_indexed_after_the_sync(
    tmp_path: Path, keep_back: KeepBack
) -> None:
    md, folder = _synced_keeping_back(tmp_path, keep_back)
    index = FolderIndex(md)
    state = index.load(folder.uidvalidity)
    assert state is not None
    assert state.rows == []  # not yet
    folder.store([3], "add", ["\\Flagged"])  # written now, and as it is then later
    folder.store([2], "add", ["\\Deleted"])
    assert folder.expunge() == [2]
    folder.close()
    state = index.load(folder.uidvalidity)
    assert state is not None
    assert [(row[0], row[5]) for row in state.rows] == [(1, ""), (3, "\\Flagged"), (4, "")]
    index.close()
    again = Folder(md)
    again.sync()
    assert [(r.uid, r.size, r.flags) for r in again.messages] == [
        (r.uid, r.size, r.flags) for r in folder.messages
    ]
    again.close()


def test_rows_kept_back_by_a_process_that_died_are_read_again(
    tmp_path: Path, keep_back: KeepBack
) -> None:
    md, folder = _synced_keeping_back(tmp_path, keep_back)
    folder._rows_behind.clear()  # as if the process had died before the catch-up
    folder._unindexed.clear()
    again = Folder(md)
    assert again.sync().new_uids == [1, 2, 3, 4]
    assert [(r.uid, r.filename, r.size) for r in again.messages] == [
        (r.uid, r.filename, r.size) for r in folder.messages
    ]
    again.close()
    folder.close()


def test_envelopes_kept_back_are_indexed_at_exit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, keep_back: KeepBack
) -> None:
    keep_back(2)
    monkeypatch.setattr(folder_module, "_kept", collections.OrderedDict())
    md = make_maildir(tmp_path)
    for n in range(2):
        drop(md, f"{n}.M1P1.host:2,", sub="cur")
    folder = open_folder(md)
    folder.sync()
    folder_module._index_kept_back()  # what atexit runs
    index = FolderIndex(md)
    assert len(index.summary_blobs([1, 2], SUMMARY_VERSION, "envelope")) == 2
    index.close()
    folder.close()


def test_envelopes_of_files_named_with_their_size_are_read_ahead_for_a_big_fetch(
    tmp_path: Path, keep_back: KeepBack
) -> None:
    keep_back(3)
    md = make_maildir(tmp_path)
    for n in range(5):  # named as Dovecot names them: the sync need not read them
        data = b"Subject: no. %d\n\nbody\n" % n
        drop(md, f"{n}.M1P1.host,S={len(data)},W={len(data) + 3}:2,", data, sub="cur")
    folder = Folder(md)
    folder.sync()
    assert folder._unindexed == {}
    folder.subjects([1, 2])  # two now cached in the index: those are not read again
    folder.read_envelopes_ahead([1, 2, 3, 4, 5])
    assert sorted(folder._unindexed) == [3, 4, 5]
    assert folder.envelopes([5]) == {5: envelope_summary(b"Subject: no. 4\n\nbody\n")}
    folder.read_envelopes_ahead([1, 2, 3, 4, 5])  # nothing left to read
    assert sorted(folder._unindexed) == [3, 4, 5]
    folder.close()
    assert FolderIndex(md).summarized([1, 2, 3, 4, 5, 6], SUMMARY_VERSION) == {1, 2, 3, 4, 5}


def test_a_first_sync_without_index_moves_many_new_files_after_it(
    tmp_path: Path, keep_back: KeepBack
) -> None:
    keep_back(3)
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host", b"Subject: no. %d\n\nbody\n" % n)
    drop(md, "9.M1P1.host:2,S", sub="cur")
    folder = Folder(md)
    heard: list[object] = []
    folder.listen(heard.append)
    assert folder.sync().new_uids == [1, 2, 3, 4]
    assert len(os.listdir(md / "new")) == 3  # not yet: the scan went first
    assert {rec.subdir for rec in folder.messages} == {"new", "cur"}
    heard.clear()
    folder._catch_up()  # what the timer runs
    assert os.listdir(md / "new") == []
    assert [(rec.subdir, rec.filename) for rec in folder.messages] == [
        ("cur", "0.M1P1.host:2,"),
        ("cur", "1.M1P1.host:2,"),
        ("cur", "2.M1P1.host:2,"),
        ("cur", "9.M1P1.host:2,S"),
    ]
    assert heard == []  # nothing a client sees changed
    assert folder.subjects([3]) == {3: "no. 2"}
    folder.close()
    again = Folder(md)  # the index has the new names
    again.sync()
    assert [(rec.uid, rec.subdir) for rec in again.messages] == [(n, "cur") for n in (1, 2, 3, 4)]
    again.close()


def test_a_catch_up_after_the_folder_went_gives_up_quietly(
    tmp_path: Path, keep_back: KeepBack
) -> None:
    keep_back(3)
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host")
    folder = Folder(md)
    folder.sync()
    assert folder._move_later
    shutil.rmtree(md)  # deleted (or renamed) by another process before the timer ran
    folder._catch_up()
    assert folder._write_behind is None
    assert not folder._move_later
    folder.close()


def test_the_envelopes_kept_back_are_indexed_by_a_timer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_module, "_WRITE_BEHIND_FROM", 2)
    monkeypatch.setattr(folder_module, "_WRITE_BEHIND_AFTER", 0.01)
    monkeypatch.setattr(folder_module, "_WRITE_BEHIND_CHUNK", 2)
    md = make_maildir(tmp_path)
    for n in range(5):
        drop(md, f"{n}.M1P1.host:2,", sub="cur")
    folder = Folder(md)
    folder.sync()
    index = FolderIndex(md)
    deadline = time.monotonic() + 10
    while len(index.summary_blobs([1, 2, 3, 4, 5], SUMMARY_VERSION, "envelope")) < 5:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert folder._unindexed == {}
    index.close()
    folder.close()


def test_files_not_read_ahead_are_read_late(tmp_path: Path) -> None:
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host:2,S", b"Subject: no. %d\n\nbody\n" % n, sub="cur")
    folder = Folder(md)
    folder.sync()
    old_validity = folder.uidvalidity
    (md / "dovecot-uidlist").unlink()  # a new UIDVALIDITY: the view is rebuilt after the
    result = folder.sync()  # read-ahead, which skipped the files the old view knew
    assert folder.uidvalidity != old_validity
    assert sorted(result.new_uids) == [1, 2, 3]
    for rec in folder.messages:
        data = (md / rec.subdir / rec.filename).read_bytes()
        assert rec.size == len(data) + data.count(b"\n")
    assert sorted(folder.subjects([1, 2, 3]).values()) == ["no. 0", "no. 1", "no. 2"]


def test_a_file_gone_before_it_is_read_is_left_to_the_next_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host:2,", sub="cur")
    folder = Folder(md)
    real_scan = folder_module.scan_chunks

    def scan_after_removal(paths: list[str], sizes: bool) -> object:
        if len(paths) == 3:  # (not when it is looked for again)
            os.unlink(paths[1])  # expunged by another process between listing and reading
        return real_scan(paths, sizes)

    monkeypatch.setattr(folder_module, "scan_chunks", scan_after_removal)
    folder.sync()
    assert [rec.base for rec in folder.messages] == ["0.M1P1.host", "2.M1P1.host"]
    monkeypatch.undo()
    assert folder.sync().expunged_uids == []  # it never was in the view


def test_the_last_folders_opened_stay_loaded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_module, "_kept", collections.OrderedDict())
    monkeypatch.setattr(folder_module, "KEEP_FOLDERS", 2)
    paths = [make_maildir(tmp_path / name) for name in ("a", "b", "c")]
    ids = [id(open_folder(path)) for path in paths[:2]]  # nobody holds them
    gc.collect()
    assert id(open_folder(paths[0])) == ids[0]  # kept: an APPEND does not load it again
    open_folder(paths[2])  # a third: the least recently opened (b) is let go
    gc.collect()
    assert list(folder_module._kept) == [str(paths[0]), str(paths[2])]


def test_folders_kept_are_bounded_by_their_messages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(folder_module, "_kept", collections.OrderedDict())
    monkeypatch.setattr(folder_module, "KEEP_MESSAGES", 3)
    big, small = make_maildir(tmp_path / "big"), make_maildir(tmp_path / "small")
    for n in range(3):
        drop(big, f"{n}.M1P1.host")
    open_folder(big).sync()
    open_folder(small)  # 3 + 0 messages: both kept
    assert len(folder_module._kept) == 2
    drop(small, "9.M1P1.host")
    open_folder(small).sync()
    open_folder(small)  # 3 + 1 > 3: the big one goes first
    assert list(folder_module._kept) == [str(small)]


def test_new_uids_are_appended_to_a_big_uidlist_until_records_must_go(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    md = make_maildir(tmp_path)
    for n in range(3):
        drop(md, f"{n}.M1P1.host")
    folder = Folder(md)
    folder.sync()
    header = (md / "dovecot-uidlist").read_text().splitlines()[0]
    assert header.split(" ")[2] == "N4"  # a small file is rewritten
    monkeypatch.setattr(folder_module, "_APPEND_FROM", 3)  # "a big file"
    folder.append(MSG, [])
    drop(md, "7.M1P1.host")
    folder.sync()
    lines = (md / "dovecot-uidlist").read_text().splitlines()
    assert lines[0] == header  # appended, as Dovecot does: the header keeps N4
    assert [line.split(" ")[0] for line in lines[1:]] == ["1", "2", "3", "4", "5"]
    os.unlink(md / "cur" / "0.M1P1.host:2,")
    assert folder.sync().expunged_uids == [1]
    drop(md, "8.M1P1.host")
    folder.sync()  # the expunged file's record goes: a rewrite
    lines = (md / "dovecot-uidlist").read_text().splitlines()
    assert lines[0].split(" ")[2] == "N7"
    assert [line.split(" ")[0] for line in lines[1:]] == ["2", "3", "4", "5", "6"]
