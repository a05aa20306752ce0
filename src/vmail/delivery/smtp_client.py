"""A blocking SMTP/LMTP client connection: replies, commands, STARTTLS and message data.

:class:`ClientConnection` wraps one socket. Every read and write takes its own timeout
(Postfix's per-stage ``smtp_*_timeout``); a timeout raises :class:`ConversationTimeoutError`,
a closed or broken connection :class:`ConnectionLostError`. Replies are :class:`Reply`
objects whose ``text`` is what Postfix logs: all lines of a multi-line reply joined by
spaces. :class:`DotStuffer` turns the queued message (CRLF lines) into DATA content.
"""

from __future__ import annotations

import contextlib
import re
import socket
import ssl
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

MAX_REPLY_LINE = 4096
MAX_REPLY_LINES = 1000
_ENHANCED = re.compile(r"([245])\.(\d{1,3})\.(\d{1,3})(?:\s|$)")


class ClientError(Exception):
    """The conversation broke down."""


class ConnectionLostError(ClientError):
    """The server closed the connection, or it broke."""


class ConversationTimeoutError(ClientError):
    """The server did not answer (or accept data) in time."""


class ProtocolError(ConnectionLostError):
    """The server sent something that is not an SMTP reply (handled as a lost connection)."""


class LocalDataError(ClientError):
    """A table the conversation needs failed (``smtp_reply_filter``, ...): Postfix's
    SMTP_ERR_DATA, ``local data error while talking to HOST[ADDR]``. The text is the
    warning to log."""


@dataclass(frozen=True)
class Reply:
    """A server reply: the code and its lines as received (code and separator included)."""

    code: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The reply as Postfix logs it: lines joined by spaces."""
        return " ".join(self.lines)

    @property
    def dsn(self) -> str:
        """The enhanced status code of the final line, or ``X.0.0`` from the reply code.

        As Postfix, an enhanced code is used only when its class matches the reply
        code's first digit; a reply code outside 2xx/4xx/5xx gives ``5.5.0``.
        """
        final = self.lines[-1][4:].lstrip(" ") if self.lines else ""
        match = _ENHANCED.match(final)
        klass = str(self.code // 100)
        if match and match.group(1) == klass:
            return f"{match.group(1)}.{match.group(2)}.{match.group(3)}"
        if klass in ("2", "4", "5"):
            return f"{klass}.0.0"
        return "5.5.0"

    @property
    def positive(self) -> bool:
        return 200 <= self.code < 400


@dataclass
class Extensions:
    """What the EHLO/LHLO reply advertised (keywords upper case, with their arguments)."""

    keywords: dict[str, str] = field(default_factory=dict)
    greeting_name: str = ""

    @classmethod
    def parse(cls, reply: Reply) -> Extensions:
        keywords: dict[str, str] = {}
        name = ""
        for i, line in enumerate(reply.lines):
            words = line[4:].split(None, 1) if len(line) > 4 else []
            if not words:
                continue
            if i == 0:
                name = words[0]
                continue
            keyword, _, argument = line[4:].strip().replace("=", " ", 1).partition(" ")
            keywords[keyword.upper()] = argument.strip()
        return cls(keywords, name)

    def has(self, keyword: str) -> bool:
        return keyword.upper() in self.keywords

    @property
    def size_limit(self) -> int:
        """The server's SIZE limit; 0 when none was given (or it is not a number)."""
        value = self.keywords.get("SIZE", "")
        return int(value) if value.isdigit() else 0


class DotStuffer:
    """Message content → SMTP DATA: CRLF line ends, leading dots doubled, ``.`` at the end.

    With ``line_limit`` (``smtp_line_length_limit``), longer lines are folded as Postfix
    does: after ``line_limit`` bytes a CRLF, and the rest continues after a space.
    Works chunk by chunk; only a chunk's trailing CR is held back until the next chunk.
    """

    def __init__(self, line_limit: int = 0) -> None:
        self.line_limit = line_limit
        self._column = 0
        self._held_cr = False

    def feed(self, data: bytes) -> bytes:
        if self._held_cr:
            data = b"\r" + data
            self._held_cr = False
        if data.endswith(b"\r"):
            data, self._held_cr = data[:-1], True
        out = bytearray()
        parts = data.split(b"\n")
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            if not last and part.endswith(b"\r"):
                part = part[:-1]
            if part:
                if self._column == 0 and part.startswith(b"."):
                    out += b"."
                self._text(part, out)
            if not last:
                out += b"\r\n"
                self._column = 0
        return bytes(out)

    def _text(self, text: bytes, out: bytearray) -> None:
        limit = self.line_limit
        if limit <= 0:
            out += text
            self._column += len(text)
            return
        while text:
            if self._column >= limit:
                out += b"\r\n "
                self._column = 1
            piece, text = text[: limit - self._column], text[limit - self._column :]
            out += piece
            self._column += len(piece)

    def finish(self) -> bytes:
        """The end: a final CRLF if the message lacks one, then ``.`` CRLF."""
        end = b""
        if self._held_cr:
            self._held_cr = False
            end = b"\r\n"
        elif self._column:
            end = b"\r\n"
        self._column = 0
        return end + b".\r\n"


class ClientConnection:
    """One connection to an SMTP or LMTP server (blocking, one thread at a time)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock: socket.socket = sock
        self._buffer = b""
        self.extensions = Extensions()
        self.tls = False
        # smtp_reply_filter: each reply line -> the line to use (raises LocalDataError)
        self.reply_filter: Callable[[str], str] | None = None

    @classmethod
    def open_tcp(
        cls, address: str, port: int, timeout: float | None, source: str = ""
    ) -> ClientConnection:
        """Connect to ``address``:``port``, from the local address ``source`` when given
        (``smtp_bind_address``); raises OSError (``TimeoutError`` on timeout)."""
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            if source:
                sock.bind((source, 0))
            sock.connect((address, port))
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    @classmethod
    def open_unix(cls, path: str, timeout: float | None) -> ClientConnection:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(path)
        except BaseException:
            sock.close()
            raise
        return cls(sock)

    # -- low-level I/O ------------------------------------------------------------------

    def _recv(self, timeout: float | None) -> bytes:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except TimeoutError:
            raise ConversationTimeoutError("timed out") from None
        except OSError as e:
            raise ConnectionLostError(str(e)) from None
        if not data:
            raise ConnectionLostError("connection closed")
        return data

    def _read_line(self, timeout: float | None) -> str:
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line, self._buffer = self._buffer[:end], self._buffer[end + 1 :]
                return line.rstrip(b"\r").decode("utf-8", "replace")
            if len(self._buffer) > MAX_REPLY_LINE:
                line, self._buffer = self._buffer[:MAX_REPLY_LINE], b""
                return line.decode("utf-8", "replace")
            self._buffer += self._recv(timeout)

    def read_reply(self, timeout: float | None) -> Reply:
        """Read one (possibly multi-line) reply.

        With a ``reply_filter`` (``smtp_reply_filter``), each line is replaced by what
        the filter gives before it is parsed.
        """
        lines: list[str] = []
        while True:
            line = self._read_line(timeout)
            if self.reply_filter is not None:
                line = self.reply_filter(line)
            if len(line) < 3 or not line[:3].isdigit() or (len(line) > 3 and line[3] not in " -"):
                raise ProtocolError(f"malformed reply: {line[:100]!r}")
            if len(lines) < MAX_REPLY_LINES:
                lines.append(line)
            if len(line) == 3 or line[3] == " ":
                return Reply(int(line[:3]), tuple(lines))

    def send(self, data: bytes, timeout: float | None) -> None:
        self.sock.settimeout(timeout)
        try:
            self.sock.sendall(data)
        except TimeoutError:
            raise ConversationTimeoutError("timed out") from None
        except OSError as e:
            raise ConnectionLostError(str(e)) from None

    def command(self, line: str, timeout: float | None) -> Reply:
        """Send one command line and read its reply."""
        self.send(line.encode("utf-8") + b"\r\n", timeout)
        return self.read_reply(timeout)

    # -- protocol steps ---------------------------------------------------------------

    def hello(self, verb: str, name: str, timeout: float | None) -> Reply:
        """``EHLO``/``LHLO``/``HELO``; a positive EHLO/LHLO reply sets ``extensions``."""
        reply = self.command(f"{verb} {name}", timeout)
        if reply.code // 100 == 2:
            self.extensions = Extensions.parse(reply) if verb != "HELO" else Extensions()
        return reply

    def start_tls(
        self, context: ssl.SSLContext, server_name: str | None, timeout: float | None
    ) -> None:
        """Wrap the socket in TLS (after a positive STARTTLS reply); raises ssl.SSLError."""
        self.sock.settimeout(timeout)
        self._buffer = b""  # anything sent before the handshake must not be trusted
        self.sock = context.wrap_socket(self.sock, server_hostname=server_name)
        self.tls = True
        self.extensions = Extensions()

    def send_message(
        self, chunks: Iterable[bytes], timeout: float | None, line_limit: int = 0
    ) -> None:
        """Send the message content, dot-stuffed, ending with ``CRLF.CRLF``."""
        stuffer = DotStuffer(line_limit)
        pending = bytearray()
        for chunk in chunks:
            pending += stuffer.feed(chunk)
            if len(pending) >= 65536:
                self.send(bytes(pending), timeout)
                pending.clear()
        pending += stuffer.finish()
        self.send(bytes(pending), timeout)

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def quit(self, timeout: float | None) -> None:
        """Say QUIT and close; failures do not matter any more."""
        try:
            self.command("QUIT", timeout)
        except ClientError:
            pass
        finally:
            self.close()
