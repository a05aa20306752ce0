"""The landing page: the admin dashboard (``/``); the mailbox user's pages are in account.py.

What it shows: the counts of :meth:`~vmail.admin.AdminService.overview` (one query per
figure, never the full lists), quota used and allocated, the messages per mail queue
(superadmins only, as the queue page), and the last deliveries and the last failures
(deferred, bounced, expired) from the delivery history the queue manager keeps in the
spool (:mod:`vmail.queue.history`); a domain admin sees only deliveries to their domains.
"""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from vmail.admin import Actor
from vmail.queue.history import BOUNCED, DEFERRED, EXPIRED, DeliveryHistory, DeliveryRecord
from vmail.queue.tools import queue_sizes
from vmail.web.context import WebContext
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.templating import render

router = APIRouter()
RECENT = 20
FAILURES = (DEFERRED, BOUNCED, EXPIRED)
UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def size_text(value: int | None) -> str:
    """``1.5 GiB``; ``unknown`` for None."""
    if value is None:
        return "unknown"
    amount = float(value)
    for unit in UNITS:
        if amount < 1024 or unit == UNITS[-1]:
            return f"{int(amount)} {unit}" if unit == "bytes" else f"{amount:.1f} {unit}"
        amount /= 1024
    raise AssertionError("unreachable")


def when(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def recent_deliveries(
    actor: Actor, context: WebContext
) -> tuple[list[DeliveryRecord], list[DeliveryRecord]]:
    """The last deliveries and the last failures this actor may see (none without a spool)."""
    if context.spool is None:
        return [], []
    history = DeliveryHistory(context.spool.root)
    domains = None if actor.is_superadmin else actor.domains
    return (
        history.recent(RECENT, domains=domains),
        history.recent(RECENT, domains=domains, statuses=FAILURES),
    )


@router.get("/")
def dashboard(request: Request, actor: CurrentAdmin, context: Context) -> Response:
    admin = context.admin
    assert admin is not None  # current_admin made sure
    figures = admin.overview(actor)
    counts = {
        "Domains": figures["domains"],
        "Mailboxes": figures["mailboxes"],
        "Aliases": figures["aliases"],
        "Alias domains": figures["alias_domains"],
    }
    sizes = (
        queue_sizes(context.spool) if actor.is_superadmin and context.spool is not None else None
    )
    deliveries, failures = recent_deliveries(actor, context)
    return render(
        request,
        "dashboard.html",
        {
            "actor": actor,
            "counts": counts,
            "quota_used": size_text(figures["quota_used"]),
            "quota_allocated": size_text(figures["quota_allocated"]),
            "messages": figures["messages"],
            "sizes": sizes,
            "deliveries": deliveries,
            "failures": failures,
            "when": when,
        },
    )


__all__ = ["recent_deliveries", "router", "size_text"]
