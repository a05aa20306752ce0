"""Tables that need no file: ``static:``, ``inline:{...}``, ``fail:`` and ``environ:``.

Syntax details follow Postfix 3.7's postmap:

* ``static:text`` answers every key with ``text`` as written (``static: a`` is `` a``);
  ``static:{ a b }`` strips the outer braces and the whitespace inside them
  (``static:{}`` is the empty string); anything after the closing brace is an error.
* ``inline:{ a=b, { c = d e } }``: items separated by commas or whitespace; a braced
  item may have whitespace around ``=`` and inside the value; keys are folded to lower
  case; of duplicate keys the last wins; ``inline:{}`` is an error.
* ``fail:name`` fails every lookup (a TableError); ``environ:name`` answers from the
  process environment.
"""

from __future__ import annotations

import os

from vmail.core.errors import ConfigError, TableError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register

_BLANK = " \t\r\n"


class StaticTable(Table):
    """``static:value`` answers every key with the same value."""

    local = True

    def __init__(self, spec: str, value: str) -> None:
        super().__init__(spec)
        self.value = value

    def lookup(self, key: str) -> str | None:
        return self.value


class DictTable(Table):
    """A table held in memory as a dict (keys already folded as the table requires)."""

    local = True

    def __init__(self, spec: str, entries: dict[str, str]) -> None:
        super().__init__(spec)
        self.entries = entries

    def lookup(self, key: str) -> str | None:
        return self.entries.get(key)

    def items(self) -> list[tuple[str, str]]:
        return list(self.entries.items())


class InlineTable(DictTable):
    """``inline:{ key=value, { key = text with spaces } }``."""


class FailTable(Table):
    """``fail:name``: every lookup fails, for testing error handling."""

    local = True

    def lookup(self, key: str) -> str | None:
        raise TableError(self.spec, "query error: Application error")


class EnvironTable(Table):
    """``environ:name``: the value of an environment variable (the name is ignored)."""

    fold_case = True
    local = True

    def lookup(self, key: str) -> str | None:
        return os.environ.get(key)


def _need_name(spec: str, name: str) -> None:
    if not name:
        raise ConfigError(f'open dictionary: expecting "type:name" form instead of "{spec}"')


def _closing_brace(text: str, start: int) -> int:
    """Index of the ``}`` matching the ``{`` at ``start``, or -1."""
    depth = 0
    for i in range(start, len(text)):
        if text[i] == "{":
            depth += 1
        elif text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _open_static(spec: str, name: str, context: TableContext) -> Table:
    _need_name(spec, name)
    if not name.startswith("{"):
        return StaticTable(spec, name)
    end = _closing_brace(name, 0)
    if end < 0:
        raise ConfigError(f"bad static:name syntax: missing '}}' in \"{name}\"")
    if end != len(name) - 1:
        raise ConfigError(f"bad static:name syntax: syntax error after '}}' in \"{name}\"")
    return StaticTable(spec, name[1:end].strip(_BLANK))


def _inline_items(body: str, spec: str) -> list[str]:
    """The items of an inline table body; braced items lose their braces and padding."""
    need = 'need "inline:{name=value...}"'
    items: list[str] = []
    i = 0
    while i < len(body):
        c = body[i]
        if c in "," + _BLANK:
            i += 1
            continue
        if c == "{":
            end = _closing_brace(body, i)
            if end < 0:
                raise ConfigError(f'missing \'}}\' in "{body[i:]}": "{spec}"; {need}')
            if end + 1 < len(body) and body[end + 1] not in "," + _BLANK:
                raise ConfigError(f'syntax error after \'}}\' in "{body[i:]}": "{spec}"; {need}')
            items.append(body[i + 1 : end].strip(_BLANK))
            i = end + 1
            continue
        j = i
        while j < len(body) and body[j] not in "," + _BLANK:
            j += 1
        items.append(body[i:j])
        i = j
    return items


def _split_nameval(item: str, spec: str) -> tuple[str, str]:
    """``name = value`` with optional whitespace around ``=`` (as Postfix's split_nameval)."""
    i = 0
    while i < len(item) and item[i] not in "=" + _BLANK:
        i += 1
    name = item[:i]
    rest = item[i:].lstrip(_BLANK)
    if not rest.startswith("="):
        raise ConfigError(
            f'missing \'=\' after attribute name: "{spec}"; need "inline:{{name=value...}}"'
        )
    return name, rest[1:].strip(_BLANK)


def _open_inline(spec: str, name: str, context: TableContext) -> Table:
    _need_name(spec, name)
    text = name.strip(_BLANK)
    end = _closing_brace(text, 0) if text.startswith("{") else -1
    if end < 0 or end != len(text) - 1 or not text[1:end].strip(_BLANK):
        raise ConfigError(f'bad syntax: "{spec}"; need "inline:{{name=value...}}"')
    entries: dict[str, str] = {}
    for item in _inline_items(text[1:end], spec):
        key, value = _split_nameval(item, spec)
        entries[key.lower()] = value
    return InlineTable(spec, entries)


def _open_fail(spec: str, name: str, context: TableContext) -> Table:
    _need_name(spec, name)
    return FailTable(spec)


def _open_environ(spec: str, name: str, context: TableContext) -> Table:
    _need_name(spec, name)
    return EnvironTable(spec)


register("static", _open_static)
register("inline", _open_inline)
register("fail", _open_fail)
register("environ", _open_environ)
