"""The queue manager: from ``incoming``/``deferred`` through ``active`` to delivered.

One pass (:meth:`QueueManager.run_once`):

1. Committed messages in ``incoming`` move to ``active``; so do messages in ``deferred``
   whose earliest retry time has come (each file is parsed to read it: status records,
   unlike a file's mtime, also see ``postqueue -f``'s ``flush``). ``hold`` is left alone.
2. For every message in ``active``, each unfinished recipient is resolved
   (:class:`~vmail.rewrite.resolve.Resolver`) and handed to the agent registered for its
   transport, with a fresh content stream. A message with a content filter
   (``content_filter`` or a FILTER action, kept in its envelope) goes to that
   ``transport:nexthop`` for every recipient instead; the filter sends it back.
   ``discard`` and ``error`` are built in; a transport without an agent defers
   (``4.3.0 mail transport unavailable``).
3. Each recipient's outcome is appended to the queue file (fsynced) right after the
   agent returns and before the next recipient, then logged in Postfix's form.
4. When every recipient is final (delivered or bounced) the file is removed
   (``QUEUEID: removed``). Otherwise it moves to ``deferred``; its deferred recipients
   carry the next attempt time (:mod:`.backoff`). A recipient that defers after the
   message outlived ``maximal_queue_lifetime`` (``bounce_queue_lifetime`` for the null
   sender) is bounced instead and logged ``status=expired``.

:meth:`QueueManager.run` is the service: recovery, then a pass whenever
:meth:`QueueManager.notify` is called (cleanup does after each commit) or
``queue_run_delay`` has passed; ``deferred`` is scanned only on the timer. A pass starts
the messages it took and does not wait for them. Disk work, table lookups and
deliveries run in the queue manager's worker threads, one thread call per message
(load, resolve, deliver, record, notify, remove) unless its recipients form several
batches, which then run concurrently. A message named by :meth:`QueueManager.notify`
that finds a free slot goes straight to the worker threads, without an asyncio task
(the common case, and a measurable share of the delivery process's CPU); a task is made
only when it must wait for a slot or has several batches. At most
``default_process_limit`` messages are in progress; deliveries per transport are bounded
by a semaphore: ``default_process_limit`` (master.cf's default ``maxproc``), or
``<transport>_destination_concurrency_limit`` when that is declared and smaller.

Crash safety
------------
A file is removed only after every recipient has a final status record on disk, and a
message is always in exactly one queue (moves are renames), so nothing is lost. A
crash after an agent wrote the mailbox but before the ``delivered`` record was fsynced
makes the restart deliver that recipient again: the window is one ``write`` + ``fsync``
of the queue file, done in the same worker thread right after the agent returns. See
:mod:`vmail.queue.recovery` for how a two-phase record could close it.

Recipients of one message that resolve to the same transport and next hop go to the
agent together, at most ``<transport>_destination_recipient_limit`` at a time, and
their outcomes are recorded with one fsync. After the pass, a :class:`Notifier` (the
bounce service) sees every outcome and sends bounces, delay warnings and success
notices.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

from vmail.config import MainConfig
from vmail.core.address import Address
from vmail.core.errors import TableError, TemporaryError
from vmail.delivery.request import DeliveryRequest, MessageInfo, PerRecipient
from vmail.delivery.virtual import VirtualAgent
from vmail.qmgr.backoff import backoff, deferral_count, queue_lifetime
from vmail.qmgr.transports import BOUNCED, BUILTIN, SENT, Agent, Outcome, deferred
from vmail.queue import log as qlog
from vmail.queue.envelope import BOUNCED as ST_BOUNCED
from vmail.queue.envelope import DEFERRED as ST_DEFERRED
from vmail.queue.envelope import DELIVERED as ST_DELIVERED
from vmail.queue.envelope import RecipientState
from vmail.queue.file import CorruptQueueFileError, QueueFile, StatusUpdate
from vmail.queue.history import DeliveryHistory, DeliveryRecord
from vmail.queue.ids import QueueId, is_valid_id
from vmail.queue.recovery import recover
from vmail.queue.spool import ACTIVE, DEFERRED, INCOMING, QueueNotFoundError, Spool
from vmail.rewrite.context import RoutingContext
from vmail.rewrite.resolve import Resolver

log = logging.getLogger("vmail.qmgr")

Clock = Callable[[], float]
_T = TypeVar("_T")
# defer_transports: what Postfix's qmgr says of a recipient it holds back
DEFERRED_TRANSPORT = deferred("4.3.2", "deferred transport")
MAX_THREADS = 32  # worker threads: deliveries mostly wait for disks and peers
LOCK_FILE = "qmgr.lock"  # in $queue_directory/pid: one queue manager per spool
LOCK_POLL = 0.05


def default_agents(config: MainConfig) -> dict[str, Agent]:
    """The agents vmail has so far: ``virtual``."""
    return {"virtual": PerRecipient(VirtualAgent(config))}


class _Slots(asyncio.Semaphore):
    """Messages in progress: asyncio's semaphore, plus taking a free slot without
    awaiting (:meth:`try_acquire`, event-loop thread only)."""

    def try_acquire(self) -> bool:
        if self.locked():
            return False
        self._value -= 1  # what acquire() does when it need not wait
        return True


@dataclass
class _Attempt:
    """One message being delivered in this pass."""

    queue_file: QueueFile
    started: float  # when this pass took the message (end of "before qmgr")
    next_attempt: float  # for recipients that defer now
    expired: bool  # the message outlived its queue lifetime
    results: list[tuple[int, Outcome]] = field(default_factory=list)  # this pass's outcomes
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class _Batch:
    """Recipients of one message for one transport and next hop."""

    transport: str
    nexthop: str
    indexes: tuple[int, ...]


class Notifier(Protocol):
    """Reports on a message after a delivery pass: bounces, delay warnings, success DSNs.

    ``results`` holds (recipient index, outcome) for every recipient this pass tried,
    with status ``sent``, ``bounced``, ``expired`` or ``deferred``. Called in a worker
    thread before the message is removed or deferred; it may append status records.
    A :class:`~vmail.core.errors.TemporaryError` (a notice could not be queued) keeps the
    message in ``deferred``, so a later pass sends the notice.
    """

    def report(self, qf: QueueFile, results: Sequence[tuple[int, Outcome]], now: float) -> None: ...


def attempt_message(qf: QueueFile) -> MessageInfo:
    """What agents learn about the message (client, DSN envelope, size)."""
    env = qf.envelope
    return MessageInfo(
        queue_id=qf.queue_id,
        sender=env.sender,
        arrival_time=env.arrival_time,
        size=qf.message_size,
        envid=env.envid,
        ret=env.ret,
        client=env.client,
        attributes=env.attributes,
    )


class QueueManager:
    """Delivers the spool's messages with the given agents (keyed by transport name)."""

    def __init__(
        self,
        config: MainConfig,
        spool: Spool,
        agents: Mapping[str, Agent],
        *,
        clock: Clock = time.time,
        resolver: Resolver | None = None,
        notifier: Notifier | None = None,
        programs: Mapping[str, str] | None = None,
    ) -> None:
        self.config = config
        # transport -> the logger of its delivery lines (vmail.virtual: "vmail/virtual[PID]"
        # as Postfix's "postfix/virtual[PID]"); lines qmgr decides itself stay qmgr's
        self._delivery_logs = {
            transport: logging.getLogger(f"vmail.{program}")
            for transport, program in (programs or {}).items()
        }
        self.spool = spool
        self.agents = dict(agents)
        self.notifier = notifier
        self.clock = clock
        self.resolver = resolver or Resolver(RoutingContext(config))
        self.history = DeliveryHistory(spool.root)  # the web dashboard's recent deliveries
        self._resolver_lock = threading.Lock()  # the routing context opens tables lazily
        self.minimal_backoff = float(config.get_time("minimal_backoff_time"))
        self.maximal_backoff = float(config.get_time("maximal_backoff_time"))
        self.queue_run_delay = float(config.get_time("queue_run_delay"))
        self.process_limit = max(1, config.get_int("default_process_limit"))
        self.defer_transports = frozenset(config.get_list("defer_transports"))
        self.default_filter_nexthop = config.get("default_filter_nexthop")
        self._limits: dict[str, threading.BoundedSemaphore] = {}
        self._limits_lock = threading.Lock()
        self._messages = _Slots(self.process_limit)
        self._messages_loop: asyncio.AbstractEventLoop | None = None
        self._in_flight: dict[QueueId, asyncio.Future[None]] = {}
        self._stopping = False
        self._known_lock = threading.Lock()
        self._known: list[QueueId] = []  # committed messages named by notify()
        self._scan = True  # the next pass lists incoming
        self._executor = ThreadPoolExecutor(
            max_workers=min(self.process_limit, MAX_THREADS), thread_name_prefix="qmgr"
        )
        self._wakeup: asyncio.Event | None = None
        self._flush = False
        self._loop: asyncio.AbstractEventLoop | None = None

    # -- the service ---------------------------------------------------------------------

    def notify(self, queue_id: str | None = None, *, flush: bool = False) -> None:
        """A message was committed to ``incoming``: run a pass soon (thread-safe).

        With its ``queue_id``, that message alone is taken from ``incoming`` (no directory
        listing); without, the pass lists ``incoming``. ``flush`` (``postqueue -f``,
        ``sendmail -q``) makes that pass look at the ``deferred`` queue too, instead of
        waiting for ``queue_run_delay``.
        """
        with self._known_lock:
            if queue_id is not None and is_valid_id(queue_id) and not flush:
                self._known.append(queue_id)
            else:
                self._scan = True
        if flush:
            self._flush = True
        loop, event = self._loop, self._wakeup
        if loop is None or event is None:
            return  # not running; the first pass will find the message
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            event.set()
        else:
            loop.call_soon_threadsafe(event.set)

    async def run(self) -> None:
        """Recover the spool, then deliver until cancelled.

        Passes do not wait for each other: a pass starts the messages it took that are not
        already being delivered and returns to waiting, so mail committed while a slow
        delivery runs is taken at once. When cancelled, it waits for the deliveries in
        progress to be recorded before it re-raises.
        """
        self._loop = asyncio.get_running_loop()
        self._wakeup = asyncio.Event()
        self._stopping = False
        lock = await self._lock_spool()
        try:
            report = await asyncio.to_thread(recover, self.spool)
            log.info(
                "queue recovery: %d messages, %d corrupt", report.messages, len(report.corrupt)
            )
            await self._serve()
        finally:
            self._stopping = True
            try:
                await self.drain()
            finally:
                os.close(lock)

    async def _lock_spool(self) -> int:
        """Take the spool's queue manager lock (``pid/qmgr.lock``), waiting for a previous
        queue manager that is still finishing its deliveries: recovery must never requeue
        a message another process is delivering. The kernel releases it when we die."""
        directory = self.spool.root / "pid"
        directory.mkdir(mode=0o755, exist_ok=True)
        fd = os.open(directory / LOCK_FILE, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        waiting = False
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    return fd
                except BlockingIOError:
                    if not waiting:
                        log.info("waiting for the previous queue manager to finish")
                        waiting = True
                    await asyncio.sleep(LOCK_POLL)
        except BaseException:
            os.close(fd)
            raise

    async def _serve(self) -> None:
        """Run passes: on notify, and every ``queue_run_delay`` (until cancelled)."""
        assert self._wakeup is not None
        last_deferred_scan = float("-inf")
        while True:
            self._wakeup.clear()
            now = self.clock()
            scan_deferred = self._flush or now - last_deferred_scan >= self.queue_run_delay
            self._flush = False
            if scan_deferred:
                last_deferred_scan = now
            with self._known_lock:
                scan = self._scan or scan_deferred
                known, self._known, self._scan = self._known, [], False
            try:
                if scan:
                    await self._start_pass(now, scan_deferred)
                else:
                    self._start_known(known, now)
            except Exception:  # a bug must not stop delivery for good
                log.exception("queue manager pass failed")
            wait = max(0.0, last_deferred_scan + self.queue_run_delay - self.clock())
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):  # no task per wait, unlike wait_for
                    await self._wakeup.wait()

    async def drain(self) -> None:
        """Wait until the deliveries in progress have been recorded."""
        while self._in_flight:
            await asyncio.wait(list(self._in_flight.values()))

    def close(self) -> None:
        """Let the worker threads go once idle (after :meth:`run` has ended)."""
        self._executor.shutdown(wait=False)

    # -- one pass ------------------------------------------------------------------------

    async def run_once(self, now: float | None = None, *, scan_deferred: bool = True) -> int:
        """Deliver what is due at ``now`` (default: the clock); returns messages handled."""
        now = self.clock() if now is None else now
        tasks = await self._start_pass(now, scan_deferred)
        await asyncio.gather(*tasks)
        return len(tasks)

    async def _start_pass(self, now: float, scan_deferred: bool) -> list[asyncio.Task[None]]:
        """Take due messages into ``active`` and start delivering those not in progress."""
        loop = asyncio.get_running_loop()
        if loop is not self._messages_loop:  # semaphores belong to one event loop
            self._messages, self._messages_loop = _Slots(self.process_limit), loop
        ids = await loop.run_in_executor(self._executor, self._take, now, scan_deferred)
        tasks = []
        for queue_id in ids:
            if queue_id not in self._in_flight:
                task = loop.create_task(self._guarded(queue_id, now))
                self._in_flight[queue_id] = task
                tasks.append(task)
        return tasks

    def _start_known(self, ids: list[QueueId], now: float) -> None:
        """Start delivering messages named by :meth:`notify`, straight from ``incoming``."""
        loop = asyncio.get_running_loop()
        if loop is not self._messages_loop:
            self._messages, self._messages_loop = _Slots(self.process_limit), loop
        for queue_id in ids:
            if queue_id in self._in_flight:
                continue
            if not self._stopping and self._messages.try_acquire():
                self._in_flight[queue_id] = self._start_direct(loop, queue_id, now)
            else:
                task = loop.create_task(self._guarded(queue_id, now, take=True))
                self._in_flight[queue_id] = task

    def _start_direct(
        self, loop: asyncio.AbstractEventLoop, queue_id: QueueId, now: float
    ) -> asyncio.Future[None]:
        """Deliver a message that holds a slot: straight to a worker thread; a task only
        for a message with several batches. Done when the slot is given back."""
        done: asyncio.Future[None] = loop.create_future()
        slots = self._messages

        def prepared(future: Future[tuple[_Attempt, list[_Batch]] | None]) -> None:
            rest = None
            try:
                rest = future.result()
            except Exception:  # leave the file in active; recovery requeues it
                log.exception("%s: delivery failed unexpectedly", queue_id)
            if rest is None:
                self._release(slots, queue_id, done)
            else:
                loop.create_task(self._continue(slots, queue_id, done, *rest))

        self._executor.submit(self._prepare, queue_id, now, True).add_done_callback(
            lambda future: loop.call_soon_threadsafe(prepared, future)
        )
        return done

    async def _continue(
        self,
        slots: _Slots,
        queue_id: QueueId,
        done: asyncio.Future[None],
        attempt: _Attempt,
        batches: list[_Batch],
    ) -> None:
        try:
            await self._deliver_batches(attempt, batches)
        except Exception:  # leave the file in active; recovery requeues it
            log.exception("%s: delivery failed unexpectedly", queue_id)
        finally:
            self._release(slots, queue_id, done)

    def _release(self, slots: _Slots, queue_id: QueueId, done: asyncio.Future[None]) -> None:
        slots.release()
        self._in_flight.pop(queue_id, None)
        if not done.done():
            done.set_result(None)

    async def _guarded(self, queue_id: QueueId, now: float, *, take: bool = False) -> None:
        try:
            async with self._messages:
                if self._stopping:  # not started yet: leave it for the next queue manager
                    return
                await self._deliver_message(queue_id, now, take)
        except Exception:  # leave the file in active; recovery requeues it
            log.exception("%s: delivery failed unexpectedly", queue_id)
        finally:
            self._in_flight.pop(queue_id, None)

    async def _thread(self, func: Callable[..., _T], *args: object) -> _T:
        """Run blocking ``func`` in the queue manager's worker threads."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, func, *args)

    def _take(self, now: float, scan_deferred: bool) -> list[QueueId]:
        """Move due messages into ``active``; the IDs in ``active`` (blocking)."""
        for queue_id in self.spool.ids(INCOMING):  # no fsync: see vmail.queue.spool
            self.spool.move(queue_id, INCOMING, ACTIVE, durable=False)
        if scan_deferred:
            for queue_id in self.spool.ids(DEFERRED):
                try:
                    qf = self.spool.load(DEFERRED, queue_id)
                except (QueueNotFoundError, CorruptQueueFileError) as e:
                    log.warning("%s: %s", queue_id, e)
                    continue
                if self._due(qf, now):
                    self.spool.move(queue_id, DEFERRED, ACTIVE, durable=False)
        return self.spool.ids(ACTIVE)

    @staticmethod
    def _due(qf: QueueFile, now: float) -> bool:
        waiting = [s.next_attempt for s in qf.states if not s.final and s.status == ST_DEFERRED]
        return len(waiting) < len(qf.pending) or min(waiting, default=0.0) <= now

    async def _deliver_message(self, queue_id: QueueId, now: float, take: bool = False) -> None:
        """Deliver one message: one worker-thread call, unless it has several batches."""
        prepared = await self._thread(self._prepare, queue_id, now, take)
        if prepared is None:
            return
        await self._deliver_batches(*prepared)

    async def _deliver_batches(self, attempt: _Attempt, batches: list[_Batch]) -> None:
        """Deliver a message's batches concurrently, then conclude it."""
        corrupt: list[CorruptQueueFileError] = []

        async def deliver(batch: _Batch) -> None:
            try:
                await self._thread(self._dispatch, attempt, batch)
            except CorruptQueueFileError as e:
                corrupt.append(e)

        async with asyncio.TaskGroup() as group:
            for batch in batches:
                group.create_task(deliver(batch))
        await self._thread(self._conclude, attempt, corrupt[0] if corrupt else None)

    def _prepare(
        self, queue_id: QueueId, now: float, take: bool = False
    ) -> tuple[_Attempt, list[_Batch]] | None:
        """Load and resolve a message (blocking). One batch or none: deliver and conclude
        it here too and return None; several: return them, to run concurrently.

        ``take``: move it from ``incoming`` to ``active`` first (if a pass has not).
        """
        if take:
            with contextlib.suppress(FileNotFoundError):  # no fsync: see vmail.queue.spool
                self.spool.move(queue_id, INCOMING, ACTIVE, durable=False)
        try:
            qf = self.spool.load(ACTIVE, queue_id)
        except CorruptQueueFileError as e:
            log.warning("%s: %s; moved to corrupt", queue_id, e.reason)
            return None
        except QueueNotFoundError:
            return None
        env = qf.envelope
        log.info(qlog.queue_active(queue_id, env.sender, qf.message_size, len(env.recipients)))
        attempt = _Attempt(
            qf,
            started=now,
            next_attempt=now
            + backoff(
                deferral_count(qf.status_records) + 1, self.minimal_backoff, self.maximal_backoff
            ),
            expired=now - env.arrival_time > queue_lifetime(self.config, env.sender),
        )
        batches = self._batches(attempt)
        if len(batches) > 1:
            return attempt, batches
        error = None
        for batch in batches:
            try:
                self._dispatch(attempt, batch)
            except CorruptQueueFileError as e:
                error = e
        self._conclude(attempt, error)
        return None

    def _conclude(self, attempt: _Attempt, corrupt: CorruptQueueFileError | None) -> None:
        """After the batches: quarantine, or notify and remove/defer (blocking)."""
        qf = attempt.queue_file
        if corrupt is not None:
            log.warning("%s: %s; moved to corrupt", qf.queue_id, corrupt.reason)
            self.spool.quarantine(ACTIVE, qf.queue_id)
            return
        if self.notifier is not None:
            try:
                self.notifier.report(qf, attempt.results, self.clock())
            except TemporaryError as e:  # the notice could not be queued: keep the message
                log.warning("%s: notification deferred: %s", qf.queue_id, e.reply.text)
                self.spool.move(qf.queue_id, ACTIVE, DEFERRED, durable=False)
                return
        self._finish(qf)

    def _batches(self, attempt: _Attempt) -> list[_Batch]:
        """Resolve the pending recipients and group them per transport and next hop,
        at most the transport's recipient limit per batch (blocking)."""
        groups: dict[tuple[str, str], list[int]] = {}
        qf = attempt.queue_file
        content_filter = qf.envelope.filter
        for index in qf.pending:
            address = qf.envelope.recipients[index].address
            route = (
                self._filter_route(content_filter, address)
                if content_filter
                else self._resolve(address, qf.envelope.sender)
            )
            if isinstance(route, Outcome):
                self._record(attempt, [(index, route)], 0.0)
            elif route[0] in self.defer_transports and not _flushed(qf.states[index]):
                self._record(attempt, [(index, DEFERRED_TRANSPORT)], 0.0)
            else:
                groups.setdefault(route, []).append(index)
        batches = []
        for (transport, nexthop), indexes in groups.items():
            limit = self._recipient_limit(transport)
            for start in range(0, len(indexes), limit):
                batches.append(_Batch(transport, nexthop, tuple(indexes[start : start + limit])))
        return batches

    def _resolve(self, address: str, sender: str) -> tuple[str, str] | Outcome:
        try:
            with self._resolver_lock:
                resolution = self.resolver.resolve(Address.from_internal(address), sender=sender)
        except TableError as e:
            log.warning("table %s: resolve %s: %s", e.table, address, e.message)
            return deferred("4.3.0", "address resolver failure")
        return resolution.transport, resolution.nexthop

    def _filter_route(self, content_filter: str, address: str) -> tuple[str, str]:
        """Where a message for a content filter goes (``content_filter`` or FILTER):
        its transport, and its next hop or else ``default_filter_nexthop`` or else the
        recipient's domain (Postfix 2.7 and later)."""
        transport, _, nexthop = content_filter.partition(":")
        if not nexthop:
            nexthop = self.default_filter_nexthop or address.rpartition("@")[2]
        return transport, nexthop

    def _limit(self, transport: str) -> threading.BoundedSemaphore:
        """The semaphore that bounds concurrent deliveries of ``transport`` (thread-safe)."""
        with self._limits_lock:
            semaphore = self._limits.get(transport)
            if semaphore is None:
                name = f"{transport}_destination_concurrency_limit"
                limit = self.process_limit
                if self.config.is_known(name):
                    limit = min(limit, self.config.get_int(name))
                semaphore = self._limits[transport] = threading.BoundedSemaphore(max(1, limit))
        return semaphore

    def _recipient_limit(self, transport: str) -> int:
        """``<transport>_destination_recipient_limit``, else the default (Postfix's rule)."""
        name = f"{transport}_destination_recipient_limit"
        if not self.config.is_known(name):
            name = "default_destination_recipient_limit"
        return max(1, self.config.get_int(name))

    def _dispatch(self, attempt: _Attempt, batch: _Batch) -> None:
        """Deliver one batch and record the outcomes at once (blocking, worker thread)."""
        qf = attempt.queue_file
        started = self.clock()
        transport, nexthop = batch.transport, batch.nexthop
        builtin = BUILTIN.get(transport)
        agent = self.agents.get(transport)
        outcomes: list[Outcome]
        if builtin is not None:
            outcomes = [builtin(nexthop)] * len(batch.indexes)
        elif agent is None:
            unavailable = deferred("4.3.0", f"mail transport unavailable: {transport}")
            outcomes = [unavailable] * len(batch.indexes)
        else:
            requests = [self._request(qf, index, transport, nexthop) for index in batch.indexes]
            try:
                with self._limit(transport):
                    results = agent.deliver_batch(requests, qf.content_chunks)
                if len(results) != len(requests):
                    raise RuntimeError(f"{len(results)} results for {len(requests)} recipients")
            except CorruptQueueFileError:
                raise
            except Exception:
                log.exception("%s: %s agent failed", qf.queue_id, transport)
                failure = deferred("4.3.0", "unknown mail transport error", transport)
                outcomes = [failure] * len(batch.indexes)
            else:
                outcomes = [Outcome.from_result(result, transport) for result in results]
        # the crash window: the mailbox holds the message until this record is fsynced
        self._record(
            attempt,
            list(zip(batch.indexes, outcomes, strict=True)),
            self.clock() - started,
            self._delivery_logs.get(transport, log)
            if agent is not None or builtin is not None
            else log,
        )

    def _request(self, qf: QueueFile, index: int, transport: str, nexthop: str) -> DeliveryRequest:
        env = qf.envelope
        recipient = env.recipients[index]
        return DeliveryRequest(
            qf.queue_id,
            env.sender,
            recipient.address,
            recipient.original,
            transport=transport,
            nexthop=nexthop,
            notify=recipient.notify,
            orcpt=recipient.orcpt,
            message=attempt_message(qf),
            delivery_key=f"V{qf.queue_id}R{index}",
            recovered=qf.recovered,
        )

    # -- recording -----------------------------------------------------------------------

    def _record(
        self,
        attempt: _Attempt,
        outcomes: list[tuple[int, Outcome]],
        took: float,
        logger: logging.Logger = log,
    ) -> None:
        """Append the recipients' statuses durably (one fsync), then log them with
        ``logger`` (the delivery agent's, for what an agent decided) (blocking)."""
        qf = attempt.queue_file
        now = self.clock()
        updates = []
        logged_as = []
        for index, outcome in outcomes:
            status, logged, next_attempt = ST_DEFERRED, outcome.status, attempt.next_attempt
            if outcome.status == SENT:
                status, next_attempt = ST_DELIVERED, 0.0
            elif outcome.status == BOUNCED:
                status, next_attempt = ST_BOUNCED, 0.0
            elif attempt.expired:
                status, logged, next_attempt = ST_BOUNCED, "expired", 0.0
            updates.append(
                StatusUpdate(
                    (index,),
                    status,
                    dsn=outcome.dsn,
                    reason=outcome.text,
                    relay=outcome.relay,
                    next_attempt=next_attempt,
                    time=now,
                )
            )
            logged_as.append(logged)
        qf.append(updates)
        delays = qlog.Delays(
            before_qmgr=max(0.0, attempt.started - qf.envelope.arrival_time),
            in_qmgr=max(0.0, now - took - attempt.started),
            transmission=took,
        )
        history = []
        for (index, outcome), logged in zip(outcomes, logged_as, strict=True):
            recipient = qf.envelope.recipients[index]
            address = _external(recipient.address)
            original = _external(recipient.original) if recipient.original else ""
            logger.info(
                qlog.delivery(
                    qf.queue_id,
                    address,
                    original=original,
                    relay=outcome.relay,
                    delays=delays,
                    dsn=outcome.dsn,
                    status=logged,
                    text=outcome.text,
                )
            )
            history.append(
                DeliveryRecord(
                    now,
                    qf.queue_id,
                    address,
                    logged,
                    original,
                    outcome.dsn,
                    outcome.relay,
                    outcome.text,
                )
            )
            final = Outcome(logged, outcome.dsn, outcome.text, outcome.relay)
            with attempt.lock:
                attempt.results.append((index, final))
        try:
            self.history.append(history)
        except OSError as e:  # a convenience: never fails a delivery
            log.warning("cannot write the delivery history %s: %s", self.history.path, e)

    def _finish(self, qf: QueueFile) -> None:
        """Remove a finished message, or move it to ``deferred`` (blocking)."""
        # no fsync for either (see vmail.queue.spool): the status records are on disk, so
        # a file that comes back after a power loss is finished, or deferred, again
        if not qf.pending:
            self.spool.retire(ACTIVE, qf.queue_id, qf.valid_end)
            log.info(qlog.removed(qf.queue_id))
        else:
            self.spool.move(qf.queue_id, ACTIVE, DEFERRED, durable=False)


def _flushed(state: RecipientState) -> bool:
    """Whether a flush (``postqueue -f`` or ``-i``, ``sendmail -q``, ETRN) made this
    deferred recipient due: that lifts ``defer_transports`` for it, as Postfix's qmgr
    does for the messages a flush request brings in. Queue runs and new mail do not."""
    return state.status == ST_DEFERRED and state.next_attempt == 0.0


def _external(address: str) -> str:
    try:
        return Address.from_internal(address).external
    except ValueError:
        return address


__all__ = ["Notifier", "QueueManager", "attempt_message", "default_agents"]
