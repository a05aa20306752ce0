"""IMAP mailbox names ↔ Maildir++ folder directories (Dovecot ``LAYOUT=maildir++``).

``INBOX`` is the Maildir root; any other name ``A<sep>B`` is the directory ``.A.B``.
The hierarchy separator is ``.`` or ``/``; the other one is not allowed in names, since
on disk ``.`` separates the levels. Every accepted name maps strictly inside the root.
"""

from __future__ import annotations

from pathlib import Path

from vmail.core.mutf7 import decode_mutf7
from vmail.mailstore.errors import InvalidNameError

INBOX = "INBOX"
SEPARATORS = (".", "/")
MAX_DIRNAME_BYTES = 255
_NOT_FOLDERS = frozenset({".", ".."})


def _check_separator(separator: str) -> None:
    if separator not in SEPARATORS:
        raise InvalidNameError(f"unsupported hierarchy separator {separator!r}")


def validate_name(name: str, separator: str) -> str:
    """The canonical form of mailbox *name*, or InvalidNameError saying what is wrong.

    Like Dovecot: one trailing separator is dropped (RFC 3501 CREATE), ``inbox`` in any case
    becomes ``INBOX`` (also as the first level), ``*`` and ``%`` are allowed.
    """
    _check_separator(separator)
    if name.endswith(separator) and len(name) > 1:
        name = name[:-1]
    if not name:
        raise InvalidNameError("empty mailbox name")
    for char in name:
        if char < " " or char == "\x7f":
            raise InvalidNameError(f"control character {char!r} in mailbox name")
    other = "/" if separator == "." else "."
    if other in name:
        raise InvalidNameError(f"character {other!r} not allowed in mailbox name")
    if name.startswith("~"):
        raise InvalidNameError("mailbox name must not begin with '~'")
    try:
        decode_mutf7(name)
    except ValueError as exc:
        raise InvalidNameError(f"mailbox name is not valid modified UTF-7: {exc}") from None
    parts = name.split(separator)
    if "" in parts:
        if parts[0] == "":
            raise InvalidNameError("mailbox name begins with the hierarchy separator")
        raise InvalidNameError("mailbox name has adjacent hierarchy separators")
    if parts[0].upper() == INBOX:
        parts[0] = INBOX
    if len(("." + ".".join(parts)).encode("utf-8")) > MAX_DIRNAME_BYTES:
        raise InvalidNameError("mailbox name too long")
    return separator.join(parts)


def folder_dir(root: Path, name: str, separator: str) -> Path:
    """The directory of mailbox *name* under Maildir *root* (validated first)."""
    canonical = validate_name(name, separator)
    if canonical == INBOX:
        return root
    return root / ("." + canonical.replace(separator, "."))


def folder_name(dirname: str, separator: str) -> str | None:
    """The mailbox name of directory entry *dirname*; None if it is not a valid folder."""
    _check_separator(separator)
    if not dirname.startswith(".") or dirname in _NOT_FOLDERS:
        return None
    stored = dirname[1:]
    name = stored if separator == "." else stored.replace(".", separator)
    if stored.upper() == INBOX:
        return None  # the root is INBOX; a ".INBOX" directory would shadow it
    try:
        canonical = validate_name(name, separator)
    except InvalidNameError:
        return None
    return canonical if canonical == name else None
