"""A scripted before-queue content filter for the smtpd_proxy_filter tests.

:class:`FilterPeer` listens on 127.0.0.1, records every line it receives (``lines``, with
``[connect]``, ``[eof]`` markers) and answers per ``replies`` (stage -> reply; stages are
``greeting``, ``EHLO``, ``XFORWARD``, ``MAIL``, ``RCPT``, ``DATA``, ``.``; ``RCPT <text>``
answers the recipients whose command contains ``text``). A stage in ``stall`` is never
answered. With ``reinject`` (a port), an accepted message goes on to that SMTP server and
its reply to the end of data is the filter's.
"""

from __future__ import annotations

import contextlib
import smtplib
import socket
import threading
import time
from types import TracebackType

EHLO = "250-filter.test\r\n250-PIPELINING\r\n250-XFORWARD NAME ADDR PROTO HELO SOURCE PORT IDENT\r\n250 8BITMIME"
DEFAULTS = {
    "greeting": "220 filter.test ESMTP",
    "EHLO": EHLO,
    "XFORWARD": "250 2.0.0 Ok",
    "MAIL": "250 2.1.0 Ok",
    "RCPT": "250 2.1.5 Ok",
    "DATA": "354 End data with <CR><LF>.<CR><LF>",
    ".": "250 2.0.0 Ok: queued as FILTERID",
    "RSET": "250 2.0.0 Ok",
    "QUIT": "221 2.0.0 Bye",
}


class FilterPeer:
    """See the module docstring; use as a context manager."""

    def __init__(
        self,
        replies: dict[str, str] | None = None,
        stall: str = "",
        reinject: int | None = None,
    ) -> None:
        self.replies = {**DEFAULTS, **(replies or {})}
        self.stall = stall
        self.reinject = reinject
        self.lines: list[str] = []
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port: int = self.sock.getsockname()[1]
        self.done = threading.Event()

    def __enter__(self) -> FilterPeer:
        threading.Thread(target=self._serve, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.done.set()
        self.sock.close()

    def wait(self, line: str, timeout: float = 5.0) -> list[str]:
        """The lines so far, once ``line`` was received (AssertionError if it never is)."""
        deadline = time.monotonic() + timeout
        while line not in self.lines:
            assert time.monotonic() < deadline, f"{line!r} not in {self.lines}"
            time.sleep(0.02)
        return list(self.lines)

    def _serve(self) -> None:
        while not self.done.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _say(self, conn: socket.socket, stage: str) -> None:
        if stage == self.stall:
            self.done.wait(30)
            return
        conn.sendall(self.replies[stage].encode("latin-1") + b"\r\n")

    def _session(self, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as f:
            self.lines.append("[connect]")
            self._say(conn, "greeting")
            message: list[bytes] | None = None
            envelope: list[str] = []
            for raw in f:
                text = raw.decode("latin-1").rstrip("\r\n")
                self.lines.append(text)
                if message is not None:
                    if text != ".":
                        message.append(raw)  # still dot-stuffed, as reinjected
                        continue
                    self._end(conn, envelope, b"".join(message))
                    message = None
                    continue
                verb = text.split(" ", 1)[0].upper()
                if verb == "RCPT":
                    envelope.append(text)
                    custom = [k for k in self.replies if k.startswith("RCPT ") and k[5:] in text]
                    self._say(conn, custom[0] if custom else "RCPT")
                elif verb == "MAIL":
                    envelope[:] = [text]
                    self._say(conn, "MAIL")
                elif verb in self.replies:
                    self._say(conn, verb)
                    if verb == "DATA" and self.replies["DATA"].startswith("354"):
                        message = []
                    if verb == "QUIT":
                        self.lines.append("[closed]")
                        return
                else:
                    conn.sendall(b"502 5.5.2 Error: command not recognized\r\n")
            self.lines.append("[eof]")

    def _end(self, conn: socket.socket, envelope: list[str], message: bytes) -> None:
        if self.reinject is None or not self.replies["."].startswith("2"):
            self._say(conn, ".")
            return
        sender = envelope[0].split(":", 1)[1].split(">")[0].lstrip(" <")
        rcpts = [line.split(":", 1)[1].split(">")[0].lstrip(" <") for line in envelope[1:]]
        with smtplib.SMTP("127.0.0.1", self.reinject, timeout=10) as smtp:
            smtp.ehlo("filter.test")
            code, text = smtp.docmd("MAIL", f"FROM:<{sender}>")
            for rcpt in rcpts:
                smtp.docmd("RCPT", f"TO:<{rcpt}>")
            smtp.docmd("DATA")
            smtp.send(message + b".\r\n")
            code, text = smtp.getreply()
        with contextlib.suppress(OSError):
            conn.sendall(f"{code} {text.decode()}\r\n".encode())
