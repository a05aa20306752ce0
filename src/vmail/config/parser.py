"""Read Postfix-style files (``main.cf``, ``master.cf``) into logical lines and settings.

As Postfix does it: a logical line starts with non-whitespace text and a line starting
with whitespace continues it. Empty lines, whitespace-only lines and lines whose first
non-whitespace character is ``#`` are skipped wherever they are (so they do not end a
logical line). Continuation lines are joined exactly as written (newline removed,
leading whitespace kept). ``#`` after text is not a comment. A first line that starts
with whitespace is kept, with a warning.

A main.cf logical line is ``name = value``; the name is the text before ``=`` and may not
contain whitespace; whitespace around the value is removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from vmail.core.errors import ConfigError, Location

_SETTING = re.compile(r"([^\s=]*)\s*(=?)(.*)\Z", re.DOTALL)


@dataclass(frozen=True)
class Entry:
    """One ``name = value`` setting and where it was written."""

    name: str
    value: str
    location: Location


@dataclass(frozen=True)
class LogicalLine:
    """A logical line and the location of its first physical line."""

    text: str
    location: Location


@dataclass
class ParsedFile:
    """The settings of a main.cf-style file (in file order) and the warnings it gave."""

    entries: list[Entry] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def logical_lines(
    text: str, filename: str, warnings: list[str] | None = None
) -> Iterator[LogicalLine]:
    """Yield the logical lines of a Postfix-style file."""
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            if current:
                current.append(line)
                continue
            if warnings is not None:
                warnings.append(
                    f'{filename}: logical line must not start with whitespace: "{line}"'
                )
            line = line.lstrip()
        if current:
            yield LogicalLine("".join(current).rstrip(), Location(filename, start))
        current, start = [line], number
    if current:
        yield LogicalLine("".join(current).rstrip(), Location(filename, start))


def parse_setting(line: LogicalLine) -> Entry:
    """Split one logical line into ``name = value``; ConfigError on a malformed line."""
    m = _SETTING.match(line.text)
    if m is None or not m.group(2):
        raise ConfigError(f"missing '=' after attribute name: \"{line.text}\"", line.location)
    if not m.group(1):
        raise ConfigError(f'missing attribute name: "{line.text}"', line.location)
    return Entry(m.group(1), m.group(3).strip(), line.location)


def parse_main_cf(text: str, filename: str = "main.cf") -> list[Entry]:
    """Parse main.cf-style text into its settings, in file order (duplicates included).

    Raises ConfigError naming the file and line on a malformed line.
    """
    return read_settings(text, filename).entries


def read_settings(text: str, filename: str = "main.cf") -> ParsedFile:
    """Like :func:`parse_main_cf`, also collecting Postfix's warnings.

    A later setting of the same name replaces an earlier one, with Postfix's warning.
    """
    parsed = ParsedFile()
    seen: dict[str, Entry] = {}
    for line in logical_lines(text, filename, parsed.warnings):
        entry = parse_setting(line)
        earlier = seen.get(entry.name)
        if earlier is not None:
            parsed.warnings.append(
                f"{filename}, line {entry.location.line}: overriding earlier entry: "
                f"{earlier.name}={earlier.value}"
            )
        seen[entry.name] = entry
        parsed.entries.append(entry)
    return parsed
