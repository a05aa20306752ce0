"""``static:`` and ``inline:{...}`` tables, which hold their data in the spec itself."""

from __future__ import annotations

from vmail.config.values import split_list
from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext
from vmail.tables.registry import register


class StaticTable(Table):
    """``static:value`` answers every key with the same value (``static:{a b}`` keeps spaces)."""

    def __init__(self, spec: str, value: str) -> None:
        super().__init__(spec)
        self.value = value

    def lookup(self, key: str) -> str | None:
        return self.value


class InlineTable(Table):
    """``inline:{ key=value, { key = text with spaces } }``."""

    def __init__(self, spec: str, entries: dict[str, str]) -> None:
        super().__init__(spec)
        self.entries = entries

    def lookup(self, key: str) -> str | None:
        return self.entries.get(key)


def _unbrace(text: str, spec: str) -> str:
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        raise ConfigError(f'{spec}: need "{{name=value...}}" syntax')
    return text[1:-1]


def _open_static(spec: str, name: str, context: TableContext) -> Table:
    value = name.strip()
    if value.startswith("{") and value.endswith("}"):
        value = value[1:-1].strip()
    return StaticTable(spec, value)


def _open_inline(spec: str, name: str, context: TableContext) -> Table:
    entries: dict[str, str] = {}
    for item in split_list(_unbrace(name, spec)):
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f'{spec}: need "name=value", got "{item}"')
        entries[key.strip().lower()] = value.strip()
    return InlineTable(spec, entries)


register("static", _open_static)
register("inline", _open_inline)
