"""Reading table source files: logical lines and postmap(1) ``key value`` entries.

The rules, checked against Postfix 3.7's ``postmap``:

* Empty lines, whitespace-only lines and lines whose first non-blank character is ``#``
  are skipped. They do *not* end a logical line: a continuation after them still joins.
* A line that starts with whitespace continues the previous logical line. It is appended
  as written (its leading whitespace kept, the newline dropped). A logical line that
  would start with whitespace (a continuation with nothing to continue) is skipped with a
  warning.
* Trailing whitespace of a logical line is removed.
* An entry is ``key whitespace value``; the value keeps inner whitespace. A line without
  a value is skipped with a warning. ``key: value`` is accepted (key ``key:``) with an
  "is this an alias file?" warning, as postmap does.
* Duplicate keys: the first entry wins, the later ones are reported.

Files are decoded as UTF-8 with ``surrogateescape`` so that any byte sequence survives.
Warnings go to the ``vmail.tables`` logger as ``file:line: text``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from vmail.core.errors import ConfigError, Location

log = logging.getLogger("vmail.tables")

ENCODING = "utf-8"
ERRORS = "surrogateescape"
_BLANK = " \t\r\n\f\v"


def warn(location: Location, message: str) -> None:
    """Report a problem in a table source that Postfix also only warns about."""
    log.warning("%s: %s", location, message)


@dataclass(frozen=True)
class LogicalLine:
    """One logical line and the physical line it starts on."""

    text: str
    location: Location


def read_source(path: Path) -> str:
    """The text of a table source; ConfigError (with the path) if it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError("open: No such file or directory", Location(str(path))) from None
    except IsADirectoryError:
        raise ConfigError("open: Is a directory", Location(str(path))) from None
    except OSError as e:
        raise ConfigError(f"open: {e.strerror}", Location(str(path))) from None
    return data.decode(ENCODING, ERRORS)


def _logical(lines: Iterable[str], filename: str) -> Iterator[tuple[int, str]]:
    """``(first line number, text)`` of each logical line (the fast core, no objects)."""
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if not line:
            continue
        if line[0] in _BLANK:
            stripped = line.lstrip(_BLANK)
            if not stripped or stripped[0] == "#":
                continue
            if current:
                current.append(line)
                continue
            warn(
                Location(filename, number),
                f'logical line must not start with whitespace: "{line}"',
            )
            continue
        if line[0] == "#":
            continue
        if current:
            yield start, (current[0] if len(current) == 1 else "".join(current)).rstrip(_BLANK)
        current = [line]
        start = number
    if current:
        yield start, "".join(current).rstrip(_BLANK)


def logical_lines(lines: Iterable[str], filename: str) -> Iterator[LogicalLine]:
    """Join continuation lines and drop comments, as Postfix's table readers do."""
    for number, text in _logical(lines, filename):
        yield LogicalLine(text, Location(filename, number))


_ENTRY = re.compile(r"([^ \t\r\n\f\v]+)[ \t\r\n\f\v]*(.*)", re.DOTALL)

Entry = tuple[str, str, int]
"""``(key, value, line number)`` of one postmap source entry."""


def parse_entries(text: str, filename: str, *, fold_case: bool = True) -> Iterator[Entry]:
    """Every well-formed entry, duplicates included; malformed lines are warned about."""
    match = _ENTRY.match
    for number, line in _logical(text.splitlines(), filename):
        m = match(line)
        if m is None or not m.group(2):
            warn(Location(filename, number), "expected format: key whitespace value")
            continue
        key, value = m.group(1, 2)
        if key[-1] == ":":
            warn(
                Location(filename, number),
                'record is in "key: value" format; is this an alias file?',
            )
        yield (key.lower() if fold_case else key), value, number


def parse_alias_entries(text: str, filename: str, *, fold_case: bool = True) -> Iterator[Entry]:
    """Entries of an aliases(5) source (``name: value, value``), as postalias(1) reads it.

    The name ends at the first ``:`` (whitespace before it is dropped, ``"quoted names"``
    lose their quotes); the value is a comma-separated list whose items have their
    whitespace collapsed (``a,\n  b`` becomes ``a, b``). postalias re-formats values with
    a full RFC 822 tokenizer; this approximation keeps comments and quoted strings as
    written.
    """
    for number, line in _logical(text.splitlines(), filename):
        name, colon, value = line.partition(":")
        name = name.strip(_BLANK)
        if len(name) >= 2 and name[0] == name[-1] == '"':
            name = name[1:-1]
        items = [" ".join(item.split()) for item in value.split(",")]
        joined = ", ".join(item for item in items if item)
        if not colon or not name or not joined:
            warn(Location(filename, number), "need name:value pair")
            continue
        yield (name.lower() if fold_case else name), joined, number


def read_entries(
    text: str, filename: str, *, fold_case: bool = True, alias_syntax: bool = False
) -> Iterator[Entry]:
    """Entries in postmap (``key value``) or, with ``alias_syntax``, aliases(5) format."""
    parse = parse_alias_entries if alias_syntax else parse_entries
    return parse(text, filename, fold_case=fold_case)


def load_entries(
    text: str, filename: str, *, fold_case: bool = True, alias_syntax: bool = False
) -> dict[str, str]:
    """All entries of a source as a dict; the first of duplicate keys wins (with a warning)."""
    entries: dict[str, str] = {}
    found = read_entries(text, filename, fold_case=fold_case, alias_syntax=alias_syntax)
    for key, value, number in found:
        if key in entries:
            warn(Location(filename, number), f'duplicate entry: "{key}"')
            continue
        entries[key] = value
    return entries


def inline_rules(name: str, table_type: str) -> list[str]:
    """The rules of ``type:{ {rule-1}, {rule-2} }`` (Postfix 3.7), one string per rule.

    Items are separated by commas or whitespace and each must be in braces; whitespace
    after ``{`` and before ``}`` is ignored.
    """
    body = name.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise ConfigError(f'{table_type} map: need "{{ {{rule}}, ... }}" in "{name}"')
    rules: list[str] = []
    i, text = 0, body[1:-1]
    while i < len(text):
        c = text[i]
        if c in ", \t\r\n":
            i += 1
            continue
        if c != "{":
            raise ConfigError(f"{table_type} map: no '{{' at start of text in \"{text[i:]}\"")
        depth, j = 0, i
        while j < len(text):
            if text[j] == "{":
                depth += 1
            elif text[j] == "}":
                depth -= 1
                if depth == 0:
                    break
            j += 1
        if j >= len(text):
            raise ConfigError(f"{table_type} map: missing '}}' in \"{text[i:]}\"")
        rules.append(text[i + 1 : j].strip(_BLANK))
        i = j + 1
    return rules
