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
    checked,
    fields,
    new_password,
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

COLUMNS = ("username", "superadmin", "active", "modified")
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


def _echo(form: FormData) -> dict[str, Any]:
    return fields(form) | {
        "superadmin": checked(form, "superadmin"),
        "active": checked(form, "active"),
        "domains": [d for d in form.getlist("domains") if isinstance(d, str)],
    }


def _rights(form: FormData) -> dict[str, Any]:
    """The superadmin flag, domains (none for a superadmin) and active flag posted."""
    superadmin = checked(form, "superadmin")
    chosen = [d for d in form.getlist("domains") if isinstance(d, str) and d.strip()]
    domains = [] if superadmin else chosen
    return {"superadmin": superadmin, "domains": domains, "active": checked(form, "active")}


def _create(admin: AdminService, actor: Actor, form: FormData) -> tuple[str, str | None]:
    password, generated = new_password(form, required=True)
    assert password is not None
    username = fields(form).get("username", "")
    row = admin.add_admin(actor, username, password, **_rights(form))
    return row["username"], password if generated else None


def _edit(admin: AdminService, actor: Actor, current: dict[str, Any], form: FormData) -> str | None:
    password, generated = new_password(form, required=False)
    admin.edit_admin(actor, current["username"], password=password, **_rights(form))
    return password if generated else None


add_form_routes(
    router,
    ADMINS,
    ObjectForm(
        template="admin_form.html",
        blank=lambda _request: {"username": "", "superadmin": False, "domains": [], "active": True},
        current=lambda admin, actor, name: admin.get_admin(actor, name),
        create=_create,
        edit=_edit,
        name="username",
        domains="always",
        echo=_echo,
        errors=ADMIN_FORM_ERRORS,
    ),
)


__all__ = ["router"]
