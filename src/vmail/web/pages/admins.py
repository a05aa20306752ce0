"""HTML pages: admins (superadmins only) — list with their domains; create and edit
(password, superadmin flag, domains, active); delete with a confirmation step."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor, AdminService, ForbiddenError
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    FORM_ERRORS,
    admin_router,
    call,
    checked,
    done_redirect,
    fields,
    form_error,
    new_password,
    password_page,
    read_form,
    service,
)
from vmail.web.pages.crud import ObjectKind, add_delete_routes, list_page
from vmail.web.pages.mailboxes import domain_names
from vmail.web.templating import render

router = admin_router()

COLUMNS = ("username", "superadmin", "active", "modified")
FORM = "admin_form.html"
# an admin's own rights are not theirs to remove: shown next to the form too
ADMIN_FORM_ERRORS = (*FORM_ERRORS, ForbiddenError)


ADMINS = ObjectKind(
    path="/admins",
    what="admin",
    key="username",
    template="admins",
    columns=COLUMNS,
    get=lambda admin: admin.get_admin,
    delete=lambda admin: admin.delete_admin,
    superadmin_only=True,
)
add_delete_routes(router, ADMINS)


require_superadmin = ADMINS.check


@router.get("/admins")
async def admin_list(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    require_superadmin(actor)
    fetch = partial(service(context).page_admins, actor)
    return await list_page(request, ADMINS, fetch, "username", actor=actor)


async def _form_context(
    admin: AdminService, actor: Actor, form: dict[str, Any], creating: bool
) -> dict[str, Any]:
    return {"form": form, "creating": creating, "domains": await call(domain_names, admin, actor)}


def _echo(form: FormData) -> dict[str, Any]:
    return fields(form) | {
        "superadmin": checked(form, "superadmin"),
        "active": checked(form, "active"),
        "domains": [d for d in form.getlist("domains") if isinstance(d, str)],
    }


def _domains(form: FormData, superadmin: bool) -> list[str]:
    chosen = [d for d in form.getlist("domains") if isinstance(d, str) and d.strip()]
    return [] if superadmin else chosen


@router.get("/admins/new")
async def new_admin(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    require_superadmin(actor)
    form = {"username": "", "superadmin": False, "domains": [], "active": True}
    return render(request, FORM, await _form_context(service(context), actor, form, True))


@router.post("/admins/new")
async def create_admin(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    require_superadmin(actor)
    admin = service(context)
    form = await read_form(request)
    superadmin = checked(form, "superadmin")
    try:
        password, generated = new_password(form, required=True)
        assert password is not None
        row = await call(
            admin.add_admin,
            actor,
            fields(form).get("username", ""),
            password,
            superadmin=superadmin,
            domains=_domains(form, superadmin),
            active=checked(form, "active"),
        )
    except ADMIN_FORM_ERRORS as e:
        return form_error(request, FORM, await _form_context(admin, actor, _echo(form), True), e)
    if generated:
        return password_page(request, "Admin", row["username"], password, "/admins")
    return done_redirect("/admins", "created", "admin", row["username"])


@router.get("/admins/{username}/edit")
async def edit_admin_form(
    request: Request, username: str, actor: CurrentAdmin, context: Context
) -> Response:
    require_superadmin(actor)
    admin = service(context)
    row = await call(admin.get_admin, actor, username)
    return render(request, FORM, await _form_context(admin, actor, row, False))


@router.post("/admins/{username}/edit")
async def edit_admin(
    request: Request, username: str, actor: CurrentAdmin, context: Context
) -> Response:
    require_superadmin(actor)
    admin = service(context)
    row = await call(admin.get_admin, actor, username)
    form = await read_form(request)
    superadmin = checked(form, "superadmin")
    try:
        password, generated = new_password(form, required=False)
        await call(
            admin.edit_admin,
            actor,
            row["username"],
            password=password,
            superadmin=superadmin,
            domains=_domains(form, superadmin),
            active=checked(form, "active"),
        )
    except ADMIN_FORM_ERRORS as e:
        echo = _echo(form) | {"username": row["username"]}
        return form_error(request, FORM, await _form_context(admin, actor, echo, False), e)
    if generated and password is not None:
        return password_page(request, "Admin", row["username"], password, "/admins")
    return done_redirect("/admins", "saved", "admin", row["username"])


__all__ = ["router"]
