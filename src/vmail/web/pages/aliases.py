"""HTML pages: aliases — list (catch-alls ``@domain`` marked), create and edit with
several targets (one per line), delete with a confirmation step. Mailboxes' own alias
rows are edited as the mailbox's forwarding, not here."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor, AdminService
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    FORM_ERRORS,
    admin_router,
    call,
    checked,
    done_redirect,
    fields,
    form_error,
    lines,
    optional,
    read_form,
    service,
)
from vmail.web.pages.crud import ObjectKind, add_delete_routes, list_page
from vmail.web.pages.mailboxes import domain_names
from vmail.web.templating import render

router = admin_router()

COLUMNS = ("address", "goto", "active", "modified")
FORM = "alias_form.html"


ALIASES = ObjectKind(
    path="/aliases",
    what="alias",
    key="address",
    template="aliases",
    columns=COLUMNS,
    get=lambda admin: admin.get_alias,
    delete=lambda admin: admin.delete_alias,
)
add_delete_routes(router, ALIASES)


@router.get("/aliases")
async def alias_list(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    domain = optional(request, "domain")
    fetch = partial(admin.page_aliases, actor, domain=domain)
    domains = await call(domain_names, admin, actor)
    return await list_page(request, ALIASES, fetch, "address", domain=domain or "", domains=domains)


async def _form_context(
    admin: AdminService, actor: Actor, form: dict[str, Any], creating: bool
) -> dict[str, Any]:
    domains = await call(domain_names, admin, actor) if creating else []
    return {"form": form, "creating": creating, "domains": domains}


def _echo(form: FormData) -> dict[str, Any]:
    return fields(form) | {"active": checked(form, "active")}


@router.get("/aliases/new")
async def new_alias(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    form = {
        "local_part": "",
        "domain": optional(request, "domain") or "",
        "goto": "",
        "active": True,
    }
    return render(request, FORM, await _form_context(service(context), actor, form, True))


@router.post("/aliases/new")
async def create_alias(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    form = await read_form(request)
    text = fields(form)
    address = f"{text.get('local_part', '').strip()}@{text.get('domain', '').strip()}"
    try:
        row = await call(
            admin.add_alias,
            actor,
            address,
            lines(text.get("goto", "")),
            active=checked(form, "active"),
        )
    except FORM_ERRORS as e:
        return form_error(request, FORM, await _form_context(admin, actor, _echo(form), True), e)
    return done_redirect("/aliases", "created", "alias", row["address"])


@router.get("/aliases/{address}/edit")
async def edit_alias_form(
    request: Request, address: str, actor: CurrentAdmin, context: Context
) -> Response:
    row = await call(service(context).get_alias, actor, address)
    form = {
        "address": row["address"],
        "goto": "\n".join(row["goto"].split(",")),
        "active": row["active"],
    }
    return render(request, FORM, {"form": form, "creating": False})


@router.post("/aliases/{address}/edit")
async def edit_alias(
    request: Request, address: str, actor: CurrentAdmin, context: Context
) -> Response:
    admin = service(context)
    row = await call(admin.get_alias, actor, address)
    form = await read_form(request)
    try:
        await call(
            admin.edit_alias,
            actor,
            row["address"],
            goto=lines(fields(form).get("goto", "")),
            active=checked(form, "active"),
        )
    except FORM_ERRORS as e:
        echo = _echo(form) | {"address": row["address"]}
        return form_error(request, FORM, {"form": echo, "creating": False}, e)
    return done_redirect("/aliases", "saved", "alias", row["address"])


__all__ = ["router"]
