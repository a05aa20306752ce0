"""FolderWatcher: in-process pokes and changes made by other processes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from vmail.mailstore.watch import FolderWatcher


def test_poke_and_external_change(tmp_path: Path) -> None:
    for sub in ("cur", "new", "tmp"):
        (tmp_path / sub).mkdir()

    async def run() -> list[str]:
        watcher = FolderWatcher(interval=0.05)
        calls: list[str] = []
        handle = watcher.subscribe(tmp_path, lambda: calls.append("a"))
        watcher.subscribe(tmp_path, lambda: calls.append("b"))
        watcher.poke(tmp_path)
        watcher.poke(tmp_path)
        await asyncio.sleep(0.02)
        (tmp_path / "new" / "1.M1P1.h").write_bytes(b"x")
        await asyncio.sleep(0.3)
        handle.close()
        await watcher.close()
        return calls

    calls = asyncio.run(run())
    assert calls.count("a") == 2
    assert calls.count("b") == 2
