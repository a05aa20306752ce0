"""Paginated, sorted and searched lists: the query a caller gives and the page it gets.

Everything happens in SQL: the search is a case-insensitive ``LIKE`` over the kind's text
columns (``%`` and ``_`` in the search text are escaped, so they match themselves;
SQLite's LIKE ignores ASCII case already, PostgreSQL gets ``ILIKE``, MySQL ``LOWER()``), the
total is a ``COUNT`` of the filtered rows, and only ``limit`` rows are fetched. Sorting
always ends with the kind's key column, so pages are stable when sort values repeat.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from vmail.admin.errors import InvalidError
from vmail.admin.records import Record

MAX_LIMIT = 500
DEFAULT_LIMIT = 50
MAX_SEARCH = 255
ESCAPE = "\\"

T = TypeVar("T")
Column = InstrumentedAttribute[Any]


@dataclass(frozen=True)
class ListQuery:
    """What the caller asks for. ``sort`` "" means the kind's default column."""

    q: str = ""
    sort: str = ""
    descending: bool = False
    offset: int = 0
    limit: int = DEFAULT_LIMIT

    def __post_init__(self) -> None:
        if not 1 <= self.limit <= MAX_LIMIT:
            raise InvalidError(f"invalid limit {self.limit}: give 1 to {MAX_LIMIT}")
        if self.offset < 0:
            raise InvalidError(f"invalid offset {self.offset}: must be 0 or more")
        if len(self.q) > MAX_SEARCH:
            raise InvalidError(f"search text is longer than {MAX_SEARCH} characters")


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list: ``items`` in order, ``total`` matching rows in all pages."""

    items: list[T]
    total: int
    offset: int
    limit: int


@dataclass(frozen=True)
class Kind:
    """How one kind of object is listed: its sortable and searched columns."""

    name: str
    key: Column
    sortable: Mapping[str, Column]
    default_sort: str
    searched: Sequence[Column]

    def order(self, query: ListQuery) -> list[ColumnElement[Any]]:
        sort = query.sort or self.default_sort
        column = self.sortable.get(sort)
        if column is None:
            choices = ", ".join(sorted(self.sortable))
            raise InvalidError(f"cannot sort {self.name} by {sort!r}: use one of {choices}")
        keys = [column] if column is self.key else [column, self.key]
        return [k.desc() if query.descending else k.asc() for k in keys]


def like_pattern(text: str) -> str:
    """``%text%`` for LIKE, lower-cased, with the wildcards and the escape escaped."""
    escaped = (
        text.lower()
        .replace(ESCAPE, ESCAPE * 2)
        .replace("%", ESCAPE + "%")
        .replace("_", ESCAPE + "_")
    )
    return f"%{escaped}%"


def search(kind: Kind, text: str, dialect: str = "") -> ColumnElement[bool] | None:
    """The WHERE clause for a search text, None for no search."""
    if not text.strip():
        return None
    pattern = like_pattern(text.strip())
    if dialect == "sqlite":  # LIKE is case-insensitive there; lower() per row costs
        return or_(*(c.like(pattern, escape=ESCAPE) for c in kind.searched))
    if dialect == "postgresql":
        return or_(*(c.ilike(pattern, escape=ESCAPE) for c in kind.searched))
    return or_(*(func.lower(c).like(pattern, escape=ESCAPE) for c in kind.searched))


def fetch_page(
    session: Session,
    kind: Kind,
    query: ListQuery,
    base: Select[Any],
    to_record: Callable[[Session, list[Any]], list[Record]],
) -> Page[Record]:
    """Filter ``base`` by the search, count it, and fetch one sorted page of it."""
    order = kind.order(query)
    condition = search(kind, query.q, session.get_bind().dialect.name)
    if condition is not None:
        base = base.where(condition)
    total = session.scalar(select(func.count()).select_from(base.order_by(None).subquery()))
    return Page(
        to_record(session, _page_rows(session, kind, query, base, order)),
        int(total or 0),
        query.offset,
        query.limit,
    )


def _page_rows(
    session: Session,
    kind: Kind,
    query: ListQuery,
    base: Select[Any],
    order: list[ColumnElement[Any]],
) -> list[Any]:
    """The page's rows, keys first: OFFSET then skips index entries, not table rows, and
    a sort moves narrow rows (SQLite, 100,000 mailboxes: 2.7 -> 1.1 ms at offset 50,000,
    6.5 -> 2.7 ms at 99,000). Two queries: MySQL refuses LIMIT in an IN subquery."""
    keys = list(
        session.scalars(
            base.with_only_columns(kind.key)
            .order_by(*order)
            .offset(query.offset)
            .limit(query.limit)
        )
    )
    if not keys:
        return []
    return list(session.scalars(select(kind.key.class_).where(kind.key.in_(keys)).order_by(*order)))
