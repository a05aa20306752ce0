"""Read ``main.cf`` syntax into ``(name, value, line)`` entries, as Postfix does.

A logical line starts with non-whitespace text; a line that starts with whitespace
continues it. Empty lines, whitespace-only lines and lines whose first non-whitespace
character is ``#`` are ignored (and do not end a logical line). Each logical line must be
``name = value``; whitespace around the name and value is removed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from vmail.core.errors import ConfigError, Location

_NAME = re.compile(r"[A-Za-z0-9_]+\Z")


@dataclass(frozen=True)
class Entry:
    """One ``name = value`` setting and where it was written."""

    name: str
    value: str
    location: Location


def logical_lines(text: str, filename: str) -> Iterator[tuple[str, Location]]:
    """Yield ``(logical_line, location_of_its_first_line)`` for a Postfix-style file."""
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if line[0].isspace():
            if not current:
                raise ConfigError(
                    "continuation line without a preceding line", Location(filename, number)
                )
            current.append(stripped)
            continue
        if current:
            yield " ".join(current), Location(filename, start)
        current, start = [line.rstrip()], number
    if current:
        yield " ".join(current), Location(filename, start)


def parse_main_cf(text: str, filename: str = "main.cf") -> list[Entry]:
    """Parse main.cf text; raise ConfigError naming the file and line on a bad line."""
    entries = []
    for line, location in logical_lines(text, filename):
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ConfigError(f"missing '=' after attribute name: \"{line}\"", location)
        if not _NAME.match(name):
            raise ConfigError(f'bad parameter name: "{name}"', location)
        entries.append(Entry(name, value.strip(), location))
    return entries
