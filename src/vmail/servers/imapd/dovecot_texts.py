"""The texts of syntax errors the way Dovecot 2.3's imap process words them.

The parser explains a malformed command in its own words (``unknown FETCH item X``);
:func:`syntax_error` turns that into what Dovecot sends for the same mistake,
``Error in IMAP command <NAME>: <reason>`` with Dovecot's reason, so that clients and
scripts see the same replies from both servers. Explanations Dovecot has no match for
keep the parser's words.
"""

from __future__ import annotations

import re

from vmail.protocol.imap.framing import CommandLine, tag_of

# Dovecot's reason for a missing argument depends on the command.
_MISSING = {
    "FETCH": "Invalid arguments",
    "UID FETCH": "Invalid arguments",
    "STORE": "Invalid arguments",
    "UID STORE": "Invalid arguments",
    "SELECT": "Invalid arguments",
    "EXAMINE": "Invalid arguments",
    "SEARCH": "Missing search parameters",
    "UID SEARCH": "Missing search parameters",
    "LIST": "Invalid reference",
    "LSUB": "Invalid reference",
}
# (parser's explanation, Dovecot's reason): a reason may use the explanation's groups.
_REASONS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(p), r)
    for p, r in [
        (r"(?:unknown command|UID) \S+(?: is not a command)?", "Unknown command"),
        (r"unknown FETCH item (.*)", r"Unknown parameter: \1"),
        (r"invalid sequence set.*", "Invalid messageset"),
        (r"unknown search key (.*)", r"Unknown argument \1"),
        (r"unknown STATUS item (.*)", r"Invalid status item \1"),
        (r"empty STATUS item list", "Empty status list"),
        (r"\\Recent cannot be set by a client", r"Invalid system flag \\RECENT"),
        (r"expected FLAGS or FLAGS\.SILENT", "Invalid arguments"),
        (r"unknown sort key (.*)", r"Unknown sort argument: \1"),
        (r"unknown threading algorithm .*", "Unknown thread algorithm"),
        (r"unknown LIST selection option .*", "Unknown select options"),
        (r"unknown LIST return option .*", "Unknown return options"),
        (
            r"RECURSIVEMATCH needs another selection option",
            "RECURSIVEMATCH must not be the only selection",
        ),
        (r"invalid date-time", "Invalid internal date"),
        (r"unknown command", "Unknown command"),
        (r"expected a header field name", "Invalid BODY[..] section"),
    ]
]
_SYSTEM_FLAG = re.compile(r"invalid system flag (\\.*)")


# The mail store's reasons for refusing a mailbox name, in Dovecot's words.
_NAME_REASONS = {
    "empty mailbox name": "Name is empty",
    "mailbox name has adjacent hierarchy separators": "Has adjacent hierarchy separators",
    "mailbox name begins with the hierarchy separator": "Begins with hierarchy separator",
    "mailbox name ends with the hierarchy separator": "Ends with hierarchy separator",
}
_INTO_ITSELF = re.compile(r"can't rename .* into itself")


def invalid_name(reason: str) -> str:
    """``Invalid mailbox name: <reason>`` with Dovecot's reason where it has one."""
    return f"Invalid mailbox name: {_NAME_REASONS.get(reason, reason)}"


def refused_operation(reason: str) -> tuple[str, str | None]:
    """Text and response code of a refused folder operation, as Dovecot sends them."""
    if _INTO_ITSELF.fullmatch(reason):
        return "Can't rename mailbox under its own child", None
    if reason == "INBOX can't be deleted":
        return reason, None
    return reason[:1].upper() + reason[1:], "CANNOT"


def command_name(line: CommandLine) -> str:
    """``FETCH``, ``UID FETCH``… as sent (upper-cased); empty when there is none."""
    first = line.parts[0]
    assert isinstance(first, bytes)
    tag = tag_of(first) or b""
    words = first[len(tag) :].split()[:2]
    names = [w.decode("ascii", "replace").upper() for w in words]
    if names[:1] == ["UID"] and len(names) == 2:
        return " ".join(names)
    return names[0] if names else ""


def syntax_error(name: str, text: str) -> str:
    """Dovecot's ``BAD`` text for the parser's explanation ``text`` of command ``name``.

    A ``text`` that does not begin in lower case is already Dovecot's reason (``Missing
    ')'``, ``8bit data in atom``: the parser's convention, protocol/imap/lexer.py);
    lower-case ones are vmail's and reworded here when Dovecot has its own words."""
    if text in ("invalid tag", "empty command line"):
        return "Error in IMAP tag: Invalid tag"
    if not name:  # a tag and nothing (or no word) after it
        return "Error in IMAP command: Invalid command name"
    if text == "missing argument":
        reason = _MISSING.get(name, "Missing arguments")
    elif flag := _SYSTEM_FLAG.fullmatch(text):
        reason = f"Invalid system flag {flag.group(1).upper()}"
    else:
        for pattern, replacement in _REASONS:
            if match := pattern.fullmatch(text):
                reason = match.expand(replacement)
                break
        else:
            if text[:1].islower():
                return text
            reason = text
    return f"Error in IMAP command {name}: {reason}"
