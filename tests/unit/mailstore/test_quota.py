"""maildirsize: Dovecot's file, appends, recalculation rules and counting."""

from __future__ import annotations

from pathlib import Path

import pytest

from vmail.mailstore.quota import (
    MaildirSize,
    append_usage,
    needs_recalc,
    read_maildirsize,
    recalculate,
)

FIXTURES = Path(__file__).parent / "fixtures"


def test_reads_dovecot_file() -> None:
    size = read_maildirsize(FIXTURES / "maildirsize")
    assert size == MaildirSize(1048576, 100, 63, 3, 5, 33)
    assert not needs_recalc(size, 1048576, 100)
    assert needs_recalc(size, 2048, 100)
    assert needs_recalc(None, None, None)


def test_append_and_read(tmp_path: Path) -> None:
    path = tmp_path / "maildirsize"
    assert not append_usage(path, 10, 1)
    assert not path.exists()
    path.write_text("1000S\n0 0\n")
    assert append_usage(path, 10, 1)
    assert append_usage(path, -4, -1)
    size = read_maildirsize(path)
    assert size == MaildirSize(1000, None, 6, 0, 4, len("1000S\n0 0\n10 1\n-4 -1\n"))


@pytest.mark.parametrize(
    "text", ["", "100S", "100X\n0 0\n", "100S\n1\n", "100S\nx y\n", "100S\n1 1\n2 2"]
)
def test_unusable_file_means_recalculate(tmp_path: Path, text: str) -> None:
    path = tmp_path / "maildirsize"
    path.write_text(text)
    assert read_maildirsize(path) is None


def test_big_file_or_negative_needs_recalc(tmp_path: Path) -> None:
    path = tmp_path / "maildirsize"
    path.write_text("\n" + "1 1\n" * 2000)
    size = read_maildirsize(path)
    assert size is not None
    assert size.storage_limit is None
    assert size.count_limit is None
    assert needs_recalc(size, None, None)
    path.write_text("\n-5 0\n")
    assert needs_recalc(read_maildirsize(path), None, None)


def test_recalculate_counts_all_folders(tmp_path: Path) -> None:
    for folder in (tmp_path, tmp_path / ".Sent", tmp_path / ".A.B"):
        for sub in ("new", "cur", "tmp"):
            (folder / sub).mkdir(parents=True)
    (tmp_path / "cur" / "1.M1P1.h,S=31,W=34:2,S").write_bytes(b"x")  # S= wins over st_size
    (tmp_path / "new" / "2.M1P1.h").write_bytes(b"12345")
    (tmp_path / ".Sent" / "cur" / "3.M1P1.h,S=100:2,").write_bytes(b"")
    (tmp_path / ".A.B" / "new" / "4.M1P1.h,S=7").write_bytes(b"")
    (tmp_path / "tmp" / "5.M1P1.h,S=1000").write_bytes(b"")  # tmp is not counted
    (tmp_path / "cur" / ".hidden").write_bytes(b"zzz")
    size = recalculate(tmp_path, 5000, None)
    assert (size.bytes, size.count) == (31 + 5 + 100 + 7, 4)
    assert (tmp_path / "maildirsize").read_text() == "5000S\n143 4\n"
    assert read_maildirsize(tmp_path / "maildirsize") == size
    assert recalculate(tmp_path, 1, 2).storage_limit == 1
    assert (tmp_path / "maildirsize").read_text().startswith("1S,2C\n")
