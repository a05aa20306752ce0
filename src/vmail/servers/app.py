"""``vmail serve``'s composition: every master.cf service, in two processes.

:class:`MailSystem` reads main.cf and master.cf and runs:

* one SMTP listener per ``inet`` service whose command is ``smtpd`` (port 25, submission
  with its ``-o`` overrides, ``smtpd_tls_wrappermode=yes`` for SMTPS), and an LMTP
  listener per ``inet`` service whose command is ``lmtpd`` (vmail's own: mail handed
  over by another MTA);
* an IMAP listener per ``imapd`` service and a POP3 listener per ``pop3d`` service
  (vmail's own commands; ``-o imapd_tls_wrappermode=yes`` for 993, likewise 995), serving
  the users' Maildirs through :mod:`vmail.mailstore`;
* an HTTP listener per ``webd`` service (vmail's own; ``-o web_tls_wrappermode=yes`` for
  HTTPS): the admin UI and REST API of :mod:`vmail.web`, served by the web processes;
* cleanup (the only way into the queue), the queue manager, the delivery agents for the
  ``unix`` services (:mod:`vmail.qmgr.agents`) and the bounce service;
* the authentication service over the directory database, when ``vmail_database`` is set.

Process model
-------------
``vmail serve`` is two processes (plus the web processes), so that receiving and
delivering use two cores:

* the **master** (the process started, PID in ``pid/master.pid``): binds the listeners
  (as root when needed), drops privileges, then runs the SMTP/LMTP servers and cleanup;
* the **delivery process**, forked by the master after binding and after privileges are
  dropped (:meth:`MailSystem.start_delivery`, :mod:`vmail.servers.delivery`): it builds
  its own snapshot of the configuration and runs queue recovery, the queue manager, the
  delivery agents and the bounce service (bounces go into the queue through its own
  cleanup).

They share nothing but the spool and one pipe: after each commit, the master's cleanup
writes the queue ID into the pipe (never blocking; when the pipe is full, the delivery
process is told to list ``incoming`` instead), and the delivery process takes that
message from ``incoming`` and delivers it, in one worker-thread call. Signals to the
master are forwarded: SIGUSR1 (flush: deferred mail too), SIGHUP (the master reloads,
then the delivery process reloads its own snapshot), SIGTERM (the master stops accepting
and lets sessions finish, then the delivery process finishes the deliveries in progress
and exits; SIGKILL if it takes longer than the drain timeout). If the delivery process
dies unexpectedly, the master logs it and forks a new one (whose recovery requeues what
was active) while SMTP keeps being served. If the master dies, even by ``kill -9``, the
kernel sends the delivery process SIGTERM (``PR_SET_PDEATHSIG``; the pipe's end of file
says the same): it records the deliveries in progress and exits. A queue manager takes
the spool's lock (``pid/qmgr.lock``) before recovery, so a new ``vmail serve`` waits for
that and there is never a second queue manager on one spool.

*Web processes* (``web_processes``, default 2, read at start; 0 serves HTTP in the
master): the master
binds the ``webd`` listeners but never accepts on them; after privileges are dropped it
forks that many children of the delivery process's kind (:class:`DeliveryProcess`: they
die with the master, are restarted when they die, get SIGHUP and SIGTERM forwarded). Each
builds its own snapshot and web application and accepts on the inherited listening
sockets, with the TLS context the master loaded as root; the kernel spreads connections
over them. An admin page costs ~15 ms of Python: in one process, four busy admins made
the p99 of a page 150 ms and delayed SMTP sessions; two processes use both cores and
leave the master to mail. The queue page's flush reaches the delivery process through
the master (SIGUSR1). Failed web logins are counted in the master, which the processes
ask over a socket pair each (:mod:`vmail.servers.webthrottle`), so the lockout holds
whichever process a client reaches. When a reload adds or removes a ``webd`` listener, the web
processes are restarted; otherwise they reload their own snapshot.

:meth:`MailSystem.reload` (SIGHUP, ``vmail reload``) builds a new snapshot from the
files and swaps it in: sessions already running finish with the old settings, new ones
get the new; listeners that were added or removed in master.cf are opened or closed.
:meth:`MailSystem.stop` (SIGTERM) stops accepting, lets sessions finish their
transaction for a while, and waits for deliveries in progress to be recorded. A
configuration that does not load keeps the old one running (logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from vmail import __version__
from vmail.admin import AdminService
from vmail.auth.service import Authenticator
from vmail.auth.sqlsource import SqlAccountSource
from vmail.auth.throttle import Throttle
from vmail.bounce import BounceService
from vmail.cleanup import Cleanup
from vmail.config import MainConfig
from vmail.config.master import MasterConfig, Service
from vmail.config.unimplemented import unimplemented_settings
from vmail.core.errors import ConfigError
from vmail.delivery.request import Agent
from vmail.directory.database import database_url, open_database
from vmail.dns import DnsPythonMxResolver
from vmail.qmgr import QueueManager
from vmail.qmgr.agents import agent_programs, build_agents, close_agents
from vmail.queue import Spool
from vmail.route import Router
from vmail.servers.delivery import DeliveryProcess, WakeReader
from vmail.servers.imapd.server import ImapServer
from vmail.servers.listeners import Endpoint, endpoints
from vmail.servers.mailboxes import open_store
from vmail.servers.pop3d.server import Pop3Server
from vmail.servers.smtpd.server import SmtpServer
from vmail.servers.tls import wrapper_context
from vmail.servers.webthrottle import RemoteThrottle, ThrottleHost
from vmail.web import WebContext, load_secret, login_throttle
from vmail.web.server import WebServer

log = logging.getLogger("vmail.master")

SMTP_COMMANDS = {"smtpd": False, "lmtpd": True}  # command -> speaks LMTP
WEB_COMMAND = "webd"
LISTENER_COMMANDS = frozenset({*SMTP_COMMANDS, "imapd", "pop3d", WEB_COMMAND})
Server = SmtpServer | ImapServer | Pop3Server | WebServer
DRAIN_TIMEOUT = 30.0


@dataclass
class Snapshot:
    """Everything built from one reading of the configuration files."""

    config: MainConfig
    master: MasterConfig
    router: Router
    spool: Spool
    cleanup: Cleanup
    agents: dict[str, Agent]
    authenticator: Authenticator | None
    bounce: BounceService
    web: WebContext | None = None  # when master.cf has a webd service (master process only)


@dataclass
class _ListenerChanges:
    """A reload's changes to the listeners, built before any is made."""

    removed: list[str] = field(default_factory=list)
    refreshed: list[Callable[[], None]] = field(default_factory=list)
    opened: list[tuple[str, Service, Endpoint, Server]] = field(default_factory=list)


@dataclass
class Listener:
    """One bound listener of one master.cf service."""

    key: str  # service key + endpoint, stable across reloads
    service: Service
    server: Server
    endpoint: Endpoint
    port: int = 0


@dataclass
class MailSystem:
    """The running mail system for one configuration directory."""

    config_dir: Path | None = None
    peername_lookup: bool = True
    notify_ports: Callable[[dict[str, int]], None] | None = None
    owner: tuple[int, int] | None = None  # running as root: who the spool belongs to
    snapshot: Snapshot | None = None
    listeners: dict[str, Listener] = field(default_factory=dict)
    qmgr: QueueManager | None = None  # in the delivery process (or in_process)
    in_process: bool = False  # deliver in this process (no fork; for embedding and tests)
    delivery: DeliveryProcess | None = None  # the master's handle on the delivery process
    _qmgr_task: asyncio.Task[None] | None = None
    _delivering: bool = False  # this process runs the queue manager
    _parent_listeners: dict[str, Listener] = field(default_factory=dict)
    _accepting: bool = True
    _web_throttle: Throttle | None = None  # web login failures, kept across reloads
    web_processes: list[DeliveryProcess] = field(default_factory=list)  # the master's handles
    _web_children: int = 0  # web_processes as read at start (a change needs a restart)
    _throttle_host: ThrottleHost | None = None  # the web processes' shared login throttle
    _web_slots: list[socket.socket] = field(default_factory=list)  # their ends, for restarts
    _master_pid: int | None = None  # in a web process: whom to ask for a queue flush

    # -- building ----------------------------------------------------------------------

    def load(self) -> Snapshot:
        """Read and check the files; build a snapshot (blocking: opens tables and files).

        The master's snapshot has no delivery agents: they live in the delivery process.
        """
        config = MainConfig.load(self.config_dir).validate()
        master = MasterConfig.load(self.config_dir).validate()
        for warning in unimplemented_settings(config, master):
            log.warning("%s", warning)
        router = Router(config, dns=DnsPythonMxResolver())  # reject_unknown_* restrictions
        spool = Spool.from_config(config)
        spool.create()
        if self.owner is not None:
            _give(spool.root, self.owner)
        cleanup = Cleanup(config, router, spool, on_commit=self._notify_qmgr)
        agents = build_agents(config, master, cleanup) if self._delivering else {}
        authenticator = None
        admin = None
        if config.is_set("vmail_database"):
            engine = open_database(database_url(config))
            authenticator = Authenticator(SqlAccountSource(engine))
            mail_root = config.get("virtual_mailbox_base")
            admin = AdminService(
                engine,
                mail_root=Path(mail_root) if mail_root else None,
                vacation_domain=config.get("vmail_vacation_domain") or None,
            )
        bounce = BounceService(config, cleanup)
        web = None
        if not self._delivering and any(_is_web(service) for service in master):
            web = self._web_context(config, admin, authenticator, spool, router)
        return Snapshot(config, master, router, spool, cleanup, agents, authenticator, bounce, web)

    def _web_context(
        self,
        config: MainConfig,
        admin: AdminService | None,
        authenticator: Authenticator | None,
        spool: Spool,
        router: Router,
    ) -> WebContext:
        """What the webd listeners serve with (the signing key is created on first use)."""
        if self._web_throttle is None:
            self._web_throttle = login_throttle(config)
        secret = load_secret(Path(config.get("web_secret_file")), self.owner)
        return WebContext(
            config,
            admin,
            authenticator,
            secret,
            session_timeout=float(config.get_time("web_session_timeout")),
            throttle=self._web_throttle,
            spool=spool,
            router=router,
            wake=self.wake,  # the queue page's flush, as postqueue -f (thread-safe)
        )

    def _notify_qmgr(self, queue_id: str) -> None:
        if self.qmgr is not None:
            self.qmgr.notify(queue_id)
        elif self.delivery is not None:
            self.delivery.poke(queue_id)

    def wake(self) -> None:
        """Look at the queue now, deferred mail included (SIGUSR1: sendmail, postqueue -f)."""
        if self.qmgr is not None:
            self.qmgr.notify(flush=True)
        elif self.delivery is not None:
            self.delivery.signal(signal.SIGUSR1)
        elif self._master_pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._master_pid, signal.SIGUSR1)

    # -- running -----------------------------------------------------------------------

    async def start(self, *, accept: bool = True) -> dict[str, int]:
        """Load and bind every listener (the part that may need root); the bound ports.

        With ``accept`` False the listeners are bound but serve no connection until
        :meth:`accept`: ``vmail serve`` started as root serves only after dropping root,
        so no session ever runs with root's rights. Delivery starts with
        :meth:`start_delivery`, after root has been dropped.
        """
        snapshot = await asyncio.to_thread(self.load)
        self.snapshot = snapshot
        self._accepting = accept
        await self._sync_listeners(snapshot)
        if self.notify_ports is not None:
            self.notify_ports(self.ports)
        return self.ports

    async def accept(self) -> None:
        """Serve the connections of every listener bound by :meth:`start` (they wait until
        then in the listeners' queues); the web processes' listeners are theirs."""
        self._accepting = True
        for listener in self.listeners.values():
            if not self._served_elsewhere(listener.server):
                await listener.server.accept()

    def _served_elsewhere(self, server: Server) -> bool:
        return isinstance(server, WebServer) and self._web_children > 0

    def start_delivery(self) -> None:
        """Start delivering: fork the delivery process (or, ``in_process``, run the queue
        manager here). Recovery comes first, in whichever process delivers."""
        assert self.snapshot is not None, "start() first"
        if self.in_process:
            self._delivering = True
            self.snapshot = self.load()
            self.qmgr = self._queue_manager(self.snapshot)
            self._qmgr_task = asyncio.create_task(self.qmgr.run(), name="qmgr")
        else:
            self.delivery = DeliveryProcess(self._delivery_main)
            self.delivery.start()
            self._web_children = max(0, self.snapshot.config.get_int("web_processes"))
            self._start_web_processes()
        log.info("daemon started -- version %s, configuration %s", __version__, self._dir())

    # -- the web processes -------------------------------------------------------------

    def _web_listeners(self) -> dict[str, Listener]:
        return {k: v for k, v in self.listeners.items() if isinstance(v.server, WebServer)}

    def _start_web_processes(self) -> None:
        if not self._web_listeners():
            return
        if self._throttle_host is None:
            assert self._web_throttle is not None, "load() made it for the webd listeners"
            self._throttle_host = ThrottleHost(self._web_throttle)
        for _ in range(self._web_children):
            slot = self._throttle_host.open_slot()  # kept for the restarts of this slot
            self._web_slots.append(slot)
            child = DeliveryProcess(
                partial(self._web_main, throttle_fd=slot.fileno()),
                name="web process",
                keep=partial(self._web_fds, slot.fileno()),
            )
            child.start()
            self.web_processes.append(child)

    async def _stop_web_processes(self, timeout: float) -> None:
        children, self.web_processes = self.web_processes, []
        await asyncio.gather(*(child.stop(timeout) for child in children))
        if self._throttle_host is not None:
            self._throttle_host.close()
        for slot in self._web_slots:
            slot.close()
        self._web_slots = []

    def _web_fds(self, *more: int) -> tuple[int, ...]:
        sockets = (
            listener.server.listening_fd
            for listener in self._web_listeners().values()
            if isinstance(listener.server, WebServer)
        )
        return (*sockets, *more)

    def _web_main(self, wake_fd: int, throttle_fd: int) -> int:
        """A web process's body (runs in the forked child); its exit code."""
        inherited = self._web_listeners()
        assert self._web_throttle is not None
        link = socket.socket(fileno=os.dup(throttle_fd))
        self._web_throttle = RemoteThrottle(link, local=self._web_throttle)
        self._throttle_host = None  # the master's
        self._web_slots = []
        self._master_pid = os.getppid()
        self.delivery = None
        self.web_processes = []
        self.notify_ports = None
        self._parent_listeners = self.listeners  # kept alive: their sockets are /dev/null
        self.listeners = {}
        balance = self._web_children > 1
        self._web_children = 0  # this process serves (and reloads) its listeners itself
        return asyncio.run(self._serve_web_until_stopped(wake_fd, inherited, balance))

    async def _serve_web_until_stopped(
        self, wake_fd: int, inherited: dict[str, Listener], balance: bool
    ) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        reloads: list[asyncio.Task[None]] = []
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        for ignored in (signal.SIGINT, signal.SIGUSR1):  # the master decides; not ours
            loop.add_signal_handler(ignored, lambda: None)
        loop.add_signal_handler(
            signal.SIGHUP, lambda: reloads.append(loop.create_task(self._reload_web()))
        )
        reader = WakeReader(wake_fd)  # nothing is written: end of file = the master is gone

        def master_gone() -> None:
            if reader.read() is None:
                loop.remove_reader(wake_fd)
                stop.set()

        snapshot = self.snapshot = await asyncio.to_thread(self.load)
        for key, listener in inherited.items():
            bound = listener.server
            assert isinstance(bound, WebServer)
            config = listener.service.effective(snapshot.config)
            server = WebServer(
                config,
                _web_context_of(snapshot, config),
                host=bound.host,
                port=bound.requested_port,
                ssl_context=bound.ssl_context,  # loaded by the master, maybe as root
                service_name=bound.service_name,
                balance=balance,
            )
            await server.start(sock=socket.socket(fileno=os.dup(bound.listening_fd)))
            self.listeners[key] = replace(listener, server=server)
        loop.add_reader(wake_fd, master_gone)
        log.info("web process started")
        try:
            await stop.wait()
        finally:
            for task in reloads:
                task.cancel()
            listeners, self.listeners = list(self.listeners.values()), {}
            await asyncio.gather(
                *(listener.server.drain(DRAIN_TIMEOUT) for listener in listeners),
                return_exceptions=True,
            )
        return 0

    async def _reload_web(self) -> None:
        snapshot = await self._load_or_keep()
        if snapshot is None:
            return
        try:
            refreshes = [
                self._prepare_refresh(listener.server, listener.service, snapshot)
                for listener in self.listeners.values()
            ]
        except Exception as e:
            log.error("reload failed, keeping the running configuration: %s", e)
            return
        self.snapshot = snapshot
        for refresh in refreshes:
            refresh()
        log.info("web process reloaded")

    # -- the delivery process ----------------------------------------------------------

    def _delivery_main(self, wake_fd: int) -> int:
        """The delivery process's body (runs in the forked child); its exit code."""
        self._delivering = True
        self.delivery = None
        self.notify_ports = None
        self._parent_listeners = self.listeners  # kept alive: their sockets are /dev/null
        self.listeners = {}
        return asyncio.run(self._deliver_until_stopped(wake_fd))

    async def _deliver_until_stopped(self, wake_fd: int) -> int:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        reloads: list[asyncio.Task[None]] = []
        loop.add_signal_handler(signal.SIGTERM, stop.set)
        loop.add_signal_handler(signal.SIGINT, lambda: None)  # the master decides
        loop.add_signal_handler(
            signal.SIGHUP, lambda: reloads.append(loop.create_task(self._reload_delivery()))
        )
        loop.add_signal_handler(signal.SIGUSR1, self.wake)

        reader = WakeReader(wake_fd)

        def woken() -> None:
            got = reader.read()
            if got is None:  # the master is gone
                loop.remove_reader(wake_fd)
                stop.set()
                return
            ids, full = got
            if self.qmgr is not None:
                for queue_id in ids:
                    self.qmgr.notify(queue_id)
                if full:
                    self.qmgr.notify()

        self.snapshot = await asyncio.to_thread(self.load)
        self.qmgr = self._queue_manager(self.snapshot)
        self._qmgr_task = asyncio.create_task(self.qmgr.run(), name="qmgr")
        loop.add_reader(wake_fd, woken)
        log.info("delivery process started")
        try:
            await stop.wait()
        finally:
            for task in reloads:
                task.cancel()
            await self._stop_qmgr()
            await asyncio.to_thread(close_agents, self.snapshot.agents)
        return 0

    async def _reload_delivery(self) -> None:
        snapshot = await self._load_or_keep()
        if snapshot is None:
            return
        old, self.snapshot = self.snapshot, snapshot
        await self._restart_qmgr(snapshot)
        if old is not None:
            await asyncio.to_thread(close_agents, old.agents)

    async def _load_or_keep(self) -> Snapshot | None:
        """A new snapshot for a reload; None (logged) when the files do not load."""
        try:
            return await asyncio.to_thread(self.load)
        except Exception as e:
            log.error("reload failed, keeping the running configuration: %s", e)
            return None

    def _queue_manager(self, snapshot: Snapshot) -> QueueManager:
        return QueueManager(
            snapshot.config,
            snapshot.spool,
            snapshot.agents,
            notifier=snapshot.bounce,
            programs=agent_programs(snapshot.master),
        )

    @property
    def ports(self) -> dict[str, int]:
        """``service name`` (plus ``@host`` when a service binds several) -> bound port."""
        return {key: listener.port for key, listener in self.listeners.items()}

    async def reload(self) -> bool:
        """Re-read the configuration; False (and the old one kept) if it does not load."""
        snapshot = await self._load_or_keep()
        if snapshot is None:
            return False
        web_before = {key: listener.service for key, listener in self._web_listeners().items()}
        try:
            changes = self._plan_listeners(snapshot)
        except Exception as e:  # a listener's settings do not load (an unreadable key...)
            log.error("reload failed, keeping the running configuration: %s", e)
            return False
        old = self.snapshot
        self.snapshot = snapshot
        try:
            await self._apply_listeners(changes)
        except OSError as e:  # a new listener's address is taken: the others carry on
            log.error("reload: cannot open a listener: %s", e)
        if self.delivery is not None:
            self.delivery.signal(signal.SIGHUP)
            await self._reload_web_processes(web_before)
        if self.qmgr is not None:
            await self._restart_qmgr(snapshot)
        if old is not None:
            await asyncio.to_thread(close_agents, old.agents)
        log.info("reload -- version %s, configuration %s", __version__, self._dir())
        if self.notify_ports is not None:
            self.notify_ports(self.ports)
        return True

    async def _reload_web_processes(self, before: dict[str, Service]) -> None:
        """Web processes reload; they are restarted when the webd listeners changed."""
        after = {key: listener.service for key, listener in self._web_listeners().items()}
        if after == before:
            for child in self.web_processes:
                child.signal(signal.SIGHUP)
            return
        await self._stop_web_processes(DRAIN_TIMEOUT)
        self._start_web_processes()

    async def _restart_qmgr(self, snapshot: Snapshot) -> None:
        await self._stop_qmgr()
        self.qmgr = self._queue_manager(snapshot)
        self._qmgr_task = asyncio.create_task(self.qmgr.run(), name="qmgr")

    async def _stop_qmgr(self) -> None:
        """Stop the queue manager here, after the deliveries in progress are recorded."""
        task, self._qmgr_task = self._qmgr_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.qmgr is not None:
            self.qmgr.close()

    async def stop(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Stop accepting, drain sessions (up to ``timeout``), stop the queue manager."""
        listeners, self.listeners = list(self.listeners.values()), {}
        await asyncio.gather(
            self._stop_web_processes(timeout),
            *(listener.server.drain(timeout) for listener in listeners),
            return_exceptions=True,
        )
        if self.delivery is not None:
            await self.delivery.stop(timeout)
        await self._stop_qmgr()
        if self.snapshot is not None:
            await asyncio.to_thread(close_agents, self.snapshot.agents)
        log.info("terminating")

    # -- listeners ---------------------------------------------------------------------

    async def _sync_listeners(self, snapshot: Snapshot) -> None:
        """Open listeners new in master.cf, close removed ones, refresh the others."""
        await self._apply_listeners(self._plan_listeners(snapshot))

    def _plan_listeners(self, snapshot: Snapshot) -> _ListenerChanges:
        """What :meth:`_sync_listeners` will do, with every listener's new settings built
        first: an error (ConfigError, an unreadable certificate) changes nothing."""
        wanted: dict[str, tuple[Service, Endpoint]] = {}
        for service in snapshot.master:
            if service.type != "inet" or service.command not in LISTENER_COMMANDS:
                continue
            effective = service.effective(snapshot.config)
            points = endpoints(service, effective)
            label = _label(service, wanted)
            for endpoint in points:
                key = label if len(points) == 1 else f"{label}@{endpoint.host}"
                wanted[key] = (service, endpoint)
        changes = _ListenerChanges(removed=[k for k in self.listeners if k not in wanted])
        for key, (service, endpoint) in wanted.items():
            current = self.listeners.get(key)
            if current is not None and current.service == service:
                changes.refreshed.append(self._prepare_refresh(current.server, service, snapshot))
            else:
                server = self._server(service, endpoint, snapshot)
                changes.opened.append((key, service, endpoint, server))
        return changes

    async def _apply_listeners(self, changes: _ListenerChanges) -> None:
        for key in changes.removed:
            listener = self.listeners.pop(key)
            await listener.server.close()
            log.info("closed listener %s", key)
        for refresh in changes.refreshed:
            refresh()
        for key, service, endpoint, server in changes.opened:
            current = self.listeners.get(key)
            if current is not None:
                await current.server.close()
            await server.start(accept=self._accepting and not self._served_elsewhere(server))
            listener = Listener(key, service, server, endpoint, server.port)
            self.listeners[key] = listener
            where = f"{endpoint.host or '*'}:{listener.port}"
            log.info("listening: %s %s %s", service.name, service.command, where)

    def _server(self, service: Service, endpoint: Endpoint, snapshot: Snapshot) -> Server:
        config = service.effective(snapshot.config)
        host = endpoint.host or ""
        if service.command == "imapd":
            return ImapServer(
                config,
                snapshot.authenticator,
                host=host,
                port=endpoint.port,
                service_name=service.name,
            )
        if service.command == WEB_COMMAND:
            return WebServer(
                config,
                _web_context_of(snapshot, config),
                host=host,
                port=endpoint.port,
                ssl_context=web_tls(config),
                service_name=service.name,
            )
        if service.command == "pop3d":
            return Pop3Server(
                config,
                snapshot.authenticator,
                host=host,
                port=endpoint.port,
                service_name=service.name,
                open_store=lambda account: open_store(self._config_of(service), account),
            )
        return SmtpServer(
            config,
            snapshot.router,
            snapshot.cleanup,
            host=host,
            port=endpoint.port,
            peername_lookup=self.peername_lookup,
            authenticator=snapshot.authenticator,
            lmtp=SMTP_COMMANDS[service.command],
            service_name=service.name,
        )

    def _config_of(self, service: Service) -> MainConfig:
        """The service's settings in the current snapshot (they change on reload)."""
        assert self.snapshot is not None
        return service.effective(self.snapshot.config)

    def _prepare_refresh(
        self, server: Server, service: Service, snapshot: Snapshot
    ) -> Callable[[], None]:
        """Build an unchanged listener's new settings (raises when they do not load);
        the returned call makes new sessions use them."""
        if self._served_elsewhere(server):
            return lambda: None  # the web processes reload their own
        config = service.effective(snapshot.config)
        if isinstance(server, SmtpServer):
            settings = server.configure(
                config, snapshot.router, snapshot.cleanup, authenticator=snapshot.authenticator
            )
            return lambda: server.use(settings)
        if isinstance(server, WebServer):
            context = _web_context_of(snapshot, config)
            tls = None
            if server.ssl_context is not None:
                try:
                    tls = web_tls(config)
                except ConfigError as e:  # a web process has no root helper (by design)
                    log.warning("%s: keeping the TLS certificate it has: %s", service.name, e)
            return lambda: server.reconfigure(config, context, tls)
        if isinstance(server, ImapServer):
            imap = server.configure(config, snapshot.authenticator)
            return lambda: server.use(imap)
        pop3 = server.configure(config)
        authenticator = snapshot.authenticator
        return lambda: server.use(pop3, authenticator)

    def _dir(self) -> str:
        return str(self.config_dir) if self.config_dir else "(default)"


def _is_web(service: Service) -> bool:
    return service.type == "inet" and service.command == WEB_COMMAND


def _web_context_of(snapshot: Snapshot, config: MainConfig) -> WebContext:
    """The snapshot's web context with one service's settings (its ``-o`` overrides)."""
    assert snapshot.web is not None, "load() builds it when master.cf has a webd service"
    return replace(
        snapshot.web,
        config=config,
        session_timeout=float(config.get_time("web_session_timeout")),
    )


def web_tls(config: MainConfig) -> ssl.SSLContext | None:
    """The TLS context of a webd listener: None unless ``web_tls_wrappermode``; the
    certificate from ``web_tls_cert_file``/``web_tls_key_file`` (the SMTP server's by
    default), protocol versions from ``smtpd_tls_protocols``, ALPN ``http/1.1``."""
    context = wrapper_context(config, "web")
    if context is not None:
        context.set_alpn_protocols(["http/1.1"])
    return context


def _give(root: Path, owner: tuple[int, int]) -> None:
    """Hand queue directories root just created to the user the server will run as."""
    for path in [root, *root.iterdir()]:
        if path.is_dir() and path.stat().st_uid == 0:
            os.chown(path, *owner)


def _label(service: Service, taken: dict[str, tuple[Service, Endpoint]]) -> str:
    """The name a listener is reported under: the service name, or, when several
    services share one (``127.0.0.1:0`` in tests), the last part of its ``syslog_name``
    override (``postfix/submission`` -> ``submission``), else ``NAME#N``."""
    if service.name not in taken:
        return service.name
    syslog_name = service.overrides.get("syslog_name", "")
    label = syslog_name.rpartition("/")[2]
    if label and label not in taken:
        return label
    number = 2
    while f"{service.name}#{number}" in taken:
        number += 1
    return f"{service.name}#{number}"


__all__ = ["MailSystem", "Snapshot"]
