"""Dovecot's UIDVALIDITY allocator (``dovecot-uidvalidity`` and its marker file)."""

from __future__ import annotations

import time
from pathlib import Path

from vmail.mailstore.uidlist import new_uidvalidity
from vmail.mailstore.uidvalidity import UIDVALIDITY_FILE, fallback_uidvalidity, next_uidvalidity


def test_without_a_root_never_twice_the_same() -> None:
    values = [new_uidvalidity() for _ in range(5)]
    assert values == sorted(set(values))
    assert -5 < values[0] - time.time() < 600  # ahead once this second's values are taken


def test_first_value_creates_the_file_and_marker(tmp_path: Path) -> None:
    value = next_uidvalidity(tmp_path)
    assert (tmp_path / UIDVALIDITY_FILE).read_text() == f"{value:08x}"
    assert (tmp_path / f"{UIDVALIDITY_FILE}.{value:08x}").exists()


def test_each_value_follows_the_last(tmp_path: Path) -> None:
    first = new_uidvalidity(tmp_path)
    assert [next_uidvalidity(tmp_path) for _ in range(3)] == [first + 1, first + 2, first + 3]
    markers = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(UIDVALIDITY_FILE))
    assert markers == [UIDVALIDITY_FILE, f"{UIDVALIDITY_FILE}.{first + 3:08x}"]


def test_continues_from_a_dovecot_written_pair(tmp_path: Path) -> None:
    # As Dovecot 2.3 leaves them in a Maildir root.
    (tmp_path / UIDVALIDITY_FILE).write_text("6b0979fa")
    (tmp_path / f"{UIDVALIDITY_FILE}.6b0979fa").touch()
    assert next_uidvalidity(tmp_path) == 0x6B0979FB
    assert (tmp_path / f"{UIDVALIDITY_FILE}.6b0979fb").exists()


def test_stale_file_or_missing_marker_rescans(tmp_path: Path) -> None:
    (tmp_path / UIDVALIDITY_FILE).write_text("00000001")  # far behind the markers
    (tmp_path / f"{UIDVALIDITY_FILE}.00000020").touch()
    (tmp_path / f"{UIDVALIDITY_FILE}.00000015").touch()
    assert next_uidvalidity(tmp_path) == 0x21
    assert not (tmp_path / f"{UIDVALIDITY_FILE}.00000015").exists()
    (tmp_path / UIDVALIDITY_FILE).write_text("garbage!")
    assert next_uidvalidity(tmp_path) == 0x22


def test_an_unusable_root_falls_back_to_the_clock(tmp_path: Path) -> None:
    value = next_uidvalidity(tmp_path / "missing")
    assert value > fallback_uidvalidity() - 5
