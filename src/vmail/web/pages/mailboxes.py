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
    FORM_ERRORS,
    admin_router,
    call,
    checked,
    done_redirect,
    fields,
    form_error,
    lines,
    new_password,
    optional,
    password_page,
    read_form,
    service,
)
from vmail.web.pages.crud import ObjectKind, add_delete_routes, list_page
from vmail.web.templating import render

router = admin_router()

COLUMNS = ("username", "name", "quota", "active", "modified")
FORM = "mailbox_form.html"
MAX_QUOTA = 2**63 - 1  # the quota column is a signed 64-bit integer
DELETE_NOTE = "Its alias, vacation and quota rows are deleted; the mail files on disk stay."


def domain_names(admin: AdminService, actor: Actor) -> list[str]:
    """The domains this admin may put mailboxes in (the form's select)."""
    return admin.domain_names(actor)


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
    domains = await call(domain_names, admin, actor)
    return await list_page(
        request, MAILBOXES, fetch, "username", actor=actor, domain=domain or "", domains=domains
    )


async def _form_context(
    admin: AdminService, actor: Actor, form: dict[str, Any], creating: bool
) -> dict[str, Any]:
    domains = await call(domain_names, admin, actor) if creating else []
    return {"form": form, "creating": creating, "domains": domains}


@router.get("/mailboxes/new")
async def new_mailbox(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    form = {
        "local_part": "",
        "domain": optional(request, "domain") or "",
        "name": "",
        "quota": "",
        "active": True,
    }
    return render(request, FORM, await _form_context(service(context), actor, form, True))


def _echo(form: FormData) -> dict[str, Any]:
    return fields(form) | {"active": checked(form, "active")}


@router.post("/mailboxes/new")
async def create_mailbox(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    form = await read_form(request)
    text = fields(form)
    address = f"{text.get('local_part', '').strip()}@{text.get('domain', '').strip()}"
    try:
        password, generated = new_password(form, required=True)
        assert password is not None
        row = await call(
            admin.add_mailbox,
            actor,
            address,
            password,
            name=text.get("name", ""),
            quota=quota_bytes(text.get("quota", "")),
            active=checked(form, "active"),
        )
    except FORM_ERRORS as e:
        return form_error(request, FORM, await _form_context(admin, actor, _echo(form), True), e)
    if generated:  # shown once, never put in a URL
        return password_page(request, "Mailbox", row["username"], password, "/mailboxes")
    return done_redirect("/mailboxes", "created", "mailbox", row["username"])


async def _current(admin: AdminService, actor: Actor, address: str) -> dict[str, Any]:
    row = await call(admin.get_mailbox, actor, address)
    alias = await call(admin.get_alias, actor, row["username"])
    return {
        "address": row["username"],
        "name": row["name"],
        "quota": quota_text(row["quota"]),
        "active": row["active"],
        "forward": "\n".join(t for t in alias["goto"].split(",") if t),
    }


@router.get("/mailboxes/{address}/edit")
async def edit_mailbox_form(
    request: Request, address: str, actor: CurrentAdmin, context: Context
) -> Response:
    admin = service(context)
    form = await _current(admin, actor, address)
    usage = await call(admin.mailbox_usage, actor, form["address"])
    values = await _form_context(admin, actor, form, False)
    return render(request, FORM, values | {"usage": usage})


@router.post("/mailboxes/{address}/edit")
async def edit_mailbox(
    request: Request, address: str, actor: CurrentAdmin, context: Context
) -> Response:
    admin = service(context)
    current = await _current(admin, actor, address)
    name = current["address"]
    form = await read_form(request)
    text = fields(form)
    try:
        password, generated = new_password(form, required=False)
        quota = quota_bytes(text.get("quota", ""))
        if quota is None:
            raise InvalidError("give a quota (0 = unlimited)")
        forward = lines(text.get("forward", ""))
        await call(
            admin.edit_mailbox,
            actor,
            name,
            name=text.get("name", ""),
            quota=quota,
            active=checked(form, "active"),
            password=password,
            goto=forward if forward != lines(current["forward"]) else None,
        )
    except FORM_ERRORS as e:
        echo = _echo(form) | {"address": name}
        values = await _form_context(admin, actor, echo, False)
        return form_error(request, FORM, values, e)
    if generated and password is not None:
        return password_page(request, "Mailbox", name, password, "/mailboxes")
    return done_redirect("/mailboxes", "saved", "mailbox", name)


__all__ = ["domain_names", "quota_bytes", "quota_text", "router"]
