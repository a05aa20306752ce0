"""The SMTP/LMTP server conversation as a sans-IO state machine.

The driver (an asyncio protocol, or a test) calls :meth:`ServerSession.start` once for
the greeting, :meth:`ServerSession.receive` with every read, :meth:`ServerSession.reply`
to answer a :class:`~vmail.protocol.smtp.events.Decision`, and
:meth:`ServerSession.tls_started` after a STARTTLS handshake. Each returns events to act
on in order. While a decision is pending the session reads nothing more: pipelined input
stays buffered (``want_read`` turns False; past ``max_pipelined_input`` the session ends
with 421), so replies always go out in command order.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Sequence

from vmail.core.address import Address, AddressError
from vmail.core.reply import Reply
from vmail.protocol.smtp import replies as rp
from vmail.protocol.smtp.config import SessionConfig
from vmail.protocol.smtp.data import DataReader, count_bare_lf, normalize
from vmail.protocol.smtp.envelope import parse_path
from vmail.protocol.smtp.events import (
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
    RcptTo,
    Send,
    StartTls,
    UnknownCommand,
    Vrfy,
)
from vmail.protocol.smtp.hostnames import valid_address_literal, valid_hostname
from vmail.protocol.smtp.params import Features, parse_mail_params, parse_rcpt_params
from vmail.protocol.smtp.recordsize import RecordSize
from vmail.protocol.smtp.sasl import SaslChallenge, SaslExchanger, SaslFactory, SaslFailed
from vmail.protocol.smtp.stats import CommandStats

# Commands that count towards smtpd_junk_command_limit (Postfix's SMTPD_CMD_FLAG_LIMIT).
JUNK_COMMANDS = frozenset(
    {"HELO", "EHLO", "LHLO", "RSET", "NOOP", "VRFY", "ETRN", "XCLIENT", "XFORWARD"}
)
# Commands that must end a pipelined group (Postfix's SMTPD_CMD_FLAG_LAST; checked
# against Postfix 3.7: input after these, or after any command in a session without
# EHLO, is improper pipelining).
LAST_IN_GROUP = frozenset({"EHLO", "HELO", "DATA", "NOOP", "VRFY"})
XCLIENT_ATTRS = "NAME ADDR PROTO HELO REVERSE_NAME PORT LOGIN DESTADDR DESTPORT"
XFORWARD_ATTRS = "NAME ADDR PROTO HELO SOURCE PORT IDENT"
SEND_LHLO_FIRST = Reply(503, "5.5.1", "Error: send LHLO first")
_COMPACT_AT = 1 << 16
_Handler = Callable[[str], None]


class Mode(enum.Enum):
    """What the next input bytes are."""

    COMMAND = "command"
    DATA = "data"
    BDAT = "bdat"
    AUTH = "auth"
    TLS = "tls handshake"
    CLOSED = "closed"


class ServerSession:
    """One SMTP (or LMTP) server session; see the module docstring."""

    _mail_from: MailFrom | None
    _recipients: list[Address]
    _overshoot: int
    _bdat_started: bool
    _bdat_error: bool
    _bdat_total: int
    _bdat_records: RecordSize
    _bdat_after_cr: bool
    _bdat_bad: Reply | None
    _chunk_left: int
    _chunk_size: int
    _chunk_last: bool
    _chunk_discard: bool
    _chunk_silent: bool
    _reader: DataReader
    _data_too_big: bool

    def __init__(self, config: SessionConfig | None = None, sasl: SaslFactory | None = None):
        self.config = config or SessionConfig()
        self._handler_table: dict[str, _Handler] | None = None  # built on first command
        self._sasl = sasl
        self._buf = bytearray()
        self._pos = 0
        self._line = ""  # the command being handled, as received
        self._skipping = False
        self._skip_prefix = b""
        self._skip_last = 0
        self._out = bytearray()
        self._events: list[Event] = []
        self.mode = Mode.COMMAND
        self.pending: Decision | None = None
        self.error_count = 0
        self._junk = 0
        self.stats = CommandStats()  # for the "disconnect from" log line
        self._answering: str | None = None  # the command whose final reply is due
        self.last_command = "CONNECT"  # for "lost connection after ..." (Postfix's names)
        # the first improper pipelining: the command, and up to 100 bytes sent after it
        # (reject_unauth_pipelining; smtpd logs it)
        self.improper_pipelining: tuple[str, bytes] | None = None
        self.tls_active = self.config.tls_active
        self.access_denied: Reply | None = None  # the reply to every command but QUIT
        self.ehlo_limited = False  # a milter rejected the client: EHLO says little
        self.report_unknown = False  # unknown commands are decisions (milters see them)
        self.footer: Callable[[Reply], Reply] | None = None  # smtpd_reject_footer, 4xx/5xx
        self.auth_limit: Callable[[], Reply | None] | None = None  # a refusal, or None
        # smtpd_command_filter: a command line (text) -> the line to run instead, None to
        # run it as it came, or the reply to hang up with (the table failed)
        self.command_filter: Callable[[str], str | Reply | None] | None = None
        self.helo: str | None = None
        self.esmtp = False
        self.authenticated = False
        self._exchange: SaslExchanger | None = None
        self._auth_mechanism = ""
        self._reset_transaction_state()

    # -- public API -----------------------------------------------------------------

    def start(
        self, refusal: Reply | None = None, client: str = "", greeting: Reply | None = None
    ) -> list[Event]:
        """The greeting (``greeting`` instead of the banner: a milter's ``554 ... not
        accepting connections``); or, when the client was refused at connect
        (``smtpd_delay_reject = no``), that refusal, and then every command but QUIT gets
        ``503 5.7.0 Error: access denied for`` ``client`` (``name[address]``), as Postfix
        answers."""
        if refusal is None:
            self._send(greeting or Reply(220, "", self.config.banner))
        else:
            self._send(refusal)
            self.access_denied = Reply(503, "5.7.0", f"Error: access denied for {client}")
        return self._flush()

    def receive(self, data: bytes) -> list[Event]:
        """Feed bytes read from the client; never raises on any input."""
        if self.mode is Mode.CLOSED:
            return []
        if self.mode is Mode.TLS:
            return []  # handshake bytes are not ours; anything plaintext is dropped
        self._buf += data
        self._run()
        return self._flush()

    def reply(self, answer: Reply | Sequence[Reply] | None = None) -> list[Event]:
        """Answer the pending decision (None: its default), then read on."""
        decision = self.pending
        if decision is None:
            return []
        self.pending = None
        self._decided(decision, answer)
        self._run()
        return self._flush()

    def tls_started(self) -> list[Event]:
        """The STARTTLS handshake succeeded: forget everything said in plaintext."""
        if self.mode is not Mode.TLS:
            return []
        self.tls_active = True
        self.mode = Mode.COMMAND
        self.helo = None
        self.esmtp = False
        self.authenticated = False
        self._buf = bytearray()
        self._pos = 0
        return []

    @property
    def in_transaction(self) -> bool:
        """Between an accepted MAIL and the end of the message (or RSET)."""
        return self._mail_from is not None

    @property
    def want_read(self) -> bool:
        """False while the driver should pause reading (decision pending, closed, TLS)."""
        return self.mode not in (Mode.CLOSED, Mode.TLS) and self.pending is None

    @property
    def where(self) -> str:
        """Where the session is, as Postfix names it in ``lost connection after ...``."""
        if self.mode is Mode.DATA:
            return f"DATA ({self._reader.size} bytes)"
        return self.last_command

    @property
    def buffered(self) -> int:
        """Bytes received but not yet consumed."""
        return len(self._buf) - self._pos

    @property
    def should_delay(self) -> bool:
        """Postfix sleeps ``smtpd_error_sleep_time`` before replying once this is True."""
        return self.error_count >= self.config.smtpd_soft_error_limit

    # -- plumbing -------------------------------------------------------------------

    def _send(self, reply: Reply) -> None:
        # Postfix's tarpit: once the client made smtpd_soft_error_limit errors, every
        # reply waits smtpd_error_sleep_time and is then sent at once
        delay = self.config.smtpd_error_sleep_time if self.should_delay else 0.0
        if reply.code >= 400 and reply is not rp.TOO_MANY_RECIPIENTS:
            self.error_count += 1
        answering = self._answering
        if answering is not None and reply.code not in (334, 354):
            self._answering = None
            if reply.code < 400:
                self.stats.succeeded(answering)
        if reply.code >= 400 and self.footer is not None:
            reply = self.footer(reply)
        if delay > 0:
            self._emit(Send(rp.format_reply(reply), delay))
        else:
            self._out += rp.format_reply(reply)

    def _emit(self, event: Event) -> None:
        if self._out:
            self._events.append(Send(bytes(self._out)))
            self._out.clear()
        self._events.append(event)

    def _flush(self) -> list[Event]:
        if self._out:
            self._events.append(Send(bytes(self._out)))
            self._out.clear()
        events, self._events = self._events, []
        return events

    def _close(self, reply: Reply, reason: str) -> None:
        self._send(reply)
        self._emit(Close(reason))
        self.mode = Mode.CLOSED
        self._buf = bytearray()
        self._pos = 0

    def _decide(self, decision: Decision) -> None:
        self.pending = decision
        self._emit(decision)

    def _run(self) -> None:
        while self.pending is None:
            if self.mode is Mode.COMMAND:
                if self.error_count >= self.config.smtpd_hard_error_limit:
                    # at once, as Postfix's command loop does: not at the next command
                    self._close(rp.too_many_errors(self.config.myhostname), "too many errors")
                    break
                line = self._take_line(self.config.line_length_limit)
                if line is None:
                    break
                self._command(line)
            elif self.mode is Mode.AUTH:
                line = self._take_line(self.config.smtpd_sasl_response_limit)
                if line is None:
                    break
                self._auth_line(line)
            elif self.mode is Mode.DATA:
                if not self._data_step():
                    break
            elif self.mode is Mode.BDAT:
                if not self._bdat_step():
                    break
            else:
                self._pos = len(self._buf)
                break
        if self._pos >= _COMPACT_AT or self._pos == len(self._buf):
            del self._buf[: self._pos]
            self._pos = 0
        if self.pending is not None and self.buffered > self.config.max_pipelined_input:
            self.pending = None
            self._close(rp.too_much_input(self.config.myhostname), "too much pipelined input")

    def _take_line(self, limit: int) -> bytes | None:
        """The next line without its CRLF; overlong lines are cut at ``limit`` (Postfix).

        Returns None when no complete line is buffered. A line ending in a bare LF in
        ``reject`` mode closes the session (Postfix: 550 and disconnect).
        """
        buf, pos = self._buf, self._pos
        nl = buf.find(b"\n", pos)
        if nl < 0:
            if self._skipping:
                if len(buf) > pos:
                    self._skip_last = buf[-1]
                self._pos = len(buf)
            elif len(buf) - pos > limit:
                self._skipping = True
                self._skip_prefix = bytes(buf[pos : pos + limit])
                self._skip_last = buf[-1]
                self._pos = len(buf)
            return None
        if self._skipping:
            line = self._skip_prefix
            before = buf[nl - 1] if nl > pos else self._skip_last
            self._skipping = False
            self._skip_prefix = b""
        else:
            line = bytes(buf[pos:nl])
            before = line[-1] if line else 0
            if line.endswith(b"\r"):
                line = line[:-1]
            line = line[:limit]
        self._pos = nl + 1
        if before != 13 and self.config.smtpd_forbid_bare_newline == "reject":
            self._close(
                rp.bare_lf(
                    self.config.myhostname, self.config.smtpd_forbid_bare_newline_reject_code
                ),
                "bare <LF> received",
            )
            return None
        return line

    # -- commands -------------------------------------------------------------------

    def _command(self, raw: bytes) -> None:
        if self.command_filter is not None:
            filtered = self.command_filter(raw.decode("utf-8", "surrogateescape"))
            if isinstance(filtered, Reply):  # the table failed: hang up
                self._close(filtered, "command filter failed")
                return
            if filtered is not None:
                raw = filtered.encode("utf-8", "surrogateescape")
        if _CONTROL.search(raw):
            self._send(rp.BAD_SYNTAX)
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._send(rp.BAD_UTF8)
            return
        self._line = text
        parts = text.strip(" \t").split(None, 1)
        if not parts:
            self._send(rp.BAD_SYNTAX)
            return
        verb = parts[0].upper()
        arg = parts[1].rstrip(" \t") if len(parts) > 1 else ""
        if verb in JUNK_COMMANDS:
            if self._junk > self.config.smtpd_junk_command_limit:
                self.error_count += 1
            self._junk += 1
        if self._handler_table is None:
            self._handler_table = self._handlers()
        handler = self._handler_table.get(verb)
        name = verb.lower() if handler is not None else "unknown"
        self.stats.attempt(name)
        self._answering = name
        self.last_command = verb if handler is not None else "UNKNOWN"
        if self.access_denied is not None and verb != "QUIT":  # before "not recognized"
            self._send(self.access_denied)
            return
        if handler is None:
            if self.report_unknown:
                self._decide(UnknownCommand(verb))
            else:
                self._send(rp.NOT_RECOGNIZED)
            return
        if (
            self.improper_pipelining is None
            and self._pos < len(self._buf)
            and (not self.esmtp or verb in LAST_IN_GROUP)
            and not self.config.lmtp
        ):
            self.improper_pipelining = (verb, bytes(self._buf[self._pos : self._pos + 100]))
        handler(arg)

    def _handlers(self) -> dict[str, _Handler]:
        lmtp = self.config.lmtp
        table: dict[str, _Handler] = {
            "MAIL": self._mail,
            "RCPT": self._rcpt,
            "DATA": self._data,
            "BDAT": self._bdat,
            "RSET": self._rset,
            "NOOP": self._noop,
            "QUIT": self._quit,
            "VRFY": self._vrfy,
            "STARTTLS": self._starttls,
            "AUTH": self._auth,
            "ETRN": self._etrn,
            "XCLIENT": self._xclient,
            "XFORWARD": self._xforward,
        }
        if lmtp:
            table["LHLO"] = self._ehlo
        else:
            table["EHLO"] = self._ehlo
            table["HELO"] = self._helo
        return table

    def _helo(self, arg: str) -> None:
        if not arg:
            self._send(rp.SYNTAX_HELO)
            return
        self._decide(Helo(arg, "HELO"))

    def _ehlo(self, arg: str) -> None:
        if not arg:
            self._send(rp.SYNTAX_LHLO if self.config.lmtp else rp.SYNTAX_EHLO)
            return
        self._decide(Helo(arg, "LHLO" if self.config.lmtp else "EHLO"))

    def ehlo_keywords(self) -> list[str]:
        """What EHLO/LHLO announces now, in Postfix's order (only ENHANCEDSTATUSCODES
        when a milter rejected the client: :attr:`ehlo_limited`)."""
        if self.ehlo_limited:
            return ["ENHANCEDSTATUSCODES"]
        c = self.config
        words = ["PIPELINING", f"SIZE {c.message_size_limit}" if c.message_size_limit else "SIZE"]
        if not c.disable_vrfy_command:
            words.append("VRFY")
        if c.etrn_allowed:
            words.append("ETRN")
        if c.tls_available and not self.tls_active:
            words.append("STARTTLS")
        if self._auth_offered() and not c.sasl_exception:
            words.append("AUTH " + " ".join(c.sasl_mechanisms))
        if c.xclient_allowed:
            words.append("XCLIENT " + XCLIENT_ATTRS)
        if c.xforward_allowed:
            words.append("XFORWARD " + XFORWARD_ATTRS)
        words += ["ENHANCEDSTATUSCODES", "8BITMIME"]
        if c.binarymime:
            words.append("BINARYMIME")
        if c.dsn_enable:
            words.append("DSN")
        if c.smtputf8_enable:
            words.append("SMTPUTF8")
        words.append("CHUNKING")
        discard = c.smtpd_discard_ehlo_keywords
        return [w for w in words if w.split()[0] not in discard]

    def _auth_offered(self) -> bool:
        c = self.config
        return (
            c.smtpd_sasl_auth_enable
            and self._sasl is not None
            and (self.tls_active or not c.smtpd_tls_auth_only)
            and "AUTH" not in c.smtpd_discard_ehlo_keywords
        )

    def _features(self) -> Features:
        c = self.config
        discard = c.smtpd_discard_ehlo_keywords
        return Features(
            c.dsn_enable and "DSN" not in discard,
            c.smtputf8_enable and "SMTPUTF8" not in discard,
            c.binarymime,
            self._auth_offered(),
        )

    def _mail(self, arg: str) -> None:
        if self.helo is None and (self.config.smtpd_helo_required or self.config.lmtp):
            self._send(SEND_LHLO_FIRST if self.config.lmtp else rp.SEND_HELO_FIRST)
            return
        if self._mail_from is not None:
            self._send(rp.NESTED_MAIL)
            return
        if self._bdat_started or self._bdat_error:
            self._send(rp.MAIL_AFTER_BDAT)
            return
        rest = _after_keyword(arg, "FROM:")
        if rest is None:
            self._send(rp.SYNTAX_MAIL)
            return
        path = parse_path(rest)
        if path is None:
            self._send(rp.BAD_SENDER)
            return
        params = parse_mail_params(path.params, self._features())
        if isinstance(params, Reply):
            self._send(params)
            return
        limit = self.config.message_size_limit
        if limit and params.size is not None and params.size > limit:
            self._send(rp.SIZE_EXCEEDS_LIMIT)
            return
        sender = _address(path.address) if path.address is not None else None
        if path.address is not None and sender is None:
            self._send(rp.BAD_SENDER)
            return
        self._decide(MailFrom(sender, path.address or "", params, path.params, self._line))

    def _rcpt(self, arg: str) -> None:
        if self._mail_from is None:
            self._send(rp.NEED_MAIL)
            return
        if self._bdat_started or self._bdat_error:
            self._send(rp.RCPT_AFTER_BDAT)
            return
        rest = _after_keyword(arg, "TO:")
        if rest is None:
            self._send(rp.SYNTAX_RCPT)
            return
        path = parse_path(rest)
        recipient = _address(path.address) if path and path.address is not None else None
        if path is None or path.address is None or recipient is None:
            self._send(rp.BAD_RECIPIENT)
            return
        limit = self.config.smtpd_recipient_limit
        if limit and len(self._recipients) >= limit:
            self._send(rp.TOO_MANY_RECIPIENTS)
            self._overshoot += 1
            if self._overshoot > self.config.smtpd_recipient_overshoot_limit:
                self.error_count += 1
            return
        params = parse_rcpt_params(path.params, self._features())
        if isinstance(params, Reply):
            self._send(params)
            return
        self._decide(RcptTo(recipient, path.address, params, path.params, self._line))

    def _data(self, arg: str) -> None:
        if arg:
            self._send(rp.SYNTAX_DATA)
            return
        if self._bdat_started or self._bdat_error:
            self._send(rp.DATA_AFTER_BDAT)
            return
        if not self._recipients:
            self._send(rp.NEED_RCPT if self._mail_from is None else rp.NO_VALID_RCPTS)
            return
        self._decide(DataCommand(bdat=False))

    def _bdat(self, arg: str) -> None:
        if "CHUNKING" in self.config.smtpd_discard_ehlo_keywords:
            self._close(rp.CHUNKING_DISCARDED, "CHUNKING discarded")  # Postfix: 521, hang up
            return
        words = arg.split()
        last = len(words) == 2 and words[1].upper() == "LAST"
        if not (len(words) == 1 or last) or not words[0].isascii() or not words[0].isdigit():
            self._close(rp.SYNTAX_BDAT, "BDAT syntax error")
            return
        count = int(words[0])
        self._chunk_left = count
        self._chunk_size = count
        self._chunk_last = last
        self._chunk_silent = False
        self._chunk_discard = False
        if count == 0 and not last:
            self._send(rp.NULL_BDAT)
            self._bdat_error = True
            return
        if self._bdat_error:
            self._chunk_discard = True
        elif not self._recipients:
            self._send(rp.NEED_RCPT if self._mail_from is None else rp.NO_VALID_RCPTS)
            self._bdat_error = True
            self._chunk_discard = self._chunk_silent = True
        elif not self._bdat_started:
            self._decide(DataCommand(bdat=True))
            return
        self.mode = Mode.BDAT

    def _rset(self, arg: str) -> None:
        if arg:
            self._send(rp.SYNTAX_RSET)
            return
        self._reset_transaction()
        self._send(rp.OK)

    def _noop(self, arg: str) -> None:
        self._send(rp.OK)

    def _quit(self, arg: str) -> None:
        self._reset_transaction()
        self._close(rp.BYE, "QUIT")

    def _vrfy(self, arg: str) -> None:
        if self.config.disable_vrfy_command:
            self._send(rp.VRFY_DISABLED)
        elif not arg:
            self._send(rp.SYNTAX_VRFY)
        else:
            self._decide(Vrfy(arg))

    def _starttls(self, arg: str) -> None:
        if not self.config.tls_available or "STARTTLS" in self.config.smtpd_discard_ehlo_keywords:
            self._send(rp.NOT_IMPLEMENTED)
        elif self.tls_active:
            self._send(rp.TLS_ACTIVE)
        elif arg:
            self._send(rp.SYNTAX_STARTTLS)
        else:
            self._send(rp.READY_TLS)
            discarded = len(self._buf) - self._pos
            self._buf = bytearray()
            self._pos = 0
            self._reset_transaction()
            self.mode = Mode.TLS
            self._emit(StartTls(discarded))

    def _etrn(self, arg: str) -> None:
        """ETRN as Postfix's smtpd checks it, in its order; the driver answers for a
        valid site (a host name or an address literal, after a leading ``@`` or ``#``)."""
        words = arg.split()
        if not self.config.etrn_allowed:
            self._send(rp.NOT_IMPLEMENTED)
        elif self.config.smtpd_helo_required and self.helo is None:
            self._send(Reply(503, "", "Error: send HELO/EHLO first"))
        elif self._mail_from is not None:
            self._send(rp.IN_TRANSACTION)
        elif len(words) != 1:
            self._send(rp.SYNTAX_ETRN)
        else:
            site = words[0][1:] if words[0][:1] in ("@", "#") else words[0]
            if valid_hostname(site) or valid_address_literal(site):
                self._decide(Extension("ETRN", site))
            else:
                self._send(rp.ETRN_BAD_SITE)

    def _xclient(self, arg: str) -> None:
        self._extension("XCLIENT", arg, self.config.xclient_allowed)

    def _xforward(self, arg: str) -> None:
        self._extension("XFORWARD", arg, self.config.xforward_allowed)

    def _extension(self, verb: str, arg: str, allowed: bool) -> None:
        if not allowed:
            self._send(rp.INSUFFICIENT_AUTHORIZATION)
        elif self._mail_from is not None:
            self._send(rp.IN_TRANSACTION)
        elif not arg or any("=" not in a for a in arg.split()):
            self._send(rp.ATTR_EXPECTED)
        else:
            self._decide(Extension(verb, arg))

    # -- AUTH -----------------------------------------------------------------------

    def _auth(self, arg: str) -> None:
        if self.config.smtpd_helo_required and self.helo is None:
            self._send(rp.SEND_HELO_FIRST)  # only then: Postfix takes AUTH before EHLO
            return
        if not self._auth_offered():
            self._send(rp.AUTH_NOT_ENABLED)
            return
        if self.auth_limit is not None:  # smtpd_client_auth_rate_limit counts every AUTH
            refused = self.auth_limit()
            if refused is not None:
                self._send(refused)
                return
        if self.authenticated:
            self._send(rp.ALREADY_AUTHENTICATED)
            return
        if self._mail_from is not None:
            self._send(rp.AUTH_IN_TRANSACTION)
            return
        words = arg.split()
        if not 1 <= len(words) <= 2:
            self._send(rp.SYNTAX_AUTH)
            return
        mechanism = words[0].upper()
        assert self._sasl is not None  # _auth_offered() checked it
        exchange = self._sasl(mechanism) if mechanism in self.config.sasl_mechanisms else None
        if not isinstance(exchange, SaslExchanger):
            self._send(rp.AUTH_NO_MECHANISM)
            return
        self._exchange = exchange
        self._auth_mechanism = mechanism
        initial = words[1].encode("ascii", "replace") if len(words) == 2 else None
        self._auth_step(exchange.start(initial))

    def _auth_line(self, line: bytes) -> None:
        exchange = self._exchange
        if exchange is None:  # pragma: no cover - mode and exchange change together
            self.mode = Mode.COMMAND
            return
        if self._skipping or len(line) >= self.config.smtpd_sasl_response_limit:
            self.mode = Mode.COMMAND
            self._exchange = None
            self._send(rp.SASL_RESPONSE_LIMIT)
            return
        self._auth_step(exchange.respond(line))

    def _auth_step(self, step: object) -> None:
        if isinstance(step, SaslChallenge):
            self.mode = Mode.AUTH
            self._send(Reply(334, "", step.line.decode("ascii", "replace")))
            return
        self.mode = Mode.COMMAND
        self._exchange = None
        if isinstance(step, SaslFailed):
            self._send(rp.AUTH_ABORTED if step.cancelled else rp.AUTH_FAILED)
            return
        self._decide(AuthCredentials(self._auth_mechanism, step))

    # -- decisions ------------------------------------------------------------------

    def _decided(self, decision: Decision, answer: Reply | Sequence[Reply] | None) -> None:
        replies: list[Reply]
        if answer is None:
            replies = [] if decision.default is None else [decision.default]
        elif isinstance(answer, Reply):
            replies = [answer]
        else:
            replies = list(answer)
        first = replies[0] if replies else None
        accepted = first is None or first.ok
        if isinstance(decision, Helo):
            if accepted:
                self._reset_transaction()
                self.helo = decision.name
                self.esmtp = decision.verb != "HELO"
                if self.esmtp:
                    lines = [self.config.myhostname, *self.ehlo_keywords()]
                    self._send(Reply(250, "", "\n".join(lines)))
                else:
                    self._send(Reply(250, "", self.config.myhostname))
            else:
                self._send_all(replies)
        elif isinstance(decision, MailFrom):
            self._send_all(replies)
            if accepted:
                self._mail_from = decision
        elif isinstance(decision, RcptTo):
            self._send_all(replies)
            if accepted:
                self._recipients.append(decision.recipient)
        elif isinstance(decision, DataCommand):
            self._data_decided(decision, replies, accepted)
        elif isinstance(decision, DataComplete):
            self._complete_decided(replies)
        elif isinstance(decision, AuthCredentials):
            self._send_all(replies)
            self.authenticated = first is not None and first.code == 235
        elif isinstance(decision, UnknownCommand):
            self._send_all(replies)
        elif isinstance(decision, Vrfy):
            self._send_all(replies or [rp.vrfy_default(decision.argument)])
        elif isinstance(decision, Extension):
            self._send_all(replies or [rp.NOT_IMPLEMENTED])
            if decision.verb == "XCLIENT" and first is not None and first.code == 220:
                self.helo = None
                self.esmtp = False
                self.authenticated = False

    def _send_all(self, replies: list[Reply]) -> None:
        for reply in replies:
            self._send(reply)

    def _data_decided(self, decision: DataCommand, replies: list[Reply], accepted: bool) -> None:
        if not decision.bdat:
            if accepted:
                self._send(rp.START_DATA)
                self._reader = DataReader(self.config.smtpd_forbid_bare_newline)
                self._data_too_big = False
                self.mode = Mode.DATA
            else:
                self._send_all(replies)
            return
        if accepted:
            self._bdat_started = True
        else:
            self._send_all(replies)
            self._bdat_error = True
            self._chunk_discard = self._chunk_silent = True
        self.mode = Mode.BDAT

    def _complete_decided(self, replies: list[Reply]) -> None:
        if self.config.lmtp:
            want = len(self._recipients)
            replies = (replies + [rp.QUEUE_WRITE_ERROR] * want)[:want]
        else:
            replies = replies[:1] or [rp.QUEUE_WRITE_ERROR]
        self._send_all(replies)
        self._junk = 0
        self._reset_transaction_state()

    # -- message content ------------------------------------------------------------

    def _data_step(self) -> bool:
        data = bytes(self._buf[self._pos :])
        self._buf = bytearray()
        self._pos = 0
        content, rest = self._reader.feed(data)
        self._store(content, self._reader.size)
        if rest is None:
            return False
        self._buf = bytearray(rest)
        self.mode = Mode.COMMAND
        if self._reader.bare_lf:
            self._abort_message(
                rp.bare_lf(
                    self.config.myhostname, self.config.smtpd_forbid_bare_newline_reject_code
                )
            )
        elif self._data_too_big:
            self._abort_message(rp.MESSAGE_TOO_BIG)
        else:
            self.last_command = "END-OF-MESSAGE"
            self._decide(DataComplete(self._reader.size, tuple(self._recipients)))
        return True

    def _store(self, content: bytes, total: int) -> None:
        limit = self.config.message_size_limit
        if limit and total > limit:
            self._data_too_big = True
        if content and not self._data_too_big and not self._message_bad():
            self._emit(DataChunk(content))

    def _message_bad(self) -> bool:
        return self.mode is Mode.DATA and self._reader.bare_lf

    def _abort_message(self, reply: Reply) -> None:
        self._emit(MessageAborted(reply.text))
        self._reset_transaction_state()
        self._send(reply)

    def _bdat_step(self) -> bool:
        take = min(self._chunk_left, len(self._buf) - self._pos)
        piece = bytes(self._buf[self._pos : self._pos + take])
        self._pos += take
        self._chunk_left -= take
        if piece and not self._chunk_discard:
            self._bdat_piece(piece)
        if self._chunk_left:
            return False
        self.mode = Mode.COMMAND
        if self._chunk_discard:
            if not self._chunk_silent:
                self._send(rp.bdat_discarded(self._chunk_size))
            if self._chunk_last:
                self._reset_transaction_state()
            return True
        if self._bdat_bad is not None:
            reply = self._bdat_bad
            self._emit(MessageAborted(reply.text))
            self._send(reply)
            self._bdat_error = True
            self._bdat_started = False
            if self._chunk_last:
                self._reset_transaction_state()
            return True
        if self._chunk_last:
            self._decide(
                DataComplete(self._bdat_total, tuple(self._recipients), self._bdat_records.total())
            )
        else:
            self._send(rp.bdat_ok(self._bdat_total))
        return True

    def _bdat_piece(self, piece: bytes) -> None:
        mode = self.config.smtpd_forbid_bare_newline
        after_cr = self._bdat_after_cr
        self._bdat_after_cr = piece.endswith(b"\r")
        if self._bdat_bad is not None:
            return
        self._bdat_records.feed(piece)
        if mode == "reject" and count_bare_lf(piece, after_cr):
            self._bdat_bad = rp.bare_lf(
                self.config.myhostname, self.config.smtpd_forbid_bare_newline_reject_code
            )
            return
        if mode == "normalize":
            piece = normalize(piece, after_cr)
        self._bdat_total += len(piece)
        limit = self.config.message_size_limit
        if limit and self._bdat_total > limit:
            self._bdat_bad = rp.CHUNK_TOO_BIG
            return
        self._emit(DataChunk(piece))

    # -- state ------------------------------------------------------------------------

    def _reset_transaction(self) -> None:
        if self._bdat_started:
            self._emit(MessageAborted("transaction reset"))
        self._reset_transaction_state()

    def _reset_transaction_state(self) -> None:
        self._mail_from = None
        self._recipients = []
        self._overshoot = 0
        self._bdat_started = False
        self._bdat_error = False
        self._bdat_total = 0
        self._bdat_records = RecordSize(self.config.line_length_limit)
        self._bdat_after_cr = False
        self._bdat_bad = None
        self._chunk_left = 0
        self._chunk_size = 0
        self._chunk_last = False
        self._chunk_discard = False
        self._chunk_silent = False
        self._reader = DataReader(self.config.smtpd_forbid_bare_newline)
        self._data_too_big = False


_CONTROL = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # control characters but TAB


def _after_keyword(arg: str, keyword: str) -> str | None:
    """What follows ``FROM:``/``TO:`` (case-insensitive), or None; it must not be empty."""
    if arg[: len(keyword)].upper() != keyword:
        return None
    rest = arg[len(keyword) :].strip(" \t")
    return rest or None


def _address(text: str) -> Address | None:
    try:
        return Address.parse(text)
    except AddressError:
        return None
