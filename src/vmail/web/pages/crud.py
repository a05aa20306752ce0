"""What the admin object pages (domains, mailboxes, aliases, alias domains, admins) share:
a declarative :class:`ObjectKind` and the route builders made from it — the list page
(:func:`list_page`), the delete confirmation + delete pair (:func:`add_delete_routes`) and
the create/edit forms (:class:`ObjectForm`, :func:`add_form_routes`: show the form; on POST
call the service, re-show the form with the input and the service's message on a mistake,
else show a generated password once or redirect with a notice).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, HTTPException
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor, AdminError, AdminService, ListQuery, Page
from vmail.admin.records import Record
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    FORM_ERRORS,
    call,
    checked,
    done_redirect,
    fields,
    form_error,
    list_context,
    list_query,
    password_page,
    read_form,
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


def echo_active(form: FormData) -> dict[str, Any]:
    """The posted text fields and the ``active`` checkbox: the form again as filled in."""
    return fields(form) | {"active": checked(form, "active")}


# the form's values to show; creating (GET /new, with the request) or editing (the object)
Blank = Callable[[Request], dict[str, Any]]
Current = Callable[[AdminService, Actor, str], dict[str, Any]]
# save the posted form: (the object's name, a generated password to show once or None)
Create = Callable[[AdminService, Actor, FormData], tuple[str, str | None]]
Edit = Callable[[AdminService, Actor, dict[str, Any], FormData], str | None]


@dataclass(frozen=True)
class ObjectForm:
    """What differs between the kinds' create/edit forms (blocking callables: thread pool)."""

    template: str  # "alias_form.html"
    blank: Blank  # the new form's values
    current: Current  # the edit form's values from the stored object
    create: Create  # POST /new: add the object
    edit: Edit  # POST /{name}/edit: change it (given its current values)
    name: str  # the current values' name field ("address")
    domains: Literal["never", "new", "always"] = "never"  # when the form has a domain select
    echo: Callable[[FormData], dict[str, Any]] = echo_active  # the posted input, shown again
    errors: tuple[type[AdminError], ...] = FORM_ERRORS  # the mistakes shown next to the form
    # more values for the edit page (mailboxes: the quota usage)
    details: Callable[[AdminService, Actor, dict[str, Any]], dict[str, Any]] | None = None


def add_form_routes(router: APIRouter, kind: ObjectKind, spec: ObjectForm) -> None:
    """``GET|POST {path}/new`` and ``GET|POST {path}/{name}/edit`` of ``kind``."""

    async def values(
        admin: AdminService, actor: Actor, form: dict[str, Any], creating: bool
    ) -> dict[str, Any]:
        wanted = spec.domains == "always" or (creating and spec.domains == "new")
        domains = await call(admin.domain_names, actor) if wanted else []
        return {
            "form": form,
            "creating": creating,
            "domains": domains,
            "kind": kind,
            "name_field": spec.name,
        }

    async def post(
        request: Request,
        admin: AdminService,
        actor: Actor,
        current: dict[str, Any] | None,
        save: Callable[[FormData], tuple[str, str | None]],
    ) -> Response:
        form = await read_form(request)
        try:
            name, password = await call(save, form)
        except spec.errors as e:
            echo = spec.echo(form)
            if current is not None:
                echo[spec.name] = current[spec.name]
            shown = await values(admin, actor, echo, current is None)
            return form_error(request, spec.template, shown, e)
        if password is not None:  # generated: shown once, never put in a URL
            return password_page(request, kind.what.capitalize(), name, password, kind.path)
        return done_redirect(kind.path, "created" if current is None else "saved", kind.what, name)

    async def new_form(request: Request, actor: CurrentAdmin, context: Context) -> Response:
        kind.check(actor)
        shown = await values(service(context), actor, spec.blank(request), True)
        return render(request, spec.template, shown)

    async def create(request: Request, actor: CurrentAdmin, context: Context) -> Response:
        kind.check(actor)
        admin = service(context)
        return await post(request, admin, actor, None, partial(spec.create, admin, actor))

    async def edit_form(
        request: Request, name: str, actor: CurrentAdmin, context: Context
    ) -> Response:
        kind.check(actor)
        admin = service(context)
        current = await call(spec.current, admin, actor, name)
        shown = await values(admin, actor, current, False)
        if spec.details is not None:
            shown |= await call(spec.details, admin, actor, current)
        return render(request, spec.template, shown)

    async def edit(request: Request, name: str, actor: CurrentAdmin, context: Context) -> Response:
        kind.check(actor)
        admin = service(context)
        current = await call(spec.current, admin, actor, name)

        def save(form: FormData) -> tuple[str, str | None]:
            return current[spec.name], spec.edit(admin, actor, current, form)

        return await post(request, admin, actor, current, save)

    slug = kind.template
    router.add_api_route(f"{kind.path}/new", new_form, methods=["GET"], name=f"{slug}_new")
    router.add_api_route(f"{kind.path}/new", create, methods=["POST"], name=f"{slug}_create")
    edit_path = f"{kind.path}/{{name}}/edit"
    router.add_api_route(edit_path, edit_form, methods=["GET"], name=f"{slug}_edit_form")
    router.add_api_route(edit_path, edit, methods=["POST"], name=f"{slug}_edit")


__all__ = [
    "Note",
    "ObjectForm",
    "ObjectKind",
    "add_delete_routes",
    "add_form_routes",
    "echo_active",
    "list_page",
]
