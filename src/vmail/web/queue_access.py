"""What the queue page and ``/api/v1/queue`` share: superadmin-only access to the spool,
queue IDs checked before any path is built, and the operations by name.

The queue holds every domain's mail, so only a superadmin sees it: a domain admin gets
403. IDs that are not queue IDs get 400, IDs no queue holds 404, an operation that does
not apply (release of a message that is not on hold, flush without a deferred queue)
409. All functions block on disk I/O: call them from ``def`` handlers.
"""

from __future__ import annotations

from fastapi import HTTPException

from vmail.admin import Actor
from vmail.queue import QueueFile
from vmail.queue.file import CorruptQueueFileError
from vmail.queue.spool import MAIL_QUEUES, QueueNotFoundError, Spool
from vmail.queue.tools import OPERATION_BY_NAME, InvalidQueueIdError, apply, flush_all, locate
from vmail.web.context import WebContext

ALL = "all"
QUEUE_FILTERS = (ALL, *MAIL_QUEUES)
ACTIONS = tuple(OPERATION_BY_NAME)  # delete, hold, release, requeue
MAX_TEXT = 255


def queue_spool(actor: Actor, context: WebContext) -> Spool:
    """The spool, for a superadmin (403 for anyone else, 503 when there is none)."""
    if not actor.is_superadmin:
        raise HTTPException(
            403, "only a superadmin may see the mail queue (it holds every domain's mail)"
        )
    if context.spool is None:
        raise HTTPException(503, "no mail queue is configured")
    return context.spool


def queues_of(name: str) -> tuple[str, ...]:
    """The queues a ``queue=`` filter names (``all`` or one mail queue); 400 otherwise."""
    if name in ("", ALL):
        return MAIL_QUEUES
    if name not in MAIL_QUEUES:
        raise HTTPException(
            400, f"unknown queue {name[:32]!r}: use one of {', '.join(QUEUE_FILTERS)}"
        )
    return (name,)


def check_text(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise HTTPException(400, f"the search text is longer than {MAX_TEXT} characters")
    return text.strip()


def find_message(spool: Spool, queue_id: str) -> str:
    """The queue holding ``queue_id`` (400 for a malformed ID, 404 when none holds it)."""
    try:
        return locate(spool, queue_id)
    except InvalidQueueIdError as e:
        raise HTTPException(400, str(e)) from None
    except QueueNotFoundError as e:
        raise HTTPException(404, str(e)) from None


def load_message(spool: Spool, queue_id: str) -> tuple[str, QueueFile]:
    """The message's queue and parsed file (404 if it went away, 409 if it is corrupt)."""
    queue = find_message(spool, queue_id)
    try:
        return queue, QueueFile.load(spool.path(queue, queue_id))
    except FileNotFoundError:
        raise HTTPException(404, f"{queue_id}: no longer in the queue") from None
    except CorruptQueueFileError as e:
        raise HTTPException(409, f"{queue_id}: corrupt queue file: {e.reason}") from None


def run_action(spool: Spool, action: str, queue_id: str) -> str | None:
    """Run ``delete``/``hold``/``release``/``requeue`` on one message, searching the queues
    postsuper searches; the queue it is in afterwards (None once deleted). 409 when it
    does not apply (e.g. release of a message that is not on hold)."""
    op = OPERATION_BY_NAME.get(action)
    if op is None:
        raise HTTPException(400, f"unknown action {action[:32]!r}: use one of {', '.join(ACTIONS)}")
    queue = find_message(spool, queue_id)
    if not apply(spool, op, queue_id):
        raise HTTPException(409, f"{queue_id}: cannot {action} a message in the {queue} queue")
    return spool.find(queue_id)


def flush_queue(spool: Spool, context: WebContext) -> tuple[int, bool]:
    """Make deferred mail due now and wake the server (``postqueue -f``): how many
    messages, and whether a running server was told."""
    count = flush_all(spool)
    if context.wake is None:
        return count, False
    context.wake()
    return count, True


__all__ = [
    "ACTIONS",
    "ALL",
    "QUEUE_FILTERS",
    "check_text",
    "find_message",
    "flush_queue",
    "load_message",
    "queue_spool",
    "queues_of",
    "run_action",
]
