"""HTML pages: mailboxes — list (per domain or all; quota usage from ``maildirsize``),
create (password typed twice or generated), edit (name, quota, active, password reset,
forwarding = the mailbox's alias targets), delete with a confirmation step."""

from __future__ import annotations

from functools import partial
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor, AdminService, rules
from vmail.admin.errors import InvalidError
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    admin_router,
    call,
    checked,
    fields,
    lines,
    new_password,
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

COLUMNS = ("username", "name", "quota", "active", "modified")
MAX_QUOTA = 2**63 - 1  # the quota column is a signed 64-bit integer
DELETE_NOTE = "Its alias, vacation and quota rows are deleted; the mail files on disk stay."


def quota_bytes(text: str) -> int | None:
    """The quota field: blank = the domain's default, else a size (100 = MB, 2G, 512M)."""
    if not text.strip():
        return None
    size = rules.size(text)
    if size > MAX_QUOTA:
        raise InvalidError(f"quota {text.strip()[:20]} is too large")
    return size


def quota_text(quota: int) -> str:
    return str(quota // rules.MB) if quota % rules.MB == 0 else f"{quota}B"


MAILBOXES = ObjectKind(
    path="/mailboxes",
    what="mailbox",
    key="username",
    template="mailboxes",
    columns=COLUMNS,
    get=lambda admin: admin.get_mailbox,
    delete=lambda admin: admin.delete_mailbox,
    note=lambda _admin, _actor, _row: ("hint", DELETE_NOTE),
)
add_delete_routes(router, MAILBOXES)


@router.get("/mailboxes")
async def mailbox_list(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    domain = optional(request, "domain")
    fetch = partial(admin.page_mailboxes, actor, domain=domain)
    domains = await call(admin.domain_names, actor)
    return await list_page(
        request, MAILBOXES, fetch, "username", actor=actor, domain=domain or "", domains=domains
    )


def _blank(request: Request) -> dict[str, Any]:
    domain = optional(request, "domain") or ""
    return {"local_part": "", "domain": domain, "name": "", "quota": "", "active": True}


def _create(admin: AdminService, actor: Actor, form: FormData) -> tuple[str, str | None]:
    text = fields(form)
    address = f"{text.get('local_part', '').strip()}@{text.get('domain', '').strip()}"
    password, generated = new_password(form, required=True)
    assert password is not None
    quota = quota_bytes(text.get("quota", ""))
    active = checked(form, "active")
    row = admin.add_mailbox(
        actor, address, password, name=text.get("name", ""), quota=quota, active=active
    )
    return row["username"], password if generated else None


def _current(admin: AdminService, actor: Actor, address: str) -> dict[str, Any]:
    row = admin.get_mailbox(actor, address)
    alias = admin.get_alias(actor, row["username"])
    return {
        "address": row["username"],
        "name": row["name"],
        "quota": quota_text(row["quota"]),
        "active": row["active"],
        "forward": "\n".join(t for t in alias["goto"].split(",") if t),
    }


def _edit(admin: AdminService, actor: Actor, current: dict[str, Any], form: FormData) -> str | None:
    text = fields(form)
    password, generated = new_password(form, required=False)
    quota = quota_bytes(text.get("quota", ""))
    if quota is None:
        raise InvalidError("give a quota (0 = unlimited)")
    forward = lines(text.get("forward", ""))
    admin.edit_mailbox(
        actor,
        current["address"],
        name=text.get("name", ""),
        quota=quota,
        active=checked(form, "active"),
        password=password,
        goto=forward if forward != lines(current["forward"]) else None,
    )
    return password if generated else None


add_form_routes(
    router,
    MAILBOXES,
    ObjectForm(
        template="mailbox_form.html",
        blank=_blank,
        current=_current,
        create=_create,
        edit=_edit,
        name="address",
        domains="new",
        details=lambda admin, actor, form: {"usage": admin.mailbox_usage(actor, form["address"])},
    ),
)


__all__ = ["quota_bytes", "quota_text", "router"]
