"""HTML pages: alias domains (every address of the alias domain is delivered as the same
address of the target domain) — list, create, edit, delete with a confirmation step."""

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
    optional,
    read_form,
    service,
)
from vmail.web.pages.crud import ObjectKind, add_delete_routes, list_page
from vmail.web.pages.mailboxes import domain_names
from vmail.web.templating import render

router = admin_router()

COLUMNS = ("alias_domain", "target_domain", "active", "modified")
FORM = "alias_domain_form.html"


ALIAS_DOMAINS = ObjectKind(
    path="/alias-domains",
    what="alias domain",
    key="alias_domain",
    template="alias_domains",
    columns=COLUMNS,
    get=lambda admin: admin.get_alias_domain,
    delete=lambda admin: admin.delete_alias_domain,
)
add_delete_routes(router, ALIAS_DOMAINS)


@router.get("/alias-domains")
async def alias_domain_list(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    domain = optional(request, "domain")
    fetch = partial(service(context).page_alias_domains, actor, domain=domain)
    return await list_page(request, ALIAS_DOMAINS, fetch, "alias_domain", domain=domain or "")


async def _form_context(
    admin: AdminService, actor: Actor, form: dict[str, Any], creating: bool
) -> dict[str, Any]:
    return {"form": form, "creating": creating, "domains": await call(domain_names, admin, actor)}


def _echo(form: FormData) -> dict[str, Any]:
    return fields(form) | {"active": checked(form, "active")}


@router.get("/alias-domains/new")
async def new_alias_domain(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    form = {"alias_domain": "", "target_domain": "", "active": True}
    return render(request, FORM, await _form_context(service(context), actor, form, True))


@router.post("/alias-domains/new")
async def create_alias_domain(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    form = await read_form(request)
    text = fields(form)
    try:
        row = await call(
            admin.add_alias_domain,
            actor,
            text.get("alias_domain", ""),
            text.get("target_domain", ""),
            active=checked(form, "active"),
        )
    except FORM_ERRORS as e:
        return form_error(request, FORM, await _form_context(admin, actor, _echo(form), True), e)
    return done_redirect("/alias-domains", "created", "alias domain", row["alias_domain"])


@router.get("/alias-domains/{name}/edit")
async def edit_alias_domain_form(
    request: Request, name: str, actor: CurrentAdmin, context: Context
) -> Response:
    admin = service(context)
    row = await call(admin.get_alias_domain, actor, name)
    return render(request, FORM, await _form_context(admin, actor, row, False))


@router.post("/alias-domains/{name}/edit")
async def edit_alias_domain(
    request: Request, name: str, actor: CurrentAdmin, context: Context
) -> Response:
    admin = service(context)
    row = await call(admin.get_alias_domain, actor, name)
    form = await read_form(request)
    try:
        await call(
            admin.edit_alias_domain,
            actor,
            row["alias_domain"],
            target_domain=fields(form).get("target_domain", ""),
            active=checked(form, "active"),
        )
    except FORM_ERRORS as e:
        echo = _echo(form) | {"alias_domain": row["alias_domain"]}
        return form_error(request, FORM, await _form_context(admin, actor, echo, False), e)
    return done_redirect("/alias-domains", "saved", "alias domain", row["alias_domain"])


__all__ = ["router"]
