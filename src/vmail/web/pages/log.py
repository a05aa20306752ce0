"""HTML page: the audit log (who changed what, when), newest first, with filters
(domain, action, username, date range, text search), paginated and sortable."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from vmail.web.deps import Context, CurrentAdmin
from vmail.web.pages.common import (
    admin_router,
    call,
    day,
    list_context,
    list_query,
    optional,
    render_list,
    service,
)

router = admin_router()

COLUMNS = ("timestamp", "username", "domain", "action")
FILTERS = ("domain", "action", "username", "since", "until")


@router.get("/log")
async def log_page(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = service(context)
    query = list_query(request)
    chosen = {name: optional(request, name) or "" for name in FILTERS}
    page = await call(
        admin.page_log,
        actor,
        query,
        domain=chosen["domain"] or None,
        action=chosen["action"] or None,
        username=chosen["username"] or None,
        since=day(chosen["since"], "from"),
        until=day(chosen["until"], "until", end=True),
    )
    values = list_context(request, query, page, COLUMNS, "timestamp", default_descending=True)
    values.update(filters=chosen, domains=await call(admin.domain_names, actor))
    return render_list(request, "log.html", "log_results.html", values)


__all__ = ["router"]
