"""Where a pattern table's rules come from: a file, or ``type:{ {rule}, {rule} }`` inline."""

from __future__ import annotations

from vmail.tables.base import TableContext
from vmail.tables.source import LogicalLine, inline_rules, logical_lines, read_source


def rule_lines(table_type: str, name: str, context: TableContext) -> list[LogicalLine]:
    """The logical lines of ``table_type:name``; ConfigError if the file cannot be read.

    Inline rules are numbered as lines of an in-memory file named after the spec, as
    Postfix 3.7 does.
    """
    if name.lstrip().startswith("{"):
        return list(logical_lines(inline_rules(name, table_type), name))
    path = context.resolve(name)
    return list(logical_lines(read_source(path).splitlines(), str(path)))
