"""The bounce service: after each delivery pass, queue the notices a message is owed.

:class:`BounceService` is the queue manager's :class:`~vmail.qmgr.manager.Notifier`.
What to send is worked out from the queue file's recorded state, not only from this
pass's outcomes, so a notice that could not be queued (or a crash before it was) is sent
on a later pass:

* **failure** (``Undelivered Mail Returned to Sender``): every bounced recipient (this
  includes expired ones) whose NOTIFY asks for FAILURE (no NOTIFY means FAILURE+DELAY) and
  that no earlier bounce named. One message for all of them, to the envelope sender.
* **delay** (``Delayed Mail (still being retried)``): once per message, when
  ``delay_warning_time`` is not 0, the message is at least that old and some recipients
  are still deferred; it names those whose NOTIFY asks for DELAY (or is not given).
* **success** (``Successful Mail Delivery Report``): delivered recipients with NOTIFY
  SUCCESS. ``Action: relayed`` when the relay is a remote SMTP server (``host[addr]:port``
  other than port 24), else ``delivered`` (virtual, local, pipe and LMTP deliver to the
  final store, as Postfix's LMTP client reports).

Notices go to the sender through :class:`~vmail.cleanup.Cleanup` with the null sender
(they are never bounced themselves). A message from the null sender gets none: a bounce
of a bounce is dropped and logged. Only after the notice is committed is a ``notice``
status record appended (:func:`vmail.queue.file.notice_record`); a crash between the two
sends the notice again rather than never.

When cleanup fails (``TemporaryError``), nothing is recorded and :class:`NoticeDeferredError`
is raised after the other notices were tried: the queue manager then neither removes
the file nor forgets the outcomes, and the next pass that takes the message retries the
notice. Blocking (disk I/O); runs in the queue manager's worker threads.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from vmail.bounce import dsn
from vmail.bounce.templates import DELAY, FAILURE, SUCCESS, Template, expand_text, load_templates
from vmail.cleanup import Cleanup, Rcpt, Submission
from vmail.config import MainConfig
from vmail.core.errors import TemporaryError
from vmail.queue.envelope import BOUNCED, DEFERRED, DELIVERED
from vmail.queue.file import QueueFile, notice_record

log = logging.getLogger("vmail.bounce")

Clock = Callable[[], float]

_REMOTE = re.compile(r"^[^\[\]\s]+\[[^/\]]+\](?::(\d+))?$")
_LOG_NAMES = {
    FAILURE: "sender non-delivery notification",
    DELAY: "sender delay notification",
    SUCCESS: "sender delivery status notification",
}
_RECORD_KINDS = {FAILURE: "bounce", DELAY: "delay", SUCCESS: "success"}


class NoticeDeferredError(TemporaryError):
    """A notice could not be queued; the message must stay queued until it is."""


def wants(notify: Sequence[str], kind: str) -> bool:
    """Whether a recipient's DSN NOTIFY asks for a ``kind`` notice."""
    wanted = {n.upper() for n in notify}
    if not wanted:
        return kind in (FAILURE, DELAY)
    return kind.upper() in wanted and "NEVER" not in wanted


def success_action(relay: str) -> str:
    """``relayed`` for a remote SMTP server, ``delivered`` for final delivery."""
    match = _REMOTE.match(relay)
    return dsn.RELAYED if match and match.group(1) != "24" else dsn.DELIVERED


@dataclass(frozen=True)
class _Due:
    kind: str
    indexes: tuple[int, ...]


class BounceService:
    """Sends bounces, delay warnings and success notices for queued messages."""

    def __init__(self, config: MainConfig, cleanup: Cleanup, *, clock: Clock = time.time) -> None:
        self.config = config
        self.cleanup = cleanup
        self.clock = clock
        self.templates: dict[str, Template] = load_templates(config)
        self.myhostname = config.get("myhostname")
        self.mail_name = config.mail_name
        self.size_limit = config.get_size("bounce_size_limit")
        self.delay_warning = config.get_time("delay_warning_time")
        self.lifetime = config.get_time("maximal_queue_lifetime")
        self.texts = {kind: expand_text(t.text, config) for kind, t in self.templates.items()}

    # -- the Notifier interface ------------------------------------------------------

    def report(self, qf: QueueFile, results: Sequence[tuple[int, object]], now: float) -> None:
        """Queue the notices ``qf`` is owed after a pass (``results`` are its outcomes;
        the recorded states say the same and also cover earlier passes).

        Raises :class:`NoticeDeferredError` when a notice could not be queued.
        """
        del results  # the queue file's states include them
        failed: TemporaryError | None = None
        for due in self.due(qf, now):
            try:
                self.send(qf, due, now)
            except TemporaryError as e:
                log.warning("%s: %s failed: %s", qf.queue_id, _LOG_NAMES[due.kind], e.reply.text)
                failed = failed or e
        if failed is not None:
            raise NoticeDeferredError(failed.reply) from failed

    def due(self, qf: QueueFile, now: float) -> list[_Due]:
        """The notices ``qf`` is owed now, per its recorded states."""
        env = qf.envelope
        states = qf.states
        if not env.sender:
            bounced = [i for i, s in enumerate(states) if s.status == BOUNCED]
            if bounced and not qf.notified("bounce"):
                # never bounce a bounce; remember that it was dropped
                log.info("%s: undeliverable bounce from <> discarded", qf.queue_id)
                qf.append([notice_record("bounce", bounced, "", now)])
            return []
        out = []
        for kind, status in ((FAILURE, BOUNCED), (SUCCESS, DELIVERED)):
            done = qf.notified(_RECORD_KINDS[kind])
            indexes = tuple(
                i
                for i, (r, s) in enumerate(zip(env.recipients, states, strict=True))
                if s.status == status and i not in done and wants(r.notify, kind)
            )
            if indexes:
                out.append(_Due(kind, indexes))
        if (
            self.delay_warning > 0
            and now - env.arrival_time >= self.delay_warning
            and not qf.notified("delay")
        ):
            indexes = tuple(
                i
                for i, (r, s) in enumerate(zip(env.recipients, states, strict=True))
                if s.status == DEFERRED and wants(r.notify, DELAY)
            )
            if indexes:
                out.append(_Due(DELAY, indexes))
        return out

    # -- one notice ------------------------------------------------------------------

    def send(self, qf: QueueFile, due: _Due, now: float) -> str:
        """Queue one notice and record it in ``qf``; returns its queue ID (blocks)."""
        env = qf.envelope
        template = self.templates[due.kind]
        recipients = [self._reported(qf, i, due.kind) for i in due.indexes]
        headers_only = (
            due.kind != FAILURE or env.ret.upper() == "HDRS" or qf.message_size > self.size_limit
        )
        message = self.cleanup.open(
            Submission(
                sender="",
                recipients=(Rcpt(env.sender),),
                client_address="127.0.0.1",
                client_name="localhost",
                origin="bounce",
                arrival_time=self.clock(),
            )
        )
        try:
            info = dsn.NoticeInfo(
                queue_id=qf.queue_id,
                notice_id=message.queue_id,
                sender=env.sender,
                arrival_time=env.arrival_time,
                now=now,
                myhostname=self.myhostname,
                mail_name=self.mail_name,
                subject=template.subject,
                from_header=template.sender,
                text=self.texts[due.kind],
                charset=template.charset,
                envid=env.envid,
                headers_only=headers_only,
                eight_bit=env.attributes.get("body", "").upper() != "7BIT",
                will_retry_until=env.arrival_time + self.lifetime if due.kind == DELAY else None,
            )
            for chunk in dsn.build_notice(info, recipients, qf.content_chunks()):
                message.write(chunk)
        except BaseException:
            message.abort()
            raise
        notice_id = message.commit()
        qf.append([notice_record(_RECORD_KINDS[due.kind], due.indexes, notice_id, now)])
        log.info("%s: %s: %s", qf.queue_id, _LOG_NAMES[due.kind], notice_id)
        return notice_id

    def _reported(self, qf: QueueFile, index: int, kind: str) -> dsn.ReportedRecipient:
        recipient, state = qf.envelope.recipients[index], qf.states[index]
        if kind == FAILURE:
            action = dsn.FAILED
        elif kind == DELAY:
            action = dsn.DELAYED
        else:
            action = success_action(state.relay)
        return dsn.ReportedRecipient(
            address=recipient.address,
            action=action,
            dsn=state.dsn,
            reason=state.reason,
            original=recipient.original,
            orcpt=recipient.orcpt,
        )


__all__ = ["BounceService", "NoticeDeferredError", "success_action", "wants"]
