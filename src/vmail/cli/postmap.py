"""``vmail postmap``: compile and query lookup tables, as Postfix's postmap(1).

* ``vmail postmap [type:]FILE...`` compiles each source into ``FILE.vmdb`` (indexed types
  only: hash, btree, lmdb, cdb, dbm); the type defaults to ``default_database_type`` from
  main.cf when it is readable, else ``hash``.
* ``-q KEY TABLE...`` prints the value from the first table that has the key (exit 0) or
  nothing (exit 1). ``-q -`` reads keys from standard input and prints ``key<TAB>value``
  for each hit (exit 0 if there was any).
* ``-s TABLE`` prints every entry of the (first) table as ``key<TAB>value``, in key order.
* ``-f`` disables case folding (of keys when compiling, of the query key for ``-q``).
* ``-i`` adds ``key value`` lines from standard input to the compiled table.
* ``-N``/``-n`` (NUL-terminated keys) are accepted and ignored: vmail's format has none.

Warnings about table sources go to stderr as ``vmail postmap: warning: file:line: text``;
errors are one ``vmail postmap: fatal: ...`` line and exit status 1, as in Postfix.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from vmail.config import MainConfig
from vmail.core.errors import ConfigError, TableError, VmailError
from vmail.tables import Table, open_table
from vmail.tables.compiled import add_entries, compile_source, compiled_path, write_compiled
from vmail.tables.indexed import INDEXED_TYPES, IndexedTable
from vmail.tables.source import parse_entries

PROG = "vmail postmap"
USAGE = f"{PROG} [-fiNns] [-c config_dir] [-q key] [map_type:]file..."


class _FatalError(VmailError):
    """An error reported as ``fatal:`` without further decoration."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare this subcommand's options."""
    parser.usage = USAGE
    parser.add_argument("-q", dest="query", metavar="KEY", help="look up KEY ('-': stdin)")
    parser.add_argument("-s", dest="sequence", action="store_true", help="dump all entries")
    parser.add_argument("-f", dest="no_fold", action="store_true", help="no case folding")
    parser.add_argument("-i", dest="incremental", action="store_true", help="add from stdin")
    parser.add_argument("-N", dest="nul", action="store_true", help="ignored")
    parser.add_argument("-n", dest="no_nul", action="store_true", help="ignored")
    parser.add_argument("tables", nargs="*", metavar="[type:]file")

    def usage_error(message: str) -> NoReturn:  # Postfix exits 1 on usage errors
        print(f"{PROG}: {message}", file=sys.stderr)
        print(f"{PROG}: fatal: usage: {USAGE}", file=sys.stderr)
        raise SystemExit(1)

    parser.error = usage_error  # type: ignore[method-assign]


class _StderrWarnings(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        print(f"{PROG}: warning: {record.getMessage()}", file=sys.stderr)


def _default_type(config_dir: str | None) -> str:
    try:
        return MainConfig.load(config_dir).get("default_database_type") or "hash"
    except (ConfigError, OSError):
        return "hash"


def _spec(name: str, default_type: str) -> str:
    table_type, sep, _ = name.partition(":")
    # "C:/x" or a bare path with a colon later on still needs a type of letters
    if sep and table_type and table_type.replace("_", "").isalnum():
        return name
    return f"{default_type}:{name}"


def run(args: argparse.Namespace) -> int:
    if args.query is not None and args.sequence:
        raise _FatalError("specify only one of -s or -q or -d")
    if not args.tables:
        print(f"{PROG}: fatal: usage: {USAGE}", file=sys.stderr)
        return 1
    logger = logging.getLogger("vmail.tables")
    handler = _StderrWarnings()
    logger.addHandler(handler)
    saved_propagate = logger.propagate
    logger.propagate = False
    try:
        default_type = _default_type(args.config_dir)
        specs = [_spec(name, default_type) for name in args.tables]
        if args.query is not None:
            return _query(args.query, specs, fold=not args.no_fold)
        if args.sequence:
            return _sequence(specs[0])
        for spec in specs:
            _compile(spec, fold=not args.no_fold, incremental=args.incremental)
        return 0
    except TableError as e:
        print(f"{PROG}: fatal: table {e.table}: {e.message}", file=sys.stderr)
        return 1
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved_propagate


def _find(tables: list[Table], key: str, fold: bool) -> str | None:
    for table in tables:
        query = key.lower() if fold and table.fold_case else key
        value = table.lookup(query)
        if value is not None:
            if not value:
                print(
                    f"{PROG}: warning: table {table.spec}: key {key}: "
                    "empty string result is not allowed",
                    file=sys.stderr,
                )
            return value
    return None


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        yield line.rstrip("\n")


def _query(key: str, specs: list[str], *, fold: bool) -> int:
    tables = [open_table(spec) for spec in specs]
    try:
        if key != "-":
            value = _find(tables, key, fold)
            if value is None:
                return 1
            print(value)
            return 0
        found = False
        for line in _stdin_lines():
            value = _find(tables, line, fold)
            if value is not None:
                found = True
                print(f"{line}\t{value}")
        return 0 if found else 1
    finally:
        for table in tables:
            table.close()


def _sequence(spec: str) -> int:
    table = open_table(spec)
    try:
        items = getattr(table, "items", None)
        if items is None:
            raise _FatalError(f"table {spec}: sequence operation is not supported")
        for key, value in items():
            print(f"{key}\t{value}")
        return 0
    finally:
        table.close()


def _compile(spec: str, *, fold: bool, incremental: bool) -> None:
    table_type, _, name = spec.partition(":")
    if table_type not in INDEXED_TYPES:
        open_table(spec).close()  # an unknown type is reported as such
        raise _FatalError(
            f"unsupported dictionary type: {table_type} does not support bulk-mode creation."
        )
    source = Path(name)
    if not incremental:
        compile_source(source, fold_case=fold)
        return
    target = compiled_path(source)
    if source.exists():
        IndexedTable(spec, source).close()  # brings the compiled file up to date
    elif not target.exists():
        write_compiled(target, [], str(source), fold, None)
    add_entries(target, parse_entries(sys.stdin.read(), "stdin", fold_case=fold), "stdin")
