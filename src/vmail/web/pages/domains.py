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
    admin_router,
    checked,
    fields,
    number,
    service,
)
from vmail.web.pages.crud import (
    Note,
    ObjectForm,
    ObjectKind,
    add_delete_routes,
    add_form_routes,
    list_page,
)

router = admin_router()

COLUMNS = ("domain", "description", "aliases", "mailboxes", "maxquota", "quota", "active")
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


def _current(admin: AdminService, actor: Actor, name: str) -> dict[str, Any]:
    row = admin.get_domain(actor, name)
    return row | {"transport": row.get("transport") or ""}


def _create(admin: AdminService, actor: Actor, form: FormData) -> tuple[str, None]:
    name = fields(form).get("domain", "")
    return admin.add_domain(actor, name, **_settings(form))["domain"], None


def _edit(admin: AdminService, actor: Actor, current: dict[str, Any], form: FormData) -> None:
    admin.edit_domain(actor, current["domain"], **_settings(form))


add_form_routes(
    router,
    DOMAINS,
    ObjectForm(
        template="domain_form.html",
        blank=lambda _request: EMPTY,
        current=_current,
        create=_create,
        edit=_edit,
        name="domain",
        echo=_echo,
    ),
)


__all__ = ["router"]
