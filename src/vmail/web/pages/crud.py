"""What the admin object pages (domains, mailboxes, aliases, alias domains, admins) share:
a declarative :class:`ObjectKind` and the route builders made from it — the list page
(:func:`list_page`) and the delete confirmation + delete pair (:func:`add_delete_routes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, HTTPException
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor, AdminService, ListQuery, Page
from vmail.admin.records import Record
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    call,
    done_redirect,
    list_context,
    list_query,
    render_list,
    service,
)
from vmail.web.templating import render

# (css class, text) shown above the delete button, from the object's record
Note = tuple[str, str]


@dataclass(frozen=True)
class ObjectKind:
    """One kind of object the admin pages manage."""

    path: str  # "/aliases": the list; "{path}/{name}/edit|delete" the object's pages
    what: str  # "alias": in notices and headings
    key: str  # the record's name field ("address")
    template: str  # "aliases": {template}.html, {template}_results.html
    columns: tuple[str, ...]  # the sortable columns shown
    get: Callable[[AdminService], Callable[[Actor, str], Record]]
    delete: Callable[[AdminService], Callable[[Actor, str], object]]
    superadmin_only: bool = False
    note: Callable[[AdminService, Actor, Record], Note | None] | None = None

    def check(self, actor: Actor) -> None:
        """403 for a domain admin on a superadmin-only kind."""
        if self.superadmin_only and not actor.is_superadmin:
            raise HTTPException(403, f"only superadmins manage {self.template.replace('_', ' ')}")


async def list_page(
    request: Request,
    kind: ObjectKind,
    fetch: Callable[[ListQuery], Page[Any]],
    default: str,
    default_descending: bool = False,
    **extra: Any,
) -> Response:
    """The kind's list (one page of ``fetch``), or its ``#results`` fragment for htmx."""
    query = list_query(request)
    page = await call(fetch, query)
    values = list_context(request, query, page, kind.columns, default, default_descending)
    values.update(extra)
    return render_list(request, f"{kind.template}.html", f"{kind.template}_results.html", values)


def add_delete_routes(router: APIRouter, kind: ObjectKind) -> None:
    """``GET {path}/{name}/delete`` (the confirmation) and ``POST`` (delete, redirect)."""

    async def confirm(
        request: Request, name: str, actor: CurrentAdmin, context: Context
    ) -> Response:
        kind.check(actor)
        admin = service(context)
        row = await call(kind.get(admin), actor, name)
        note = await call(kind.note, admin, actor, row) if kind.note else None
        values = {"kind": kind, "name": row[kind.key], "note": note}
        return render(request, "object_delete.html", values)

    async def delete(
        request: Request, name: str, actor: CurrentAdmin, context: Context
    ) -> Response:
        kind.check(actor)
        admin = service(context)
        row = await call(kind.get(admin), actor, name)
        await call(kind.delete(admin), actor, row[kind.key])
        return done_redirect(kind.path, "deleted", kind.what, row[kind.key])

    slug = kind.template
    router.add_api_route(
        f"{kind.path}/{{name}}/delete", confirm, methods=["GET"], name=f"{slug}_confirm_delete"
    )
    router.add_api_route(
        f"{kind.path}/{{name}}/delete", delete, methods=["POST"], name=f"{slug}_delete"
    )


__all__ = ["Note", "ObjectKind", "add_delete_routes", "list_page"]
