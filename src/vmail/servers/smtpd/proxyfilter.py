"""Postfix's before-queue content filter, ``smtpd_proxy_filter`` (SMTPD_PROXY_README).

A listener with ``smtpd_proxy_filter = host:port`` (``inet:host:port``, ``unix:path``
relative to the queue directory) does its own restrictions, then hands each mail
transaction to the filter, as Postfix's smtpd_proxy.c does: at the first recipient that
passes, it connects, reads the greeting, sends ``EHLO $smtpd_proxy_ehlo``, XFORWARD (the
attributes the filter offers) and the client's MAIL command verbatim; each accepted
RCPT goes to the filter too (the client gets smtpd's own ``250 2.1.5 Ok``, or the filter's
refusal), then DATA, smtpd's Received: header and the dot-stuffed message (BDAT becomes
DATA). The filter's reply to ``.`` is the client's reply; QUIT ends the connection when
the transaction does. Nothing is queued here.

With ``smtpd_proxy_options = speed_adjust`` the commands and the message are kept (the
message in a temporary file past :data:`SPOOL_MEMORY` bytes) and the conversation is
replayed once the message is complete; the first refusal is the reply to end of data.

Failures are answered as Postfix answers them: no connection, a bad greeting, EHLO or
XFORWARD reply, a timeout (``smtpd_proxy_timeout``) or an unexpected 2xx/3xx give
``451 4.3.0 Error: queue file write error`` with Postfix's warning; a 4xx/5xx of the
filter is passed on. What the filter sends is bounded: lines past ``line_length_limit``
are cut (and logged), multi-line replies keep at most that much text, and a reply of more
than :data:`MAX_REPLY_LINES` lines counts as a lost connection.
"""

from __future__ import annotations

import asyncio
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass

from vmail.config import MainConfig
from vmail.core.errors import ConfigError
from vmail.core.reply import Reply, parse_reply_lines
from vmail.delivery.smtp_client import DotStuffer
from vmail.protocol.smtp import xtext

log = logging.getLogger("vmail.smtpd")
# CLEANUP_STAT_PROXY: the client's reply for every failure that is not the filter's own
GENERIC = Reply(451, "4.3.0", "Error: queue file write error")
WANT_OK, WANT_MORE, WANT_ANY = "2", "3", ""
PAYLOAD_LIMIT = 512 - len("250 XFORWARD\r\n")  # longest XFORWARD argument, as Postfix
UNAVAILABLE = "[UNAVAILABLE]"
MAX_REPLY_LINES = 1000
SPOOL_MEMORY = 1 << 20  # speed_adjust: message bytes held in memory before a file is used


@dataclass(frozen=True)
class ProxySettings:
    """``smtpd_proxy_*`` of one listener."""

    service: str  # as configured (Postfix names it so in its warnings)
    timeout: float
    ehlo: str
    speed_adjust: bool
    line_limit: int
    queue_directory: str


def proxy_settings(config: MainConfig) -> ProxySettings | None:
    """The listener's before-queue filter, or None (ConfigError for an unknown option)."""
    service = config.get("smtpd_proxy_filter").strip()
    if not service:
        return None
    options = {option.lower() for option in config.get_list("smtpd_proxy_options")}
    unknown = options - {"speed_adjust"}
    if unknown:
        raise ConfigError(f"smtpd_proxy_options: unknown value {sorted(unknown)[0]!r}")
    return ProxySettings(
        service=service,
        timeout=float(config.get_time("smtpd_proxy_timeout")),
        ehlo=config.get("smtpd_proxy_ehlo"),
        speed_adjust="speed_adjust" in options,
        line_limit=max(config.get_int("line_length_limit"), 512),
        queue_directory=config.get("queue_directory"),
    )


@dataclass(frozen=True)
class Forward:
    """The client as XFORWARD describes it to the filter (None: not known)."""

    name: str | None
    address: str | None
    port: str | None
    helo: str | None
    proto: str  # SMTP or ESMTP
    local: bool  # local_header_rewrite_clients matched: SOURCE=LOCAL

    def attributes(self) -> list[tuple[str, str | None]]:
        """In Postfix's order; IDENT is unavailable (there is no queue file)."""
        return [
            ("NAME", self.name),
            ("ADDR", self.address),
            ("PORT", self.port),
            ("HELO", self.helo),
            ("IDENT", None),
            ("PROTO", self.proto),
            ("SOURCE", "LOCAL" if self.local else "REMOTE"),
        ]


def xforward_commands(offered: set[str], forward: Forward) -> list[str]:
    """The XFORWARD commands for the attributes the filter offered, split as Postfix
    splits them (each argument at most :data:`PAYLOAD_LIMIT` characters)."""
    commands: list[str] = []
    payload = ""
    for name, value in forward.attributes():
        if name not in offered:
            continue
        encoded = xtext.encode(value) if value else UNAVAILABLE
        item = f" {name}={encoded}"
        if len(item) - 1 > PAYLOAD_LIMIT:
            log.warning(
                "XFORWARD command payload %s=%.10s... exceeds SMTP protocol limit", name, value
            )
        if payload and len(payload) + len(item) - 1 > PAYLOAD_LIMIT:
            commands.append("XFORWARD" + payload)
            payload = ""
        payload += item
    if payload:
        commands.append("XFORWARD" + payload)
    return commands


def ehlo_xforward(reply: str) -> set[str]:
    """The XFORWARD attributes an EHLO reply offers (upper case)."""
    offered: set[str] = set()
    for line in reply.split("\r\n"):
        words = line[4:].split()
        if len(line) > 3 and words and words[0].upper() == "XFORWARD":
            offered.update(word.upper() for word in words[1:])
    return offered


def client_reply(buffer: str) -> Reply:
    """The filter's reply (lines joined by CRLF) as the reply for the client; one that
    does not start with a reply code becomes :data:`GENERIC`."""
    code, enhanced, texts = parse_reply_lines(buffer.split("\r\n"))
    if not 200 <= code < 600 or not buffer[:3].isdigit():
        return GENERIC
    return Reply(code, enhanced, "\n".join(texts))


def _printable(raw: bytes) -> str:
    """Postfix's printable(): every byte that is not printable ASCII becomes ``?``."""
    return "".join(chr(b) if 32 <= b < 127 else "?" for b in raw)


class FilterStream:
    """One connection to the filter; commands and replies as ``smtpd_proxy_cmd()``.

    ``buffer`` is Postfix's ``proxy->buffer``: the last reply (lines joined by CRLF), or
    the generic error once something failed."""

    def __init__(self, settings: ProxySettings) -> None:
        self.settings = settings
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.buffer = ""
        self.broken = False  # the stream failed: nothing more is sent

    async def connect(self) -> bool:
        service = self.settings.service
        try:
            async with asyncio.timeout(self.settings.timeout):
                self.reader, self.writer = await self._open(service)
        except TimeoutError:
            log.warning("connect to proxy filter %s: Connection timed out", service)
            return self._failed()
        except (OSError, ValueError) as e:
            errno = e.errno if isinstance(e, OSError) else None
            reason = os.strerror(errno) if errno else str(e)
            log.warning("connect to proxy filter %s: %s", service, reason)
            return self._failed()
        return True

    async def _open(self, service: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if service[:5].lower() == "unix:":
            path = os.path.join(self.settings.queue_directory, service[5:])
            return await asyncio.open_unix_connection(path)
        endpoint = service[5:] if service[:5].lower() == "inet:" else service
        host, _, port = endpoint.rpartition(":")
        host = host.strip("[]") or "localhost"
        if not port:
            raise ValueError("no port")
        return await asyncio.open_connection(host, port)

    async def command(self, line: str | None, expect: str) -> bool:
        """Send ``line`` (None: only read the greeting) and read the reply; False unless
        it starts with ``expect`` (then logged; an unexpected 2xx or 3xx becomes the
        generic error)."""
        if self.broken or self.writer is None:
            return self._failed()
        try:
            async with asyncio.timeout(self.settings.timeout):
                if line is not None:
                    self.writer.write(line.encode("utf-8", "surrogateescape") + b"\r\n")
                    await self.writer.drain()
                self.buffer = await self._reply()
        except TimeoutError:
            return self._failed("timeout talking to proxy")
        except (OSError, EOFError, asyncio.IncompleteReadError):
            return self._failed("lost connection with proxy")
        if expect and not self.buffer.startswith(expect):
            shown = self.buffer.replace("\r\n", "??")
            what = "connection request" if line is None else line
            log.warning('proxy %s rejected "%s": "%s"', self.settings.service, what, shown)
            if self.buffer[:1] in (WANT_OK, WANT_MORE):
                self.buffer = str(GENERIC)
            return False
        return True

    async def send(self, data: bytes) -> bool:
        """Message content (already dot-stuffed); False once the stream failed."""
        if self.broken or self.writer is None:
            return False
        try:
            self.writer.write(data)
            async with asyncio.timeout(self.settings.timeout):
                await self.writer.drain()
        except TimeoutError:
            return self._failed("timeout talking to proxy")
        except OSError:
            return self._failed("lost connection with proxy")
        return True

    async def _reply(self) -> str:
        """One reply, lines joined by CRLF, as Postfix keeps it (see the module doc)."""
        limit = self.settings.line_limit
        lines: list[str] = []
        stored = 0
        for _ in range(MAX_REPLY_LINES):
            text = await self._line(limit)
            if stored < limit:
                lines.append(text)
                stored += len(text) + 2
            digits = len(text) - len(text.lstrip("0123456789"))
            if digits == 3 and text[3:4] == "-":
                continue
            if digits == 3 and text[3:4] in (" ", ""):
                return "\r\n".join(lines)
            log.warning("received garbage from proxy %s: %.100s", self.settings.service, text)
        raise EOFError("endless reply")

    async def _line(self, limit: int) -> str:
        """One reply line, cut at ``limit`` bytes (the rest is read and dropped)."""
        assert self.reader is not None
        kept = bytearray()
        cut = False
        while True:
            try:
                chunk = await self.reader.readuntil(b"\n")
                done = True
            except asyncio.LimitOverrunError as e:
                chunk = await self.reader.readexactly(e.consumed)
                done = False
            room = limit - len(kept)
            if len(chunk.rstrip(b"\r\n")) > room:
                cut = True
            kept += chunk[: max(room, 0)]
            if done:
                break
        text = _printable(bytes(kept).rstrip(b"\r\n"))
        if cut:
            log.warning("%s: response longer than %d: %.30s...", self.settings.service, limit, text)
        return text

    def _failed(self, warning: str | None = None) -> bool:
        """Postfix's smtpd_proxy_rdwr_error(): the warning, the generic reply, no more I/O."""
        if warning is not None:
            log.warning("%s %s", warning, self.settings.service)
        self.broken = True
        self.buffer = str(GENERIC)
        return False

    async def close(self) -> None:
        """QUIT (not waiting for the reply) unless the stream failed, then close."""
        writer, self.writer = self.writer, None
        if writer is None:
            return
        if not self.broken:
            writer.write(b"QUIT\r\n")
            try:
                async with asyncio.timeout(self.settings.timeout):
                    await writer.drain()
            except (TimeoutError, OSError):
                pass
        if self.broken:
            writer.transport.abort()
        else:
            writer.close()


class ProxyFilter:
    """One mail transaction through the filter: made when MAIL is accepted, closed when
    the transaction ends. ``forward`` tells who the client is when the filter is
    reached; ``on_open`` is called once the filter took MAIL (Postfix logs
    ``NOQUEUE: client=`` there)."""

    def __init__(
        self,
        settings: ProxySettings,
        mail_line: str,
        forward: Callable[[], Forward],
        on_open: Callable[[], None],
    ) -> None:
        self.settings = settings
        self.mail_line = mail_line
        self.forward = forward
        self.on_open = on_open
        self.stream: FilterStream | None = None
        self.stuffer = DotStuffer()
        self.in_data = False
        # speed_adjust: the commands (expected reply, line) and the content, for later
        self.saved: list[tuple[str, str]] | None = [] if settings.speed_adjust else None
        self.spool: tempfile.SpooledTemporaryFile[bytes] | None = None

    @property
    def buffer(self) -> str:
        """The last reply of the filter (or the generic error), as Postfix logs it."""
        return self.stream.buffer.replace("\r\n", "??") if self.stream else str(GENERIC)

    async def rcpt(self, line: str) -> Reply | None:
        """A recipient smtpd accepted: None if the filter accepts it too, else the reply
        for the client (the filter's refusal, or the generic error)."""
        if self.saved is not None:
            if not self.saved:
                self.on_open()
            self.saved.append((WANT_OK, line))
            return None
        if self.stream is None:
            stream = FilterStream(self.settings)
            if not await self._connect(stream):
                await stream.close()
                return client_reply(stream.buffer)
            self.stream = stream
            self.on_open()
        if await self.stream.command(line, WANT_OK):
            return None
        return client_reply(self.stream.buffer)

    async def _connect(self, stream: FilterStream) -> bool:
        """Postfix's smtpd_proxy_connect(): greeting, EHLO, XFORWARD and MAIL."""
        if not await stream.connect():
            return False
        if not await stream.command(None, WANT_OK) or not await stream.command(
            f"EHLO {self.settings.ehlo}", WANT_OK
        ):
            stream.buffer = str(GENERIC)
            return False
        for command in xforward_commands(ehlo_xforward(stream.buffer), self.forward()):
            if not await stream.command(command, WANT_OK):
                stream.buffer = str(GENERIC)
                return False
        return await stream.command(self.mail_line, WANT_OK)

    async def data(self, received: bytes) -> Reply | None:
        """DATA (or the first BDAT): None once the filter said 354 (smtpd's own 354
        goes to the client) and got the Received: header, else the reply."""
        if self.saved is not None:
            self.saved.append((WANT_MORE, "DATA"))
            self.spool = tempfile.SpooledTemporaryFile(SPOOL_MEMORY)  # noqa: SIM115 (closed by close())
        elif self.stream is None or not await self.stream.command("DATA", WANT_MORE):
            return client_reply(self.stream.buffer if self.stream else str(GENERIC))
        self.in_data = True
        self.stuffer = DotStuffer()
        await self.write(received)
        return None

    async def write(self, data: bytes) -> None:
        """Message content as received (dot-unstuffed, CRLF lines)."""
        if not self.in_data:
            return
        stuffed = self.stuffer.feed(data)
        if self.spool is not None:
            await asyncio.to_thread(self.spool.write, stuffed)
        elif self.stream is not None:
            await self.stream.send(stuffed)

    async def finish(self) -> tuple[Reply, bool]:
        """The end of the message: ``.`` to the filter; the client's reply and whether
        the filter accepted the message (logged as Postfix logs it by the caller)."""
        tail = self.stuffer.finish()[: -len(b".\r\n")]
        self.in_data = False
        if self.saved is not None and not await self._replay(tail):
            assert self.stream is not None
            return client_reply(self.stream.buffer), False
        stream = self.stream
        if stream is None:
            return GENERIC, False
        if self.saved is None and tail:
            await stream.send(tail)
        await stream.command(".", WANT_ANY)
        return client_reply(stream.buffer), stream.buffer.startswith(WANT_OK)

    async def _replay(self, tail: bytes) -> bool:
        """speed_adjust: connect, replay the commands and send the kept content; False
        at the first refusal or failure (``self.stream.buffer`` says which)."""
        assert self.saved is not None
        stream = self.stream = FilterStream(self.settings)
        if not await self._connect(stream):
            return False
        for expect, line in self.saved:
            if not await stream.command(line, expect):
                return False
        spool = self.spool
        if spool is not None:
            spool.seek(0)
            while chunk := await asyncio.to_thread(spool.read, 1 << 16):
                if not await stream.send(chunk):
                    return False
        return not tail or await stream.send(tail)

    async def close(self) -> None:
        """The transaction is over: QUIT, and drop what speed_adjust kept."""
        if self.spool is not None:
            self.spool.close()
            self.spool = None
        if self.stream is not None:
            await self.stream.close()
            self.stream = None
