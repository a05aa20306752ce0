"""The mail queue page (``/queue``): the listing as ``mailq`` shows it, one message as
``postcat -q`` shows it, and hold/release/requeue/delete/flush as ``postsuper`` and
``postqueue -f`` do them (POST with the CSRF token; delete asks for confirmation first).

Superadmins only (:mod:`vmail.web.queue_access`). After an action the browser is sent
back (POST/redirect/GET) with ``?done=ACTION&id=ID``: only the fixed messages of
:data:`NOTICES` are shown.
"""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vmail.queue.ids import is_valid_id
from vmail.queue.show import message_text
from vmail.queue.tools import QueueEntry, page_queue, queue_sizes
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.queue_access import (
    ACTIONS,
    MAX_TEXT,
    QUEUE_FILTERS,
    check_text,
    find_message,
    flush_queue,
    load_message,
    queue_spool,
    queues_of,
    run_action,
)
from vmail.web.templating import render

router = APIRouter()
PAGE_SIZE = 50
MAX_PAGE = 1_000_000
MESSAGE_LIMIT = 64 * 1024  # what a page shows of a message (the API gives 256 KiB)
NOTICES = {
    "hold": "Message {id} was put on hold.",
    "release": "Message {id} was released from hold.",
    "requeue": "Message {id} was requeued.",
    "delete": "Message {id} was deleted.",
    "flush": "Deferred mail will be tried now.",
}


def when(seconds: float) -> str:
    """Arrival time as the page shows it (server local time)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(seconds))


def _notice(done: str, queue_id: str) -> str:
    text = NOTICES.get(done)
    if text is None or (queue_id and not is_valid_id(queue_id)):
        return ""
    return text.format(id=queue_id)


@router.get("/queue")
def queue_page(
    request: Request,
    actor: CurrentAdmin,
    context: Context,
    queue: Annotated[str, Query(max_length=16)] = "all",
    q: Annotated[str, Query(max_length=MAX_TEXT)] = "",
    page: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 1,
    done: Annotated[str, Query(max_length=16)] = "",
    id: Annotated[str, Query(max_length=64)] = "",  # the notice's queue ID
) -> Response:
    spool = queue_spool(actor, context)
    text = check_text(q)
    offset = (page - 1) * PAGE_SIZE
    entries, total = page_queue(spool, queues_of(queue), text, offset, PAGE_SIZE)

    def link(number: int) -> str:
        return "/queue?" + urlencode({"queue": queue, "q": text, "page": number})

    return render(
        request,
        "queue.html",
        {
            "entries": entries,
            "total": total,
            "sizes": queue_sizes(spool),
            "filters": QUEUE_FILTERS,
            "queue": queue,
            "q": text,
            "page": page,
            "previous": link(page - 1) if page > 1 else None,
            "next": link(page + 1) if offset + PAGE_SIZE < total else None,
            "notice": _notice(done, id),
            "when": when,
        },
    )


@router.post("/queue/flush")
def flush(actor: CurrentAdmin, context: Context) -> Response:
    flush_queue(queue_spool(actor, context), context)
    return RedirectResponse("/queue?done=flush", status_code=303)


@router.get("/queue/{queue_id}")
def message_page(
    request: Request,
    queue_id: str,
    actor: CurrentAdmin,
    context: Context,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    queue, qf = load_message(queue_spool(actor, context), queue_id)
    shown = message_text(qf, MESSAGE_LIMIT)
    return render(
        request,
        "queue_message.html",
        {
            "entry": QueueEntry.of(queue, qf),
            "shown": shown,
            "limit_kib": MESSAGE_LIMIT // 1024,
            "actions": ACTIONS,
            "when": when,
            "notice": _notice(done, queue_id),
        },
    )


@router.get("/queue/{queue_id}/delete")
def confirm_delete(
    request: Request, queue_id: str, actor: CurrentAdmin, context: Context
) -> Response:
    queue = find_message(queue_spool(actor, context), queue_id)
    return render(request, "queue_delete.html", {"queue_id": queue_id, "queue": queue})


@router.post("/queue/{queue_id}/{action}")
def act(queue_id: str, action: str, actor: CurrentAdmin, context: Context) -> Response:
    if action not in ACTIONS:
        raise HTTPException(404, f"no such queue action: {action[:32]!r}")
    now = run_action(queue_spool(actor, context), action, queue_id)
    target = f"/queue/{queue_id}" if now is not None and action != "delete" else "/queue"
    return RedirectResponse(
        target + "?" + urlencode({"done": action, "id": queue_id}), status_code=303
    )


__all__ = ["router"]
