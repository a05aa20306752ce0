"""FolderIndex: a cache that is dropped, never trusted, when wrong."""

from __future__ import annotations

from pathlib import Path

from vmail.mailstore.index import INDEX_NAME, FolderIndex, fresh_modseq


def test_roundtrip_and_uidvalidity_mismatch(tmp_path: Path) -> None:
    index = FolderIndex(tmp_path)
    assert index.load(7) is None
    index.rebuild(7, 100, 1, [(1, "a:2,S", "cur", 10, 1.5, "\\Seen", 100)])
    state = index.load(7)
    assert state is not None
    assert state.highest_modseq == 100
    assert state.rows == [(1, "a:2,S", "cur", 10, 1.5, "\\Seen", 100)]
    assert index.load(8) is None


def test_garbage_file_means_rebuild(tmp_path: Path) -> None:
    (tmp_path / INDEX_NAME).write_bytes(b"\x00garbage" * 500)
    index = FolderIndex(tmp_path)
    assert index.load(1) is None
    index.rebuild(1, fresh_modseq(), 1, [])
    assert index.load(1) is not None


def test_summary_version_change_drops_cache(tmp_path: Path) -> None:
    index = FolderIndex(tmp_path)
    index.rebuild(1, 5, 1, [])
    assert index.summary_blobs([1], 1) == {}
    index.put_summaries([(1, b"env", b"data", "subject")])
    assert index.summary_blobs([1], 1) == {1: b"data"}
    assert index.summary_blobs([1], 1, "envelope") == {1: b"env"}
    assert index.summary_blobs([1], 2) == {}
    assert not (tmp_path / f"{INDEX_NAME}-wal").exists()
