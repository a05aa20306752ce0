"""Dovecot's wording of syntax errors and refused folder operations (checked against a real
Dovecot 2.3 by tests/differential/test_imap_vs_dovecot.py)."""

from __future__ import annotations

import pytest

from vmail.protocol.imap.framing import CommandLine
from vmail.servers.imapd.dovecot_texts import (
    command_name,
    invalid_name,
    refused_operation,
    syntax_error,
)


@pytest.mark.parametrize(
    ("first", "name"),
    [
        (b"a1 fetch 1 flags", "FETCH"),
        (b"a1 uid fetch 1 flags", "UID FETCH"),
        (b"a1 UID", "UID"),
        (b"a1", ""),
        (b"", ""),
    ],
)
def test_command_name(first: bytes, name: str) -> None:
    assert command_name(CommandLine([first])) == name


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("BOGUS", "unknown command BOGUS", "Error in IMAP command BOGUS: Unknown command"),
        ("UID X", "UID X is not a command", "Error in IMAP command UID X: Unknown command"),
        ("FETCH", "missing argument", "Error in IMAP command FETCH: Invalid arguments"),
        ("COPY", "missing argument", "Error in IMAP command COPY: Missing arguments"),
        ("SEARCH", "missing argument", "Error in IMAP command SEARCH: Missing search parameters"),
        ("FETCH", "unknown FETCH item X", "Error in IMAP command FETCH: Unknown parameter: X"),
        ("FETCH", "invalid sequence set 0", "Error in IMAP command FETCH: Invalid messageset"),
        (
            "STORE",
            "invalid system flag \\Bogus",
            "Error in IMAP command STORE: Invalid system flag \\BOGUS",
        ),
        (
            "STORE",
            "\\Recent cannot be set by a client",
            "Error in IMAP command STORE: Invalid system flag \\RECENT",
        ),
        ("SORT", "unknown sort key X", "Error in IMAP command SORT: Unknown sort argument: X"),
        ("APPEND", "invalid date-time", "Error in IMAP command APPEND: Invalid internal date"),
        ("FETCH", "something new", "something new"),
        ("FETCH", "Missing ')'", "Error in IMAP command FETCH: Missing ')'"),
        ("SEARCH", "8bit data in atom", "Error in IMAP command SEARCH: 8bit data in atom"),
        ("LOGIN", "unknown command", "Error in IMAP command LOGIN: Unknown command"),
        ("", "missing argument", "Error in IMAP command: Invalid command name"),  # a tag alone
        ("", "invalid tag", "Error in IMAP tag: Invalid tag"),
        ("", "empty command line", "Error in IMAP tag: Invalid tag"),
    ],
)
def test_syntax_error(name: str, text: str, expected: str) -> None:
    assert syntax_error(name, text) == expected


def test_invalid_name() -> None:
    assert invalid_name("empty mailbox name") == "Invalid mailbox name: Name is empty"
    assert invalid_name("mailbox name too long") == "Invalid mailbox name: mailbox name too long"


def test_refused_operation() -> None:
    assert refused_operation("can't rename A into itself") == (
        "Can't rename mailbox under its own child",
        None,
    )
    assert refused_operation("INBOX can't be deleted") == ("INBOX can't be deleted", None)
    assert refused_operation("mailbox is busy") == ("Mailbox is busy", "CANNOT")
