"""Typed views of parameter values: booleans, numbers, time intervals, sizes and lists."""

from __future__ import annotations

import re

from vmail.core.errors import ConfigError

_TIME_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_TIME = re.compile(r"(\d+)([smhdw]?)\Z")


def parse_bool(name: str, value: str) -> bool:
    """Postfix booleans are ``yes``/``no`` (case-insensitive)."""
    low = value.lower()
    if low == "yes":
        return True
    if low == "no":
        return False
    raise ConfigError(f"bad boolean configuration: {name} = {value}")


def parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ConfigError(f"bad numerical configuration: {name} = {value}") from None


def parse_time(name: str, value: str, default_unit: str = "s") -> int:
    """Seconds in a Postfix time value such as ``300s``, ``5d`` or ``10`` (default unit)."""
    m = _TIME.match(value.strip().lower())
    if not m:
        raise ConfigError(f"parameter {name}: bad time value or unit: {value}")
    return int(m.group(1)) * _TIME_UNITS[m.group(2) or default_unit]


def split_list(value: str) -> list[str]:
    """Split on commas and whitespace, keeping ``{...}`` groups whole (braces removed).

    This is how Postfix reads list-valued parameters (``mydestination``, restriction
    lists, ``*_maps``): ``a, b c`` is three items and ``{ a b }`` one item ``a b``.
    """
    items: list[str] = []
    i, n = 0, len(value)
    while i < n:
        c = value[i]
        if c in ", \t\r\n":
            i += 1
            continue
        if c == "{":
            depth, j = 0, i
            while j < n:
                if value[j] == "{":
                    depth += 1
                elif value[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            if j >= n:
                raise ConfigError(f'missing "}}" in "{value}"')
            items.append(value[i + 1 : j].strip())
            i = j + 1
            continue
        j = i
        while j < n and value[j] not in ", \t\r\n":
            if value[j] == "{":  # a table spec like inline:{ a=b } stays one item
                depth = 0
                while j < n:
                    if value[j] == "{":
                        depth += 1
                    elif value[j] == "}":
                        depth -= 1
                        if depth == 0:
                            break
                    j += 1
            j += 1
        items.append(value[i:j])
        i = j
    return items
