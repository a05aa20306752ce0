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
        (r"expected a header field name", "Invalid BODY[..] section"),
    ]
]
_SYSTEM_FLAG = re.compile(r"invalid system flag (\\.*)")


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
    """Dovecot's ``BAD`` text for the parser's explanation ``text`` of command ``name``."""
    if text in ("invalid tag", "empty command line"):
        return "Error in IMAP tag: Invalid tag"
    if not name:
        return text
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
            return text
    return f"Error in IMAP command {name}: {reason}"
