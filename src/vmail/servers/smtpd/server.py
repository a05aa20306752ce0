"""The SMTP listener: one guarded task per connection, each driving a ``ServerSession``.

Decisions are answered as Postfix's smtpd answers them: HELO and MAIL FROM get the
session's defaults; RCPT TO gets ``smtpd_*_restrictions`` through
:meth:`vmail.policy.restrictions.RecipientPolicy.check_recipient`; the message streams into
:class:`vmail.cleanup.Cleanup` and end-of-data is answered ``250 2.0.0 Ok: queued as ID``
only after the queue file is committed (or with the cleanup's 4xx). Blocking work (table
lookups, disk writes, fsync) runs in threads; the session reads nothing more while a
decision is pending, so pipelined commands are answered in order.

A connection idle for ``smtpd_timeout`` gets ``421 4.4.2 ... Error: timeout exceeded``. A
bug in one connection ends that connection with ``421 4.3.0`` and is logged; the server
and the other connections carry on. Not yet here: STARTTLS, AUTH, XCLIENT, rate limits.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections import deque
from collections.abc import Iterable

from vmail.cleanup import Cleanup, CleanupMessage, Rcpt, Submission
from vmail.config import MainConfig
from vmail.core.errors import MailError
from vmail.core.reply import Reply
from vmail.policy.restrictions import Client
from vmail.protocol.smtp import (
    Close,
    DataChunk,
    DataCommand,
    DataComplete,
    Decision,
    Event,
    Helo,
    MailFrom,
    MessageAborted,
    RcptTo,
    Send,
    ServerSession,
    SessionConfig,
)
from vmail.route import Router

log = logging.getLogger("vmail.smtpd")
READ_SIZE = 1 << 16


def session_config(config: MainConfig) -> SessionConfig:
    """The session settings from main.cf (the banner says ``vmail`` unless mail_name is set)."""
    if not config.is_set("smtpd_banner"):
        mail_name = config.get("mail_name") if config.is_set("mail_name") else "vmail"
        banner = f"$myhostname ESMTP {mail_name}"
    else:
        banner = config.get("smtpd_banner")
    return SessionConfig(
        myhostname=config.get("myhostname"),
        smtpd_banner=banner or "$myhostname ESMTP",
        message_size_limit=config.get_int("message_size_limit"),
        smtpd_recipient_limit=config.get_int("smtpd_recipient_limit"),
        smtpd_hard_error_limit=config.get_int("smtpd_hard_error_limit"),
        smtpd_soft_error_limit=config.get_int("smtpd_soft_error_limit"),
        smtpd_junk_command_limit=config.get_int("smtpd_junk_command_limit"),
        smtpd_helo_required=config.get_bool("smtpd_helo_required"),
    )


async def client_name(address: str, timeout: float = 5.0) -> str:
    """The forward-confirmed reverse name of ``address``, else ``unknown`` (as Postfix)."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout):
            name, _ = await loop.getnameinfo((address, 0), socket.NI_NAMEREQD)
            infos = await loop.getaddrinfo(name, None, proto=socket.IPPROTO_TCP)
    except (OSError, TimeoutError):
        return "unknown"
    return name if any(info[4][0] == address for info in infos) else "unknown"


class SmtpServer:
    """Listens on ``host:port`` (port 0: any free port, see :attr:`port`)."""

    def __init__(
        self,
        config: MainConfig,
        router: Router,
        cleanup: Cleanup,
        *,
        host: str = "127.0.0.1",
        port: int = 25,
        peername_lookup: bool = True,
    ) -> None:
        self.config = config
        self.router = router
        self.cleanup = cleanup
        self.host = host
        self.requested_port = port
        self.peername_lookup = peername_lookup
        self.session_config = session_config(config)
        self.timeout = float(config.get_time("smtpd_timeout"))
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("server not started")
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        """Bind and start accepting; when this returns the port is ready for clients."""
        self._server = await asyncio.start_server(
            self._accept, self.host, self.requested_port, limit=READ_SIZE
        )

    async def close(self) -> None:
        """Stop accepting and end every connection."""
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._guarded(reader, writer)
        except asyncio.CancelledError:
            pass  # close(): the connection task ends here (asyncio's stream callback would log it)
        finally:
            self._tasks.discard(task)

    async def _guarded(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = Connection(self, reader, writer)
        try:
            await conn.run()
        except Exception:
            log.exception("smtpd: connection from %s ended by an internal error", conn.peer)
            with contextlib.suppress(Exception):
                host = self.session_config.myhostname
                writer.write(f"421 4.3.0 {host} Error: internal error\r\n".encode())
                await writer.drain()
        finally:
            await conn.discard()
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()


class Connection:
    """One client: the session, the transaction so far, and the message being written."""

    def __init__(
        self, server: SmtpServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.session = ServerSession(server.session_config)
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        self.peer = f"{peer[0]}:{peer[1]}"
        self.address = str(peer[0])
        self.port = str(peer[1])
        self.name = "unknown"
        self.closed = False
        self.mail: MailFrom | None = None
        self.rcpts: list[Rcpt] = []
        self.message: CleanupMessage | None = None
        self.error: Reply | None = None

    async def run(self) -> None:
        if self.server.peername_lookup:
            self.name = await client_name(self.address)
        await self.act(self.session.start())
        while not self.closed:
            try:
                async with asyncio.timeout(self.server.timeout):
                    data = await self.reader.read(READ_SIZE)
            except TimeoutError:
                host = self.session.config.myhostname
                await self.send(f"421 4.4.2 {host} Error: timeout exceeded\r\n".encode())
                return
            if not data:
                return
            await self.act(self.session.receive(data))

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def act(self, events: Iterable[Event]) -> None:
        """Perform events in order, answering decisions (whose answers bring more events)."""
        todo = deque(events)
        while todo:
            event = todo.popleft()
            if isinstance(event, Send):
                self.writer.write(event.data)
            elif isinstance(event, Close):
                self.closed = True
            elif isinstance(event, DataChunk):
                await self.write(event.data)
            elif isinstance(event, MessageAborted):
                await self.discard()
            elif isinstance(event, Decision):
                answer = await self.decide(event)
                todo.extend(self.session.reply(answer))
        await self.writer.drain()

    @property
    def client(self) -> Client:
        return Client(self.address, self.name, self.session.helo)

    async def decide(self, decision: Decision) -> Reply | None:
        if isinstance(decision, Helo):
            return None
        if isinstance(decision, MailFrom):
            self.mail, self.rcpts = decision, []
            return None
        if isinstance(decision, RcptTo):
            return await self.rcpt(decision)
        if isinstance(decision, DataCommand):
            await self.discard()
            self.error = None
            await self.open()
            return None
        if isinstance(decision, DataComplete):
            return await self.complete()
        return None  # VRFY, ETRN...: the session's default

    async def rcpt(self, decision: RcptTo) -> Reply:
        mail = self.mail
        sender = mail.sender.internal if mail and mail.sender else ""
        rcpt = decision.recipient.internal
        policy = self.server.router.policy
        reply = await asyncio.to_thread(policy.check_recipient, self.client, sender, rcpt)
        if reply.ok:
            params = decision.params
            orcpt = f"{params.orcpt_type};{params.orcpt}" if params.orcpt else ""
            self.rcpts.append(Rcpt(rcpt, params.notify or (), orcpt))
        return reply

    async def open(self) -> None:
        mail = self.mail
        params = mail.params if mail else None
        sub = Submission(
            sender=mail.sender.internal if mail and mail.sender else "",
            recipients=tuple(self.rcpts),
            client_address=self.address,
            client_name=self.name,
            client_port=self.port,
            helo=self.session.helo,
            esmtp=self.session.esmtp,
            tls=self.session.tls_active,
            envid=(params.envid or "") if params else "",
            ret=(params.ret or "") if params else "",
            attributes={"smtputf8": "yes"} if params and params.smtputf8 else {},
        )
        try:
            self.message = await asyncio.to_thread(self.server.cleanup.open, sub)
        except MailError as e:
            self.error = e.reply

    async def write(self, data: bytes) -> None:
        message = self.message
        if message is None:
            return
        try:
            await asyncio.to_thread(message.write, data)
        except MailError as e:
            self.error = e.reply
            await self.discard()

    async def complete(self) -> Reply:
        message, self.message = self.message, None
        if message is None:
            return self.error or Reply(451, "4.3.0", "Error: queue file write error")
        try:
            queue_id = await asyncio.to_thread(message.commit)
        except MailError as e:
            return e.reply
        log.info("%s: client=%s[%s]", queue_id, self.name, self.address)
        return Reply(250, "2.0.0", f"Ok: queued as {queue_id}")

    async def discard(self) -> None:
        """Drop the message being written, if any."""
        message, self.message = self.message, None
        if message is not None:
            await asyncio.to_thread(message.abort)
