"""A scriptable SMTP/LMTP server for the smtp/lmtp agent tests (threads, real sockets).

``SmtpSink`` listens on 127.0.0.1 port 0 (or a UNIX socket), answers with a greeting,
EHLO/LHLO keywords and per-command replies that a test can replace (a string, or a
function of the command argument), can delay or hang up at a command, offers STARTTLS
with a given server context, and records every session: the commands in order and the
messages as received (``raw``: still dot-stuffed) and unstuffed.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vmail.dns import DnsLookupError, LookupStatus, MxRecord

ReplyRule = str | Callable[[str], str]


@dataclass
class Session:
    """What one client connection did."""

    commands: list[str] = field(default_factory=list)
    messages: list[bytes] = field(default_factory=list)
    raw_messages: list[bytes] = field(default_factory=list)
    tls: bool = False
    peer: str = ""  # the client's address


@dataclass
class SmtpSink:
    """The script: what to answer. Start with :meth:`start`, stop with :meth:`stop`."""

    lmtp: bool = False
    name: str = "sink.test"
    greeting: str = ""
    keywords: list[str] = field(
        default_factory=lambda: ["PIPELINING", "SIZE 10240000", "8BITMIME", "ENHANCEDSTATUSCODES"]
    )
    replies: dict[str, ReplyRule] = field(default_factory=dict)
    data_reply: ReplyRule = "250 2.0.0 Ok: queued as 4ABC"
    tls_context: ssl.SSLContext | None = None
    delays: dict[str, float] = field(default_factory=dict)
    hangup: set[str] = field(default_factory=set)
    unix_path: Path | None = None
    sessions: list[Session] = field(default_factory=list)
    port: int = 0  # 0: any free port
    address: str = "127.0.0.1"

    def start(self) -> SmtpSink:
        if self.unix_path is not None:
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(str(self.unix_path))
        else:
            self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._listener.bind((self.address, self.port))
            self.port = self._listener.getsockname()[1]
        self._listener.listen(16)
        self._stopping = False
        self._threads: list[threading.Thread] = []
        self._conns: list[socket.socket] = []
        self._accept = threading.Thread(target=self._serve, daemon=True)
        self._accept.start()
        return self

    def stop(self) -> None:
        self._stopping = True
        with contextlib.suppress(OSError):  # wakes the accept() (close alone does not)
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._accept.join(5)
        for conn in list(self._conns):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            conn.close()
        for thread in self._threads:
            thread.join(5)

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def messages(self) -> list[bytes]:
        return [m for s in self.sessions for m in s.messages]

    @property
    def commands(self) -> list[str]:
        return [c for s in self.sessions for c in s.commands]

    # -- serving ------------------------------------------------------------------

    def _serve(self) -> None:
        while not self._stopping:
            try:
                conn, peer = self._listener.accept()
            except OSError:
                return
            self._conns.append(conn)
            address = peer[0] if isinstance(peer, tuple) else ""
            thread = threading.Thread(target=self._session, args=(conn, address), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _reply(self, verb: str, argument: str, default: str) -> str:
        rule = self.replies.get(verb, default)
        return rule(argument) if callable(rule) else rule

    def _session(self, conn: socket.socket, peer: str = "") -> None:
        session = Session(peer=peer)
        self.sessions.append(session)
        try:
            self._converse(conn, session)
        except (OSError, ValueError):
            pass
        finally:
            conn.close()

    def _converse(self, conn: socket.socket, session: Session) -> None:
        reader = conn.makefile("rb")

        def send(text: str) -> None:
            conn.sendall(text.encode() + b"\r\n")

        greeting = self.greeting or f"220 {self.name} {'LMTP' if self.lmtp else 'ESMTP'}"
        if "CONNECT" in self.delays:
            time.sleep(self.delays["CONNECT"])
        send(greeting)
        if not greeting.startswith("2"):
            reader.readline()
            return
        accepted: list[str] = []
        in_mail = False
        while True:
            line = reader.readline()
            if not line:
                return
            command = line.decode().rstrip("\r\n")
            session.commands.append(command)
            verb, _, argument = command.partition(" ")
            verb = verb.upper()
            if verb in self.delays:
                time.sleep(self.delays[verb])
            if verb in self.hangup:
                return
            if verb in ("EHLO", "LHLO"):
                keywords = list(self.keywords)
                if self.tls_context is not None and not session.tls:
                    keywords.append("STARTTLS")
                default = "\r\n".join(
                    [f"250-{self.name}"]
                    + [f"250-{k}" for k in keywords[:-1]]
                    + [f"250 {keywords[-1]}"]
                    if keywords
                    else [f"250 {self.name}"]
                )
                send(self._reply(verb, argument, default))
            elif verb == "HELO":
                send(self._reply(verb, argument, f"250 {self.name}"))
            elif verb == "STARTTLS" and self.tls_context is not None:
                reply = self._reply(verb, argument, "220 2.0.0 Ready to start TLS")
                send(reply)
                if not reply.startswith("220"):
                    continue
                conn = self.tls_context.wrap_socket(conn, server_side=True)
                self._conns.append(conn)
                reader = conn.makefile("rb")
                session.tls = True
            elif verb == "MAIL":
                accepted = []
                reply = self._reply(verb, argument, "250 2.1.0 Ok")
                in_mail = reply.startswith("2")
                send(reply)
            elif verb == "RCPT" and not in_mail:
                send("503 5.5.1 Error: need MAIL command")
            elif verb == "DATA" and not accepted:
                send("554 5.5.1 Error: no valid recipients")
            elif verb == "RCPT":
                reply = self._reply(verb, argument, "250 2.1.5 Ok")
                if reply.startswith("2"):
                    accepted.append(argument.split(":", 1)[1].split()[0].strip("<>"))
                send(reply)
            elif verb == "DATA":
                reply = self._reply(verb, argument, "354 End data with <CR><LF>.<CR><LF>")
                send(reply)
                if not reply.startswith("354"):
                    continue
                raw = b""
                while (chunk := reader.readline()) != b".\r\n":
                    if not chunk:
                        return
                    raw += chunk
                session.raw_messages.append(raw)
                in_mail = False
                session.messages.append(
                    b"".join(
                        part[1:] if part.startswith(b".") else part
                        for part in raw.splitlines(keepends=True)
                    )
                )
                if "DOT" in self.delays:
                    time.sleep(self.delays["DOT"])
                if "DOT" in self.hangup:
                    return
                rule = self.data_reply
                if self.lmtp:
                    for rcpt in accepted:
                        send(rule(rcpt) if callable(rule) else rule)
                else:
                    send(rule(",".join(accepted)) if callable(rule) else rule)
            elif verb == "RSET":
                accepted = []
                in_mail = False
                send(self._reply(verb, argument, "250 2.0.0 Ok"))
            elif verb == "AUTH":
                if argument.upper() == "LOGIN":
                    for prompt in ("334 VXNlcm5hbWU6", "334 UGFzc3dvcmQ6"):
                        send(prompt)
                        session.commands.append(reader.readline().decode().rstrip("\r\n"))
                send(self._reply(verb, argument, "235 2.7.0 Authentication successful"))
            elif verb == "QUIT":
                send(self._reply(verb, argument, "221 2.0.0 Bye"))
                return
            else:
                send(self._reply(verb, argument, "502 5.5.2 Error: command not recognized"))


class FakeDns:
    """An MxResolver from dicts: name → MX records, name → addresses (or an error)."""

    def __init__(
        self,
        mx: dict[str, list[MxRecord] | DnsLookupError] | None = None,
        hosts: dict[str, list[str] | DnsLookupError] | None = None,
    ) -> None:
        self.mx = mx or {}
        self.hosts = hosts or {}
        self.queries: list[tuple[str, str]] = []

    def lookup_mx(self, domain: str) -> list[MxRecord]:
        self.queries.append(("MX", domain))
        answer = self.mx.get(domain)
        if answer is None:
            if domain in self.hosts:
                return []
            raise DnsLookupError(domain, "MX", LookupStatus.NOT_FOUND)
        if isinstance(answer, DnsLookupError):
            raise answer
        return answer

    def lookup_addresses(self, host: str) -> list[str]:
        self.queries.append(("A", host))
        answer = self.hosts.get(host)
        if answer is None:
            raise DnsLookupError(host, "A", LookupStatus.NOT_FOUND)
        if isinstance(answer, DnsLookupError):
            raise answer
        return answer


def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens (connections are refused)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
