"""Typed views of parameter values: booleans, numbers, sizes, time intervals and lists.

The accepted syntax is Postfix's: booleans are ``yes``/``no`` in any case; numbers are
decimal integers with an optional sign; sizes are byte counts (Postfix has no ``k``/``M``
suffixes); a time is one or more ``<number><unit>`` parts with units ``s m h d w``
(lower case; ``1h30m`` is 5400 seconds) where a bare number uses the parameter's default
unit. Error texts match Postfix's messages.
"""

from __future__ import annotations

import re

from vmail.core.errors import ConfigError

TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME = re.compile(r"(?:\d+[smhdw])*\d+[smhdw]?\Z")
_TIME_PART = re.compile(r"(\d+)([smhdw]?)")
_INT = re.compile(r"[+-]?\d+\Z")
_LIST_SEPARATORS = ", \t\r\n"


def parse_bool(name: str, value: str) -> bool:
    """Postfix booleans are ``yes``/``no`` (case-insensitive)."""
    low = value.strip().lower()
    if low == "yes":
        return True
    if low == "no":
        return False
    raise ConfigError(f"bad boolean configuration: {name} = {value}")


def parse_int(name: str, value: str) -> int:
    """A decimal integer, optionally signed, surrounding whitespace ignored."""
    text = value.strip()
    if not _INT.match(text):
        raise ConfigError(f"bad numerical configuration: {name} = {value}")
    return int(text)


def parse_size(name: str, value: str) -> int:
    """A size in bytes: a non-negative integer."""
    size = parse_int(name, value)
    if size < 0:
        raise ConfigError(f"bad numerical configuration: {name} = {value}")
    return size


def parse_time(name: str, value: str, default_unit: str = "s") -> int:
    """Seconds in a Postfix time value such as ``300s``, ``5d``, ``1h30m`` or ``10``."""
    text = value.strip()
    if not _TIME.match(text):
        raise ConfigError(f"parameter {name}: bad time value or unit: {value}")
    return sum(
        int(number) * TIME_UNITS[unit or default_unit] for number, unit in _TIME_PART.findall(text)
    )


def split_list(value: str) -> list[str]:
    """Split on commas and whitespace, keeping ``{...}`` groups whole (braces removed).

    This is how Postfix reads list-valued parameters (``mydestination``, restriction
    lists, ``*_maps``): ``a, b c`` is three items and ``{ a b }`` one item ``a b``. A
    brace group inside an item (``inline:{ a=b, c=d }``) stays part of that item.
    """
    items: list[str] = []
    i, n = 0, len(value)
    while i < n:
        if value[i] in _LIST_SEPARATORS:
            i += 1
            continue
        if value[i] == "{":
            end = _close(value, i)
            items.append(value[i + 1 : end].strip())
            i = end + 1
            continue
        j = i
        while j < n and value[j] not in _LIST_SEPARATORS:
            j = _close(value, j) + 1 if value[j] == "{" else j + 1
        items.append(value[i:j])
        i = j
    return items


def _close(value: str, start: int) -> int:
    depth = 0
    for k in range(start, len(value)):
        if value[k] == "{":
            depth += 1
        elif value[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    raise ConfigError(f'missing "}}" in "{value}"')
