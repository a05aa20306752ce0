"""write_all: a short os.write is carried on, never taken for the whole buffer."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from vmail.core import fileio
from vmail.core.fileio import write_all


def test_short_writes_are_carried_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_write = os.write
    calls: list[int] = []

    def three_bytes_at_most(fd: int, data: bytes | memoryview) -> int:
        calls.append(1)
        return real_write(fd, bytes(data[:3]))

    monkeypatch.setattr(fileio.os, "write", three_bytes_at_most)
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT)
    try:
        write_all(fd, b"0123456789")
    finally:
        os.close(fd)
    assert path.read_bytes() == b"0123456789"
    assert len(calls) == 4


def test_an_error_is_raised_not_swallowed(tmp_path: Path) -> None:
    fd = os.open(tmp_path / "f", os.O_RDONLY | os.O_CREAT)
    try:
        with pytest.raises(OSError, match="Bad file descriptor"):
            write_all(fd, b"data")
    finally:
        os.close(fd)
