"""HTML pages: domains — list (all for a superadmin, their own for a domain admin) with
usage against the limits; create, edit and delete (with a confirmation step) for
superadmins only."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor, AdminService
from vmail.admin.records import Record
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    FORM_ERRORS,
    admin_router,
    call,
    checked,
    done_redirect,
    fields,
    form_error,
    number,
    read_form,
    service,
)
from vmail.web.pages.crud import Note, ObjectKind, add_delete_routes, list_page
from vmail.web.templating import render

router = admin_router()

COLUMNS = ("domain", "description", "aliases", "mailboxes", "maxquota", "quota", "active")
FORM = "domain_form.html"
EMPTY: dict[str, Any] = {
    "domain": "",
    "description": "",
    "aliases": 0,
    "mailboxes": 0,
    "maxquota": 0,
    "quota": 0,
    "transport": "",
    "backupmx": False,
    "active": True,
}


def _delete_note(admin: AdminService, actor: Actor, row: Record) -> Note:
    usage = admin.domain_usage(actor, row["domain"])
    return (
        "error",
        f"Its {usage['mailbox_count']} mailbox(es), {usage['alias_count']} alias(es),"
        " alias domains and admin assignments are deleted with it.",
    )


DOMAINS = ObjectKind(
    path="/domains",
    what="domain",
    key="domain",
    template="domains",
    columns=COLUMNS,
    get=lambda admin: admin.get_domain,
    delete=lambda admin: admin.delete_domain,
    superadmin_only=True,
    note=_delete_note,
)
add_delete_routes(router, DOMAINS)
require_superadmin = DOMAINS.check


@router.get("/domains")
async def domain_list(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    fetch = partial(service(context).page_domains, actor)
    return await list_page(request, DOMAINS, fetch, "domain", actor=actor)


def _settings(form: FormData) -> dict[str, Any]:
    text = fields(form)
    return {
        "description": text.get("description", ""),
        "aliases": number(text.get("aliases", ""), "aliases"),
        "mailboxes": number(text.get("mailboxes", ""), "mailboxes"),
        "maxquota": number(text.get("maxquota", ""), "max quota per mailbox"),
        "quota": number(text.get("quota", ""), "total quota"),
        "transport": text.get("transport", "").strip(),
        "backupmx": checked(form, "backupmx"),
        "active": checked(form, "active"),
    }


def _echo(form: FormData) -> dict[str, Any]:
    """The posted input, to show the form again as the user filled it."""
    text = fields(form)
    return (
        EMPTY
        | {key: text.get(key, "") for key in EMPTY if key not in ("backupmx", "active")}
        | {"backupmx": checked(form, "backupmx"), "active": checked(form, "active")}
    )


@router.get("/domains/new")
def new_domain(request: Request, actor: CurrentAdmin) -> Response:
    require_superadmin(actor)
    return render(request, FORM, {"form": EMPTY, "creating": True})


@router.post("/domains/new")
async def create_domain(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    require_superadmin(actor)
    form = await read_form(request)
    name = fields(form).get("domain", "")
    try:
        row = await call(service(context).add_domain, actor, name, **_settings(form))
    except FORM_ERRORS as e:
        return form_error(request, FORM, {"form": _echo(form), "creating": True}, e)
    return done_redirect("/domains", "created", "domain", row["domain"])


@router.get("/domains/{domain}/edit")
async def edit_domain_form(
    request: Request, domain: str, actor: CurrentAdmin, context: Context
) -> Response:
    require_superadmin(actor)
    row = await call(service(context).get_domain, actor, domain)
    form = row | {"transport": row.get("transport") or ""}
    return render(request, FORM, {"form": form, "creating": False})


@router.post("/domains/{domain}/edit")
async def edit_domain(
    request: Request, domain: str, actor: CurrentAdmin, context: Context
) -> Response:
    require_superadmin(actor)
    admin = service(context)
    row = await call(admin.get_domain, actor, domain)
    form = await read_form(request)
    try:
        await call(admin.edit_domain, actor, row["domain"], **_settings(form))
    except FORM_ERRORS as e:
        echo = _echo(form) | {"domain": row["domain"]}
        return form_error(request, FORM, {"form": echo, "creating": False}, e)
    return done_redirect("/domains", "saved", "domain", row["domain"])


__all__ = ["router"]
