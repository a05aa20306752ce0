"""Open a table from its ``type:name`` spec; the one place that knows every table type."""

from __future__ import annotations

from collections.abc import Callable

from vmail.core.errors import ConfigError
from vmail.tables.base import Table, TableContext

Factory = Callable[[str, str, TableContext], Table]
"""``factory(spec, name, context)``: ``name`` is the part after ``type:``."""

_FACTORIES: dict[str, Factory] = {}


def register(table_type: str, factory: Factory) -> None:
    _FACTORIES[table_type] = factory


def _load_builtin_types() -> None:
    """Import the modules that register the built-in types (kept lazy: SQL drivers are heavy)."""
    from vmail.tables import builtin  # noqa: F401


def open_table(spec: str, context: TableContext | None = None) -> Table:
    """Open ``type:name``; ConfigError for an unknown type or a malformed spec."""
    _load_builtin_types()  # a no-op after the first call (modules are imported once)
    table_type, sep, name = spec.partition(":")
    if not sep or not table_type:
        raise ConfigError(f'need dictionary type:name, got "{spec}"')
    factory = _FACTORIES.get(table_type)
    if factory is None:
        raise ConfigError(f'unsupported dictionary type: {table_type} (in "{spec}")')
    return factory(spec, name, context or TableContext())
