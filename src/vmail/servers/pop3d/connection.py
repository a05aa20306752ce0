"""One POP3 client connection: lines in, a :class:`Pop3Session` in the middle, bytes out.

Input is split into lines in a bounded buffer (2048 bytes after login as in Dovecot,
more before it for SASL responses); a longer line ends the session with ``-ERR Input line
too long.``. Pipelined commands are answered in order, and output is flushed whenever
64 KiB are waiting or no complete command is left, with at most ``pop3d_timeout`` for the
client to take it — a client that stops reading loses its connection. RETR/TOP stream the
message file in 64 KiB chunks. Only QUIT commits (deletions and ``\\Seen``); any other
end leaves the mailbox as it was. The session lock is held from login to the end.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, BinaryIO

from vmail.auth.accounts import Account
from vmail.auth.sasl import new_exchange
from vmail.auth.service import AuthStatus
from vmail.core.errors import VmailError
from vmail.mailstore.errors import MailstoreError
from vmail.mailstore.store import MailStore
from vmail.protocol.pop3 import replies as rp
from vmail.protocol.pop3.body import BodyEncoder
from vmail.protocol.pop3.session import (
    Close,
    Login,
    Output,
    Pop3Session,
    Retrieve,
    SessionConfig,
    StartTls,
    State,
    Update,
)
from vmail.servers.clientstream import ClientGoneError, ClientStream
from vmail.servers.pop3d.lock import SessionLock, SessionLockError
from vmail.servers.pop3d.mailbox import CHUNK, MessageGoneError, Pop3Mailbox
from vmail.servers.pop3d.settings import Pop3Settings

if TYPE_CHECKING:
    from vmail.servers.pop3d.server import Pop3Server

log = logging.getLogger("vmail.pop3d")

MAX_LINE = 2048  # Dovecot's pop3 MAX_INBUF_SIZE
MAX_LINE_LOGIN = 8192  # room for a SASL PLAIN response with long names and password
LOCK_WAIT = 10.0  # Dovecot waits this long for the session lock

OpenStore = Callable[[Account], MailStore]


class Connection:
    """Serves one client from greeting to close."""

    def __init__(self, server: Pop3Server, stream: ClientStream, settings: Pop3Settings) -> None:
        self.server = server
        self.stream = stream
        self.settings = settings
        self.session = Pop3Session(
            SessionConfig(
                greeting=settings.greeting,
                tls_available=settings.offers_stls,
                tls_active=stream.tls,
                loopback=stream.secure and not stream.tls and not settings.tls_required,
                plaintext_needs_tls=settings.plaintext_needs_tls,
            ),
            new_exchange,
        )
        self.mailbox: Pop3Mailbox | None = None
        self.lock: SessionLock | None = None
        self.user = ""
        self.userip: tuple[str, str] | None = None
        self.buffer = bytearray()
        self.reason = "Connection closed"

    # -- the loop ---------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            self.stream.write(self.session.greeting())
            await self.stream.flush()
            while await self._step():
                pass
        except ClientGoneError:
            self.reason = "Connection closed"
        finally:
            self._end()

    async def _step(self) -> bool:
        """Answer every complete line buffered, then read more; False when the session ends."""
        while True:
            newline = self.buffer.find(b"\n")
            if newline < 0:
                break
            line = bytes(self.buffer[: newline + 1])
            del self.buffer[: newline + 1]
            if not await self._outputs(self.session.receive(line)):
                return False
        await self.stream.flush()
        limit = MAX_LINE if self.session.state is State.TRANSACTION else MAX_LINE_LOGIN
        if len(self.buffer) > limit:
            return await self._outputs(self.session.line_too_long())
        try:
            data = await self.stream.read(self.settings.timeout)
        except TimeoutError:
            return await self._outputs(self.session.timed_out())
        if not data:
            return False
        self.buffer += data
        if self.lock is not None:
            self.lock.touch()
        return True

    async def _outputs(self, outputs: list[Output]) -> bool:
        """Carry out the session's outputs (events may produce more); False on Close."""
        pending = list(outputs)
        while pending:
            item = pending.pop(0)
            if isinstance(item, bytes):
                await self.stream.send(item)
            elif isinstance(item, Close):
                self.reason = item.reason
                await self.stream.flush()
                return False
            elif isinstance(item, Retrieve):
                await self._retrieve(item)
            elif isinstance(item, Login):
                pending[:0] = await self._login(item)
            elif isinstance(item, StartTls):
                if not await self._start_tls(item):
                    return False
            elif isinstance(item, Update):
                pending[:0] = await self._update(item)
        return True

    # -- events -----------------------------------------------------------------------------

    async def _start_tls(self, event: StartTls) -> bool:
        context = self.settings.tls_context
        assert context is not None
        self.stream.write(event.reply)
        self.buffer.clear()  # nothing pipelined before the handshake counts (CVE-2011-0411)
        if not await self.stream.start_tls(context):
            self.reason = "TLS handshaking failed"
            return False
        self.session.tls_started()
        return True

    async def _login(self, event: Login) -> list[Output]:
        authenticator = self.server.authenticator
        if authenticator is None:
            return self.session.login_failed(rp.AUTH_TEMPFAIL)
        result = await authenticator.authenticate(
            event.username,
            event.password,
            client_ip=self.stream.address,
            service=self.server.service_name,
        )
        if result.status is AuthStatus.TEMPFAIL:
            return self.session.login_failed(rp.AUTH_TEMPFAIL)
        if not result.ok or result.account is None:
            return self.session.login_failed(rp.AUTH_FAILED)
        refusal = self.server.count_userip(result.username, self.stream.address)
        if refusal is not None:
            return self.session.login_failed(refusal)
        self.userip = (result.username, self.stream.address)
        try:
            opened = await asyncio.to_thread(self._open, result.account)
        except (VmailError, OSError) as error:
            log.error("pop3(%s): Couldn't open INBOX: %s", result.username, error)
            opened = rp.INTERNAL
        if isinstance(opened, bytes):
            self.server.uncount_userip(self.userip)
            self.userip = None
            return self.session.login_failed(opened)
        self.mailbox, self.user = opened, result.username
        log.info(
            "pop3-login: Login: user=<%s>, method=%s, rip=%s, lip=%s, mpid=%d%s",
            result.username,
            event.mechanism,
            self.stream.address,
            self.stream.local_address,
            os.getpid(),
            ", TLS" if self.stream.tls else ", secured" if self.stream.secure else "",
        )
        return self.session.logged_in(result.username, opened.maildrop)

    def _open(self, account: Account) -> Pop3Mailbox | bytes:
        """In a worker thread: the store, the session lock, the snapshot."""
        store = self.server.open_store(account)
        store.ensure()
        if self.settings.lock_session:
            lock = SessionLock(store.root)
            try:
                if not lock.acquire(self.server.lock_wait):
                    return rp.IN_USE
            except SessionLockError as error:
                log.error("pop3(%s): %s", account.username, error)
                return rp.LOCK_FAILED
            self.lock = lock
        try:
            return Pop3Mailbox(store.folder("INBOX"), self.settings.uidl_format)
        except BaseException:
            self._unlock()
            raise

    async def _retrieve(self, event: Retrieve) -> None:
        mailbox = self.mailbox
        assert mailbox is not None
        try:
            try:
                handle = mailbox.open(event.index)
            except FileNotFoundError:
                handle = await asyncio.to_thread(mailbox.find, event.index)
        except (MessageGoneError, OSError):
            await self.stream.send(rp.err(f"Message {event.index + 1} expunged."))
            return
        encoder = BodyEncoder(event.top_lines)
        self.server.busy_count += 1
        try:
            await self.stream.send(event.reply)
            await self._stream_body(handle, encoder)
        finally:
            self.server.busy_count -= 1
            handle.close()
        stats = self.session.stats
        if event.top_lines is None:
            stats.retr_bytes += encoder.sent
        else:
            stats.top_bytes += encoder.sent

    async def _stream_body(self, handle: BinaryIO, encoder: BodyEncoder) -> None:
        # The first read happens on the loop (a small message is one read from the page
        # cache); the rest of a big message goes through a thread chunk by chunk so a slow
        # disk never stalls the other sessions. A short read of a regular file is its end.
        chunk = handle.read(CHUNK)
        while chunk:
            await self.stream.send(encoder.feed(chunk))
            if len(chunk) < CHUNK or encoder.done:
                break
            chunk = await asyncio.to_thread(handle.read, CHUNK)
        await self.stream.send(encoder.finish())

    async def _update(self, event: Update) -> list[Output]:
        mailbox = self.mailbox
        assert mailbox is not None
        self.server.busy_count += 1
        try:
            await asyncio.to_thread(mailbox.update, event.deleted, event.seen)
            ok = True
        except (MailstoreError, OSError) as error:
            log.error("pop3(%s): Storage error during logout: %s", self.user, error)
            ok = False
        finally:
            self.server.busy_count -= 1
        return self.session.updated(ok)

    # -- the end ----------------------------------------------------------------------------

    def _unlock(self) -> None:
        if self.lock is not None:
            self.lock.release()
            self.lock = None

    def _end(self) -> None:
        """Log the logout line and let go of the lock; synchronous so that a cancelled
        task (server shutdown) still does both."""
        if self.userip is not None:
            self.server.uncount_userip(self.userip)
            self.userip = None
        if self.mailbox is not None:
            drop = self.mailbox.maildrop
            stats = self.session.stats
            log.info(
                "pop3(%s): Disconnected: %s top=%d/%d, retr=%d/%d, del=%d/%d, size=%d",
                self.user,
                self.reason,
                stats.top,
                stats.top_bytes,
                stats.retr,
                stats.retr_bytes,
                stats.deleted,
                len(drop.sizes),
                drop.total,
            )
            self.mailbox = None
        self._unlock()  # one unlink: cheap enough for the event loop
