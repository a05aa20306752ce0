"""One SMTP/LMTP client connection: the session, its decisions, TLS, AUTH and the message.

Decisions are answered as Postfix's smtpd answers them: MAIL FROM needs TLS first at
level ``encrypt`` (``530 5.7.0 Must issue a STARTTLS command first``) and counts against
the message rate; RCPT TO gets ``smtpd_*_restrictions`` through
:meth:`vmail.policy.restrictions.RecipientPolicy.check_recipient` (with the SASL login);
the message streams into :class:`vmail.cleanup.Cleanup` and end-of-data is answered
``250 2.0.0 Ok: queued as ID`` only after the queue file is committed (LMTP: that reply
once per recipient). Blocking work runs in threads; the session reads nothing more while
a decision is pending, so pipelined commands are answered in order.

To keep thread hand-offs few, a message is held in memory until it passes
:data:`SPOOL_THRESHOLD` bytes: a small one is queued by a single worker-thread call at the
end of DATA (:meth:`vmail.cleanup.Cleanup.store`); a larger one opens the queue file then
and streams the rest, :data:`WRITE_BATCH` bytes per thread call (the last ones in the
call that commits). Either way an error of cleanup (alias expansion, queue file) is the
reply to the end of DATA, as in Postfix. Table answers are remembered for the transaction
(:class:`vmail.tables.memo.LookupMemo`), so cleanup's expansion reuses what the RCPT
decisions looked up. RCPT decisions that need only local tables (in memory, files, SQLite)
run on the event loop; one that would query a network table or DNS moves to a thread.

Every write waits at most ``smtpd_timeout`` for the client to read (a client that stops
reading loses its connection, never blocks the others); a connection idle that long gets
``421 4.4.2 ... Error: timeout exceeded``.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import logging
import socket
import ssl
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from vmail.auth.sasl import Credentials, new_exchange
from vmail.auth.service import AuthStatus
from vmail.cleanup import CleanupMessage, Rcpt, Submission, received_header
from vmail.core.address import Address, AddressError
from vmail.core.errors import ConfigError, MailError, TableError
from vmail.core.reply import Reply
from vmail.milter.chain import MilterChain, printable, to_reply
from vmail.milter.client import MilterSpec, macro_key, with_values
from vmail.milter.spec import milter_specs
from vmail.policy.clientcerts import Certificate
from vmail.policy.evaluation import Client, MessageAction
from vmail.protocol.smtp import (
    AuthCredentials,
    Close,
    DataChunk,
    DataCommand,
    DataComplete,
    Decision,
    Event,
    Extension,
    Helo,
    MailFrom,
    MessageAborted,
    Mode,
    RcptTo,
    Send,
    ServerSession,
    SessionConfig,
    StartTls,
    UnknownCommand,
)
from vmail.protocol.smtp import replies as rp
from vmail.protocol.smtp.ehlomask import ehlo_keywords, ehlo_mask_names
from vmail.protocol.smtp.sasl import SaslFactory
from vmail.queue.tools import flush_site
from vmail.servers.smtpd import ccert, proxy, proxyfilter, xclient
from vmail.servers.smtpd.footer import with_footer
from vmail.servers.smtpd.logtext import escape
from vmail.servers.smtpd.tls import received_details
from vmail.tables.memo import LookupMemo, WouldBlockError

if TYPE_CHECKING:
    from vmail.servers.smtpd.server import SmtpServer
    from vmail.servers.smtpd.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")
log = logging.getLogger("vmail.smtpd")
READ_SIZE = 1 << 16
SPOOL_THRESHOLD = 1 << 16  # bytes of a message held in memory before the queue file opens
WRITE_BATCH = 1 << 18  # bytes gathered before a worker thread appends them to the queue file
MUST_STARTTLS = Reply(530, "5.7.0", "Must issue a STARTTLS command first")
AUTH_TEMPFAIL = Reply(454, "4.7.0", "Temporary authentication failure")
XFORWARD_OK = Reply(250, "2.0.0", "Ok")
MILTER_SHUTDOWN = Reply(421, "4.7.0", "Server closing connection")
MILTER_THREADS = 128  # sessions that may wait on milters at once (Postfix: a process each)
_milter_pool: ThreadPoolExecutor | None = None


def milter_threads() -> ThreadPoolExecutor:
    """The threads milter conversations block in, made at first use (after the fork)."""
    global _milter_pool
    if _milter_pool is None:
        _milter_pool = ThreadPoolExecutor(MILTER_THREADS, thread_name_prefix="milter")
    return _milter_pool


async def client_names(address: str, timeout: float = 5.0) -> tuple[str, str]:
    """Postfix's two client names: the forward-confirmed reverse name and the reverse
    (PTR) name alone, each ``unknown`` when there is none."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            name, _ = await loop.getnameinfo((address, 0), socket.NI_NAMEREQD)
    except (OSError, TimeoutError):
        return "unknown", "unknown"
    try:
        async with asyncio.timeout(timeout):
            infos = await loop.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, TimeoutError):
        return "unknown", name
    return (name if any(info[4][0] == address for info in infos) else "unknown"), name


def _printable(text: str, limit: int = 100) -> str:
    """``text`` fit for one log line (control characters escaped, length capped)."""
    out = "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text[:limit])
    return out + "..." if len(text) > limit else out


@dataclasses.dataclass
class MessageActions:
    """What access tables said of the message of one transaction (Postfix's smtpd keeps
    the same): HOLD, DISCARD and REDIRECT count once, BCC and PREPEND once per value."""

    hold: bool = False  # queue it in hold
    discard: bool = False  # answer 250 and drop it
    redirect: str | None = None  # every recipient becomes this one
    bcc: list[str] = dataclasses.field(default_factory=list)  # more recipients
    prepend: list[str] = dataclasses.field(default_factory=list)  # headers above Received:
    filter: str = ""  # FILTER: the content filter (the last one said wins)
    logged: set[str] = dataclasses.field(default_factory=set)

    def take(self, action: MessageAction) -> bool:
        """Record ``action``; whether to log it (PREPEND never, HOLD, DISCARD and
        REDIRECT the first time)."""
        verb = action.verb
        if verb == "prepend":
            if action.argument not in self.prepend:
                self.prepend.append(action.argument)
            return False
        if verb in ("hold", "discard", "redirect"):
            if verb in self.logged:
                return False
            self.logged.add(verb)
            self.hold = self.hold or verb == "hold"
            self.discard = self.discard or verb == "discard"
            self.redirect = action.argument or self.redirect
        elif verb == "bcc" and action.argument not in self.bcc:
            self.bcc.append(action.argument)
        elif verb == "filter":
            self.filter = action.argument
        return True


class ClientGoneError(Exception):
    """The client stopped reading (write timeout) or the connection broke."""


class Connection:
    """One client: the session, the transaction so far, and the message being written."""

    def __init__(
        self, server: SmtpServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.settings: Settings = server.settings  # kept for the connection's lifetime
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        sock = writer.get_extra_info("sockname") or ("", 0)
        self.peer = f"{peer[0]}:{peer[1]}"
        self.address = str(peer[0])
        self.address_at_connect = self.address
        self.port = str(peer[1])
        self.local_address = str(sock[0])
        self.name = "unknown"
        self.reverse_name = "unknown"
        self.counted = False
        self.connected = False  # "connect from" was logged: "disconnect from" will be
        self.pipelining_logged = False
        self.session = ServerSession(self.settings.session_config)
        self.closed = False
        self.finishing = False  # end of data seen, reply not yet sent
        self.tls_info = ""
        self.certificate: Certificate | None = None  # the TLS client's (smtpd_tls_ask_ccert)
        self.sasl_username: str | None = None
        self.sasl_method = ""
        self.xforward: dict[str, str | None] = {}
        self.mail: MailFrom | None = None
        self.rcpts: list[Rcpt] = []
        # the message's queue ID, from the first accepted recipient on (Postfix's smtpd
        # opens the queue file there: its later lines and milters' {i} name it)
        self.queue_id: str | None = None
        self.message: CleanupMessage | None = None
        self.pending: Submission | None = None  # DATA accepted, queue file not yet open
        self.held: list[bytes] = []  # content received while pending
        self.held_size = 0
        self.unwritten: list[bytes] = []  # content for the open queue file, not yet written
        self.unwritten_size = 0
        self.memo = LookupMemo()  # table answers of the current transaction
        self.transactions = 0  # MAIL commands accepted (policy services' instance=)
        self.actions = MessageActions()  # what access tables said of this transaction
        self.error: Reply | None = None
        self.milters: MilterChain | None = None  # smtpd_milters, for this session
        self.shutdown = False  # a milter asked to close the session
        self.milter_rcpt: Address | None = None  # the recipient the milters are asked about
        self.local_port = str(sock[1]) if len(sock) > 1 else ""
        # smtpd_discard_ehlo_keyword_address_maps for this client (or the main.cf list)
        self.ehlo_discards = self.settings.session_config.smtpd_discard_ehlo_keywords
        self.ehlo_discards_failed = False  # its lookup failed: EHLO gets 421, as Postfix
        self.proxy_filter: proxyfilter.ProxyFilter | None = None  # smtpd_proxy_filter's

    @property
    def namaddr(self) -> str:
        return f"{self.name}[{self.address}]"

    @property
    def busy(self) -> bool:
        """A message is being received (drain waits for these)."""
        return (
            self.finishing
            or self.message is not None
            or self.pending is not None
            or self.session.mode in (Mode.DATA, Mode.BDAT)
        )

    # -- the conversation ----------------------------------------------------------

    async def run(self) -> None:
        server, settings = self.server, self.settings
        proxied = settings.upstream_proxy is None or await self.from_proxy(settings.upstream_proxy)
        if server.peername_lookup:
            self.name, self.reverse_name = await client_names(self.address)
        log.info("connect from %s", self.namaddr)
        self.connected = True
        if not proxied:  # no usable PROXY header: hang up, as Postfix, uncounted
            await self.send(f"{proxy.hangup_reply(self.session.config.myhostname)}\r\n".encode())
            return
        self.counted = True
        refused = server.limits.connect(self.address, self.name)
        if refused is not None:
            await self.send(f"{refused}\r\n".encode())
            return
        if settings.wrappermode and not await self._tls_ready():  # the transport did it
            return
        await self.look_up_ehlo_discards()
        self.session = ServerSession(self.new_session_config(), self.sasl_factory())
        if settings.reject_footer or settings.reject_footer_maps:
            self.session.footer = self._footer
        if settings.command_filter:
            self.session.command_filter = self._filter_command
        self.session.auth_limit = self._auth_limit
        try:
            refusal = None
            if not settings.policy.delay_reject:
                refusal = await self.check_early("smtpd_client_restrictions", "CONNECT")
            greeting = None
            if (settings.milters or settings.milter_maps) and refusal is None:
                greeting = await self.milter_connect()
            self.session.report_unknown = self.milters is not None
            await self.act(self.session.start(refusal, self.namaddr, greeting))
            if self.shutdown:
                return
            while not self.closed:
                try:
                    async with asyncio.timeout(settings.timeout):
                        data = await self.reader.read(READ_SIZE)
                except TimeoutError:
                    log.info("timeout after %s from %s", self.session.where, self.namaddr)
                    host = self.session.config.myhostname
                    await self.send(f"421 4.4.2 {host} Error: timeout exceeded\r\n".encode())
                    return
                except (ConnectionError, ssl.SSLError):
                    self._lost()
                    return
                if not data:
                    self._lost()
                    return
                await self.act(self.session.receive(data))
        except ClientGoneError:
            self._lost()

    async def from_proxy(self, settings: proxy.ProxySettings) -> bool:
        """The client and server the PROXY header gives replace the socket's (a v2 LOCAL
        header keeps them); False when there is no usable header (logged)."""
        header = await proxy.receive(self.reader, settings)
        if header is None:
            return False
        if header.endpoints is not None:
            ends = header.endpoints
            self.address = self.address_at_connect = ends.client_address
            self.port, self.local_port = ends.client_port, ends.server_port
            self.local_address = ends.server_address
        return True

    def _footer(self, reply: Reply) -> Reply:
        """The footer after a 4xx/5xx reply, expanded for this client: what
        ``smtpd_reject_footer_maps`` gives for the whole reply, else ``smtpd_reject_footer``."""
        footer = self.settings.reject_footer
        maps = self.settings.reject_footer_maps
        if maps is not None:
            key = str(reply)
            try:
                found = maps.find(key)
            except TableError as e:
                log.warning('%s lookup error for "%s"', e.table, key)
                return reply  # no footer at all, as in Postfix
            if found == "":
                log.warning(
                    "smtpd_reject_footer_maps lookup of %s returns an empty string result", key
                )
                log.warning("smtpd_reject_footer_maps should return NO RESULT in case of NOT FOUND")
            elif found is not None:
                footer = found
        if not footer:
            return reply
        macros = {
            "client_address": self.address,
            "client_name": self.name,
            "client_port": self.port,
            "reverse_client_name": self.reverse_name,
            "helo_name": self.session.helo or "",
            "server_name": self.session.config.myhostname,
            "sasl_method": self.sasl_method,
            "sasl_username": self.sasl_username or "",
        }
        return with_footer(reply, footer, macros)

    def _filter_command(self, line: str) -> str | Reply | None:
        """``smtpd_command_filter``: the command to run instead of ``line``, logged as
        Postfix logs it; a failed lookup ends the session with this 421, as in Postfix."""
        table = self.settings.command_filter
        assert table is not None
        key = line.lstrip(" \t")
        try:
            found = table.find(key)
        except TableError as e:
            log.warning('%s lookup error for "%s"', e.table, key)
            return self._local_data_error(self.session.where)
        if found is not None:
            log.info('%s: replacing command "%.100s" with "%.100s"', self.namaddr, line, found)
        return found

    async def look_up_ehlo_discards(self) -> None:
        """The EHLO keywords not to offer this client: what
        ``smtpd_discard_ehlo_keyword_address_maps`` gives for its address, else
        ``smtpd_discard_ehlo_keywords``. Looked up at connect and after XCLIENT, as Postfix
        does; a failed lookup is reported at EHLO."""
        maps = self.settings.ehlo_discard_maps
        self.ehlo_discards = self.settings.session_config.smtpd_discard_ehlo_keywords
        self.ehlo_discards_failed = False
        if maps is None:
            return
        try:
            found = await self.lookup(maps.find, self.address)
        except TableError as e:
            log.warning('%s lookup error for "%s"', e.table, self.address)
            self.ehlo_discards_failed = True
            return
        if found is not None:
            self.ehlo_discards = ehlo_keywords(found)

    def _ehlo_discard_log(self) -> Reply | None:
        """At EHLO: Postfix's ``discarding EHLO keywords`` line, or the 421 for a failed
        lookup of the keywords."""
        if self.ehlo_discards_failed:
            log.warning("don't know what EHLO features to announce to %s", self.namaddr)
            return self._local_data_error("EHLO")
        discards = self.ehlo_discards
        if discards and not discards & {"SILENT-DISCARD", "ENHANCEDSTATUSCODES"}:
            log.info("discarding EHLO keywords: %s", " ".join(ehlo_mask_names(discards)))
        return None

    def _auth_limit(self) -> Reply | None:
        """``smtpd_client_auth_rate_limit``; XCLIENT hosts are not limited, as in Postfix."""
        if self.session.config.xclient_allowed:
            return None
        return self.server.limits.auth(self.address, self.name)

    def _local_data_error(self, where: str) -> Reply:
        """The 421 for a table the session needs that failed, logged as Postfix does."""
        reply = rp.local_data_error(self.session.config.myhostname)
        log.info("NOQUEUE: reject: %s from %s: %s", where, self.namaddr, reply)
        return reply

    def _lost(self) -> None:
        """Postfix's line for a client that went away without QUIT."""
        log.info("lost connection after %s from %s", self.session.where, self.namaddr)

    def new_session_config(self) -> SessionConfig:
        """The listener's session settings, with what depends on this client."""
        settings = self.settings
        config = settings.session_config
        bare_newline = config.smtpd_forbid_bare_newline
        if bare_newline != "no" and settings.bare_newline_exclusions.match(self.address, self.name):
            bare_newline = "no"
        return dataclasses.replace(
            config,
            smtpd_forbid_bare_newline=bare_newline,
            tls_active=self.tls_info != "" or settings.wrappermode,
            xclient_allowed=settings.xclient_hosts.match(self.address, self.name),
            smtpd_discard_ehlo_keywords=self.ehlo_discards,
            xforward_allowed=settings.xforward_hosts.match(self.address, self.name),
            sasl_exception=settings.sasl_exceptions.match(self.address, self.name),
        )

    def sasl_factory(self) -> SaslFactory | None:
        return new_exchange if self.settings.session_config.smtpd_sasl_auth_enable else None

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.flush()

    async def flush(self) -> None:
        """Wait until the client has taken what was written, at most ``smtpd_timeout``."""
        transport = self.writer.transport
        if not transport.get_write_buffer_size() and not transport.is_closing():
            return  # the socket took everything: no timer needed
        try:
            async with asyncio.timeout(self.settings.timeout):
                await self.writer.drain()
        except (TimeoutError, ConnectionError, ssl.SSLError) as e:
            self.closed = True
            self.writer.transport.abort()
            raise ClientGoneError from e

    async def act(self, events: Iterable[Event]) -> None:
        """Perform events in order, answering decisions (whose answers bring more events).

        Replies go out together once the events are done, as Postfix's smtpd sends what
        it has when no more input is waiting: a pipelined group of commands gets its
        replies in one segment."""
        todo = deque(events)
        replies = bytearray()
        try:
            while todo:
                event = todo.popleft()
                if isinstance(event, Send):
                    if event.delay:  # the tarpit: wait, then send with what is held
                        await asyncio.sleep(event.delay)
                        self.writer.write(bytes(replies + event.data))
                        replies.clear()
                        await self.flush()
                    else:
                        replies += event.data
                    continue
                if isinstance(event, StartTls):
                    self.writer.write(bytes(replies))  # the 220 goes out before the handshake
                    replies.clear()
                    if not await self.handshake():
                        return
                    todo.extend(self.session.tls_started())
                else:
                    await self.perform(event, todo)
        finally:
            if replies and not self.writer.transport.is_closing():
                self.writer.write(bytes(replies))
        self._log_improper_pipelining()
        if self.proxy_filter is not None and not self.session.in_transaction:
            await self.close_proxy_filter()
        await self.flush()
        self.finishing = False

    async def perform(self, event: Event, todo: deque[Event]) -> None:
        """One event that is not a reply (to be sent) or STARTTLS."""
        if isinstance(event, Close):
            self.closed = True
        elif isinstance(event, DataChunk):
            await self.write(event.data)
        elif isinstance(event, MessageAborted):
            await self.discard()
            if self.proxy_filter is not None and self.proxy_filter.in_data:
                await self.proxy_filter_aborted(event.reason)
        elif isinstance(event, Decision):
            answer = await self.decide(event)
            todo.extend(self.session.reply(answer))
            if self.shutdown:  # a milter said SHUTDOWN: 421, then close
                todo.append(Close("milter shutdown"))

    async def handshake(self) -> bool:
        """The STARTTLS handshake; False (connection over) if it failed. (SMTPS listeners
        hand over connections whose handshake their transport did.)"""
        context = self.settings.tls_context
        assert context is not None
        await self.flush()
        # Plaintext the client pipelined after STARTTLS must not be read as if it had come
        # over TLS (CVE-2011-0411). start_tls() pauses reading before it yields, so
        # nothing new can arrive between this and the switch.
        buffered: bytearray = getattr(self.reader, "_buffer")  # noqa: B009
        buffered.clear()
        try:
            await self.writer.start_tls(context, ssl_handshake_timeout=self.settings.tls_timeout)
        except (OSError, ssl.SSLError, TimeoutError, EOFError) as e:
            log.warning("SSL_accept error from %s: %s", self.namaddr, e or type(e).__name__)
            self.closed = True
            self.writer.transport.abort()
            return False
        return await self._tls_ready()

    async def _tls_ready(self) -> bool:
        """After a handshake: its details, then smtpd_tls_req_ccert's verdict (False: the
        client got Postfix's 421 and the session is over)."""
        self._tls_established()
        reason = ccert.refusal(self.settings.ccert, self.certificate)
        if reason is None:
            return True
        log.info("NOQUEUE: abort: TLS from %s: %s", self.namaddr, reason)
        host = self.session.config.myhostname
        await self.send(f"421 4.7.1 {host} Error: {reason}\r\n".encode())
        self.closed = True
        return False

    def _tls_established(self) -> None:
        """After a handshake: the TLS details for Received:, a fresh SASL state, the log."""
        ssl_object = self.writer.get_extra_info("ssl_object")
        self.tls_info = received_details(ssl_object) or "(using TLS)"
        digest = self.settings.ccert.digest
        self.certificate, error = ccert.session_certificate(ssl_object, digest)
        self.sasl_username = None
        self.sasl_method = ""
        self.xforward = {}
        if error is not None:
            log.info("certificate verification failed for %s: %s", self.namaddr, error)
        trust = ccert.trust(self.certificate)
        log.info("%s TLS connection established from %s: %s", trust, self.namaddr, self.tls_info)

    @property
    def client(self) -> Client:
        return Client(
            self.address,
            self.name,
            self.session.helo,
            self.sasl_username,
            improper_pipelining=self.session.improper_pipelining is not None,
            reverse_name=self.reverse_name,
            instance=f"{id(self):x}.{self.transactions}",
            encrypted=self.tls_info != "",  # after STARTTLS, or SMTPS from the start
            certificate=self.certificate,
        )

    def _log_improper_pipelining(self) -> None:
        """Postfix's line for the first improper pipelining (fail2ban reads it too)."""
        found = self.session.improper_pipelining
        if found is None or self.pipelining_logged:
            return
        self.pipelining_logged = True
        command, after = found
        log.info(
            "improper command pipelining after %s from %s: %s",
            command,
            self.namaddr,
            escape(after),
        )

    async def decide(self, decision: Decision) -> Reply | list[Reply] | None:
        self._log_improper_pipelining()
        if isinstance(decision, Helo):
            refused = None
            if not self.settings.policy.delay_reject:
                refused = await self.check_early(
                    "smtpd_helo_restrictions", decision.verb, helo=decision.name
                )
            if refused is None and self.milters is not None:
                # a milter's refusal is logged and comes back at MAIL; EHLO still says
                # 250 (after a 5xx with ENHANCEDSTATUSCODES only), as in Postfix
                chain, name, again = self.milters, decision.name, self.session.helo is not None
                said = await self.ask_milters(
                    lambda macros: chain.helo(name, macros), decision.verb, None, None, name
                )
                if again:
                    chain.abort()  # HELO/EHLO again resets the session, as in Postfix
                self.session.ehlo_limited = said is not None and said.permanent
                if self.shutdown:
                    return said
            if refused is None and decision.verb == "EHLO" and not self.session.ehlo_limited:
                failed = self._ehlo_discard_log()
                if failed is not None:
                    self.shutdown = True  # 421: hang up
                    return failed
            return refused
        if isinstance(decision, MailFrom):
            refused = self.mail_from(decision)
            sender = decision.sender.internal if decision.sender else ""
            if refused is None and not self.settings.policy.delay_reject:
                refused = await self.check_early("smtpd_sender_restrictions", "MAIL", sender=sender)
            if refused is None and self.milters is not None:
                chain, args = self.milters, _milter_args(decision)
                if self.transactions > 1:
                    chain.abort()  # the last transaction is over (libmilter resets)
                refused = await self.ask_milters(
                    lambda macros: chain.mail(args, macros), "MAIL", sender, None
                )
                if refused is not None:
                    self.mail = None
            if refused is None and self.settings.proxy_filter is not None:
                self.proxy_filter = proxyfilter.ProxyFilter(
                    self.settings.proxy_filter,
                    decision.line,
                    self._forward,
                    lambda: self._log_client("NOQUEUE"),
                )
            return refused
        if isinstance(decision, RcptTo):
            return await self.rcpt(decision)
        if isinstance(decision, DataCommand):
            await self.discard()
            self.error = None
            policy = self.settings.policy
            refused = None
            if policy.data_restrictions:
                refused = await self.check_message(policy.check_data, "DATA")
            if refused is None and self.milters is not None:
                chain = self.milters
                rcpt = self.rcpts[0].address if self.rcpts else None
                refused = await self.ask_milters(chain.data, "DATA", self.sender, rcpt)
            if refused is not None:
                return refused
            if self.proxy_filter is not None:
                sub, cleanup = self.submission(), self.settings.cleanup
                header = received_header(sub, cleanup.myhostname, cleanup.mail_name, None)
                return await self.proxy_filter.data(header)
            await self.open()
            return None
        if isinstance(decision, DataComplete):
            self.finishing = True
            return await self.complete(len(decision.recipients), decision.bdat_size)
        if isinstance(decision, AuthCredentials):
            return await self.authenticate(decision)
        if isinstance(decision, UnknownCommand) and self.milters is not None:
            chain, verb = self.milters, decision.verb  # the verb only, as Postfix sends it
            return await self.ask_milters(
                lambda macros: chain.unknown(verb, macros), "UNKNOWN", None, None
            )
        if isinstance(decision, Extension):
            if decision.verb == "ETRN":
                return await self.etrn(decision.argument)
            reply = self.extension(decision)
            if decision.verb == "XCLIENT" and reply is not None and reply.code == 220:
                # as Postfix: XCLIENT and the EHLO keywords are decided again for the new
                # client, XFORWARD (and the rest, decided at connect) stays as it was
                await self.look_up_ehlo_discards()
                settings = self.settings
                self.session.config = dataclasses.replace(
                    self.session.config,
                    xclient_allowed=settings.xclient_hosts.match(self.address, self.name),
                    sasl_exception=settings.sasl_exceptions.match(self.address, self.name),
                    smtpd_discard_ehlo_keywords=self.ehlo_discards,
                )
            return reply
        return None  # VRFY: the session's default

    def mail_from(self, decision: MailFrom) -> Reply | None:
        if self.settings.tls_level == "encrypt" and not self.session.tls_active:
            return MUST_STARTTLS
        refused = self.server.limits.message(self.address, self.name)
        if refused is not None:
            return refused
        self.mail, self.rcpts, self.queue_id = decision, [], None
        self.memo = LookupMemo()
        self.transactions += 1
        self.actions = MessageActions()
        return None

    async def rcpt(self, decision: RcptTo) -> Reply:
        refused = self.server.limits.recipient(self.address, self.name)
        if refused is not None:
            return refused
        sender = self.sender
        rcpt = decision.recipient.internal
        policy = self.settings.policy
        actions: list[MessageAction] = []
        reply = await self.lookup(
            policy.check_recipient,
            self.client,
            sender,
            rcpt,
            accepted=len(self.rcpts),
            actions=actions,
        )
        self._take_actions(actions, sender, rcpt)
        if reply.ok and self.settings.lmtp:
            reply = await self.lookup(self.lmtp_local, rcpt)
        if not reply.ok:
            self._log_reject("RCPT", reply, sender, rcpt)
            if self.milters is not None:
                await self._milter_rejected(decision, reply)
        elif self.milters is not None:
            chain, args = self.milters, _milter_args(decision)
            self.milter_rcpt = decision.recipient
            refused = await self.ask_milters(
                lambda macros: chain.rcpt(args, macros), "RCPT", sender, rcpt
            )
            self.milter_rcpt = None
            reply = refused or reply
        if reply.ok and self.proxy_filter is not None:  # not logged when refused
            reply = await self.proxy_filter.rcpt(decision.line) or reply
        if reply.ok:
            params = decision.params
            orcpt = f"{params.orcpt_type};{params.orcpt}" if params.orcpt else ""
            self.rcpts.append(Rcpt(rcpt, params.notify or (), orcpt))
            if self.queue_id is None and self.proxy_filter is None:
                self.queue_id = self.settings.cleanup.spool.reserve_id()
                self._log_client(self.queue_id)
        return reply

    async def check_early(
        self, parameter: str, command: str, *, helo: str | None = None, sender: str | None = None
    ) -> Reply | None:
        """``smtpd_delay_reject = no``: the client, HELO or sender restrictions at
        ``command`` (CONNECT, HELO/EHLO, MAIL); a refusal is logged as Postfix logs it."""
        client = self.client if helo is None else dataclasses.replace(self.client, helo=helo)
        policy = self.settings.policy
        reply = await self.lookup(policy.check_early, parameter, command, client, sender)
        if reply is not None:
            self._log_reject(command, reply, sender, None, helo)
        return reply

    async def lookup(self, decide: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """A table-driven decision: on the loop while it asks only local tables, else in a
        worker thread (the transaction's memo keeps what the first attempt found)."""
        memo = self.memo
        try:
            return memo.run_inline(decide, *args, **kwargs)
        except WouldBlockError:
            pass

        def in_thread() -> R:
            return memo.run(decide, *args, **kwargs)

        return await asyncio.to_thread(in_thread)

    async def check_message(
        self, check: Callable[[Client, str, list[str]], Reply | None], stage: str
    ) -> Reply | None:
        """``smtpd_data_restrictions`` (``check_data``, stage ``DATA``) or
        ``smtpd_end_of_data_restrictions``: the refusal, logged as Postfix logs it."""
        sender = self.sender
        recipients = [rcpt.address for rcpt in self.rcpts]
        reply = await self.lookup(check, self.client, sender, recipients)
        if reply is not None and not reply.ok:
            self._log_reject(stage, reply, sender, recipients[0] if len(recipients) == 1 else None)
        return reply

    def _take_actions(self, actions: list[MessageAction], sender: str, rcpt: str) -> None:
        """Access table actions of one RCPT decision, as Postfix's smtpd takes them: HOLD,
        DISCARD and REDIRECT mark the message (logged once per transaction), BCC adds a
        recipient, PREPEND a header, WARN and INFO are only logged."""
        for action in actions:
            if self.actions.take(action):
                self._log_action(action.verb, "RCPT", action.text, sender, rcpt)

    def _log_reject(
        self,
        stage: str,
        reply: Reply,
        sender: str | None,
        rcpt: str | None,
        helo: str | None = None,
    ) -> None:
        """``NOQUEUE: reject: RCPT from NAME[ADDR]: 550 5.1.1 <...>: ...; from=<...>
        to=<...> proto=ESMTP helo=<...>``, as Postfix's smtpd logs it (and fail2ban reads
        it); ``to=`` only with one recipient."""
        status = f"{reply.code} {reply.enhanced} " if reply.enhanced else f"{reply.code} "
        text = status + reply.text.replace("\n", " ")
        self._log_action("reject", stage, text, sender, rcpt, helo)

    def _log_action(
        self,
        verb: str,
        stage: str,
        text: str,
        sender: str | None,
        rcpt: str | None,
        helo: str | None = None,
    ) -> None:
        """``NOQUEUE: VERB: STAGE from NAME[ADDR]: TEXT; from=<...> to=<...> proto=...
        helo=<...>``: no ``from=`` before MAIL, ``helo=`` the name being checked at HELO.
        ``NOQUEUE`` until a recipient was accepted, then the transaction's queue ID."""
        queue_id = self.current_queue_id or "NOQUEUE"
        whatsup = self._whatsup(sender, rcpt, helo)
        log.info("%s: %s: %s from %s: %s;%s", queue_id, verb, stage, self.namaddr, text, whatsup)

    def _whatsup(self, sender: str | None, rcpt: str | None, helo: str | None = None) -> str:
        """`` from=<...> to=<...> proto=... helo=<...>`` of Postfix's log lines."""
        session = self.session
        proto = "LMTP" if self.settings.lmtp else "ESMTP" if session.esmtp else "SMTP"
        helo = helo or session.helo
        parts = [f" from=<{sender}>" if sender is not None else ""]
        parts.append(f" to=<{rcpt}>" if rcpt is not None else "")
        parts.append(f" proto={proto}" + (f" helo=<{helo}>" if helo else ""))
        return "".join(parts)

    # -- smtpd_proxy_filter (see .proxyfilter) --------------------------------------

    def _forward(self) -> proxyfilter.Forward:
        """The client for the filter's XFORWARD (what our own XFORWARD client said first)."""
        fwd, session = self.xforward, self.session
        name = fwd.get("NAME") or self.name
        address = fwd.get("ADDR") or self.address
        return proxyfilter.Forward(
            name=None if name == "unknown" else name,
            address=None if address == "unknown" else address,
            port=fwd.get("PORT") or self.port or None,
            helo=fwd.get("HELO") or session.helo,
            proto=fwd.get("PROTO") or ("ESMTP" if session.esmtp else "SMTP"),
            local=self.local_client,
        )

    def _log_proxy_filter(self, accepted: bool) -> None:
        """``proxy-accept: END-OF-MESSAGE: <the filter's reply>; from=<...> to=<...>``
        (``to=`` the first recipient), as Postfix logs the end of a proxied message."""
        assert self.proxy_filter is not None
        rcpt = self.rcpts[0].address if self.rcpts else None
        log.info(
            "proxy-%s: END-OF-MESSAGE: %s;%s",
            "accept" if accepted else "reject",
            self.proxy_filter.buffer,
            self._whatsup(self.sender, rcpt),
        )

    async def proxy_filter_aborted(self, reason: str) -> None:
        """The message was refused while it streamed to the filter (too big, bare LF):
        logged as Postfix logs it; the filter gets QUIT without the final dot."""
        if reason in (rp.MESSAGE_TOO_BIG.text, rp.CHUNK_TOO_BIG.text):
            log.warning("NOQUEUE: queue file size limit exceeded")
        self._log_proxy_filter(accepted=False)
        await self.close_proxy_filter()

    async def close_proxy_filter(self) -> None:
        """The transaction is over: the filter gets QUIT."""
        proxy_filter, self.proxy_filter = self.proxy_filter, None
        if proxy_filter is not None:
            await proxy_filter.close()

    def lmtp_local(self, rcpt: str) -> Reply:
        """LMTP accepts only recipients this host delivers (no relaying)."""
        try:
            address = self.settings.router.canonical.rewrite(Address.from_internal(rcpt))
            resolution = self.settings.router.resolver.resolve(address)
        except (TableError, AddressError):
            return Reply(451, "4.3.0", f"<{rcpt}>: Temporary lookup failure")
        if resolution.address_class.final:
            return Reply(250, "2.1.5", "Ok")
        return Reply(554, "5.7.1", f"<{rcpt}>: Relay access denied")

    async def authenticate(self, decision: AuthCredentials) -> Reply:
        authenticator = self.settings.authenticator
        credentials = decision.credentials
        if authenticator is None or not isinstance(credentials, Credentials):
            return rp.AUTH_FAILED
        result = await authenticator.authenticate(
            credentials.username,
            credentials.password,
            client_ip=self.address,
            service=self.settings.sasl_service,
        )
        if result.ok:
            self.sasl_username = result.username
            self.sasl_method = decision.mechanism
            return rp.AUTH_OK
        if result.status is AuthStatus.TEMPFAIL:
            return AUTH_TEMPFAIL
        log.warning(
            "%s: SASL %s authentication failed: authentication failure, sasl_username=%s",
            self.namaddr,
            decision.mechanism,
            _printable(credentials.username),
        )
        return rp.AUTH_FAILED

    def extension(self, decision: Extension) -> Reply | None:
        if decision.verb not in ("XCLIENT", "XFORWARD"):
            return None
        attrs = xclient.parse(decision.verb, decision.argument)
        if isinstance(attrs, Reply):
            return attrs
        if decision.verb == "XFORWARD":
            self.xforward.update(attrs)
            return XFORWARD_OK
        self.apply_xclient(attrs)
        return Reply(220, "", self.session.config.banner)

    async def etrn(self, site: str) -> Reply:
        """ETRN as Postfix's fast flush: a site in ``fast_flush_domains`` has its deferred
        mail tried now ("Queuing started" is all the client learns, as with Postfix)."""
        return await asyncio.to_thread(self._flush_site, site)

    def _flush_site(self, site: str) -> Reply:
        """:meth:`etrn`'s blocking part (table lookups, queue files)."""
        refused = self.settings.policy.check_etrn(self.client, site)
        if refused is not None:
            return refused
        cleanup = self.settings.cleanup
        try:
            listed = cleanup.router.context.domain_list("fast_flush_domains").match(site)
        except (TableError, ConfigError) as e:
            log.warning("ETRN %s from %s: fast_flush_domains: %s", site, self.namaddr, e)
            return rp.ETRN_FAILED
        if not listed:
            log.warning("reject: ETRN %s... from %s", site[:100], self.namaddr)
            return rp.etrn_unavailable(site)
        for queue_id in flush_site(cleanup.spool, site):
            if cleanup.on_commit is not None:
                cleanup.on_commit(queue_id)  # the queue manager takes it from incoming
        return rp.ETRN_STARTED

    def apply_xclient(self, attrs: dict[str, str | None]) -> None:
        """The proxy's client becomes this connection's client (Postfix resets the rest)."""
        if "ADDR" in attrs:
            self.address = attrs["ADDR"] or "unknown"
        if "NAME" in attrs:
            self.name = attrs["NAME"] or "unknown"
            self.reverse_name = self.name
        if "REVERSE_NAME" in attrs:
            self.reverse_name = attrs["REVERSE_NAME"] or "unknown"
        if "PORT" in attrs:
            self.port = attrs["PORT"] or "0"
        if "LOGIN" in attrs:
            self.sasl_username = attrs["LOGIN"]
            self.sasl_method = "XCLIENT" if attrs["LOGIN"] else ""
        else:
            self.sasl_username = None
        self.xforward = {}

    # -- milters -------------------------------------------------------------------

    async def milter_connect(self) -> Reply | None:
        """Connect the session's milters and report the client; the greeting that
        replaces the banner when they refuse it, as Postfix's: a 5xx gives ``554 HOST
        ESMTP not accepting connections`` (their reply comes at MAIL), a 421 closes."""
        host = self.session.config.myhostname
        try:
            specs = await asyncio.to_thread(self._client_milters)
        except (TableError, ConfigError) as e:
            log.warning("smtpd_milter_maps: %s", e)
            self.shutdown = True
            return Reply(421, "", f"{host} Service unavailable - try again later")
        if not specs:
            return None
        chain = self.milters = MilterChain(specs, log)
        name, address = self.name, self.address
        port = int(self.port) if self.port.isdigit() else 0
        refused = await self.ask_milters(
            lambda macros: chain.connect(name, address, port, macros), "CONNECT", None, None
        )
        if self.shutdown:
            return Reply(421, "", f"{host} Service unavailable - try again later")
        if refused is not None and refused.permanent:
            return Reply(554, "", f"{host} ESMTP not accepting connections")
        return None

    async def milter_call(self, call: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """A blocking call that may wait on milters (up to their timeouts): in the
        milters' own threads, so that slow applications cannot hold up the worker threads
        every session's queue files and lookups need. Without milters: a worker thread."""
        if self.milters is None:
            return await asyncio.to_thread(call, *args, **kwargs)
        context = contextvars.copy_context()
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            milter_threads(), functools.partial(context.run, call, *args, **kwargs)
        )

    def _client_milters(self) -> tuple[MilterSpec, ...]:
        """``smtpd_milters``, or what ``smtpd_milter_maps`` says for this client's address
        (blocks): another list of milters, or DISABLE for none (Postfix 3.2)."""
        settings = self.settings
        found = settings.milter_maps.find(self.address) if settings.milter_maps else None
        if found is None:
            return settings.milters
        if found.strip().upper() == "DISABLE":
            return ()
        config = settings.config.with_overrides({"smtpd_milters": found})
        return milter_specs(config, "smtpd_milters")

    async def ask_milters(
        self,
        ask: Callable[[Callable[[str], str | None]], str | None],
        stage: str,
        sender: str | None,
        rcpt: str | None,
        helo: str | None = None,
    ) -> Reply | None:
        """One event for the milters (in a worker thread: they block), and what their
        answer means here, as Postfix's smtpd takes it (``check_milter_reply``): a
        refusal to send (logged ``milter-reject``), or None after a hold or discard
        (remembered for the message) or no objection."""
        answer = await self.milter_call(ask, self.milter_macro)
        if answer is None:
            return None
        if answer == "H":  # logged at each event, as Postfix does
            self.actions.hold = True
            text = "milter triggers HOLD action"
            self._log_action("milter-hold", stage, text, sender, rcpt, helo)
            return None
        if answer == "D":
            self.actions.discard = True
            text = "milter triggers DISCARD action"
            self._log_action("milter-discard", stage, text, sender, rcpt, helo)
            return None
        reply = MILTER_SHUTDOWN if answer == "S" else to_reply(answer)
        self.shutdown = reply.code == 421  # Postfix closes after a 421
        text = str(reply) if answer == "S" else printable(answer)
        self._log_action("milter-reject", stage, text, sender, rcpt, helo)
        return reply

    async def _milter_rejected(self, decision: RcptTo, reply: Reply) -> None:
        """A refused recipient, for applications that asked for them (SMFIP_RCPT_REJ),
        with Postfix's macros: {rcpt_mailer} ``error``, {rcpt_host} the status code,
        {rcpt_addr} the reason."""
        chain = self.milters
        assert chain is not None
        rejected = {"{rcpt_mailer}": "error", "{rcpt_host}": reply.enhanced}
        reason = reply.text.replace("\n", " ")
        if reason.startswith("<") and ">: " in reason:
            reason = reason.partition(">: ")[2]  # "<addr>: Recipient address rejected: ..."
        rejected["{rcpt_addr}"] = reason
        macros = with_values(rejected, self.milter_macro)
        await self.milter_call(chain.rejected_rcpt, _milter_args(decision), macros)

    def milter_macro(self, name: str) -> str | None:
        """A Sendmail macro's value for the milters (MILTER_README's table); None when
        this stage does not know it."""
        key = macro_key(name)
        if key == "{j}":
            return self.session.config.myhostname
        if key == "{i}":
            return self.current_queue_id
        if key == "{v}":
            return self.settings.milter_v
        if key == "{_}":
            forged = "" if self.name.lower() == self.reverse_name.lower() else " (may be forged)"
            return f"{self.reverse_name} [{self.address}]{forged}"
        mail = self.mail
        values = {
            "{daemon_name}": self.settings.milter_daemon_name,
            "{daemon_addr}": self.local_address,
            "{daemon_port}": self.local_port,
            "{client_addr}": self.address,
            "{client_name}": self.name,
            "{client_port}": self.port or "0",
            "{client_ptr}": self.reverse_name,
            "{auth_type}": self.sasl_method or None,
            "{auth_authen}": self.sasl_username,
        }
        if key in values:
            return values[key]
        if key == "{mail_addr}" and mail is not None:
            return mail.sender.external if mail.sender else ""
        if key in ("{mail_host}", "{mail_mailer}") and mail is not None and mail.sender:
            return self._milter_route(mail.sender, key == "{mail_mailer}")
        rcpt = self.milter_rcpt
        if key == "{rcpt_addr}" and rcpt is not None:
            return rcpt.external
        if key in ("{rcpt_host}", "{rcpt_mailer}") and rcpt is not None:
            return self._milter_route(rcpt, key == "{rcpt_mailer}")
        return self._tls_macro(key)

    def _milter_route(self, address: Address, transport: bool) -> str | None:
        """{mail_host}/{rcpt_host} (the next hop) or ..._mailer (the transport)."""
        try:
            route = self.settings.router.resolver.resolve(address)
        except (TableError, AddressError):
            return None
        return route.transport if transport else route.nexthop

    def _tls_macro(self, key: str) -> str | None:
        ssl_object = self.writer.get_extra_info("ssl_object")
        if ssl_object is None:
            return None
        if key in ("{cert_subject}", "{cert_issuer}"):
            return ccert.milter_macro(key, self.certificate)
        cipher = ssl_object.cipher()
        if key == "{tls_version}":
            return str(ssl_object.version())
        if key == "{cipher}" and cipher:
            return str(cipher[0])
        if key == "{cipher_bits}" and cipher:
            return str(cipher[2])
        return None

    # -- the message ---------------------------------------------------------------

    async def open(self) -> None:
        self.pending, self.held, self.held_size = self.submission(), [], 0

    def submission(self) -> Submission:
        """The transaction so far, for cleanup (and the Received: header)."""
        mail = self.mail
        params = mail.params if mail else None
        fwd = self.xforward
        settings = self.settings
        return Submission(
            sender=self.sender,
            recipients=tuple(self.rcpts),
            client_address=fwd.get("ADDR") or self.address,
            client_name=fwd.get("NAME") or self.name,
            client_port=fwd.get("PORT") or self.port,
            helo=fwd.get("HELO") or self.session.helo,
            esmtp=self.session.esmtp,
            tls=self.session.tls_active,
            tls_info=self.tls_info if settings.tls_received_header else "",
            tls_ccert=ccert.received_comment(settings.ccert, self.certificate),
            sasl_username=self.sasl_username,
            auth_header=settings.sasl_auth_header,
            local_rewrite=self.local_client,
            envid=(params.envid or "") if params else "",
            ret=(params.ret or "") if params else "",
            attributes={"smtputf8": "yes"} if params and params.smtputf8 else {},
            hold=self.actions.hold,
            redirect=self.actions.redirect,
            bcc=tuple(self.actions.bcc),
            prepend=tuple(self.actions.prepend),
            filter=self.actions.filter or settings.content_filter,
            receive_options=settings.receive_options,
            milters=self.milters,
            milter_macros=self.milter_macro,
            queue_id=self.current_queue_id,
        )

    async def write(self, data: bytes) -> None:
        if self.proxy_filter is not None:
            await self.proxy_filter.write(data)
            return
        if self.pending is not None:
            self.held.append(data)
            self.held_size += len(data)
            if self.held_size > SPOOL_THRESHOLD:
                await self.spool()
            return
        message = self.message
        if message is None:
            return
        self.unwritten.append(data)
        self.unwritten_size += len(data)
        if self.unwritten_size < WRITE_BATCH:
            return
        chunks, self.unwritten, self.unwritten_size = self.unwritten, [], 0
        try:
            await asyncio.to_thread(_write_chunks, message, chunks)
        except MailError as e:
            self.error = e.reply
            await self.discard()

    async def spool(self) -> None:
        """A large message: open the queue file with what is held, then stream the rest."""
        sub, held = self.pending, self.held
        assert sub is not None
        self.pending, self.held, self.held_size = None, [], 0
        try:
            self.message = await asyncio.to_thread(self.memo.run, self._open, sub, held)
        except MailError as e:
            self.error = e.reply

    def _open(self, sub: Submission, held: list[bytes]) -> CleanupMessage:
        message = self.settings.cleanup.open(sub)
        try:
            for chunk in held:
                message.write(chunk)
        except BaseException:
            message.abort()
            raise
        return message

    async def complete(self, count: int, bdat_size: int | None = None) -> Reply | list[Reply]:
        refused = None
        policy = self.settings.policy
        if policy.end_of_data_restrictions and self.error is None:
            refused = await self.check_message(policy.check_end_of_data, "END-OF-MESSAGE")
        if refused is not None:
            await self.discard()
            reply = refused
            if self.proxy_filter is not None:
                self._log_proxy_filter(accepted=False)
        elif self.proxy_filter is not None:
            reply, accepted = await self.proxy_filter.finish()
            self._log_proxy_filter(accepted)
        else:
            reply = await self.commit(None if self.settings.lmtp else bdat_size)
        self.xforward = {}
        return [reply] * count if self.settings.lmtp else reply

    async def commit(self, bdat_size: int | None = None) -> Reply:
        """Queue the message; Postfix's reply (after BDAT it counts the bytes, see
        :mod:`vmail.protocol.smtp.recordsize`), or why it was not queued."""
        message, self.message = self.message, None
        sub, held = self.pending, self.held
        self.pending, self.held, self.held_size = None, [], 0
        try:
            if self.actions.discard and (sub is not None or message is not None):
                self.unwritten, self.unwritten_size = [], 0
                queue_id = await asyncio.to_thread(self.memo.run, self._discarded, sub, message)
            elif sub is not None:
                cleanup = self.settings.cleanup
                queue_id = await self.milter_call(self.memo.run, cleanup.store, sub, held)
            elif message is not None:
                chunks, self.unwritten, self.unwritten_size = self.unwritten, [], 0
                queue_id = await self.milter_call(_commit_after, message, chunks)
            else:
                return self.error or Reply(451, "4.3.0", "Error: queue file write error")
        except MailError as e:
            self.shutdown = self.milters is not None and e.reply.code == 421  # a milter's
            return e.reply
        if bdat_size is not None:
            return Reply(250, "2.0.0", f"Ok: {bdat_size} bytes queued as {queue_id}")
        return Reply(250, "2.0.0", f"Ok: queued as {queue_id}")

    @property
    def sender(self) -> str:
        """The transaction's envelope sender, internal form ("": null sender, or no MAIL)."""
        mail = self.mail
        return mail.sender.internal if mail and mail.sender else ""

    @property
    def local_client(self) -> bool:
        """The client matches ``local_header_rewrite_clients`` (cleanup's header
        rewriting; the proxy filter's XFORWARD SOURCE=LOCAL)."""
        return self.settings.rewrite_clients.matches(
            self.address, self.name, self.sasl_username, self.local_address
        )

    @property
    def current_queue_id(self) -> str | None:
        """The queue ID of the transaction in progress, once a recipient was accepted."""
        return self.queue_id if self.session.in_transaction else None

    def _log_client(self, queue_id: str) -> None:
        """``ID: client=NAME[ADDR]`` (with the SASL login) at the first accepted recipient,
        before cleanup's and the queue manager's lines, as Postfix's smtpd logs it."""
        sasl = (
            f", sasl_method={self.sasl_method}, sasl_username={self.sasl_username}"
            if self.sasl_username
            else ""
        )
        log.info("%s: client=%s%s", queue_id, self.namaddr, sasl)

    def _discarded(self, sub: Submission | None, message: CleanupMessage | None) -> str:
        """A DISCARD action's message: dropped, under the ID it would have had (blocks;
        Postfix's cleanup too opens the queue file and then drops it)."""
        if message is None:
            assert sub is not None
            message = self.settings.cleanup.open(sub)
        message.abort()
        return message.queue_id

    async def discard(self) -> None:
        """Drop the message being written, if any."""
        self.pending, self.held, self.held_size = None, [], 0
        self.unwritten, self.unwritten_size = [], 0
        message, self.message = self.message, None
        if message is not None:
            await asyncio.to_thread(message.abort)

    async def finish(self) -> None:
        """The connection is over: drop a partial message, release the limit counters."""
        if self.connected:
            log.info("disconnect from %s %s", self.namaddr, self.session.stats)
        await self.discard()
        await self.close_proxy_filter()
        if self.milters is not None:
            await self.milter_call(self.milters.disconnect, 2)  # ABORT twice, as smtpd
        if self.counted:
            self.server.limits.disconnect(self.address_at_connect)


def _milter_args(decision: MailFrom | RcptTo) -> list[str]:
    """MAIL or RCPT as milters get it: the path in angle brackets, then the ESMTP
    parameters as the client wrote them."""
    return [f"<{decision.raw}>", *decision.esmtp]


def _write_chunks(message: CleanupMessage, chunks: list[bytes]) -> None:
    """Append ``chunks`` to the queue file (blocks)."""
    for chunk in chunks:
        message.write(chunk)


def _commit_after(message: CleanupMessage, chunks: list[bytes]) -> str:
    """Append the last ``chunks``, then commit (blocks); the file is gone on failure."""
    try:
        _write_chunks(message, chunks)
    except BaseException:
        message.abort()
        raise
    return message.commit()
