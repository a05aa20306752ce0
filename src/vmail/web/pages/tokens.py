"""HTML pages: REST API tokens — list (a superadmin sees all, a domain admin their own),
create (name, role, domains, expiry; the secret is shown once, on the result page),
revoke with a confirmation step."""

from __future__ import annotations

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
    day,
    done_redirect,
    fields,
    form_error,
    list_context,
    list_query,
    read_form,
    service,
)
from vmail.web.templating import render

router = admin_router()

FORM = "token_form.html"


def roles(actor: Actor) -> list[str]:
    """The roles this admin may give a token."""
    return ["domain_admin", "superadmin"] if actor.is_superadmin else ["domain_admin"]


@router.get("/tokens")
async def token_list(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    query = list_query(request)
    page = await call(service(context).page_tokens, actor, query)
    values = list_context(request, query, page, (), "id") | {"actor": actor}
    return render(request, "tokens.html", values)


async def _form_context(admin: AdminService, actor: Actor, form: dict[str, Any]) -> dict[str, Any]:
    domains = await call(admin.domain_names, actor)
    return {"form": form, "roles": roles(actor), "domains": domains}


def _echo(form: FormData) -> dict[str, Any]:
    return fields(form) | {"domains": [d for d in form.getlist("domains") if isinstance(d, str)]}


@router.get("/tokens/new")
async def new_token(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    form = {"name": "", "role": "domain_admin", "domains": [], "expires": ""}
    return render(request, FORM, await _form_context(service(context), actor, form))


@router.post("/tokens/new")
async def create_token(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    form = await read_form(request)
    text = fields(form)
    role = text.get("role", "")
    domains = [d for d in form.getlist("domains") if isinstance(d, str) and d.strip()]
    try:
        row, secret = await call(
            admin.create_token,
            actor,
            text.get("name", ""),
            role,
            [] if role == "superadmin" else domains,
            day(text.get("expires"), "expires"),
        )
    except FORM_ERRORS as e:
        return form_error(request, FORM, await _form_context(admin, actor, _echo(form)), e)
    return render(request, "token_created.html", {"token": row, "secret": secret})


@router.get("/tokens/{token_id}/revoke")
async def revoke_token_form(
    request: Request, token_id: int, actor: CurrentAdmin, context: Context
) -> Response:
    row = await call(service(context).get_token, actor, token_id)
    return render(request, "token_revoke.html", {"token": row})


@router.post("/tokens/{token_id}/revoke")
async def revoke_token(
    request: Request, token_id: int, actor: CurrentAdmin, context: Context
) -> Response:
    row = await call(service(context).revoke_token, actor, token_id)
    return done_redirect("/tokens", "revoked", "API token", row["name"])


__all__ = ["roles", "router"]
