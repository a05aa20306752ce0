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
    admin_router,
    call,
    checked,
    fields,
    lines,
    optional,
    service,
)
from vmail.web.pages.crud import (
    ObjectForm,
    ObjectKind,
    add_delete_routes,
    add_form_routes,
    list_page,
)

router = admin_router()

COLUMNS = ("address", "goto", "active", "modified")


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
    domains = await call(admin.domain_names, actor)
    return await list_page(request, ALIASES, fetch, "address", domain=domain or "", domains=domains)


def _blank(request: Request) -> dict[str, Any]:
    domain = optional(request, "domain") or ""
    return {"local_part": "", "domain": domain, "goto": "", "active": True}


def _current(admin: AdminService, actor: Actor, address: str) -> dict[str, Any]:
    row = admin.get_alias(actor, address)
    goto = "\n".join(row["goto"].split(","))
    return {"address": row["address"], "goto": goto, "active": row["active"]}


def _create(admin: AdminService, actor: Actor, form: FormData) -> tuple[str, None]:
    text = fields(form)
    address = f"{text.get('local_part', '').strip()}@{text.get('domain', '').strip()}"
    goto = lines(text.get("goto", ""))
    return admin.add_alias(actor, address, goto, active=checked(form, "active"))["address"], None


def _edit(admin: AdminService, actor: Actor, current: dict[str, Any], form: FormData) -> None:
    goto = lines(fields(form).get("goto", ""))
    admin.edit_alias(actor, current["address"], goto=goto, active=checked(form, "active"))


add_form_routes(
    router,
    ALIASES,
    ObjectForm(
        template="alias_form.html",
        blank=_blank,
        current=_current,
        create=_create,
        edit=_edit,
        name="address",
        domains="new",
    ),
)


__all__ = ["router"]
