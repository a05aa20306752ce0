"""What :class:`~vmail.protocol.smtp.session.ServerSession` asks its driver to do.

Two kinds of events:

* **actions** the driver just performs in order: :class:`Send` bytes, :class:`Close` the
  connection, begin the TLS handshake (:class:`StartTls`), store a :class:`DataChunk`,
  drop a partial message (:class:`MessageAborted`);
* **decisions** (subclasses of :class:`Decision`): the session stops reading input until
  the driver answers with ``session.reply(...)``. ``None`` picks ``default`` (Postfix's
  success reply, or a fail-closed reply where success must be earned: AUTH, end of data).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from vmail.core.address import Address
from vmail.core.reply import Reply
from vmail.protocol.smtp import replies as rp
from vmail.protocol.smtp.params import MailParams, RcptParams


class Event:
    """Base class of everything :meth:`ServerSession.receive` returns."""


@dataclass(frozen=True)
class Send(Event):
    """Bytes to write to the client (one or more complete replies); with ``delay``, one
    reply to send that many seconds from now, then at once (the error tarpit)."""

    data: bytes
    delay: float = 0.0


@dataclass(frozen=True)
class Close(Event):
    """Close the connection after writing what was sent before."""

    reason: str


@dataclass(frozen=True)
class StartTls(Event):
    """Do the TLS handshake now, then call ``session.tls_started()``.

    ``discarded`` counts bytes the client pipelined after STARTTLS; they were dropped
    unread (CVE-2011-0411).
    """

    discarded: int


@dataclass(frozen=True)
class DataChunk(Event):
    """Message bytes (DATA: dot-unstuffed; BDAT: as sent), CRLF line ends, in order."""

    data: bytes


@dataclass(frozen=True)
class MessageAborted(Event):
    """The message being received is void (RSET, error); discard what was stored."""

    reason: str


@dataclass(frozen=True)
class Decision(Event):
    """An event that needs ``session.reply(...)`` before the session reads on."""

    default: ClassVar[Reply | None] = None


@dataclass(frozen=True)
class Helo(Decision):
    """HELO/EHLO/LHLO ``name``; accept (None) or a rejection reply."""

    default: ClassVar[Reply | None] = None
    name: str
    verb: str


@dataclass(frozen=True)
class MailFrom(Decision):
    """MAIL FROM passed syntax checks; ``sender`` is None for ``<>``."""

    default: ClassVar[Reply | None] = rp.MAIL_OK
    sender: Address | None
    raw: str
    params: MailParams
    esmtp: tuple[str, ...] = ()  # the parameters as written (milters get them)
    line: str = ""  # the command as received (a before-queue filter gets it verbatim)


@dataclass(frozen=True)
class RcptTo(Decision):
    """RCPT TO passed syntax checks and the recipient limit."""

    default: ClassVar[Reply | None] = rp.RCPT_OK
    recipient: Address
    raw: str
    params: RcptParams
    esmtp: tuple[str, ...] = ()  # the parameters as written (milters get them)
    line: str = ""  # the command as received (a before-queue filter gets it verbatim)


@dataclass(frozen=True)
class DataCommand(Decision):
    """DATA, or the first BDAT of a message (smtpd_data_restrictions)."""

    default: ClassVar[Reply | None] = None
    bdat: bool


@dataclass(frozen=True)
class DataComplete(Decision):
    """The message is complete: queue it, then reply (LMTP: one reply per recipient).

    The default (no reply given) is ``451 4.3.0 Queue file write error``: a message is
    accepted only when the driver says so.
    """

    default: ClassVar[Reply | None] = rp.QUEUE_WRITE_ERROR
    size: int
    recipients: tuple[Address, ...] = field(default=())
    bdat_size: int | None = None
    """For a message sent with BDAT, the byte count Postfix puts in its reply
    (``Ok: N bytes queued as ID``, see :mod:`.recordsize`); None after DATA."""


@dataclass(frozen=True)
class AuthCredentials(Decision):
    """The SASL exchange produced credentials: check them, reply 235 or 535."""

    default: ClassVar[Reply | None] = rp.AUTH_FAILED
    mechanism: str
    credentials: object


@dataclass(frozen=True)
class Vrfy(Decision):
    """VRFY (only when enabled); the default answer is Postfix's ``252 2.0.0 <arg>``."""

    default: ClassVar[Reply | None] = None
    argument: str


@dataclass(frozen=True)
class UnknownCommand(Decision):
    """A command the server does not know, for a driver that reports them (milters):
    its answer, or the default ``500 5.5.2 Error: command not recognized``."""

    default: ClassVar[Reply | None] = rp.NOT_RECOGNIZED
    verb: str


@dataclass(frozen=True)
class Extension(Decision):
    """ETRN, XCLIENT or XFORWARD from a client allowed to use it; the driver must reply."""

    default: ClassVar[Reply | None] = rp.NOT_IMPLEMENTED
    verb: str
    argument: str
