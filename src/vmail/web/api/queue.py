"""``/api/v1/queue``: the mail queue (``postqueue``/``postsuper``/``postcat`` over HTTP).

Superadmins only (the queue holds every domain's mail; others get 403). Listing members
are Postfix's ``postqueue -j`` names; ``GET /queue/{id}/message`` is the envelope as
``postcat`` prints it and the content as text, capped at 256 KiB (``truncated``).
``POST /queue/{id}/hold|release|requeue`` and ``DELETE /queue/{id}`` search the queues
``postsuper`` searches; the answer says where the message is now. ``POST /queue/flush``
is ``postqueue -f``. Malformed IDs get 400, unknown ones 404, an operation that does not
apply 409 (:mod:`vmail.web.queue_access`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel

from vmail.queue.show import message_text
from vmail.queue.tools import QueueEntry, page_queue, queue_sizes
from vmail.web.api.schemas import ListPage
from vmail.web.deps import Context, CurrentAdmin
from vmail.web.queue_access import (
    MAX_TEXT,
    check_text,
    flush_queue,
    load_message,
    queue_spool,
    queues_of,
    run_action,
)

router = APIRouter(tags=["queue"])
MAX_LIMIT = 500
MESSAGE_LIMIT = 256 * 1024


class QueueRecipient(BaseModel):
    address: str
    delay_reason: str | None = None


class QueueMessage(BaseModel):
    """One message, as ``postqueue -j`` shows it (unfinished recipients only)."""

    queue_name: str
    queue_id: str
    arrival_time: int
    message_size: int
    sender: str
    recipients: list[QueueRecipient]


class QueueListing(ListPage[QueueMessage]):
    sizes: dict[str, int]  # messages per queue: incoming, active, deferred, hold


class MessageContent(BaseModel):
    queue_name: str
    queue_id: str
    envelope: list[str]
    content: str
    truncated: bool


class ActionResult(BaseModel):
    queue_id: str
    action: str
    queue_name: str | None  # where the message is now (None: deleted or delivered)


class FlushResult(BaseModel):
    flushed: int  # deferred messages made due now
    server_notified: bool


def _message(entry: QueueEntry) -> QueueMessage:
    return QueueMessage(
        queue_name=entry.queue,
        queue_id=entry.queue_id,
        arrival_time=int(entry.arrival_time),
        message_size=entry.size,
        sender=entry.sender,
        recipients=[
            QueueRecipient(address=r.address, delay_reason=r.reason or None)
            for r in entry.recipients
        ],
    )


@router.get("/queue")
def list_queue(
    actor: CurrentAdmin,
    context: Context,
    queue: Annotated[
        str, Query(max_length=16, description="all, incoming, active, deferred or hold")
    ] = "all",
    q: Annotated[
        str, Query(max_length=MAX_TEXT, description="text in the ID, sender, a recipient or reason")
    ] = "",
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
) -> QueueListing:
    spool = queue_spool(actor, context)
    entries, total = page_queue(spool, queues_of(queue), check_text(q), offset, limit)
    return QueueListing(
        items=[_message(e) for e in entries],
        total=total,
        offset=offset,
        limit=limit,
        sizes=queue_sizes(spool),
    )


@router.post("/queue/flush")
def flush(actor: CurrentAdmin, context: Context) -> FlushResult:
    count, notified = flush_queue(queue_spool(actor, context), context)
    return FlushResult(flushed=count, server_notified=notified)


@router.get("/queue/{queue_id}")
def show(queue_id: str, actor: CurrentAdmin, context: Context) -> QueueMessage:
    queue, qf = load_message(queue_spool(actor, context), queue_id)
    return _message(QueueEntry.of(queue, qf))


@router.get("/queue/{queue_id}/message")
def show_message(queue_id: str, actor: CurrentAdmin, context: Context) -> MessageContent:
    queue, qf = load_message(queue_spool(actor, context), queue_id)
    shown = message_text(qf, MESSAGE_LIMIT)
    return MessageContent(
        queue_name=queue,
        queue_id=queue_id,
        envelope=shown.envelope,
        content=shown.content,
        truncated=shown.truncated,
    )


def _act(action: str, queue_id: str, actor: CurrentAdmin, context: Context) -> ActionResult:
    now = run_action(queue_spool(actor, context), action, queue_id)
    return ActionResult(queue_id=queue_id, action=action, queue_name=now)


@router.post("/queue/{queue_id}/hold")
def hold(queue_id: str, actor: CurrentAdmin, context: Context) -> ActionResult:
    return _act("hold", queue_id, actor, context)


@router.post("/queue/{queue_id}/release")
def release(queue_id: str, actor: CurrentAdmin, context: Context) -> ActionResult:
    return _act("release", queue_id, actor, context)


@router.post("/queue/{queue_id}/requeue")
def requeue(queue_id: str, actor: CurrentAdmin, context: Context) -> ActionResult:
    return _act("requeue", queue_id, actor, context)


@router.delete("/queue/{queue_id}", status_code=204)
def delete(queue_id: str, actor: CurrentAdmin, context: Context) -> Response:
    _act("delete", queue_id, actor, context)
    return Response(status_code=204)


__all__ = ["router"]
