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


def logical_lines(lines: Iterable[str], filename: str) -> Iterator[LogicalLine]:
    """Join continuation lines and drop comments, as Postfix's table readers do."""
    current: list[str] = []
    start = 0
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        stripped = line.lstrip(_BLANK)
        if not stripped or stripped.startswith("#"):
            continue
        if line[0] in _BLANK:
            if current:
                current.append(line)
                continue
            warn(
                Location(filename, number),
                f'logical line must not start with whitespace: "{line}"',
            )
            continue
        if current:
            yield LogicalLine("".join(current).rstrip(_BLANK), Location(filename, start))
        current = [line]
        start = number
    if current:
        yield LogicalLine("".join(current).rstrip(_BLANK), Location(filename, start))


def split_entry(line: LogicalLine) -> tuple[str, str] | None:
    """``key value`` of one logical line, or None (with a warning) if it has no value."""
    text = line.text
    end = 0
    while end < len(text) and text[end] not in _BLANK:
        end += 1
    key = text[:end]
    value = text[end:].lstrip(_BLANK)
    if not value:
        warn(line.location, "expected format: key whitespace value")
        return None
    if key.endswith(":"):
        warn(line.location, 'record is in "key: value" format; is this an alias file?')
    return key, value


def parse_entries(
    text: str, filename: str, *, fold_case: bool = True
) -> Iterator[tuple[str, str, Location]]:
    """``(key, value, location)`` for every well-formed entry, duplicates included."""
    for line in logical_lines(text.splitlines(), filename):
        entry = split_entry(line)
        if entry is None:
            continue
        key, value = entry
        yield (key.lower() if fold_case else key), value, line.location


def load_entries(text: str, filename: str, *, fold_case: bool = True) -> dict[str, str]:
    """All entries of a source as a dict; the first of duplicate keys wins (with a warning)."""
    entries: dict[str, str] = {}
    for key, value, location in parse_entries(text, filename, fold_case=fold_case):
        if key in entries:
            warn(location, f'duplicate entry: "{key}"')
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
