"""Mailbox quota usage as the mail store counts it: the Maildir++ ``maildirsize`` file.

The Maildir of a mailbox is ``<mail root>/<mailbox.maildir>`` (the mail root being
``virtual_mailbox_base``). Usage is *unknown* (None) when no mail root is configured, the
file is missing (no delivery yet, or no quota tracking) or cannot be read or parsed: a
figure for a page, never a reason to fail it.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmail.mailstore.errors import MailstoreError
from vmail.mailstore.quota import MAILDIRSIZE, read_maildirsize

Usage = tuple[int, int]  # (bytes, messages)


def maildir_usage(mail_root: Path | None, maildir: str) -> Usage | None:
    """(bytes, messages) of the Maildir ``maildir`` (relative to ``mail_root``), or None."""
    if mail_root is None or not maildir:
        return None
    relative = maildir.lstrip("/")
    if ".." in relative.split("/"):
        return None  # a maildir column pointing outside the mail root is not read
    try:  # strings, not Paths: a page of 50 mailboxes asks 50 times
        size = read_maildirsize(os.path.join(mail_root, relative, MAILDIRSIZE))
    except (MailstoreError, OSError, ValueError):
        return None
    if size is None:
        return None
    return max(size.bytes, 0), max(size.count, 0)


def usage_fields(usage: Usage | None) -> dict[str, int | None]:
    """The record fields a mailbox gets: ``usage_bytes`` and ``usage_messages``."""
    if usage is None:
        return {"usage_bytes": None, "usage_messages": None}
    return {"usage_bytes": usage[0], "usage_messages": usage[1]}
