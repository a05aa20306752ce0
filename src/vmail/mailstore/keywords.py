"""Dovecot's ``dovecot-keywords`` file: which IMAP keyword each filename letter a..z stands for.

Dovecot re-reads the file only when its mtime (in whole seconds) changed, so every write
makes the mtime grow, as Dovecot's own writer does.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmail.mailstore.atomic import write_atomic
from vmail.mailstore.errors import MailstoreError
from vmail.mailstore.filenames import KEYWORD_LETTERS

MAX_KEYWORDS = len(KEYWORD_LETTERS)


def read_keywords(path: Path) -> list[str | None]:
    """Keyword names by letter index (``a`` = 0); unused slots are None; missing file = []."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot read: {exc.strerror}") from exc
    result: list[str | None] = []
    for line in raw.decode("utf-8", "replace").split("\n"):
        index_text, _, name = line.partition(" ")
        # Like Dovecot, lines that do not parse are ignored rather than fatal.
        if not index_text.isdigit() or not index_text.isascii() or not name:
            continue
        index = int(index_text)
        if index >= MAX_KEYWORDS or " " in name or name in result:
            continue
        result.extend([None] * (index + 1 - len(result)))
        result[index] = name
    return result


def write_keywords(path: Path, names: list[str | None]) -> None:
    """Atomically write *names* (index = letter) in Dovecot's ``<index> <name>`` layout."""
    if len(names) > MAX_KEYWORDS:
        raise MailstoreError(f"{path}: at most {MAX_KEYWORDS} keywords fit in file names")
    lines = [f"{i} {name}\n" for i, name in enumerate(names) if name is not None]
    try:
        before: int | None = int(path.stat().st_mtime)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot stat: {exc.strerror}") from exc
    write_atomic(path, "".join(lines).encode("utf-8"))
    if before is not None:
        _grow_mtime(path, before)


def _grow_mtime(path: Path, before: int) -> None:
    """Give *path* an mtime after *before* (one second later if written in the same second)."""
    try:
        now = path.stat()
        if int(now.st_mtime) <= before:
            os.utime(path, (now.st_atime, before + 1))
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot set the mtime: {exc.strerror}") from exc


def letter_for(keywords: list[str | None], name: str) -> tuple[str | None, list[str | None]]:
    """The letter of keyword *name*, assigning a free one if needed.

    Returns the letter and the (possibly extended) list; the letter is None when all 26 are
    used, in which case the keyword cannot be stored in the file name (as in Dovecot).
    Keyword names compare case-insensitively, as IMAP requires.
    """
    folded = name.casefold()
    free = -1
    for index, existing in enumerate(keywords):
        if existing is None:
            if free < 0:
                free = index
        elif existing.casefold() == folded:
            return KEYWORD_LETTERS[index], keywords
    if free < 0 and len(keywords) < MAX_KEYWORDS:
        return KEYWORD_LETTERS[len(keywords)], [*keywords, name]
    if free < 0:
        return None, keywords
    updated = list(keywords)
    updated[free] = name
    return KEYWORD_LETTERS[free], updated


def names_for(keywords: list[str | None], letters: str) -> list[str]:
    """The keyword names of the keyword letters in *letters* (unknown letters skipped)."""
    result = []
    for char in letters:
        index = KEYWORD_LETTERS.find(char)
        if 0 <= index < len(keywords):
            name = keywords[index]
            if name is not None:
                result.append(name)
    return result
