"""The per-folder index: a rebuildable SQLite cache of what FETCH, SEARCH and SORT need.

One file, ``vmail.index.sqlite``, in the folder's directory (Dovecot ignores it). It holds,
per UID, the file name last seen, the CRLF size, the internal date, the flags and the
modseq, and in a separate table the cached message summary (the envelope in its own
column, so ``FETCH ENVELOPE`` reads only that). Metadata: the UIDVALIDITY the rows belong
to, the highest modseq, the schema and summary versions, the first UID not yet reported as
recent.

The index is only a cache. A missing, unreadable or corrupt file, another schema version
or another UIDVALIDITY means "start again from the Maildir": :meth:`FolderIndex.load`
returns ``None`` and the caller rebuilds; a database error while writing recreates the file.
A rebuilt index starts its modseqs at the current time in milliseconds, larger than any
modseq an earlier index handed out (those count one per change from an earlier time), so
CONDSTORE clients never see a modseq go backwards.

The journal mode is ``TRUNCATE`` (no ``-wal``/``-shm`` files left in the Maildir).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

INDEX_NAME = "vmail.index.sqlite"
SCHEMA_VERSION = 3  # 2: summary.data may be NULL (envelope cached alone); 3: subject

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS msg (
    uid INTEGER PRIMARY KEY, filename TEXT NOT NULL, subdir TEXT NOT NULL,
    size INTEGER NOT NULL, internaldate REAL NOT NULL, flags TEXT NOT NULL,
    modseq INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS summary (
    uid INTEGER PRIMARY KEY, envelope BLOB NOT NULL, data BLOB, subject TEXT NOT NULL);
"""

Row = tuple[int, str, str, int, float, str, int]
"""(uid, filename, subdir, size, internaldate, flags joined by spaces, modseq)."""
_ADD_ENVELOPES = "INSERT OR IGNORE INTO summary VALUES (?, ?, NULL, ?)"
NewRows = tuple[list[Row], list[tuple[int, bytes, str]]]
"""New messages' rows and their (uid, envelope blob, subject) (see ``add_messages``)."""


@dataclass(slots=True)
class IndexState:
    """What a valid index says about its folder."""

    highest_modseq: int
    first_recent_uid: int
    rows: list[Row]


def fresh_modseq() -> int:
    """A starting modseq larger than any an earlier index of this folder handed out."""
    return time.time_ns() // 1_000_000


class FolderIndex:
    """The index file of one folder; every method may be called only under the folder lock."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / INDEX_NAME
        self._db: sqlite3.Connection | None = None

    # -- opening ---------------------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            try:
                db.execute("PRAGMA journal_mode=TRUNCATE")
                db.execute("PRAGMA synchronous=NORMAL")
                db.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                db.close()
                raise
            self._db = db
        return self._db

    def _failed(self, error: sqlite3.Error) -> None:
        """After an error: a busy, locked or replaced file (another process rebuilt it) is
        only reopened next time; anything else means a corrupt file, which is removed."""
        if isinstance(error, sqlite3.OperationalError):
            self.close()
        else:
            self._discard()

    def _discard(self) -> None:
        """Forget the file (corrupt or outdated): the next use creates an empty one."""
        self.close()
        for suffix in ("", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def close(self) -> None:
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                self._db.close()
            self._db = None

    def load(self, uidvalidity: int) -> IndexState | None:
        """The cached state, or ``None`` when it must be rebuilt (any problem at all)."""
        if not self.path.exists():
            return None
        try:
            db = self._connect()
            meta = dict(db.execute("SELECT key, value FROM meta").fetchall())
            if meta.get("schema") != SCHEMA_VERSION or meta.get("uidvalidity") != uidvalidity:
                return None
            rows: list[Row] = db.execute(
                "SELECT uid, filename, subdir, size, internaldate, flags, modseq"
                " FROM msg ORDER BY uid"
            ).fetchall()
            return IndexState(int(meta["highestmodseq"]), int(meta.get("recent", 1)), rows)
        except sqlite3.Error as e:
            self._failed(e)
            return None
        except (KeyError, ValueError, TypeError):
            self._discard()
            return None

    # -- writing ---------------------------------------------------------------------------

    def _write(self, statements: Iterable[tuple[str, Iterable[tuple[object, ...]]]]) -> bool:
        """Run ``statements`` in one transaction; False if the index failed. Parameters
        may come from a generator: if it raises, the transaction is rolled back and the
        exception goes on."""
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                for sql, params in statements:
                    db.executemany(sql, params)
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")
            return True
        except sqlite3.Error as e:
            self._failed(e)
            return False

    def rebuild(
        self, uidvalidity: int, highest_modseq: int, first_recent: int, rows: Iterable[Row]
    ) -> None:
        """Replace the whole content (after a rebuild from the Maildir)."""
        self._discard()
        self._write(
            [
                ("INSERT INTO msg VALUES (?, ?, ?, ?, ?, ?, ?)", rows),
                (
                    "INSERT INTO meta VALUES (?, ?)",
                    _meta(uidvalidity, highest_modseq, first_recent),
                ),
            ]
        )

    def update(
        self,
        uidvalidity: int,
        highest_modseq: int,
        first_recent: int,
        upsert: Iterable[Row],
        delete: Iterable[int],
        full: Callable[[], Iterable[Row]] | None = None,
    ) -> None:
        """Apply one sync's changes; ``full()`` (all rows) is written instead if the file
        turns out to be corrupt."""
        gone = [(uid,) for uid in delete]
        ok = self._write(
            [
                ("DELETE FROM msg WHERE uid = ?", gone),
                ("DELETE FROM summary WHERE uid = ?", gone),
                ("INSERT OR REPLACE INTO msg VALUES (?, ?, ?, ?, ?, ?, ?)", upsert),
                (
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    _meta(uidvalidity, highest_modseq, first_recent),
                ),
            ]
        )
        if not ok and full is not None:
            self.rebuild(uidvalidity, highest_modseq, first_recent, full())

    # -- summaries -------------------------------------------------------------------------

    def summary_blobs(
        self, uids: Sequence[int], version: int, column: str = "data"
    ) -> dict[int, bytes]:
        """Cached marshalled summaries (or envelopes) of ``uids``; stale versions dropped."""
        if column not in ("data", "envelope", "subject"):
            raise ValueError(f"no summary column {column!r}")
        try:
            db = self._connect()
            if not self._summaries_are(db, version):
                db.execute("BEGIN IMMEDIATE")
                for sql, params in _drop_summaries(version):
                    db.executemany(sql, params)
                db.execute("COMMIT")
                return {}
            return dict(_summary_rows(db, f"uid, {column}", uids, f" AND {column} IS NOT NULL"))
        except sqlite3.Error as e:
            self._failed(e)
            return {}

    def summarized(self, uids: Sequence[int], version: int) -> set[int]:
        """Which of ``uids`` have a cached summary (at least the envelope) of ``version``."""
        try:
            db = self._connect()
            if not self._summaries_are(db, version):
                return set()
            return {uid for (uid,) in _summary_rows(db, "uid", uids)}
        except sqlite3.Error as e:
            self._failed(e)
            return set()

    def put_envelopes(self, items: Iterable[tuple[int, bytes, str]], version: int) -> None:
        """Store (uid, envelope blob, subject) alone; a full summary later replaces the row."""
        self._write_summaries(version, [(_ADD_ENVELOPES, items)])

    def add_messages(
        self, chunks: Iterable[NewRows], version: int, state: tuple[int, int, int]
    ) -> bool:
        """Store new messages' rows and envelopes, chunk by chunk in one transaction (the
        chunks may come from a generator that waits for scan workers), then ``state``
        (UIDVALIDITY, highest modseq, first recent UID); False if the index failed."""

        def statements() -> Iterator[tuple[str, Iterable[tuple[object, ...]]]]:
            for rows, envelopes in chunks:
                yield "INSERT OR REPLACE INTO msg VALUES (?, ?, ?, ?, ?, ?, ?)", rows
                yield _ADD_ENVELOPES, envelopes
            yield "INSERT OR REPLACE INTO meta VALUES (?, ?)", _meta(*state)

        return self._write_summaries(version, statements())

    def _write_summaries(
        self, version: int, statements: Iterable[tuple[str, Iterable[tuple[object, ...]]]]
    ) -> bool:
        """:meth:`_write` of ``statements`` that add summaries of ``version``; cached rows
        of another version are dropped first (as :meth:`summary_blobs` would), so the new
        rows are not taken for stale ones."""
        try:
            current = self._summaries_are(self._connect(), version)
        except sqlite3.Error as e:
            self._failed(e)
            return False
        return self._write(itertools.chain([] if current else _drop_summaries(version), statements))

    @staticmethod
    def _summaries_are(db: sqlite3.Connection, version: int) -> bool:
        """Whether the cached summaries are of ``version``."""
        row = db.execute("SELECT value FROM meta WHERE key = 'summary'").fetchone()
        return row is not None and row[0] == version

    def put_summaries(self, items: Iterable[tuple[int, bytes, bytes, str]]) -> None:
        """Store (uid, envelope blob, summary blob, subject) in one transaction (best effort)."""
        self._write([("INSERT OR REPLACE INTO summary VALUES (?, ?, ?, ?)", items)])


def _drop_summaries(version: int) -> list[tuple[str, Iterable[tuple[object, ...]]]]:
    """The statements that empty the summary cache and mark it as of ``version``."""
    return [
        ("DELETE FROM summary", [()]),
        ("INSERT OR REPLACE INTO meta VALUES ('summary', ?)", [(version,)]),
    ]


def _meta(uidvalidity: int, highest_modseq: int, first_recent: int) -> list[tuple[str, int]]:
    return [
        ("schema", SCHEMA_VERSION),
        ("uidvalidity", uidvalidity),
        ("highestmodseq", highest_modseq),
        ("recent", first_recent),
    ]


def _summary_rows(
    db: sqlite3.Connection, columns: str, uids: Sequence[int], condition: str = ""
) -> Iterator[Any]:
    """The rows of ``SELECT columns FROM summary`` for ``uids`` (and ``condition``), 500
    UIDs per query (SQLite bounds the number of parameters)."""
    for chunk in _chunks(uids, 500):
        marks = ",".join("?" * len(chunk))
        yield from db.execute(
            f"SELECT {columns} FROM summary WHERE uid IN ({marks}){condition}", chunk
        )


def _chunks(items: Sequence[int], size: int) -> Iterator[Sequence[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
