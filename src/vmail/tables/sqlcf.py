"""Read the ``.cf`` file of an SQL table (``sqlite:``, ``mysql:``, ``pgsql:``).

The file has main.cf syntax (``name = value``, continuation lines, ``#`` comments) but no
``$name`` expansion. A later setting overrides an earlier one, with a warning, as in
Postfix. Parameters the table type does not know are logged as warnings (Postfix ignores
them silently; a typo there is worth a line in the log). This module also turns the
settings every SQL type shares into a :class:`QuerySettings`: the query (or the legacy
``select_field``/``table``/``where_field``/``additional_conditions`` form), ``result_format``,
``domain`` and ``expansion_limit``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from vmail.config.parser import Entry, parse_main_cf
from vmail.config.values import parse_bool, parse_int
from vmail.core.errors import ConfigError, Location
from vmail.tables.base import TableContext
from vmail.tables.sqldomain import DomainFilter
from vmail.tables.sqlexpand import Template, TemplateError

log = logging.getLogger(__name__)

COMMON_PARAMETERS = frozenset(
    {
        "query",
        "result_format",
        "domain",
        "expansion_limit",
        "select_field",
        "table",
        "where_field",
        "additional_conditions",
    }
)


class SqlCf:
    """The settings of one ``.cf`` file, with where each was written."""

    def __init__(self, path: Path, entries: Iterable[Entry]) -> None:
        self.path = path
        self.entries: dict[str, Entry] = {}
        for entry in entries:
            earlier = self.entries.get(entry.name)
            if earlier is not None:
                log.warning(
                    "%s: overriding earlier entry: %s=%s", entry.location, entry.name, earlier.value
                )
            self.entries[entry.name] = entry

    @classmethod
    def read(cls, path: Path, known: frozenset[str]) -> SqlCf:
        """Read ``path``; ConfigError naming the file if it cannot be read or parsed."""
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError as e:
            raise ConfigError(f"open {path}: {e.strerror}", Location(str(path))) from None
        cf = cls(path, parse_main_cf(text, str(path)))
        for name, entry in cf.entries.items():
            if name not in known:
                log.warning("%s: unknown parameter ignored: %s", entry.location, name)
        return cf

    def location(self, name: str) -> Location:
        entry = self.entries.get(name)
        return entry.location if entry else Location(str(self.path))

    def get(self, name: str, default: str = "") -> str:
        entry = self.entries.get(name)
        return entry.value if entry is not None else default

    def required(self, name: str) -> str:
        value = self.get(name)
        if not value:
            raise ConfigError(f"missing or empty parameter: {name}", self.location(name))
        return value

    def integer(self, name: str, default: int, minimum: int = 0) -> int:
        value = self.get(name)
        if not value:
            return default
        try:
            number = parse_int(name, value)
        except ConfigError as e:
            raise ConfigError(e.message, self.location(name)) from None
        if number < minimum:
            raise ConfigError(f"bad numerical configuration: {name} = {value}", self.location(name))
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name)
        if not value:
            return default
        try:
            return parse_bool(name, value)
        except ConfigError as e:
            raise ConfigError(e.message, self.location(name)) from None

    def template(self, name: str, text: str) -> Template:
        try:
            return Template(text)
        except TemplateError:
            raise ConfigError(f"invalid {name} template: {text}", self.location(name)) from None


@dataclass(frozen=True)
class QuerySettings:
    """What every SQL table needs to turn a key into a query and rows into a result."""

    query: Template
    result_format: Template
    domain: DomainFilter | None
    expansion_limit: int

    @classmethod
    def from_cf(
        cls, cf: SqlCf, context: TableContext, select_function: bool = False
    ) -> QuerySettings:
        """``select_function`` enables pgsql's legacy ``SELECT fn('%s')`` form."""
        query_name, query_text = "query", cf.get("query")
        if not query_text and select_function and cf.get("select_function"):
            query_name = "select_function"
            query_text = f"SELECT {cf.get('select_function')}('%s')"
        if not query_text:
            query_name = "table"
            table = cf.required("table")
            select_field = cf.required("select_field")
            where_field = cf.required("where_field")
            conditions = cf.get("additional_conditions")
            query_text = f"SELECT {select_field} FROM {table} WHERE {where_field}='%s' {conditions}"
        result_text = cf.get("result_format", "%s")
        if not result_text:
            raise ConfigError("empty result_format", cf.location("result_format"))
        domain_text = cf.get("domain")
        return cls(
            query=cf.template(query_name, query_text),
            result_format=cf.template("result_format", result_text),
            domain=(
                DomainFilter.parse(domain_text, context, cf.location("domain"))
                if domain_text.strip()
                else None
            ),
            expansion_limit=cf.integer("expansion_limit", 0),
        )
