"""Dovecot's ``subscriptions`` file: version 2 (``V\\t2`` header, tab-separated components)
is written; version 1 (one name per line, real separator) is also read."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from vmail.mailstore.atomic import write_atomic
from vmail.mailstore.errors import MailstoreError

VERSION2_HEADER = "V\t2\n\n"
_ESCAPES = {"\x01": "\x011", "\t": "\x01t", "\r": "\x01r", "\n": "\x01n"}
_UNESCAPES = {"1": "\x01", "t": "\t", "r": "\r", "n": "\n"}


def _tab_escape(text: str) -> str:
    if not any(c in text for c in _ESCAPES):
        return text
    return "".join(_ESCAPES.get(c, c) for c in text)


def _tab_unescape(text: str) -> str:
    if "\x01" not in text:
        return text
    out: list[str] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char == "\x01" and i + 1 < len(text):
            out.append(_UNESCAPES.get(text[i + 1], text[i + 1]))
            i += 2
        else:
            out.append(char)
            i += 1
    return "".join(out)


def read_subscriptions(path: Path, separator: str = ".") -> list[str]:
    """Subscribed mailbox names (using *separator* as hierarchy separator); missing file = []."""
    try:
        text = path.read_bytes().decode("utf-8", "replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise MailstoreError(f"{path}: cannot read: {exc.strerror}") from exc
    names: list[str] = []
    if text.startswith(VERSION2_HEADER):
        for line in text[len(VERSION2_HEADER) :].split("\n"):
            if line:
                names.append(separator.join(_tab_unescape(p) for p in line.split("\t")))
    else:
        names.extend(line for line in text.split("\n") if line)
    return list(dict.fromkeys(names))


def format_subscriptions(names: Iterable[str], separator: str = ".") -> str:
    """The version 2 text for *names* (duplicates dropped, order kept)."""
    lines = [VERSION2_HEADER]
    seen: set[str] = set()
    for name in names:
        if name.upper() == "INBOX":
            name = "INBOX"
        if name and name not in seen:
            seen.add(name)
            lines.append("\t".join(_tab_escape(p) for p in name.split(separator)) + "\n")
    return "".join(lines)


def write_subscriptions(path: Path, names: Iterable[str], separator: str = ".") -> None:
    """Atomically replace the subscriptions file with *names* in Dovecot 2.3's format."""
    write_atomic(path, format_subscriptions(names, separator).encode("utf-8"))
