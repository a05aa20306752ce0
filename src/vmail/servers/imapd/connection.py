"""One IMAP client connection: framing, literals, the session's state, and its lifetime.

:class:`ImapConnection` reads bytes from the :class:`~vmail.servers.clientstream.ClientStream`,
frames them into commands with :class:`~vmail.protocol.imap.framing.CommandReader`,
parses each with :func:`~vmail.protocol.imap.parser.parse_command` and runs it with
:func:`~vmail.servers.imapd.commands.execute`; commands run one at a time, in order,
so pipelined commands are answered in order (RFC 3501 5.5 allows no less).

Limits: before login a literal may be at most ``imapd_max_unauthenticated_literal``
bytes and a session has ``imapd_login_timeout`` to log in; after login literals may be
as large as ``imapd_append_limit`` and an idle session is logged out after
``imapd_timeout`` (``* BYE Disconnected for inactivity.`` as Dovecot says). A refused
synchronising literal is answered ``NO [TOOBIG]`` and never read into memory. Ten
BADs in a row end the session (``* BYE Too many invalid IMAP commands.``).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from vmail.protocol.imap.framing import (
    CommandLine,
    CommandReader,
    FramingError,
    NeedContinuation,
    RawLine,
)
from vmail.servers.clientstream import ClientGoneError, ClientStream
from vmail.servers.imapd.settings import ImapSettings

if TYPE_CHECKING:
    from vmail.mailstore.store import MailStore
    from vmail.servers.imapd.selection import Selection
    from vmail.servers.imapd.server import ImapServer

log = logging.getLogger("vmail.imapd")

MAX_BAD_COMMANDS = 3  # Dovecot 2.3's imap-login: the third gets BYE instead of BAD
MAX_BAD_AFTER_LOGIN = 20  # Dovecot's imap process (CLIENT_MAX_BAD_COMMANDS)
LITERAL_TOO_BIG = "literal too big"  # the framer's text for a literal over the limit


class State:
    NOT_AUTHENTICATED = "not-authenticated"
    AUTHENTICATED = "authenticated"
    SELECTED = "selected"
    LOGOUT = "logout"


@dataclass
class Counters:
    """What the logout log line reports besides the stream's ``in=``/``out=`` bytes."""

    started: float = field(default_factory=time.monotonic)
    fetched: int = 0
    deleted: int = 0
    expunged: int = 0


class ImapConnection:
    """The state of one client's session and the loop that serves it."""

    def __init__(self, server: ImapServer, settings: ImapSettings, stream: ClientStream) -> None:
        self.server = server
        self.settings = settings
        self.stream = stream
        self.reader = CommandReader(
            max_line=settings.max_line,
            max_literal=settings.max_unauthenticated_literal,
            max_literal_total=settings.max_unauthenticated_literal,
        )
        self.state = State.NOT_AUTHENTICATED
        self.user = ""
        self.store: MailStore | None = None
        self.selected: Selection | None = None
        self.enabled: set[str] = set()
        self.client_id: dict[str, str] = {}
        self.counters = Counters()
        self.bad_commands = 0
        self.userip_key: tuple[str, str] | None = None

    # -- lifetime ----------------------------------------------------------------------

    @property
    def timeout(self) -> float:
        if self.state == State.NOT_AUTHENTICATED:
            return self.settings.login_timeout
        return self.settings.timeout

    async def run(self) -> None:
        from vmail.servers.imapd.commands import execute, greeting

        try:
            self.stream.write(greeting(self))
            await self.stream.flush()
            while self.state != State.LOGOUT:
                event = self.reader.next_event()
                if event is None:
                    await self.stream.flush()
                    if not await self._receive():
                        return
                    continue
                if isinstance(event, NeedContinuation):
                    await self._continuation(event)
                elif isinstance(event, FramingError):
                    await self._framing_error(event)
                elif isinstance(event, CommandLine):
                    await execute(self, event)
                    # Each answer goes out now: a pipelined command behind it may be slow
                    # (a throttled LOGIN, a big SEARCH) and the client must not wait for it.
                    await self.stream.flush()
            await self.stream.flush()
        except ClientGoneError:
            log.info("%s: Disconnected: Connection closed (write failed) %s", self.who, self.ip)

    async def _receive(self) -> bool:
        """Read more input into the framer; False when the session is over."""
        try:
            data = await self.stream.read(self.timeout)
        except TimeoutError:
            self.stream.write(b"* BYE Disconnected for inactivity.\r\n")
            await self.stream.flush()
            log.info("%s: Disconnected for inactivity %s", self.who, self.ip)
            return False
        if not data:
            if self.state != State.LOGOUT:
                log.info("%s: Disconnected: Connection closed %s", self.who, self.ip)
            return False
        self.reader.feed(data)
        return True

    async def _framing_error(self, event: FramingError) -> None:
        if event.text == LITERAL_TOO_BIG:
            # The framer dropped the command without reading the literal into memory.
            tag = (event.tag or b"*").decode("ascii", "replace")
            limit = self.reader.max_literal
            self.stream.write(
                f"{tag} NO [TOOBIG] Literal too large ({limit} bytes max)\r\n".encode()
            )
            return
        await self.bad(event.tag, event.text)

    async def _continuation(self, event: NeedContinuation) -> None:
        """A synchronising literal within the limits (the framer refused the others)."""
        from vmail.servers.imapd.commands import refuse_literal

        if await refuse_literal(self, self.reader.pending_command(), event.size):
            self.reader.reject_literal()
            await self.stream.flush()
            return
        self.reader.accept_literal()
        self.stream.write(b"+ OK\r\n")
        await self.stream.flush()

    async def read_line(self, timeout: float | None = None) -> bytes | None:
        """One raw line from the client (a SASL response, IDLE's DONE); None at end of input."""
        self.reader.expect_line()
        while True:
            event = self.reader.next_event()
            if isinstance(event, RawLine):
                return event.data
            if isinstance(event, FramingError):
                return None  # an over-long response line: the exchange is over
            if event is not None:
                return None
            await self.stream.flush()
            try:
                data = await self.stream.read(self.timeout if timeout is None else timeout)
            except TimeoutError:
                return None
            if not data:
                self.state = State.LOGOUT
                return None
            self.reader.feed(data)

    async def bad(self, tag: bytes | str | None, text: str) -> None:
        """``<tag> BAD <text>``; too many in a row end the session."""
        if isinstance(tag, bytes):
            tag = tag.decode("ascii", "replace")
        self.bad_commands += 1
        login = self.state == State.NOT_AUTHENTICATED
        limit = MAX_BAD_COMMANDS if login else MAX_BAD_AFTER_LOGIN
        if not (login and self.bad_commands >= limit):  # imap-login says BYE alone
            self.stream.write(f"{tag or '*'} BAD {text}\r\n".encode())
        if self.bad_commands >= limit:
            self.stream.write(b"* BYE Too many invalid IMAP commands.\r\n")
            self.state = State.LOGOUT
            log.info("%s: Disconnected: Too many invalid commands %s", self.who, self.ip)

    def logged_in(self, user: str, store: MailStore) -> None:
        """Switch to the authenticated state with the user's mail store."""
        self.user = user
        self.store = store
        self.state = State.AUTHENTICATED
        self.reader.max_literal = self.settings.append_limit
        self.reader.max_literal_total = self.settings.append_limit

    def finish(self) -> None:
        """Release what the session holds (selected folder, per-user counters)."""
        from vmail.servers.imapd.commands import close_selected

        close_selected(self)
        if self.userip_key is not None:
            left = self.server.user_sessions.get(self.userip_key, 1) - 1
            if left > 0:
                self.server.user_sessions[self.userip_key] = left
            else:
                self.server.user_sessions.pop(self.userip_key, None)
            self.userip_key = None

    # -- log helpers -------------------------------------------------------------------

    @property
    def who(self) -> str:
        return f"imap({self.user})" if self.user else "imap-login"

    @property
    def ip(self) -> str:
        return f"rip={self.stream.address}, lip={self.stream.local_address}"


__all__ = ["ImapConnection", "State"]
