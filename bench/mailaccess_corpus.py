"""The mail-access benches' corpus: one Maildir generated once, cached in /tmp, linked per server.

The messages come from the peer kit's ``populate_maildir.py`` (the generator Dovecot's
reference figures were measured with): Received chains, varied From/To/Cc/Subject/Date/
Message-ID, median about 3 KiB, 10% multipart, 1% "needle" subjects, 30% in ``new/``,
flags on the rest. A corpus of N messages is written once to
``/tmp/vmail-mailaccess-corpus/<N>`` (owned by the virtual uid) and reused by later runs;
each server gets a hard-linked copy (``cp -al``): Maildir files are never rewritten in
place, so renames and new files in one copy never show in another.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

CACHE = Path("/tmp/vmail-mailaccess-corpus")
NEEDLE = "needle"
DONE = ".complete"


def corpus(kit: Path, count: int, owner: tuple[int, int]) -> Path:
    """The cached Maildir of ``count`` messages, generated now if missing or incomplete."""
    maildir = CACHE / str(count)
    if (maildir / DONE).exists():
        return maildir
    shutil.rmtree(maildir, ignore_errors=True)
    maildir.parent.mkdir(parents=True, exist_ok=True)
    print(f"generating a {count}-message corpus in {maildir} (once)", flush=True)
    subprocess.run(
        [
            sys.executable,
            str(kit / "populate_maildir.py"),
            str(maildir),
            "-n",
            str(count),
            "--to",
            "bench@example.com",
            "--chown",
            f"{owner[0]}:{owner[1]}",
        ],
        check=True,
        timeout=3600,
    )
    (maildir / DONE).touch()
    return maildir


def link_copy(source: Path, target: Path, owner: tuple[int, int]) -> None:
    """``target`` becomes a hard-linked copy of the Maildir ``source`` (replacing it)."""
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["cp", "-al", str(source), str(target)], check=True, timeout=600)
    (target / DONE).unlink(missing_ok=True)
    for path in (target, target / "cur", target / "new", target / "tmp"):
        os.chown(path, *owner)


def drop_indexes(maildir: Path) -> list[str]:
    """Delete vmail's and Dovecot's index files in one folder; the names removed."""
    removed = []
    for path in maildir.iterdir():
        if path.name.startswith(("vmail.index.sqlite", "dovecot.index", "dovecot-uidlist")):
            path.unlink()
            removed.append(path.name)
    return removed


def warm_page_cache(maildir: Path) -> int:
    """Read every message file of ``maildir`` once, so that a first open measures the
    server and not the disk (the copies share inodes: without this, whichever server
    opens first pays the reads for both). Returns the bytes read."""
    total = 0
    for sub in ("cur", "new"):
        with os.scandir(maildir / sub) as entries:
            for entry in entries:
                fd = os.open(entry.path, os.O_RDONLY)
                try:
                    while chunk := os.read(fd, 1 << 20):
                        total += len(chunk)
                finally:
                    os.close(fd)
    return total
