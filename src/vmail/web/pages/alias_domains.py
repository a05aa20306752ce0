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
    admin_router,
    checked,
    fields,
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

COLUMNS = ("alias_domain", "target_domain", "active", "modified")


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


def _create(admin: AdminService, actor: Actor, form: FormData) -> tuple[str, None]:
    text = fields(form)
    alias_domain, target = text.get("alias_domain", ""), text.get("target_domain", "")
    row = admin.add_alias_domain(actor, alias_domain, target, active=checked(form, "active"))
    return row["alias_domain"], None


def _edit(admin: AdminService, actor: Actor, current: dict[str, Any], form: FormData) -> None:
    admin.edit_alias_domain(
        actor,
        current["alias_domain"],
        target_domain=fields(form).get("target_domain", ""),
        active=checked(form, "active"),
    )


add_form_routes(
    router,
    ALIAS_DOMAINS,
    ObjectForm(
        template="alias_domain_form.html",
        blank=lambda _request: {"alias_domain": "", "target_domain": "", "active": True},
        current=lambda admin, actor, name: admin.get_alias_domain(actor, name),
        create=_create,
        edit=_edit,
        name="alias_domain",
        domains="always",
    ),
)


__all__ = ["router"]
