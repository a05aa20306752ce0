"""The POP3 session state machine (AUTHORIZATION → TRANSACTION → UPDATE), sans-IO.

The server feeds one client line at a time to :meth:`Pop3Session.receive` and gets back a
list of outputs: ``bytes`` to send, and events it must act on before feeding the next line
(:class:`Login`, :class:`StartTls`, :class:`Retrieve`, :class:`Update`, :class:`Close`).
Each event is answered by calling the matching method (:meth:`Pop3Session.logged_in`,
:meth:`Pop3Session.login_failed`, :meth:`Pop3Session.tls_started`,
:meth:`Pop3Session.updated`). Replies are Dovecot 2.3's. Deletions and ``\\Seen`` marks
from RETR only travel in the :class:`Update` event that ``QUIT`` produces, so a dropped
connection changes nothing. The message list is the snapshot given at login.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from vmail.protocol.pop3 import replies as rp
from vmail.protocol.pop3.commands import Command, message_number, parse, size

MAX_BAD_LOGIN = 3  # Dovecot's login processes (CLIENT_MAX_BAD_COMMANDS)
MAX_BAD = 20  # Dovecot's pop3 process
CAPABILITIES = (b"CAPA", b"TOP", b"UIDL", b"RESP-CODES", b"PIPELINING", b"AUTH-RESP-CODE")
MECHANISMS = ("PLAIN", "LOGIN")


class State(enum.Enum):
    AUTHORIZATION = "authorization"
    TRANSACTION = "transaction"
    UPDATE = "update"


@dataclass(frozen=True)
class SessionConfig:
    """What a session needs to know about its listener and connection."""

    greeting: str = "vmail ready."
    tls_available: bool = False
    tls_active: bool = False
    loopback: bool = False
    plaintext_needs_tls: bool = True
    mechanisms: tuple[str, ...] = MECHANISMS


@dataclass(frozen=True)
class Login:
    """Check these credentials; then lock and snapshot the mailbox and call
    :meth:`Pop3Session.logged_in` or :meth:`Pop3Session.login_failed`."""

    username: str
    password: str
    mechanism: str


@dataclass(frozen=True)
class StartTls:
    """Send :attr:`reply`, run the TLS handshake, then call :meth:`Pop3Session.tls_started`."""

    reply: bytes = rp.BEGIN_TLS


@dataclass(frozen=True)
class Retrieve:
    """Send :attr:`reply`, then message :attr:`index` through a ``BodyEncoder(top_lines)``."""

    index: int
    top_lines: int | None
    reply: bytes


@dataclass(frozen=True)
class Update:
    """QUIT: expunge :attr:`deleted`, add ``\\Seen`` to :attr:`seen` (0-based indexes), then
    call :meth:`Pop3Session.updated`."""

    deleted: list[int]
    seen: list[int]


@dataclass(frozen=True)
class Close:
    """Close the connection after sending what came before."""

    reason: str


Output = bytes | Login | StartTls | Retrieve | Update | Close
SaslFactory = Callable[[str], object]
"""``factory(mechanism)``: an exchange (``vmail.auth.sasl.new_exchange`` fits as is)."""


@runtime_checkable
class SaslExchanger(Protocol):
    """One server-side SASL exchange, structurally ``vmail.auth.sasl.SaslExchange``."""

    def start(self, initial_response: bytes | None = None) -> object: ...

    def respond(self, line: bytes) -> object: ...


@runtime_checkable
class SaslChallenge(Protocol):
    """A step to send as ``+ <line>``."""

    @property
    def line(self) -> bytes: ...


@runtime_checkable
class SaslFailed(Protocol):
    """The exchange ended without credentials."""

    @property
    def cancelled(self) -> bool: ...


@dataclass
class Maildrop:
    """The snapshot taken at login: CRLF sizes, UIDLs and whether each message is \\Seen."""

    sizes: Sequence[int]
    uidls: Sequence[str]
    seen: Sequence[bool] = ()
    deleted: bytearray = field(init=False)
    retrieved: bytearray = field(init=False)

    def __post_init__(self) -> None:
        if len(self.sizes) != len(self.uidls):
            raise ValueError("maildrop: sizes and uidls differ in length")
        self.deleted = bytearray(len(self.sizes))
        self.retrieved = bytearray(len(self.sizes))
        self.total = sum(self.sizes)
        self.deleted_count = 0
        self.deleted_size = 0


@dataclass
class Statistics:
    """Dovecot's logout line counters: ``top=%t/%p, retr=%r/%b, del=%d/%m, size=%s``."""

    top: int = 0
    top_bytes: int = 0
    retr: int = 0
    retr_bytes: int = 0
    deleted: int = 0


class Pop3Session:
    """One connection's protocol state; never raises on client input."""

    def __init__(self, config: SessionConfig, sasl_factory: SaslFactory | None = None) -> None:
        self.config = config
        self.sasl_factory = sasl_factory
        self.state = State.AUTHORIZATION
        self.tls_active = config.tls_active
        self.user: str | None = None
        self.username: str | None = None
        self.maildrop: Maildrop | None = None
        self.stats = Statistics()
        self.bad_commands = 0
        self._sasl: SaslExchanger | None = None
        self._sasl_mechanism = ""

    # -- properties -------------------------------------------------------------------------

    @property
    def secured(self) -> bool:
        """TLS or loopback: plaintext authentication is allowed (Dovecot's ``secured``)."""
        return self.tls_active or self.config.loopback

    @property
    def plaintext_allowed(self) -> bool:
        return self.secured or not self.config.plaintext_needs_tls

    @property
    def in_sasl(self) -> bool:
        return self._sasl is not None

    def greeting(self) -> bytes:
        return rp.line("+OK " + self.config.greeting)

    def capabilities(self) -> bytes:
        lines = [b"+OK", *CAPABILITIES]
        if self.state is State.AUTHORIZATION:
            if self.config.tls_available and not self.tls_active:
                lines.append(b"STLS")
            if self.plaintext_allowed:
                lines.append(b"USER")
            mechs = " ".join(self.config.mechanisms) if self.plaintext_allowed else ""
            lines.append(f"SASL {mechs}".rstrip().encode())
        return b"\r\n".join(lines) + b"\r\n.\r\n"

    # -- input ------------------------------------------------------------------------------

    def receive(self, line: bytes) -> list[Output]:
        """Handle one client line (with or without its CRLF)."""
        if self.state is State.UPDATE:
            return []
        if self._sasl is not None:
            return self._sasl_step(self._sasl.respond(line.rstrip(b"\r\n")))
        command = parse(line)
        if self.state is State.AUTHORIZATION:
            return self._authorization(command)
        return self._transaction(command)

    def timed_out(self) -> list[Output]:
        self.state = State.UPDATE
        return [rp.INACTIVITY, Close("Disconnected for inactivity")]

    def line_too_long(self) -> list[Output]:
        self.state = State.UPDATE
        return [rp.LINE_TOO_LONG, Close("Input buffer full")]

    # -- AUTHORIZATION ----------------------------------------------------------------------

    def _authorization(self, command: Command) -> list[Output]:
        verb, args = command.verb, command.args
        if verb == "CAPA":
            return [self.capabilities()]
        if verb == "QUIT":
            self.state = State.UPDATE
            return [rp.LOGGING_OUT_LOGIN, Close("Logged out")]
        if verb == "USER":
            if not self.plaintext_allowed:
                return [rp.PLAINTEXT_DISALLOWED]
            self.user = args
            return [rp.OK]
        if verb == "PASS":
            if not self.plaintext_allowed:
                return [rp.PLAINTEXT_DISALLOWED]
            if not self.user:
                return [rp.NO_USERNAME]
            user, self.user = self.user, None
            return [Login(user, args, "PLAIN")]
        if verb == "AUTH":
            return self._auth(args)
        if verb == "STLS":
            if self.tls_active:
                return [rp.TLS_ACTIVE]
            if not self.config.tls_available:
                return [rp.TLS_DISABLED]
            return [StartTls()]
        if verb == "APOP":
            return [rp.APOP_DISABLED]
        return self._bad(rp.UNKNOWN_LOGIN)

    def _auth(self, args: str) -> list[Output]:
        if not args:
            listed = "".join(f"{m}\r\n" for m in self.config.mechanisms)
            return [f"+OK\r\n{listed}.\r\n".encode()]
        mechanism, _, initial = args.partition(" ")
        mechanism = mechanism.upper()
        if mechanism not in self.config.mechanisms or self.sasl_factory is None:
            return [rp.UNSUPPORTED_MECHANISM]
        if not self.plaintext_allowed:
            return [rp.PLAINTEXT_DISALLOWED]
        exchange = self.sasl_factory(mechanism)
        if not isinstance(exchange, SaslExchanger):
            return [rp.UNSUPPORTED_MECHANISM]
        self._sasl, self._sasl_mechanism = exchange, mechanism
        response = initial.strip().encode("latin-1") if initial.strip() else None
        return self._sasl_step(exchange.start(response))

    def _sasl_step(self, step: object) -> list[Output]:
        if isinstance(step, SaslChallenge):
            return [b"+ " + step.line + b"\r\n"]
        self._sasl = None
        if isinstance(step, SaslFailed):
            return [rp.AUTH_ABORTED if step.cancelled else rp.AUTH_FAILED]
        username = getattr(step, "username", None)
        password = getattr(step, "password", None)
        if not isinstance(username, str) or not isinstance(password, str):
            return [rp.AUTH_FAILED]
        return [Login(username, password, self._sasl_mechanism)]

    def tls_started(self) -> None:
        """The handshake succeeded: forget anything said before it (RFC 2595)."""
        self.tls_active = True
        self.user = None

    def logged_in(self, username: str, maildrop: Maildrop) -> list[Output]:
        """Authentication succeeded and the mailbox is locked and read."""
        self.state = State.TRANSACTION
        self.username = username
        self.maildrop = maildrop
        self.bad_commands = 0
        return [rp.LOGGED_IN]

    def login_failed(self, reply: bytes = rp.AUTH_FAILED) -> list[Output]:
        """Authentication failed (or the mailbox could not be opened): send ``reply``."""
        return [reply]

    # -- TRANSACTION ------------------------------------------------------------------------

    def _transaction(self, command: Command) -> list[Output]:
        drop = self.maildrop
        assert drop is not None
        verb, args = command.verb, command.args
        count = len(drop.sizes)
        if verb == "CAPA":
            return [self.capabilities()]
        if verb == "NOOP":
            return [rp.OK]
        if verb == "STAT":
            alive = count - drop.deleted_count
            return [rp.line(f"+OK {alive} {drop.total - drop.deleted_size}")]
        if verb == "QUIT":
            self.state = State.UPDATE
            deleted = [i for i, flag in enumerate(drop.deleted) if flag]
            seen = [
                i
                for i, flag in enumerate(drop.retrieved)
                if flag and not drop.deleted[i] and not (drop.seen and drop.seen[i])
            ]
            return [Update(deleted, seen)]
        if verb == "RSET":
            drop.deleted[:] = bytes(count)
            drop.retrieved[:] = bytes(count)
            drop.deleted_count = drop.deleted_size = 0
            return [rp.OK]
        if verb in ("LIST", "UIDL"):
            return self._listing(drop, verb, args)
        if verb in ("RETR", "DELE", "TOP"):
            found = message_number(args, count, then_space=verb == "TOP")
            if isinstance(found, bytes):
                return self._bad(found)
            index, rest = found
            if drop.deleted[index]:
                return self._bad(rp.MESSAGE_DELETED)
            if verb == "DELE":
                drop.deleted[index] = 1
                drop.deleted_count += 1
                drop.deleted_size += drop.sizes[index]
                return [rp.MARKED_DELETED]
            if verb == "RETR":
                drop.retrieved[index] = 1
                self.stats.retr += 1
                return [Retrieve(index, None, rp.line(f"+OK {drop.sizes[index]} octets"))]
            lines = size(rest)
            if isinstance(lines, bytes):
                return self._bad(lines)
            self.stats.top += 1
            return [Retrieve(index, lines, rp.OK)]
        return self._bad(rp.err(f"Unknown command: {command.verb}"))

    def _listing(self, drop: Maildrop, verb: str, args: str) -> list[Output]:
        values: Sequence[object] = drop.sizes if verb == "LIST" else drop.uidls
        if args:
            found = message_number(args, len(drop.sizes))
            if isinstance(found, bytes):
                return self._bad(found)
            index = found[0]
            if drop.deleted[index]:
                return self._bad(rp.MESSAGE_DELETED)
            return [rp.line(f"+OK {index + 1} {values[index]}")]
        if verb == "LIST":
            head = f"+OK {len(drop.sizes) - drop.deleted_count} messages:\r\n"
        else:
            head = "+OK\r\n"
        deleted = drop.deleted
        if drop.deleted_count:
            body = "".join(
                f"{i} {value}\r\n" for i, value in enumerate(values, 1) if not deleted[i - 1]
            )
        else:
            body = "".join(f"{i} {value}\r\n" for i, value in enumerate(values, 1))
        return [(head + body + ".\r\n").encode("ascii", "replace")]

    def updated(self, ok: bool) -> list[Output]:
        """The QUIT update was committed (``ok``) or failed (storage error)."""
        drop = self.maildrop
        if not ok:
            return [rp.INTERNAL, Close("Storage error during logout.")]
        if drop is not None:
            self.stats.deleted = drop.deleted_count
        deleted = drop is not None and drop.deleted_count > 0
        return [rp.LOGGING_OUT_DELETED if deleted else rp.LOGGING_OUT, Close("Logged out")]

    # -- errors -----------------------------------------------------------------------------

    def _bad(self, reply: bytes) -> list[Output]:
        """A failed command: Dovecot's login process gives up at the 3rd (answering only
        "Too many invalid bad commands."), its pop3 process after the 20th."""
        self.bad_commands += 1
        if self.state is State.AUTHORIZATION:
            if self.bad_commands >= MAX_BAD_LOGIN:
                self.state = State.UPDATE
                return [rp.TOO_MANY_BAD_LOGIN, Close("Too many bad commands")]
            return [reply]
        if self.bad_commands > MAX_BAD:
            self.state = State.UPDATE
            return [reply, rp.TOO_MANY_BAD, Close("Too many bad commands")]
        return [reply]
