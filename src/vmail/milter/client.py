"""One milter application's conversation for one SMTP session (Postfix's milter8.c).

:class:`Milter` connects when the session starts, negotiates the protocol, and reports
the session's events in order. Each event answers as Postfix's milter client does: None
to go on, an SMTP reply (``550 5.7.1 Command rejected``, ``451 4.7.1 Service unavailable
- try again later``, a milter's own ``REPLYCODE``), or a one-letter verdict: ``D``
discard the message, ``H`` hold it (quarantine), ``S`` close the session.

When the application cannot be reached, breaks the protocol or times out, it is left
alone for the rest of the session and every later event answers its
``default_action``: tempfail, reject, accept (None) or quarantine (``H``). Everything
here blocks on the socket: callers use a worker thread.
"""

from __future__ import annotations

import contextlib
import encodings.idna  # noqa: F401  (for host names; sendmail connects after it dropped privileges)
import logging
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from vmail.milter import protocol as p

log = logging.getLogger("vmail.milter")

TEMPFAIL_REPLY = "451 4.7.1 Service unavailable - try again later"
REJECT_REPLY = "550 5.7.1 Command rejected"
CONFIG_ERROR_REPLY = "451 4.3.5 Server configuration problem - try again later"
DEFAULT_REPLIES = {
    "accept": None,
    "reject": "550 5.5.0 Service unavailable",
    "tempfail": TEMPFAIL_REPLY,
    "quarantine": "H",
}

Macros = Callable[[str], "str | None"]  # a macro's value by name ("i", "{client_addr}")


@dataclass(frozen=True)
class MilterSpec:
    """One entry of ``smtpd_milters``/``non_smtpd_milters`` with its settings."""

    endpoint: str  # inet:host:port, unix:/path (local: is unix:)
    connect_timeout: float = 30.0
    command_timeout: float = 30.0
    content_timeout: float = 300.0
    default_action: str = "tempfail"
    protocol: str = "6"
    macro_lists: tuple[tuple[int, tuple[str, ...]], ...] = ()  # per stage, from main.cf
    macro_defaults: tuple[tuple[str, str], ...] = ()  # milter_macro_defaults, {name} keys


class Editor(Protocol):
    """What an application may change at the end of a message (cleanup's side).

    Header texts are what follows the colon, already with the leading space the
    negotiation calls for; multi-line texts are separated by ``\\n``. Indexes are
    Postfix's: :meth:`change_header` counts the instances of one name from 1, not
    counting the MTA's own ``Received:``; :meth:`insert_header` counts all headers
    from 0, the MTA's own included."""

    def add_header(self, name: str, text: str) -> None: ...
    def insert_header(self, index: int, name: str, text: str) -> None: ...
    def change_header(self, index: int, name: str, text: str | None) -> None: ...
    def add_recipient(self, address: str, args: str) -> None: ...
    def delete_recipient(self, address: str) -> None: ...
    def change_sender(self, address: str, args: str) -> None: ...
    def replace_body(self, body: bytes) -> None: ...


class State(Enum):
    CLOSED = "closed"
    ERROR = "error"  # given up on: the default reply answers
    ENVELOPE = "envelope"  # connected, events welcome
    ACCEPT_CONNECTION = "accept-connection"  # no more events this session
    ACCEPT_MESSAGE = "accept-message"  # no more events this message
    REJECT_CONNECTION = "reject-connection"  # every command gets the reply


class ProtocolError(Exception):
    """The application broke the protocol, went away or timed out."""


class Milter:
    """The MTA side of one application's conversation."""

    def __init__(self, spec: MilterSpec, logger: logging.Logger = log) -> None:
        self.spec = spec
        self.log = logger  # Postfix logs as the program talking: smtpd or cleanup
        self.name = spec.endpoint
        self.state = State.CLOSED
        self.reply: str | None = None  # the default reply, once set
        self.events = 0  # the application's SMFIP_* flags
        self.not_sent = 0  # events my protocol version does not have
        self.own_macros: dict[int, tuple[str, ...]] = {}  # SETSYMLIST overrides
        self.skip: bytes | None = None  # SMFIR_SKIP: skip further events of this kind
        self._sock: socket.socket | None = None

    # -- connection ------------------------------------------------------------------

    def _open(self) -> None:
        """Connect and negotiate; on failure the state is ERROR with the default reply."""
        versions = [word for word in self.spec.protocol.replace(",", " ").split() if word]
        mine, offered = 0, 0
        for word in versions:
            if word not in p.EVENT_MASKS or (word in p.VERSIONS and mine):
                self.log.warning("milter %s: bad protocol information: %s", self.name, word)
                self._config_error()
                return
            mine = p.VERSIONS.get(word, mine)
            offered |= p.EVENT_MASKS[word]
        if not mine:
            self.log.warning("milter %s: no protocol version information", self.name)
            self._config_error()
            return
        self.not_sent = p.NOSEND & ~offered
        try:
            self._sock = _connect(self.name, self.spec.connect_timeout)
        except ValueError as e:
            self.log.warning("%s", e)
            self._config_error()
            return
        except OSError as e:
            self.log.warning("connect to Milter service %s: %s", self.name, _reason(e))
            self._comm_error()
            return
        try:
            self._settimeout(self.spec.command_timeout)
            self._send(p.packet(p.OPTNEG, p.number(mine) + p.number(p.ACTIONS) + p.number(offered)))
            command, data = self._read("SMFIC_OPTNEG")
            if command != p.OPTNEG:
                raise ProtocolError(
                    f'unexpected reply "{command.decode("latin-1")}" in initial handshake'
                )
            version, actions, events = (p.parse_number(data, at) for at in (0, 4, 8))
            if version > mine:
                raise ProtocolError(
                    f"protocol version {version} conflict with MTA protocol version {mine}"
                )
            if actions & p.ACTIONS != actions:
                raise ProtocolError(
                    f"request mask 0x{actions:x} conflict with MTA request mask 0x{p.ACTIONS:x}"
                )
            self.events = events
            self.own_macros = _macro_lists(data[12:])
        except (ProtocolError, ValueError, OSError) as e:
            self.log.warning("milter %s: %s", self.name, _reason(e))
            self._comm_error()
            return
        self.state, self.reply, self.skip = State.ENVELOPE, None, None

    def _comm_error(self) -> str | None:
        self._close_socket()
        action = self.spec.default_action.lower()
        if action not in DEFAULT_REPLIES:
            self.log.warning("milter %s: unrecognized default action: %s", self.name, action)
            self.reply = CONFIG_ERROR_REPLY
        else:
            self.reply = DEFAULT_REPLIES[action]
        self.state = State.ERROR
        return self.reply

    def _config_error(self) -> str | None:
        self._close_socket()
        action = self.spec.default_action.lower()
        self.reply = {"accept": None, "quarantine": "H"}.get(action, CONFIG_ERROR_REPLY)
        self.state = State.ERROR
        return self.reply

    def _close_socket(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def _settimeout(self, seconds: float) -> None:
        if self._sock is not None:
            self._sock.settimeout(seconds)

    def _send(self, data: bytes) -> None:
        if self._sock is None:
            raise ProtocolError("not connected")
        self._sock.sendall(data)

    def _read(self, event: str) -> tuple[bytes, bytes]:
        """One reply packet: its command byte and data."""
        header = self._recv(4, f"can't read {event} reply packet header")
        length = int.from_bytes(header, "big")
        if length < 1:
            raise ProtocolError(f"bad packet length: {length}")
        if length > p.MAX_PACKET:
            raise ProtocolError(f"unreasonable packet length: {length} > {p.MAX_PACKET}")
        body = self._recv(length, "EOF while reading command code")
        return body[:1], body[1:]

    def _recv(self, size: int, what: str) -> bytes:
        assert self._sock is not None
        chunks: list[bytes] = []
        left = size
        while left:
            try:
                chunk = self._sock.recv(min(left, 1 << 20))
            except TimeoutError as e:
                raise ProtocolError(f"{what}: Connection timed out") from e
            if not chunk:
                raise ProtocolError(f"{what}: Success" if chunks or size == 4 else what)
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    # -- events ----------------------------------------------------------------------

    def _macros(self, stage: int, lookup: Macros) -> list[tuple[str, str]]:
        names = self.own_macros.get(stage)
        if names is None:
            names = dict(self.spec.macro_lists).get(stage, ())
        defaults = dict(self.spec.macro_defaults)
        pairs = []
        for name in names:
            value = lookup(name)
            if value is None:
                value = defaults.get(macro_key(name))
            if value is not None:
                pairs.append((name, value))
        return pairs

    def _event(
        self,
        command: bytes,
        flag: int,
        no_reply: int,
        data: bytes,
        stage: int | None,
        lookup: Macros | None,
        editor: Editor | None = None,
    ) -> str | None:
        """Send one event (with its macros) and read the reply; Postfix's milter8_event."""
        if self._sock is None or self.reply is not None:
            return self.reply
        if flag & self.not_sent:
            return self.reply
        if self.skip is not None:
            if command == self.skip:
                return self.reply
            self.skip = None
        try:
            out = b""
            if stage is not None and lookup is not None:  # sent even when empty, as Postfix
                out = p.macros(command, self._macros(stage, lookup))
            if flag & self.events:
                if out:
                    self._send(out)
                return self.reply
            self._send(out + p.packet(command, data))
            if no_reply & self.events:
                return self.reply
            return self._replies(command, editor)
        except (ProtocolError, ValueError, OSError) as e:
            self.log.warning("milter %s: %s", self.name, _reason(e))
            return self._comm_error()

    def _replies(self, command: bytes, editor: Editor | None) -> str | None:
        """Read replies until a decision; at the end of a message, edits come first."""
        in_connect = command in (p.CONNECT, p.HELO)
        body: list[bytes] | None = None
        while True:
            reply, data = self._read(_EVENT_NAMES.get(command, "unknown MTA event"))
            if body is not None and reply != p.REPLBODY:
                assert editor is not None
                editor.replace_body(b"".join(body))
                body = None
            if reply in _FINAL_EMPTY and data:
                raise ProtocolError(
                    f"reply {reply.decode('latin-1')} was followed by {len(data)} data bytes"
                )
            if reply == p.PROGRESS:
                continue
            if reply == p.CONTINUE:
                return self.reply
            if reply == p.ACCEPT:
                if in_connect:
                    self._close_socket()
                    self.state = State.ACCEPT_CONNECTION
                else:
                    self.state = State.ACCEPT_MESSAGE
                return self.reply
            if reply == p.DISCARD:
                if in_connect:
                    self.log.warning(
                        "milter %s: DISCARD action is not allowed for connect or helo", self.name
                    )
                    return self.reply
                self.state = State.ACCEPT_MESSAGE
                return "D"
            if reply in (p.REJECT, p.TEMPFAIL):
                text = REJECT_REPLY if reply == p.REJECT else TEMPFAIL_REPLY
                return self._reject_connection(text) if in_connect else text
            if reply == p.SHUTDOWN:
                return self._reject_connection("S")
            if reply == p.REPLYCODE:
                code = _reply_code(data)
                if code is None:
                    self.log.warning("milter %s: malformed reply: %s", self.name, _printable(data))
                    return self._config_error()
                return self._reject_connection(code) if in_connect else code
            if reply == p.QUARANTINE:
                self.reply = "H"
                continue
            if reply == p.SKIP:
                self.skip = command
                return self.reply
            if command == p.BODYEOB and editor is not None and reply in _EDITS:
                if reply == p.REPLBODY:
                    body = body if body is not None else []
                    body.append(data)
                    continue
                self._edit(reply, data, editor)
                continue
            raise ProtocolError(
                f"unexpected filter response {_REPLY_NAMES.get(reply, '(unknown filter reply)')} "
                f"after event {_EVENT_NAMES.get(command, '(unknown MTA event)')}"
            )

    def _reject_connection(self, text: str) -> str:
        self._close_socket()
        self.state = State.REJECT_CONNECTION
        self.reply = text
        return text

    def _edit(self, reply: bytes, data: bytes, editor: Editor) -> None:
        space = "" if self.events & p.HDR_LEADSPC else " "
        if reply in (p.CHGHEADER, p.INSHEADER):
            index = p.parse_number(data)
            name, value = _pair(data[4:])
            if not name:
                raise ProtocolError("null change header name")
            if reply == p.INSHEADER:
                editor.insert_header(index, name, space + value)
            else:
                editor.change_header(max(index, 1), name, space + value if value else None)
        elif reply == p.ADDHEADER:
            name, value = _pair(data)
            editor.add_header(name, space + value)
        elif reply in (p.ADDRCPT, p.ADDRCPT_PAR, p.CHGFROM):
            parts = p.strings(data)
            address, args = parts[0], " ".join(parts[1:])
            if reply == p.CHGFROM:
                editor.change_sender(address, args)
            else:
                editor.add_recipient(address, args)
        elif reply == p.DELRCPT:
            editor.delete_recipient(p.strings(data)[0])

    # -- the session's events --------------------------------------------------------

    def connect(self, name: str, address: str, port: int, lookup: Macros) -> str | None:
        """The client connected (``unknown`` names are sent as ``[address]``)."""
        self._open()
        if self.state is not State.ENVELOPE:
            return self.reply
        family = p.FAMILY_INET6 if ":" in address else p.FAMILY_INET
        if address == "unknown" or not address:
            data = p.text(name) + p.FAMILY_UNKNOWN
        else:
            shown = name if name != "unknown" else f"[{address}]"
            data = p.text(shown) + family + port.to_bytes(2, "big") + p.text(address)
        return self._event(p.CONNECT, p.NOCONNECT, p.NR_CONN, data, p.STAGE_CONNECT, lookup)

    def helo(self, name: str, lookup: Macros) -> str | None:
        if self.state not in (State.ENVELOPE, State.ACCEPT_MESSAGE):
            return self.reply
        return self._event(p.HELO, p.NOHELO, p.NR_HELO, p.text(name), p.STAGE_HELO, lookup)

    def mail(self, args: Sequence[str], lookup: Macros) -> str | None:
        if self.state is not State.ENVELOPE:
            return self.reply
        data = b"".join(p.text(arg) for arg in args)
        return self._event(p.MAIL, p.NOMAIL, p.NR_MAIL, data, p.STAGE_MAIL, lookup)

    def rcpt(self, args: Sequence[str], lookup: Macros) -> str | None:
        if self.state is not State.ENVELOPE:
            return self.reply
        data = b"".join(p.text(arg) for arg in args)
        return self._event(p.RCPT, p.NORCPT, p.NR_RCPT, data, p.STAGE_RCPT, lookup)

    @property
    def wants_rejected(self) -> bool:
        """The application asked to hear of recipients smtpd rejected (SMFIP_RCPT_REJ)."""
        return bool(self.events & p.RCPT_REJ) and self.state is State.ENVELOPE

    def data(self, lookup: Macros) -> str | None:
        if self.state is not State.ENVELOPE:
            return self.reply
        return self._event(p.DATA, p.NODATA, p.NR_DATA, b"", p.STAGE_DATA, lookup)

    def unknown(self, command: str, lookup: Macros) -> str | None:
        if self.state is not State.ENVELOPE:
            return self.reply
        data = p.text(command)
        return self._event(p.UNKNOWN, p.NOUNKNOWN, p.NR_UNKN, data, p.STAGE_UNKNOWN, lookup)

    def message(
        self,
        headers: Sequence[tuple[str, str]],
        body: bytes,
        lookup: Macros,
        editor: Editor,
    ) -> str | None:
        """The message's headers (without the MTA's own ``Received:``; texts after the
        colon, lines joined with ``\\n``), its body (CRLF lines), then the end of the
        message, whose edits go to ``editor``; the decision."""
        if self.state is State.ACCEPT_MESSAGE:
            self.state = State.ENVELOPE  # accepted at MAIL or RCPT: not asked again
            return self.reply
        if self.state is not State.ENVELOPE:
            return self.reply
        self._settimeout(self.spec.content_timeout)
        try:
            return self._message(headers, body, lookup, editor)
        finally:
            self._message_done()

    def _message_done(self) -> None:
        """Back to the envelope stage for the session's next message."""
        self._settimeout(self.spec.command_timeout)
        if self.state is State.ACCEPT_MESSAGE:
            self.state = State.ENVELOPE

    def _message(
        self, headers: Sequence[tuple[str, str]], body: bytes, lookup: Macros, editor: Editor
    ) -> str | None:
        leading_space = bool(self.events & p.HDR_LEADSPC)
        for name, value in headers:
            if not leading_space and value.startswith(" "):
                value = value[1:]
            reply = self._event(
                p.HEADER, p.NOHDRS, p.NR_HDR, p.text(name) + p.text(value), p.STAGE_EOH, lookup
            )
            if reply is not None or self.state is not State.ENVELOPE:
                return reply
        reply = self._event(p.EOH, p.NOEOH, p.NR_EOH, b"", p.STAGE_EOH, lookup)
        if reply is not None or self.state is not State.ENVELOPE:
            return reply
        for start in range(0, len(body), p.BODY_CHUNK):
            chunk = body[start : start + p.BODY_CHUNK]
            reply = self._event(p.BODY, p.NOBODY, p.NR_BODY, chunk, p.STAGE_EOM, lookup)
            if reply is not None or self.state is not State.ENVELOPE:
                return reply
        return self._event(p.BODYEOB, 0, 0, b"", p.STAGE_EOM, lookup, editor)

    def abort(self) -> None:
        """The transaction ended without a message (RSET, a new MAIL, HELO)."""
        if self.state in (State.ENVELOPE, State.ACCEPT_MESSAGE) and self._sock is not None:
            try:
                self._send(p.packet(p.ABORT))
            except OSError as e:
                self.log.warning("milter %s: %s", self.name, _reason(e))
                self._comm_error()
                return
            self.state = State.ENVELOPE

    def disconnect(self, aborts: int = 0) -> None:
        """The session is over: ``aborts`` ABORTs (Postfix's smtpd sends two, its
        cleanup none), QUIT, and close."""
        if self._sock is not None and self.state in (State.ENVELOPE, State.ACCEPT_MESSAGE):
            with contextlib.suppress(OSError):
                self._send(p.packet(p.ABORT) * aborts + p.packet(p.QUIT))
        self._close_socket()
        self.state, self.reply = State.CLOSED, None


_FINAL_EMPTY = frozenset(
    (p.PROGRESS, p.CONTINUE, p.ACCEPT, p.DISCARD, p.REJECT, p.TEMPFAIL, p.SHUTDOWN, p.SKIP)
)
_EDITS = frozenset(
    (
        p.CHGHEADER,
        p.ADDHEADER,
        p.INSHEADER,
        p.CHGFROM,
        p.ADDRCPT,
        p.ADDRCPT_PAR,
        p.DELRCPT,
        p.REPLBODY,
    )
)
_EVENT_NAMES = {
    p.CONNECT: "SMFIC_CONNECT",
    p.HELO: "SMFIC_HELO",
    p.MAIL: "SMFIC_MAIL",
    p.RCPT: "SMFIC_RCPT",
    p.DATA: "SMFIC_DATA",
    p.HEADER: "SMFIC_HEADER",
    p.EOH: "SMFIC_EOH",
    p.BODY: "SMFIC_BODY",
    p.BODYEOB: "SMFIC_BODYEOB",
    p.UNKNOWN: "SMFIC_UNKNOWN",
}
_REPLY_NAMES = {
    p.ADDRCPT: "SMFIR_ADDRCPT",
    p.DELRCPT: "SMFIR_DELRCPT",
    p.ADDRCPT_PAR: "SMFIR_ADDRCPT_PAR",
    p.ADDHEADER: "SMFIR_ADDHEADER",
    p.INSHEADER: "SMFIR_INSHEADER",
    p.CHGHEADER: "SMFIR_CHGHEADER",
    p.CHGFROM: "SMFIR_CHGFROM",
    p.REPLBODY: "SMFIR_REPLBODY",
    p.SETSYMLIST: "SMFIR_SETSYMLIST",
    p.CONN_FAIL: "SMFIR_CONN_FAIL",
}


def macro_key(name: str) -> str:
    """A macro's name in braces (``i`` and ``{i}`` are one macro, as in Sendmail)."""
    return name if name.startswith("{") else "{" + name + "}"


def with_values(values: Mapping[str, str], fallback: Macros | None = None) -> Macros:
    """The macros ``values`` (keyed ``{name}``, read at each lookup) in front of
    ``fallback``'s."""

    def lookup(name: str) -> str | None:
        key = macro_key(name)
        if key in values:
            return values[key]
        return fallback(name) if fallback is not None else None

    return lookup


def _pair(data: bytes) -> tuple[str, str]:
    parts = p.strings(data)
    if len(parts) != 2:
        raise ProtocolError("header request needs a name and a value")
    return parts[0], parts[1]


def _reply_code(data: bytes) -> str | None:
    """A REPLYCODE's SMTP reply as Postfix 3.7 takes it (``%%`` is ``%``; ``553 text``
    without an enhanced status code is fine), or None when it is not a 4xx or 5xx."""
    text = data.rstrip(b"\0").decode("utf-8", "replace")
    if len(text) < 4 or text[0] not in "45" or not text[1:3].isdigit() or text[3] not in " -":
        return None
    out, i = [], 0
    while i < len(text):
        ch = text[i]
        if ch == "%":
            i += 1
            if i < len(text):
                out.append(text[i])
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _macro_lists(data: bytes) -> dict[int, tuple[str, ...]]:
    """The macro lists an application asks for after the negotiation's numbers."""
    lists: dict[int, tuple[str, ...]] = {}
    at = 0
    while at < len(data):
        stage = p.parse_number(data, at)
        end = data.find(b"\0", at + 4)
        if end < 0:
            raise ValueError("macro list without its NUL terminator")
        names = data[at + 4 : end].decode("ascii", "replace").split()
        if p.STAGE_CONNECT <= stage <= p.STAGE_EOH:
            lists[stage] = tuple(names)
        at = end + 1
    return lists


def _connect(endpoint: str, timeout: float) -> socket.socket:
    """A connected socket for ``inet:host:port`` or ``unix:/path`` (``local:`` too)."""
    kind, _, where = endpoint.partition(":")
    if not where or not kind:
        raise ValueError(f'Milter service needs transport:endpoint instead of "{endpoint}"')
    if kind in ("unix", "local"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(where)
        except BaseException:
            sock.close()
            raise
        return sock
    if kind != "inet":
        raise ValueError(f"invalid transport name: {kind} in Milter service: {endpoint}")
    host, _, port = where.rpartition(":")
    host = host.strip("[]")
    if not host or not port:
        raise ValueError(f'Milter service needs transport:endpoint instead of "{endpoint}"')
    sock = socket.create_connection((host, int(port) if port.isdigit() else port), timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


def _printable(data: bytes) -> str:
    return data.rstrip(b"\0").decode("utf-8", "replace")
