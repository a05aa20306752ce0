"""The landing page: the admin dashboard (``/``); the mailbox user's pages are in account.py."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from vmail.web.deps import Context, CurrentAdmin
from vmail.web.templating import render

router = APIRouter()


@router.get("/")
def dashboard(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = context.admin
    assert admin is not None  # current_admin made sure
    counts = {
        "Domains": len(admin.list_domains(actor)),
        "Mailboxes": len(admin.list_mailboxes(actor)),
        "Aliases": len(admin.list_aliases(actor)),
        "Alias domains": len(admin.list_alias_domains(actor)),
    }
    return render(request, "dashboard.html", {"actor": actor, "counts": counts})


__all__ = ["router"]
