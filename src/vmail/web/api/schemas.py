"""Shared API pieces: text and number types with their bounds, list parameters, list pages.

The bounds are in the OpenAPI document (so clients and the schemathesis fuzz see them) and
keep out what the database cannot store: lone surrogates and NUL in text, integers wider
than the columns. Everything else (address syntax, limits, scopes) is the admin service's.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Generic, Literal, TypeVar
from urllib.parse import quote

from fastapi import Path, Query, Response
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from vmail.admin import ListQuery, Page
from vmail.admin.listing import MAX_LIMIT, MAX_SEARCH, Kind
from vmail.admin.records import Record

T = TypeVar("T")
INT32 = 2**31 - 1
MAX_BYTES = 2**53  # a mailbox quota in bytes (9 PB): well inside BIGINT and a float
MAX_MB = 2**33  # a domain quota in MB (8 EB)
MAX_NAME = 255
MAX_ADDRESS = 320


def _storable(value: str) -> str:
    """Refuse text no database column takes: NUL and lone surrogates."""
    if "\0" in value:
        raise ValueError("must not contain NUL")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("is not valid Unicode text") from None
    return value


# The formats document the stored form (internationalized names are accepted too, and
# stored as A-labels); the admin service does the checking, with its own messages.
HOSTNAME = {"format": "hostname"}
EMAIL = {"format": "email"}
Storable = AfterValidator(_storable)
Name = Annotated[str, Field(max_length=MAX_NAME), Storable]
Address = Annotated[str, Field(min_length=1, max_length=MAX_ADDRESS), Storable]
MailAddress = Annotated[
    str, Field(min_length=1, max_length=MAX_ADDRESS, json_schema_extra=EMAIL), Storable
]
DomainName = Annotated[
    str, Field(min_length=1, max_length=MAX_NAME, json_schema_extra=HOSTNAME), Storable
]
Password = Annotated[str, Field(min_length=8, max_length=1024), Storable]
Limit = Annotated[int, Field(ge=-1, le=INT32)]
Megabytes = Annotated[int, Field(ge=0, le=MAX_MB)]
Bytes = Annotated[int, Field(ge=0, le=MAX_BYTES)]

DomainPath = Annotated[
    str, Path(min_length=1, max_length=MAX_NAME, json_schema_extra=HOSTNAME), Storable
]
AddressPath = Annotated[str, Path(min_length=1, max_length=MAX_ADDRESS), Storable]
MailAddressPath = Annotated[
    str, Path(min_length=1, max_length=MAX_ADDRESS, json_schema_extra=EMAIL), Storable
]


class Input(BaseModel):
    """A request body: unknown fields are refused (422), so typos never pass silently."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    """A response body: built from an admin-service record, extra columns left out."""

    model_config = ConfigDict(extra="ignore", from_attributes=True)


class ListPage(BaseModel, Generic[T]):
    """One page of a list: ``items``, ``total`` matching objects, the page's offset/limit."""

    items: list[T]
    total: int
    offset: int
    limit: int


def list_query(
    q: Annotated[str, Query(max_length=MAX_SEARCH, description="search text"), Storable] = "",
    sort: Annotated[str, Query(max_length=64, description="column to sort by")] = "",
    desc: Annotated[bool, Query(description="sort descending")] = False,
    offset: Annotated[int, Query(ge=0, le=INT32)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> ListQuery:
    """The list parameters every list endpoint takes, as the admin service's query."""
    return ListQuery(q=q, sort=sort or "", descending=desc, offset=offset, limit=limit)


def list_params(kind: Kind) -> Callable[..., ListQuery]:
    """:func:`list_query` whose ``sort`` is an enum of ``kind``'s sortable columns (in the
    OpenAPI document); omitted: the kind's default order. Use as
    ``query: Annotated[ListQuery, Depends(list_params(DOMAINS))]``."""
    choices: Any = Literal.__getitem__(tuple(sorted(kind.sortable)))  # Literal["a", "b", ...]
    description = f"column to sort by (default {kind.default_sort})"
    sort = Annotated[choices | None, Query(description=description)]

    def dependency(**params: Any) -> ListQuery:
        return list_query(**params)

    signature = inspect.signature(list_query, eval_str=True)
    parameters = [
        p.replace(annotation=sort, default=None) if p.name == "sort" else p
        for p in signature.parameters.values()
    ]
    dependency.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    dependency.__name__ = f"list_{kind.name.replace(' ', '_')}"
    return dependency


def page_of(page: Page[Record], convert: Callable[[Record], T]) -> ListPage[T]:
    return ListPage[T](
        items=[convert(item) for item in page.items],
        total=page.total,
        offset=page.offset,
        limit=page.limit,
    )


def changes(body: BaseModel) -> dict[str, Any]:
    """A PATCH body's fields that were given (explicit nulls mean "keep", as omitted)."""
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}


def created(response: Response, *parts: str) -> None:
    """201's ``Location``: ``/api/v1/`` and the escaped path parts."""
    response.headers["Location"] = "/api/v1/" + "/".join(quote(p, safe="@") for p in parts)


def split_list(value: str | Iterable[str]) -> list[str]:
    """A comma-separated column as a list (``alias.goto``)."""
    if isinstance(value, str):
        return [item for item in value.split(",") if item]
    return list(value)


__all__ = [
    "Address",
    "AddressPath",
    "Bytes",
    "DomainName",
    "DomainPath",
    "Input",
    "Limit",
    "ListPage",
    "MailAddress",
    "MailAddressPath",
    "Megabytes",
    "Name",
    "Output",
    "Password",
    "changes",
    "created",
    "list_params",
    "list_query",
    "page_of",
    "split_list",
]
